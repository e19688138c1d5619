"""Admin pages: the audit log browsed by page and filter; staff accounts changed and logged."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crawler.db import audit
from crawler.db import digests as db_digests
from crawler.db.models import AuditEntry, User
from tests.review.conftest import PASSWORD, login, post


def test_audit_log_is_paged_newest_first_and_filtered(client, world):
    world.user("ann", "admin")
    with world.sessions.begin() as session:
        for n in range(60):
            audit.record(session, "view_flag", username="kim", target_type="flag", target_id=n)
    login(client, "ann")
    first = client.get("/admin/audit").get_data(as_text=True)
    assert "page 1 of 2 (61 entries)" in first
    assert first.index("login") < first.index("flag 59")  # newest first
    second = client.get("/admin/audit?page=2").get_data(as_text=True)
    assert "flag 0" in second and "flag 59" not in second
    only = client.get("/admin/audit?action=login").get_data(as_text=True)
    assert "(1 entries)" in only and "view_flag</td>" not in only
    one = client.get("/admin/audit?target_type=flag&target_id=7").get_data(as_text=True)
    assert "(1 entries)" in one and "flag 7" in one


def test_admin_creates_changes_and_disables_accounts_and_each_change_is_logged(client, world):
    world.user("ann", "admin")
    login(client, "ann")
    form = {"username": "lee", "role": "reviewer", "password": PASSWORD}
    post(client, "/admin/users", {**form, "password_again": PASSWORD}, page="/admin/users")
    post(client, "/admin/users/lee", {"action": "role", "role": "approver"}, page="/admin/users")
    post(client, "/admin/users/lee", {"action": "disable"}, page="/admin/users")
    refused = post(client, "/admin/users/ann", {"action": "disable"}, page="/admin/users")
    assert "cannot disable your own account" in client.get(refused.headers["Location"]).text
    with world.sessions() as session:
        lee = session.execute(select(User).where(User.username == "lee")).scalar_one()
        assert lee.role == "approver" and lee.disabled_at is not None
        logged = session.execute(
            select(AuditEntry.action, AuditEntry.username, AuditEntry.target_id)
            .where(AuditEntry.action.like("user_%"))
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(row) for row in logged] == [
        ("user_create", "ann", str(lee.id)),
        ("user_role", "ann", str(lee.id)),
        ("user_disable", "ann", str(lee.id)),
    ]


def test_mismatched_or_short_passwords_create_nobody(client, world):
    world.user("ann", "admin")
    login(client, "ann")
    form = {"username": "lee", "role": "reviewer", "password": PASSWORD}
    differ = post(client, "/admin/users", {**form, "password_again": "x" + PASSWORD}, page="/")
    assert "The two passwords differ." in client.get(differ.headers["Location"]).text
    short = {"username": "lee", "role": "reviewer", "password": "short", "password_again": "short"}
    page = client.get(post(client, "/admin/users", short).headers["Location"]).text
    assert "at least 12 characters" in page
    with world.sessions() as session:
        assert session.execute(select(User.username)).scalars().all() == ["ann"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_admin_sets_up_and_stops_a_digest_group_and_reviewers_cannot(client, world):
    world.user("ann", "admin")
    world.user("kim", "reviewer")
    login(client, "kim")
    assert client.get("/admin/digests").status_code == 403
    post(client, "/logout")
    login(client, "ann")
    form = {"name": "night", "channel": "email", "interval": "30", "locale": "en"}
    bad = post(
        client, "/admin/digests", {**form, "target": "not an address"}, page="/admin/digests"
    )
    assert "is not an e-mail address" in client.get(bad.headers["Location"]).text
    post(client, "/admin/digests", {**form, "target": "kim@centre.example"}, page="/admin/digests")
    post(client, "/admin/digests/night", {"action": "disable"}, page="/admin/digests")
    page = client.get("/admin/digests").text
    assert "kim@centre.example" in page and "night" in page
    with world.sessions() as session:
        (group,) = db_digests.list_subscriptions(session)
        actions = session.execute(
            select(AuditEntry.action).where(AuditEntry.action.like("digest_%"))
        ).scalars()
        assert list(actions) == ["digest_add", "digest_disable"]
    assert (group.interval_minutes, group.locale, group.active) == (30, "en", False)
