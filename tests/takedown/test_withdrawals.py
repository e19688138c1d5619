"""A flag that leaves "confirmed" leaves its notices: drafts lose it, sent notices mark it
withdrawn and owe the site a correction (in the notice's language); deciding a flag an approved
or sent notice holds needs an approver; a notice with no open item is not sent; closed cases
get no new flags, evidence or notices. Real database (SQLite and PostgreSQL), real SMTP."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from crawler.db import evidence
from crawler.db import notices as db_notices
from crawler.db import rechecks as db_rechecks
from crawler.db.cases import close_case
from crawler.db.flags import MatchRecord, decide, get_flag, record_match
from crawler.db.models import Evidence, NoticeItem
from crawler.db.runs import ensure_site
from crawler.takedown.drafting import draft_notices
from crawler.takedown.render import LANGUAGES
from crawler.takedown.sending import parse_smtp_url, send_due, send_notice
from tests.takedown.conftest import T0, site_config

DAY = timedelta(hours=24)
SENDER = "Seoul Support Centre <takedown@centre.example>"


def _configs(language: str = "en") -> dict:
    takedown = f'language = "{language}"\nabuse_contact = "abuse@board.example"'
    return {"board": site_config("board", "https://board.example/", takedown)}


def _draft(session, world, n: int = 2, language: str = "en") -> tuple[int, list[int]]:
    flags = [world.flag() for _ in range(n)]
    (notice_id,) = draft_notices(session, _configs(language), now=T0).created
    session.commit()
    return notice_id, flags


def _keep_evidence(session, flag_id: int) -> None:
    evidence.store_evidence(session, flag_id, b"sealed", "image/jpeg", "e" * 64)


def _sent(session, world, smtp_server, n: int = 2, language: str = "en"):
    notice_id, flags = _draft(session, world, n, language)
    for flag_id in flags:
        _keep_evidence(session, flag_id)
    db_notices.approve_notice(session, notice_id, by="park.approver")
    send_notice(
        session,
        notice_id,
        smtp=parse_smtp_url(smtp_server.url),
        sender=SENDER,
        resend_after=DAY,
        now=T0,
    )
    session.commit()
    return notice_id, flags


def test_a_reviewer_cannot_decide_a_flag_in_an_approved_or_sent_notice(session, world):
    notice_id, (flag_id, _) = _draft(session, world)
    db_notices.approve_notice(session, notice_id, by="park.approver")
    session.commit()
    with pytest.raises(ValueError, match=f"in notice {notice_id}, which is approved: only an"):
        decide(session, flag_id, "reject", by="kim.reviewer", role="reviewer")
    session.rollback()
    assert get_flag(session, flag_id).status == "confirmed"
    decide(session, flag_id, "reject", by="lee.approver", role="approver")
    assert get_flag(session, flag_id).status == "rejected"


def test_rejecting_a_drafted_flag_takes_it_out_of_the_draft(session, world):
    notice_id, (first, second) = _draft(session, world)
    decide(session, first, "reject", by="kim.reviewer", role="reviewer")  # a draft: any reviewer
    notice = db_notices.get_notice(session, notice_id)
    assert [item.flag_id for item in notice.items] == [second]
    decide(session, second, "reject", by="kim.reviewer", role="reviewer")
    with pytest.raises(db_notices.NoticeNotFound):  # an empty draft is gone
        db_notices.get_notice(session, notice_id)


def test_a_rejected_flag_in_a_sent_notice_is_withdrawn_with_a_correction(
    session, world, smtp_server
):
    notice_id, (kept, withdrawn) = _sent(session, world, smtp_server)
    withdrawn_url = get_flag(session, withdrawn).media_url
    kept_url = get_flag(session, kept).media_url
    decide(session, withdrawn, "reject", by="lee.approver", role="approver")
    session.commit()
    notice = db_notices.get_notice(session, notice_id)
    item = next(i for i in notice.items if i.flag_id == withdrawn)
    assert item.withdrawn_at is not None and item.correction_pending
    assert [i.flag_id for i in notice.open_items] == [kept]
    # Its evidence stays while a sent notice names it.
    assert session.execute(select(Evidence.flag_id).where(Evidence.flag_id == withdrawn)).first()

    results = send_due(
        _sessions(session),
        smtp=parse_smtp_url(smtp_server.url),
        sender=SENDER,
        resend_after=DAY,
        now=lambda: T0 + DAY,
    )
    assert [(r.notice_id, r.error) for r in results] == [(notice_id, None)]
    first, correction, reminder = smtp_server.messages
    assert correction["Subject"].startswith("Correction: items withdrawn")
    text = correction.get_body(("plain",)).get_content()
    assert withdrawn_url in text and kept_url not in text
    assert "withdraw our request" in text
    body = reminder.get_body(("plain",)).get_content()
    assert reminder["Subject"].startswith("Reminder 1:")
    assert kept_url in body and withdrawn_url not in body
    assert withdrawn_url in first.get_body(("plain",)).get_content()  # it was asked for once
    session.expire_all()
    assert not db_notices.get_notice(session, notice_id).corrections  # sent once, not again

    # The withdrawn item does not hold the notice open: removing the other resolves it.
    resolved = db_rechecks.mark_removed(session, kept, now=T0 + 2 * DAY, reason="http_404")
    assert resolved == [notice_id]
    assert db_notices.get_notice(session, notice_id).status == "resolved"


def _sessions(session):
    from crawler.db.session import make_sessionmaker

    return make_sessionmaker(session.get_bind())


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_correction_is_written_in_the_notices_language(session, world, smtp_server, language):
    notice_id, (_, withdrawn) = _sent(session, world, smtp_server, language=language)
    decide(session, withdrawn, "reject", by="lee.approver", role="approver")
    from crawler.takedown.render import render_correction

    notice = db_notices.get_notice(session, notice_id)
    rendered = render_correction(notice, sender=SENDER)
    marker = {
        "en": "orrect",
        "ko": "정정",
        "ja": "訂正",
        "zh": "更正",
        "ru": "справ",
        "vi": "ính chính",
    }[language]
    assert marker in rendered.subject and marker in rendered.text
    assert get_flag(session, withdrawn).media_url in rendered.text
    assert get_flag(session, withdrawn).media_url in rendered.html
    assert "2026-11-01 09:00 UTC" in rendered.text  # when the request it corrects went out


def test_a_notice_with_no_open_items_is_not_sent_nor_reminded(session, world, smtp_server):
    notice_id, (flag_id,) = _draft(session, world, n=1)
    db_notices.approve_notice(session, notice_id, by="park.approver")
    db_rechecks.mark_removed(session, flag_id, now=T0, reason="http_404")  # before sending
    session.commit()
    smtp = parse_smtp_url(smtp_server.url)
    with pytest.raises(db_notices.NoticeStateError, match="has no open items"):
        send_notice(session, notice_id, smtp=smtp, sender=SENDER, resend_after=DAY, now=T0)
    session.rollback()
    assert smtp_server.messages == []

    # A sent notice whose only item is withdrawn: the correction goes, then nothing more.
    sent_id, (only,) = _sent(session, world, smtp_server, n=1)
    decide(session, only, "reject", by="lee.approver", role="approver")
    session.commit()
    assert db_notices.resend_due(session, T0 + DAY) == [sent_id]  # the correction is due
    send_notice(session, sent_id, smtp=smtp, sender=SENDER, resend_after=DAY, now=T0 + DAY)
    session.commit()
    assert [m["Subject"].split(":")[0] for m in smtp_server.messages[1:]] == ["Correction"]
    assert db_notices.resend_due(session, T0 + 9 * DAY) == []
    with pytest.raises(db_notices.NoticeStateError, match="has no open items"):
        send_notice(session, sent_id, smtp=smtp, sender=SENDER, resend_after=DAY, now=T0)
    assert len(smtp_server.messages) == 2


def test_the_approver_cannot_be_who_confirmed_a_flag(session, world):
    notice_id, (flag_id, _) = _draft(session, world)  # confirmed by kim.reviewer
    with pytest.raises(
        db_notices.SeparationOfDuties, match=f"kim.reviewer confirmed flag.*{flag_id}"
    ):
        db_notices.approve_notice(session, notice_id, by="kim.reviewer")
    session.rollback()
    assert db_notices.get_notice(session, notice_id).status == "draft"
    assert db_notices.approve_notice(session, notice_id, by="park.approver").status == "approved"


def test_a_closed_case_gets_no_flags_evidence_or_notices(session, world):
    pending = world.flag(confirm=False)
    confirmed = world.flag()
    close_case(session, "case-7", by="park.admin")
    session.commit()
    with pytest.raises(ValueError, match=r"closed at .* are not confirmed"):
        decide(session, pending, "confirm", by="kim.reviewer")
    session.rollback()
    assert get_flag(session, pending).status == "pending"
    assert draft_notices(session, _configs()).created == []  # its confirmed flag is not drafted
    assert db_notices.unnoticed_flags(session) == []
    result = record_match(
        session,
        MatchRecord(
            run_id=world.run_id,
            site_id=ensure_site(session, "board"),
            page_url="https://board.example/post/new",
            media_url="https://board.example/media/new.jpg",
            media_sha256=hashlib.sha256(b"new media").hexdigest(),
            case_id=world.case_id,
            reference_id=world.reference_id,
            algorithm="pdq",
            distance=3,
            seen_at=T0,
        ),
    )
    assert result.flag_id is None and result.refused == "case_closed"
    assert not evidence.store_evidence(session, confirmed, b"sealed", "image/jpeg", "e" * 64)
    assert session.execute(select(NoticeItem.id)).all() == []


def test_a_notice_is_not_resolved_before_its_correction_went_out(session, world, smtp_server):
    notice_id, (kept, withdrawn) = _sent(session, world, smtp_server)
    decide(session, withdrawn, "reject", by="lee.approver", role="approver")
    assert db_rechecks.mark_removed(session, kept, now=T0 + DAY, reason="http_404") == []
    session.commit()
    assert db_notices.resend_due(session, T0 + DAY) == [notice_id]
    smtp = parse_smtp_url(smtp_server.url)
    send_notice(session, notice_id, smtp=smtp, sender=SENDER, resend_after=DAY, now=T0 + DAY)
    session.commit()
    assert [m["Subject"].split(":")[0] for m in smtp_server.messages[1:]] == ["Correction"]
    notice = db_notices.get_notice(session, notice_id)
    assert notice.status == "resolved" and notice.send_count == 1


def test_closing_a_case_takes_its_flags_out_of_drafts(session, world):
    notice_id, _ = _draft(session, world)
    close_case(session, "case-7", by="park.admin")
    session.commit()
    with pytest.raises(db_notices.NoticeNotFound):  # the draft held only the case's flags
        db_notices.get_notice(session, notice_id)
