"""Accounts: sessions that end for good (session version), password changes, the login back-off
per account and per client address (behind a trusted proxy), and the second factor (TOTP)."""

from __future__ import annotations

import json

import pyotp
import pytest
from sqlalchemy import select

from crawler.db import users
from crawler.db.models import AuditEntry, User
from crawler.review import create_app
from tests.review.conftest import (
    PASSWORD,
    SECRET,
    csrf_token,
    enter_code,
    https_client,
    login,
    post,
)
from tests.support.settings import default_web_config

COOKIE = "repostwatch_session"


def _copy_session(source, app):
    """Another browser holding a copy of ``source``'s session cookie (a stolen or kept one)."""
    copy = https_client(app)
    copy.set_cookie(COOKIE, source.get_cookie(COOKIE).value, domain="localhost")
    return copy


def _logged_in(client) -> bool:
    return client.get("/").status_code == 200


def test_a_copied_session_cookie_is_refused_after_logout(app, client, world):
    world.user("kim")
    login(client, "kim")
    copy = _copy_session(client, app)
    assert _logged_in(copy)
    post(client, "/logout")
    assert not _logged_in(copy)
    assert not _logged_in(client)


@pytest.mark.parametrize("change", ["role", "disable", "password"])
def test_a_new_role_password_or_disabling_ends_every_session(app, client, world, change):
    world.user("kim")
    world.user("ann", "admin")
    login(client, "kim")
    copy = _copy_session(client, app)
    admin = https_client(app)
    login(admin, "ann")
    if change == "password":
        with world.sessions.begin() as session:
            users.set_password(session, "kim", "another long passphrase")
    else:
        data = {"action": change, "role": "approver"}
        assert post(admin, "/admin/users/kim", data, page="/admin/users").status_code == 302
    assert not _logged_in(client) and not _logged_in(copy)
    assert _logged_in(admin)


def test_staff_change_their_own_password_on_the_account_page(app, client, world):
    world.user("kim")
    login(client, "kim")
    other = https_client(app)
    login(other, "kim")
    new = "a brand new passphrase"
    wrong = post(
        client,
        "/account/password",
        {"current": "not my password", "password": new, "password_again": new},
        page="/account/",
    )
    assert wrong.status_code == 400 and "the current password is wrong" in wrong.get_data(True)
    assert _logged_in(other)
    changed = post(
        client,
        "/account/password",
        {"current": PASSWORD, "password": new, "password_again": new},
        page="/account/",
    )
    assert changed.status_code == 302
    assert _logged_in(client)  # this session goes on
    assert not _logged_in(other)  # every other one ended
    with world.sessions.begin() as session:
        assert users.authenticate(session, "kim", PASSWORD) is None
        assert users.authenticate(session, "kim", new) is not None
    with world.sessions() as session:
        actions = session.execute(select(AuditEntry.action)).scalars().all()
    assert "password_change" in actions


def _app(database_url, **settings):
    settings = {"REPOSTWATCH_SECRET_KEY": SECRET, **settings}
    return create_app(default_web_config(REPOSTWATCH_DATABASE_URL=database_url, **settings))


def _try(client, username, password, address, forwarded_for=None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    token = csrf_token(client)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
        headers=headers,
    )


def test_failed_logins_back_off_per_account_whatever_the_address(engine, database_url, world):
    app = _app(database_url, REPOSTWATCH_LOGIN_RATE_LIMIT="3 per minute")
    world.user("kim")
    world.user("lee")
    for n in range(3):
        assert _try(https_client(app), "kim", "wrong", f"198.51.100.{n}").status_code == 401
    # The right password from a fifth address is refused too: the account waits.
    refused = _try(https_client(app), "kim", PASSWORD, "198.51.100.9")
    assert refused.status_code == 429 and "wait" in refused.get_data(True)
    # Other accounts are not slowed down.
    assert _try(https_client(app), "lee", PASSWORD, "198.51.100.9").status_code == 302
    app.extensions["repostwatch"].engine.dispose()


def test_bad_tries_through_the_proxy_do_not_lock_out_other_staff(engine, database_url, world):
    app = _app(
        database_url,
        REPOSTWATCH_LOGIN_ADDRESS_RATE_LIMIT="10 per minute",
        REPOSTWATCH_TRUSTED_PROXIES=1,
    )
    world.user("lee")
    proxy, attacker = "10.0.0.2", "203.0.113.9"
    for n in range(10):
        response = _try(https_client(app), f"guess{n}", "wrong", proxy, forwarded_for=attacker)
        assert response.status_code == 401
    # The attacker's own address is slowed down ...
    assert _try(https_client(app), "lee", PASSWORD, proxy, attacker).status_code == 429
    # ... but staff behind the same proxy log in.
    assert _try(https_client(app), "lee", PASSWORD, proxy, "198.51.100.7").status_code == 302
    with world.sessions() as session:
        addresses = set(session.execute(select(AuditEntry.ip)).scalars())
    assert addresses == {attacker}  # failures are logged with the client's own address
    app.extensions["repostwatch"].engine.dispose()


def _audited(world, action):
    with world.sessions() as session:
        entries = session.execute(select(AuditEntry).where(AuditEntry.action == action))
        return [(e.username, e.ip, json.loads(e.details)) for e in entries.scalars()]


