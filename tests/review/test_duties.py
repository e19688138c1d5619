"""Who may do what to a notice's flags in the web app: deciding a flag that an approved or sent
notice holds needs an approver (and withdraws it), whoever confirmed a flag cannot approve its
notice, and a closed case's flags cannot be confirmed."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

from crawler.db import notices as db_notices
from crawler.db.cases import close_case
from crawler.db.flags import decide, get_flag
from tests.review.conftest import T0, login, post


def _notice(world, flag_ids: list[int], *, sent: bool) -> int:
    with world.sessions.begin() as session:
        notice_id = db_notices.create_notice(
            session, site="gallery", language="en", subject="s", flag_ids=flag_ids, now=T0
        )
        if sent:
            db_notices.approve_notice(session, notice_id, by="park")
            db_notices.record_sent(session, notice_id, now=T0, resend_after=timedelta(hours=24))
    return notice_id


def _confirmed(world, n: int, by: str = "kim") -> int:
    flag_id = world.flag(n)
    with world.sessions.begin() as session:
        decide(session, flag_id, "confirm", by=by)
    return flag_id


def _page(response) -> str:
    return unescape(response.get_data(as_text=True))


def test_a_reviewer_cannot_reject_a_flag_in_a_sent_notice(client, world):
    world.user("kim")
    world.user("lee", "approver")
    flag_id = _confirmed(world, 1)
    notice_id = _notice(world, [flag_id, _confirmed(world, 2)], sent=True)
    login(client, "kim")
    refused = post(client, f"/flags/{flag_id}/decide", {"decision": "reject"})
    assert refused.status_code == 302
    page = _page(client.get(refused.headers["Location"]))
    assert f"flag {flag_id} is in notice {notice_id}, which is sent: only an approver" in page
    with world.sessions() as session:
        assert get_flag(session, flag_id).status == "confirmed"

    post(client, "/logout")
    login(client, "lee")
    post(client, f"/flags/{flag_id}/decide", {"decision": "reject"})
    with world.sessions() as session:
        assert get_flag(session, flag_id).status == "rejected"
        notice = db_notices.get_notice(session, notice_id)
    (item,) = [i for i in notice.items if i.flag_id == flag_id]
    assert item.withdrawn_at is not None and item.correction_pending
    assert len(notice.open_items) == 1
    assert "withdrawn" in _page(client.get(f"/notices/{notice_id}"))


def test_whoever_confirmed_a_flag_cannot_approve_its_notice(client, world):
    world.user("park", "approver")
    world.user("lee", "approver")
    flag_id = world.flag(1)
    login(client, "park")
    post(client, f"/flags/{flag_id}/decide", {"decision": "confirm"})
    notice_id = _notice(world, [flag_id], sent=False)
    refused = post(client, f"/notices/{notice_id}/approve")
    page = _page(client.get(refused.headers["Location"]))
    assert f"park confirmed flag(s) {flag_id} of notice {notice_id}, so cannot approve it" in page
    with world.sessions() as session:
        assert db_notices.get_notice(session, notice_id).status == "draft"
    post(client, "/logout")
    login(client, "lee")
    post(client, f"/notices/{notice_id}/approve")
    with world.sessions() as session:
        assert db_notices.get_notice(session, notice_id).approved_by == "lee"


def test_a_closed_cases_pending_flag_cannot_be_confirmed(client, world):
    world.user("kim")
    flag_id = world.flag(1)
    with world.sessions.begin() as session:
        close_case(session, "case-1", by="admin")
    login(client, "kim")
    refused = post(client, f"/flags/{flag_id}/decide", {"decision": "confirm"})
    page = _page(client.get(refused.headers["Location"]))
    assert "belongs to case 'case-1', closed at" in page
    with world.sessions() as session:
        sha256 = get_flag(session, flag_id).media_sha256
    post(client, f"/flags/same-media/{sha256}/decide", {"decision": "confirm"})
    with world.sessions() as session:
        assert get_flag(session, flag_id).status == "pending"
