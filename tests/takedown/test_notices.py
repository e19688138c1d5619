"""Notices in the database: drafted per site or host, approved by a person, sent, re-sent on
an interval until removal, resolved when every item is removed (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from crawler.db import notices as db_notices
from crawler.db import rechecks as db_rechecks
from crawler.db.models import Flag, utcnow
from crawler.takedown.drafting import draft_notices
from tests.takedown.conftest import T0, site_config

DAY = timedelta(hours=24)


def _configs(group_by: str = "site"):
    return {
        "board": site_config(
            "board",
            "https://board.example/",
            f'language = "ko"\nabuse_contact = "abuse@board.example"\ngroup_by = "{group_by}"',
        ),
        "tube": site_config("tube", "https://tube.example/", 'language = "ja"'),
    }


def test_confirmed_flags_are_grouped_per_site_in_the_sites_language(session, world):
    board = [world.flag(site="board"), world.flag(site="board")]
    tube = [world.flag(site="tube")]
    world.flag(site="board", confirm=False)  # pending: not in a notice
    result = draft_notices(session, _configs(), now=T0)
    session.commit()
    assert result.skipped == {}
    notices = {n.site: n for n in db_notices.list_notices(session)}
    assert sorted(notices) == ["board", "tube"]
    assert [i.flag_id for i in notices["board"].items] == board
    assert [i.flag_id for i in notices["tube"].items] == tube
    assert (notices["board"].language, notices["board"].recipient) == ("ko", "abuse@board.example")
    assert (notices["tube"].language, notices["tube"].recipient) == ("ja", None)
    assert notices["board"].status == "draft" and notices["board"].host is None
    assert notices["board"].subject == "[삭제 요청] board 내 동의 없이 유포된 성적 촬영물 2건"
    # Drafting again finds nothing new: a flag is in one notice only.
    again = draft_notices(session, _configs())
    assert (again.created, again.extended) == ([], [])
    # A flag confirmed later joins the site's draft while nobody has approved it yet ...
    late = world.flag(site="board")
    joined = draft_notices(session, _configs())
    assert (joined.created, joined.extended) == ([], [notices["board"].id])
    board_notice = db_notices.get_notice(session, notices["board"].id)
    assert [i.flag_id for i in board_notice.items] == [*board, late]
    assert board_notice.subject.endswith("성적 촬영물 3건")
    # ... and gets a notice of its own once the draft was approved.
    db_notices.approve_notice(session, notices["board"].id, by="park")
    later = world.flag(site="board")
    (new_id,) = draft_notices(session, _configs()).created
    assert [i.flag_id for i in db_notices.get_notice(session, new_id).items] == [later]


def test_group_by_host_makes_one_notice_per_host(session, world):
    a = world.flag(page_url="https://a.board.example/p/1")
    b = world.flag(page_url="https://b.board.example/p/2")
    a2 = world.flag(page_url="https://a.board.example/p/3")
    result = draft_notices(session, _configs(group_by="host"))
    session.commit()
    assert len(result.created) == 2
    by_host = {n.host: [i.flag_id for i in n.items] for n in db_notices.list_notices(session)}
    assert by_host == {"a.board.example": [a, a2], "b.board.example": [b]}


def test_a_site_without_a_site_file_is_skipped_and_named(session, world):
    world.flag(site="unknown")
    result = draft_notices(session, _configs())
    assert result.created == []
    assert "no site file for 'unknown'" in result.skipped["unknown"]


def _draft(session, world, count: int = 1) -> int:
    for _ in range(count):
        world.flag()
    (notice_id,) = draft_notices(session, _configs(), now=T0).created
    session.commit()
    return notice_id


def test_a_draft_cannot_be_recorded_as_sent(session, world):
    notice_id = _draft(session, world)
    with pytest.raises(db_notices.NoticeStateError, match="has not been approved"):
        db_notices.record_sent(session, notice_id, now=T0, resend_after=DAY)
    session.rollback()
    assert db_notices.get_notice(session, notice_id).send_count == 0
    # The database itself refuses a sent notice without an approver.
    with pytest.raises(IntegrityError):
        session.execute(
            text("UPDATE notices SET status = 'sent' WHERE id = :id"), {"id": notice_id}
        )
    session.rollback()


def test_approval_names_the_approver_and_happens_once(session, world):
    notice_id = _draft(session, world)
    notice = db_notices.approve_notice(session, notice_id, by="park.approver", now=T0)
    assert (notice.status, notice.approved_by, notice.approved_at) == (
        "approved",
        "park.approver",
        T0,
    )
    with pytest.raises(db_notices.NoticeStateError, match="not a draft"):
        db_notices.approve_notice(session, notice_id, by="someone")
    with pytest.raises(ValueError, match="approver's name"):
        db_notices.approve_notice(session, _draft(session, world), by="  ")


def test_resend_is_due_after_the_interval_and_not_before(session, world):
    notice_id = _draft(session, world)
    db_notices.approve_notice(session, notice_id, by="park", now=T0)
    sent = db_notices.record_sent(session, notice_id, now=T0, resend_after=DAY)
    assert (sent.status, sent.sent_at, sent.send_count, sent.next_send_at) == (
        "sent",
        T0,
        1,
        T0 + DAY,
    )
    assert db_notices.resend_due(session, T0 + DAY - timedelta(seconds=1)) == []
    assert db_notices.resend_due(session, T0 + DAY) == [notice_id]
    again = db_notices.record_sent(session, notice_id, now=T0 + DAY, resend_after=DAY)
    # The first sending stays the start of time-to-removal.
    assert (again.sent_at, again.last_sent_at, again.send_count) == (T0, T0 + DAY, 2)
    assert db_notices.resend_due(session, T0 + DAY + timedelta(hours=23)) == []


def test_a_notice_is_resolved_when_every_item_is_removed_and_stops_being_resent(session, world):
    notice_id = _draft(session, world, count=2)
    first, second = (i.flag_id for i in db_notices.get_notice(session, notice_id).items)
    db_notices.approve_notice(session, notice_id, by="park", now=T0)
    db_notices.record_sent(session, notice_id, now=T0, resend_after=DAY)
    assert db_rechecks.mark_removed(session, first, now=T0 + timedelta(hours=5), reason="x") == []
    assert db_notices.get_notice(session, notice_id).status == "sent"
    assert db_notices.resend_due(session, T0 + 2 * DAY) == [notice_id]
    resolved = db_rechecks.mark_removed(
        session, second, now=T0 + 30 * timedelta(hours=1), reason="y"
    )
    assert resolved == [notice_id]
    notice = db_notices.get_notice(session, notice_id)
    assert (notice.status, notice.resolved_at, notice.removed) == (
        "resolved",
        T0 + timedelta(hours=30),
        2,
    )
    assert db_notices.resend_due(session, T0 + 9 * DAY) == []
    with pytest.raises(db_notices.NoticeStateError, match="resolved"):
        db_notices.require_sendable(session, notice_id)


def test_time_to_removal_counts_from_the_first_sending_or_else_the_confirmation(session, world):
    notice_id = _draft(session, world)
    (noticed,) = (i.flag_id for i in db_notices.get_notice(session, notice_id).items)
    unnoticed = world.flag()
    db_notices.approve_notice(session, notice_id, by="park", now=T0)
    db_notices.record_sent(session, notice_id, now=T0, resend_after=DAY)
    db_notices.record_sent(session, notice_id, now=T0 + DAY, resend_after=DAY)
    db_rechecks.mark_removed(
        session, noticed, now=T0 + timedelta(hours=30), reason="media_http_404"
    )
    removed_at = utcnow()
    db_rechecks.mark_removed(session, unnoticed, now=removed_at, reason="not_on_page")
    session.commit()
    found = {r.flag_id: r for r in db_rechecks.removals(session)}
    assert found[noticed].time_to_removal == timedelta(hours=30)
    assert (found[noticed].counted_from, found[noticed].reason) == ("notice", "media_http_404")
    assert found[unnoticed].counted_from == "confirmation"
    assert timedelta(0) <= found[unnoticed].time_to_removal < timedelta(minutes=5)
    assert len(db_rechecks.removals(session, case="case-7")) == 2
    assert db_rechecks.removals(session, case="another-case") == []
    assert [n.id for n in db_notices.list_notices(session, case="case-7")] == [notice_id]
    assert db_notices.list_notices(session, case="another-case") == []


def test_a_removed_flag_is_not_decided_again(session, world):
    from crawler.db.flags import decide

    flag_id = world.flag()
    db_rechecks.mark_removed(session, flag_id, now=T0, reason="media_http_404")
    session.commit()
    with pytest.raises(ValueError, match="removed from its site at 2026-11-01 09:00 UTC"):
        decide(session, flag_id, "reject", by="lee")
    session.rollback()
    assert session.get(Flag, flag_id).status == "removed"