def test_logins_refused_during_a_back_off_are_audited(engine, database_url, world):
    app = _app(
        database_url, REPOSTWATCH_LOGIN_RATE_LIMIT="2 per minute", REPOSTWATCH_TRUSTED_PROXIES=1
    )
    world.user("kim")
    proxy, attacker = "10.0.0.2", "203.0.113.9"
    for _ in range(2):
        assert _try(https_client(app), "kim", "wrong", proxy, attacker).status_code == 401
    assert _audited(world, "login_backoff") == []
    for password in ("still wrong", PASSWORD):
        assert _try(https_client(app), "kim", password, proxy, attacker).status_code == 429
    refused = _audited(world, "login_backoff")
    assert [(username, ip, d["step"]) for username, ip, d in refused] == [
        ("kim", attacker, "password"),  # the client's own address, not the proxy's
        ("kim", attacker, "password"),
    ]
    assert all(0 < d["wait_seconds"] <= 61 for _, _, d in refused)
    app.extensions["repostwatch"].engine.dispose()


def test_a_forwarded_for_header_is_ignored_without_trusted_proxies(engine, database_url, world):
    app = _app(database_url, REPOSTWATCH_LOGIN_ADDRESS_RATE_LIMIT="3 per minute")
    world.user("lee")
    for n in range(3):
        spoofed = f"198.51.100.{n}"
        assert _try(https_client(app), f"guess{n}", "x", "10.0.0.2", spoofed).status_code == 401
    assert _try(https_client(app), "lee", PASSWORD, "10.0.0.2", "192.0.2.1").status_code == 429
    app.extensions["repostwatch"].engine.dispose()


def test_every_role_enrols_a_second_factor_and_then_needs_a_code(app, client, world):
    from crawler.db import totp

    world.user("kim", "reviewer")
    token = csrf_token(client)
    response = client.post(
        "/login", data={"username": "kim", "password": PASSWORD, "csrf_token": token}
    )
    assert response.headers["Location"] == "/login/code"
    assert not _logged_in(client)  # the password alone logs nobody in
    page = client.get("/login/code").get_data(as_text=True)
    token = csrf_token(client, "/login/code")  # a new session after the password
    assert 'src="data:image/svg+xml' in page  # the QR code, drawn by the app itself
    secret = page.split('id="totp-secret">')[1].split("<")[0]
    wrong = client.post("/login/code", data={"code": "000000", "csrf_token": token})
    assert wrong.status_code == 401 and not _logged_in(client)
    totp_now = pyotp.TOTP(secret)
    code = totp_now.now()
    assert client.post("/login/code", data={"code": code, "csrf_token": token}).status_code == 302
    assert _logged_in(client)
    with world.sessions() as session:
        stored = session.execute(select(User).where(User.username == "kim")).scalar_one()
        assert stored.totp_enrolled_at is not None
        assert secret.encode() not in stored.totp_secret  # encrypted ...
        assert totp.cipher(SECRET).decrypt(stored.totp_secret).decode() == secret  # ... with it
    post(client, "/logout")
    # The next login asks for a code, shows no secret, and takes each code once only.
    again = https_client(app)
    token = csrf_token(again)
    again.post("/login", data={"username": "kim", "password": PASSWORD, "csrf_token": token})
    page = again.get("/login/code").get_data(as_text=True)
    token = csrf_token(again, "/login/code")
    assert "totp-secret" not in page and "Enter your code" in page
    reused = again.post("/login/code", data={"code": code, "csrf_token": token})
    assert reused.status_code == 401
    fresh = totp_now.generate_otp(totp.current_step() + 1)
    assert again.post("/login/code", data={"code": fresh, "csrf_token": token}).status_code == 302
    assert _logged_in(again)


def test_wrong_codes_back_off_the_account(engine, database_url, world):
    app = _app(database_url, REPOSTWATCH_LOGIN_RATE_LIMIT="3 per minute")
    world.user("kim")
    client = https_client(app)
    login(client, "kim")
    post(client, "/logout")
    token = csrf_token(client)
    client.post("/login", data={"username": "kim", "password": PASSWORD, "csrf_token": token})
    token = csrf_token(client, "/login/code")
    for _ in range(3):
        assert (
            client.post("/login/code", data={"code": "123456", "csrf_token": token}).status_code
            == 401
        )
    assert enter_code(client, "kim", expect=429)
    (refused,) = _audited(world, "login_backoff")
    assert refused[:2] == ("kim", "127.0.0.1") and refused[2]["step"] == "code"
    app.extensions["repostwatch"].engine.dispose()


def test_a_new_secret_key_asks_for_a_reset_and_a_new_enrolment(engine, database_url, world):
    from crawler.db import totp

    world.user("kim")
    first = _app(database_url)
    login(https_client(first), "kim")
    other = _app(database_url, REPOSTWATCH_SECRET_KEY="another-secret-" + "q" * 40)
    client = https_client(other)
    token = csrf_token(client)
    client.post("/login", data={"username": "kim", "password": PASSWORD, "csrf_token": token})
    refused = client.get("/login/code", follow_redirects=True).get_data(as_text=True)
    assert "repostwatch users totp-reset kim" in refused
    with world.sessions.begin() as session:
        totp.reset(session, "kim")
    login(client, "kim")  # enrols again
    assert _logged_in(client)
    for app in (first, other):
        app.extensions["repostwatch"].engine.dispose()
