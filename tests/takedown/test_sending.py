"""Sending notices to a real SMTP server (aiosmtpd on 127.0.0.1): only approved notices go
out, with their language, URLs, hashes and screenshots; unresolved ones go out again when due."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image

from crawler.db import notices as db_notices
from crawler.db import rechecks as db_rechecks
from crawler.db.models import Flag
from crawler.db.session import make_sessionmaker
from crawler.takedown.drafting import draft_notices
from crawler.takedown.sending import (
    SmtpConfig,
    SmtpConfigError,
    parse_smtp_url,
    send_due,
    send_notice,
)
from tests.takedown.conftest import T0, site_config

DAY = timedelta(hours=24)
SENDER = "Seoul Support Centre <takedown@centre.example>"


def _png(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(out, "PNG")
    return out.getvalue()


def _notice(session, world, language: str = "ko") -> int:
    world.flag()
    world.flag()
    configs = {
        "board": site_config(
            "board",
            "https://board.example/",
            f'language = "{language}"\nabuse_contact = "abuse@board.example"',
        )
    }
    (notice_id,) = draft_notices(session, configs, now=T0).created
    items = db_notices.get_notice(session, notice_id).items
    for item, colour in zip(items, ("red", "blue"), strict=True):
        db_notices.set_screenshot(session, item.id, _png(colour))
    session.commit()
    return notice_id


def _smtp(server) -> SmtpConfig:
    return parse_smtp_url(server.url)


def test_an_approved_notice_arrives_with_urls_hashes_and_screenshots(session, world, smtp_server):
    notice_id = _notice(session, world, "ko")
    db_notices.approve_notice(session, notice_id, by="park.approver")
    sent = send_notice(
        session, notice_id, smtp=_smtp(smtp_server), sender=SENDER, resend_after=DAY, now=T0
    )
    session.commit()
    assert (sent.status, sent.send_count, sent.sent_at, sent.next_send_at) == (
        "sent",
        1,
        T0,
        T0 + DAY,
    )
    ((mail_from, recipients, message),) = smtp_server.inbox.received
    assert (mail_from, recipients) == ("takedown@centre.example", ["abuse@board.example"])
    assert message["Subject"] == "[삭제 요청] board 내 동의 없이 유포된 성적 촬영물 2건"
    assert message["Content-Language"] == "ko"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    flags = [session.get(Flag, i.flag_id) for i in sent.items]
    for flag in flags:
        for body in (text, html):
            assert flag.page_url in body and flag.media_url in body
            assert flag.media_sha256 in body and flag.media_pdq in body
    assert "삭제하거나 접근을 차단해 주십시오" in text
    attachments = {a.get_filename(): a.get_content() for a in message.iter_attachments()}
    assert attachments == {
        f"notice-{notice_id}-item-1.png": _png("red"),
        f"notice-{notice_id}-item-2.png": _png("blue"),
    }
    assert all(a.get_content_type() == "image/png" for a in message.iter_attachments())


def test_an_unapproved_notice_is_never_sent(session, world, smtp_server):
    notice_id = _notice(session, world)
    with pytest.raises(db_notices.NoticeStateError, match="has not been approved"):
        send_notice(session, notice_id, smtp=_smtp(smtp_server), sender=SENDER, resend_after=DAY)
    session.rollback()
    assert smtp_server.inbox.received == []
    notice = db_notices.get_notice(session, notice_id)
    assert (notice.status, notice.send_count, notice.sent_at) == ("draft", 0, None)
    # Nor is a draft ever due for re-sending.
    assert db_notices.resend_due(session, T0 + 100 * DAY) == []


def test_a_refused_delivery_records_nothing(session, world, smtp_server):
    notice_id = _notice(session, world)
    db_notices.approve_notice(session, notice_id, by="park")
    session.commit()
    closed = SmtpConfig("127.0.0.1", 9, timeout=2)  # nothing listens on the discard port
    with pytest.raises(OSError):
        send_notice(session, notice_id, smtp=closed, sender=SENDER, resend_after=DAY)
    session.rollback()
    assert db_notices.get_notice(session, notice_id).send_count == 0


def test_due_notices_are_sent_again_until_removed(engine, session, world, smtp_server):
    notice_id = _notice(session, world, "en")
    db_notices.approve_notice(session, notice_id, by="park")
    send_notice(
        session, notice_id, smtp=_smtp(smtp_server), sender=SENDER, resend_after=DAY, now=T0
    )
    session.commit()
    sessions = make_sessionmaker(engine)
    clock = {"now": T0 + DAY - timedelta(minutes=1)}

    def again():
        return send_due(
            sessions,
            smtp=_smtp(smtp_server),
            sender=SENDER,
            resend_after=DAY,
            now=lambda: clock["now"],
        )

    assert again() == []
    gone, still_there = db_notices.get_notice(session, notice_id).items
    with sessions.begin() as s:
        db_rechecks.mark_removed(s, gone.flag_id, now=T0 + DAY / 2, reason="media_http_404")
    clock["now"] = T0 + DAY
    assert [(r.notice_id, r.error) for r in again()] == [(notice_id, None)]
    assert len(smtp_server.messages) == 2
    reminder = smtp_server.messages[1]
    assert (
        reminder["Subject"]
        == "Reminder 1: Request to remove non-consensual intimate images (1 item) on board"
    )
    # Only what is still there is asked for again.
    reminder_text = reminder.get_body(("plain",)).get_content()
    assert still_there.media_url in reminder_text and gone.media_url not in reminder_text
    assert len(list(reminder.iter_attachments())) == 1
    assert (
        "We first sent this request on 2026-11-01 09:00 UTC"
        in reminder.get_body(("plain",)).get_content()
    )
    assert again() == []  # the next one is a day later
    with sessions.begin() as s:
        db_rechecks.mark_removed(s, still_there.flag_id, now=T0 + 2 * DAY, reason="not_on_page")
    clock["now"] = T0 + 10 * DAY
    assert again() == []
    assert len(smtp_server.messages) == 2


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example", SmtpConfig("mail.example", 25)),
        (
            "smtp://user%40x:p%3Ass@mail.example:587?starttls=1",
            SmtpConfig("mail.example", 587, "user@x", "p:ss", starttls=True),
        ),
        ("smtps://u:p@mail.example", SmtpConfig("mail.example", 465, "u", "p", ssl=True)),
    ],
)
def test_smtp_urls(url, expected):
    assert parse_smtp_url(url) == expected
    assert "p:ss" not in repr(parse_smtp_url(url))


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("", "REPOSTWATCH_SMTP_URL is not set"),
        ("http://mail.example", "must look like smtp://"),
        ("smtps://mail.example?starttls=1", "already TLS"),
    ],
)
def test_bad_smtp_urls_say_what_to_write(url, problem):
    with pytest.raises(SmtpConfigError, match=problem):
        parse_smtp_url(url)
