"""Accounts and the rules around them: anonymous refused, CSRF, rate limits, secret key,
cookies, roles, passwords hashed with argon2."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from crawler.db import audit
from crawler.db.models import AuditEntry, Flag, User
from crawler.review import CONFIG_KEYS, ConfigError, create_app
from tests.review.conftest import (
    _TOKEN,
    PASSWORD,
    SECRET,
    csrf_token,
    enter_code,
    https_client,
    login,
    post,
)
from tests.support.settings import default_web_config


def test_every_route_refuses_an_anonymous_user(app, client, world):
    flag_id = world.flag(1)
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "auth.login", "auth.second_factor"):
            continue
        samples = {"sha256": "0" * 64, "username": "someone"}
        values = {arg: samples.get(arg, flag_id) for arg in rule.arguments}
        path = app.url_map.bind("review.test").build(rule.endpoint, values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                response = client.open(path, method=method)
                assert response.status_code == 302, (method, path)
                assert response.headers["Location"].startswith("/login"), (method, path)
            else:
                # A valid CSRF token (the login form's, in this client's session), so that what
                # refuses the request is the login check, not the CSRF check (a 400).
                token = csrf_token(client)
                response = client.open(path, method=method, data={"csrf_token": token})
                assert response.status_code == 401, (method, path, response.status_code)
                assert "Log in first." in response.get_data(as_text=True), (method, path)
            checked += 1
    assert checked >= 12
    with world.sessions() as session:
        assert [e.action for e in audit.list_entries(session)[0]] == []
        assert session.get(Flag, flag_id).status == "pending"


def test_anonymous_post_with_a_valid_csrf_token_is_still_refused(client, world):
    flag_id = world.flag(1)
    response = post(client, f"/flags/{flag_id}/decide", {"decision": "confirm"}, page="/login")
    assert response.status_code == 401
    with world.sessions() as session:
        assert session.get(Flag, flag_id).status == "pending"


def test_login_logout_and_every_attempt_audited(client, world):
    world.user("kim")
    login(client, "kim", "wrong password here", expect=401)
    login(client, "nobody", "whatever it is", expect=401)
    response = login(client, "kim")
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert post(client, "/logout").status_code == 302
    assert client.get("/").status_code == 302
    with world.sessions() as session:
        entries = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
    assert [(e.action, e.username) for e in entries] == [
        ("login_failed", "kim"),
        ("login_failed", "nobody"),
        ("login", "kim"),
        ("logout", "kim"),
    ]
    assert entries[2].user_id is not None and entries[2].ip == "127.0.0.1"


def test_session_cookie_is_secure_httponly_and_lax(client, world):
    world.user("kim")
    response = login(client, "kim")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_form_post_without_csrf_token_is_refused(client, world):
    world.user("kim")
    flag_id = world.flag(1)
    login(client, "kim")
    response = client.post(f"/flags/{flag_id}/decide", data={"decision": "confirm"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    # A fetch() without the X-CSRFToken header is refused too; with it, accepted.
    assert (
        client.post(f"/flags/{flag_id}/unblur", headers={"X-Requested-With": "fetch"}).status_code
        == 400
    )
    token = csrf_token(client, f"/flags/{flag_id}")
    ok = client.post(
        f"/flags/{flag_id}/unblur", headers={"X-Requested-With": "fetch", "X-CSRFToken": token}
    )
    assert ok.status_code == 200 and ok.json == {"unblurred": flag_id}
    with world.sessions() as session:
        assert session.get(Flag, flag_id).status == "pending"


def test_login_is_rate_limited(engine, database_url, world):
    app = create_app(
        default_web_config(
            REPOSTWATCH_DATABASE_URL=database_url,
            REPOSTWATCH_SECRET_KEY=SECRET,
            REPOSTWATCH_LOGIN_RATE_LIMIT="3 per minute",
        )
    )
    client = https_client(app)
    world.user("kim")
    for _ in range(3):
        login(client, "kim", "not the password", expect=401)
    # The fourth attempt is refused before the password is even checked, right or wrong.
    assert login(client, "kim", PASSWORD, expect=429)
    app.extensions["repostwatch"].engine.dispose()


def test_login_rate_limit_is_shared_through_redis(engine, database_url, world, redis_url):
    import redis

    with redis.Redis.from_url(redis_url) as r:
        for key in r.scan_iter("*repostwatch-web*"):
            r.delete(key)
    config = default_web_config(
        REPOSTWATCH_DATABASE_URL=database_url,
        REPOSTWATCH_SECRET_KEY=SECRET,
        REPOSTWATCH_LOGIN_RATE_LIMIT="2 per minute",
        REPOSTWATCH_REDIS_URL=redis_url,
    )
    first, second = create_app(config), create_app(config)  # two workers
    world.user("kim")
    login(https_client(first), "kim", "nope nope nope", expect=401)
    login(https_client(second), "kim", "nope nope nope", expect=401)
    login(https_client(first), "kim", expect=429)
    for app in (first, second):
        app.extensions["repostwatch"].engine.dispose()


@pytest.mark.parametrize("env", [None, "production", "staging"])
def test_the_app_refuses_to_start_without_a_secret_key(env):
    config = default_web_config(REPOSTWATCH_DATABASE_URL="sqlite:///unused.db")
    if env is not None:  # None: the project's default
        config["REPOSTWATCH_WEB_ENV"] = env
    with pytest.raises(ConfigError, match="REPOSTWATCH_SECRET_KEY is not set"):
        create_app(config)
    with pytest.raises(ConfigError, match="too short"):
        create_app({**config, "REPOSTWATCH_SECRET_KEY": "short"})


def test_the_app_names_every_setting_its_config_lacks():
    config = default_web_config(
        REPOSTWATCH_DATABASE_URL="sqlite:///unused.db", REPOSTWATCH_SECRET_KEY=SECRET
    )
    del config["REPOSTWATCH_REVIEW_BATCH"], config["REPOSTWATCH_CHROMIUM"]
    with pytest.raises(ConfigError, match="lacks REPOSTWATCH_REVIEW_BATCH, REPOSTWATCH_CHROMIUM;"):
        create_app(config)
    with pytest.raises(ConfigError) as nothing:
        create_app({})
    assert all(key in str(nothing.value) for key in CONFIG_KEYS)


def test_development_uses_a_random_key_and_plain_http_cookies(tmp_path, caplog):
    config = default_web_config(
        REPOSTWATCH_DATABASE_URL=f"sqlite:///{tmp_path}/x.db", REPOSTWATCH_WEB_ENV="development"
    )
    first, second = create_app(config), create_app(config)
    assert first.secret_key != second.secret_key and len(first.secret_key) >= 32
    assert first.config["SESSION_COOKIE_SECURE"] is False
    assert "REPOSTWATCH_SECRET_KEY is not set" in caplog.text


def test_the_app_makes_the_unknown_user_hash_before_the_first_login(tmp_path):
    """A failed login of an unknown name is checked against a hash made at start (not at
    import, which every command would pay; not at that first login, which would take longer
    than one of a known name and so tell which names exist)."""
    from crawler.db import users

    users._dummy_hash.cache_clear()
    config = default_web_config(
        REPOSTWATCH_DATABASE_URL=f"sqlite:///{tmp_path}/x.db", REPOSTWATCH_WEB_ENV="development"
    )
    create_app(config)
    assert users._dummy_hash.cache_info().currsize == 1


def test_passwords_are_argon2_and_rehashed_when_parameters_change(client, world, monkeypatch):
    from crawler.db import users

    # argon2-cffi's defaults, as the product hashes (the suite's other tests hash quicker)
    monkeypatch.setattr(users, "_hasher", PasswordHasher())
    world.user("kim")
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    with world.sessions.begin() as session:
        user = session.execute(select(User).where(User.username == "kim")).scalar_one()
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        user.password_hash = weak
    login(client, "kim")
    with world.sessions() as session:
        rehashed = session.execute(select(User.password_hash).where(User.username == "kim"))
        new_hash = rehashed.scalar_one()
    assert new_hash != weak and PasswordHasher().verify(new_hash, PASSWORD)
    assert not PasswordHasher().check_needs_rehash(new_hash)


def test_disabled_user_cannot_log_in_and_is_logged_out(app, world):
    from crawler.db import users

    world.user("kim")
    client = https_client(app)
    login(client, "kim")
    with world.sessions.begin() as session:
        users.set_disabled(session, "kim")
    assert client.get("/").status_code == 302
    login(https_client(app), "kim", expect=401)


def test_roles_guard_admin_pages(client, world):
    world.user("kim", "reviewer")
    world.user("ann", "admin")
    login(client, "kim")
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/users").status_code == 403
    post(client, "/logout")
    login(client, "ann")
    assert client.get("/admin/audit").status_code == 200
    assert client.get("/admin/users").status_code == 200


def test_open_redirects_are_refused_after_login(client, world):
    world.user("kim")
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={
            "username": "kim",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "https://evil.example/",
        },
    )
    assert response.headers["Location"] == "/login/code"
    assert enter_code(client, "kim").headers["Location"] == "/"


def test_the_audit_log_is_append_only_in_the_database(world):
    from sqlalchemy import delete, update
    from sqlalchemy.exc import DBAPIError

    with world.sessions.begin() as session:
        audit.record(session, "login", username="kim")
    with pytest.raises(DBAPIError, match="append-only"), world.sessions.begin() as session:
        session.execute(update(AuditEntry).values(action="forged"))
    with pytest.raises(DBAPIError, match="append-only"), world.sessions.begin() as session:
        session.execute(delete(AuditEntry))
    with world.sessions() as session:
        assert [e.action for e in audit.list_entries(session)[0]] == ["login"]


def _referer_under(policy: str, page: str, target: str) -> str | None:
    """The Referer a browser sends from ``page`` to ``target`` under a Referrer-Policy (the
    W3C Referrer Policy algorithm, for the policies a same-origin https POST can meet)."""
    from urllib.parse import urlsplit

    def origin(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"

    same = origin(page) == origin(target)
    downgrade = page.startswith("https:") and target.startswith("http:")
    policy = policy.split(",")[-1].strip().lower()
    full = page.split("#")[0]
    return {
        "no-referrer": None,
        "same-origin": full if same else None,
        "origin": origin(page) + "/",
        "strict-origin": None if downgrade else origin(page) + "/",
        "origin-when-cross-origin": full if same else origin(page) + "/",
        "strict-origin-when-cross-origin": (
            full if same else None if downgrade else origin(page) + "/"
        ),
        "unsafe-url": full,
        "no-referrer-when-downgrade": None if downgrade else full,
    }[policy]


def test_same_origin_posts_pass_the_strict_referrer_check_over_https(app, world, authenticator):
    """Behind HTTPS Flask-WTF also wants a same-origin Referer (WTF_CSRF_SSL_STRICT); the
    pages' Referrer-Policy must let the browser send one, or every form is refused."""
    assert app.config["WTF_CSRF_SSL_STRICT"]
    world.user("kim")
    flag_id = world.flag(1)
    client = app.test_client()
    base = "https://review.centre.example"

    def submit(page: str, target: str, data: dict) -> object:
        shown = client.get(page, base_url=base)
        assert shown.status_code == 200, shown.status_code
        token = _TOKEN.search(shown.get_data(as_text=True)).group(1)
        referer = _referer_under(shown.headers["Referrer-Policy"], base + page, base + target)
        headers = {"Referer": referer} if referer else {}
        return client.post(
            target, base_url=base, data={"csrf_token": token, **data}, headers=headers
        )

    response = submit("/login", "/login", {"username": "kim", "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    # The second factor, on one page (the enrolment page's secret is the one its form takes).
    shown = client.get("/login/code", base_url=base)
    page = shown.get_data(as_text=True)
    enrolling = 'id="totp-secret"' in page
    code = authenticator.enrol("kim", page) if enrolling else authenticator.code("kim")
    referer = _referer_under(shown.headers["Referrer-Policy"], base + "/login/code", base)
    response = client.post(
        "/login/code",
        base_url=base,
        data={"csrf_token": _TOKEN.search(page).group(1), "code": code},
        headers={"Referer": referer} if referer else {},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    response = submit(f"/flags/{flag_id}", f"/flags/{flag_id}/decide", {"decision": "confirm"})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    with world.sessions() as session:
        assert session.get(Flag, flag_id).status == "confirmed"
    # Still a check: a POST from another origin (its Referer) is refused.
    token = _TOKEN.search(client.get("/", base_url=base).get_data(as_text=True)).group(1)
    forged = client.post(
        "/logout",
        base_url=base,
        data={"csrf_token": token},
        headers={"Referer": "https://evil.example/page"},
    )
    assert forged.status_code == 400 and "referrer" in forged.get_data(as_text=True).lower()
