"""`repostwatch users` and `repostwatch web`, through the real console script."""

from __future__ import annotations

import os
import subprocess
import urllib.request

import pyotp
import pytest
from cryptography.fernet import Fernet

from tests.support.cli_runner import REPOSTWATCH, repostwatch
from tests.support.serving import served

# End to end through the console script: once, on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_database

PASSWORD = "a long enough passphrase"


def _env(database_url):
    return {"REPOSTWATCH_DATABASE_URL": database_url}


def _add(env, name, role, password=PASSWORD, check=True):
    return subprocess.run(
        [REPOSTWATCH, "users", "add", name, "--role", role, "--password-stdin"],
        input=password + "\n",
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=check,
    )


def test_users_add_list_disable(engine, database_url):
    env = _env(database_url)
    assert "Created kim (reviewer)." in _add(env, "kim", "reviewer").stdout
    assert "Created ann (admin)." in _add(env, "ann", "admin").stdout
    duplicate = _add(env, "kim", "admin", check=False)
    assert duplicate.returncode == 1 and "a user named 'kim' exists already" in duplicate.stderr
    short = _add(env, "lee", "reviewer", password="short", check=False)
    assert short.returncode == 1 and "at least 12 characters" in short.stderr
    listing = repostwatch("users", "list", env=env).stdout.splitlines()
    assert listing[0].split() == ["USER", "ROLE", "STATE", "CREATED", "LAST", "LOGIN"]
    assert listing[2].split()[:3] == ["ann", "admin", "active"]
    assert listing[3].split()[:3] == ["kim", "reviewer", "active"]
    assert "kim is disabled." in repostwatch("users", "disable", "kim", env=env).stdout
    assert repostwatch("users", "list", env=env).stdout.splitlines()[3].split()[2] == "disabled"
    assert "kim is active." in repostwatch("users", "disable", "kim", "--enable", env=env).stdout
    missing = repostwatch("users", "disable", "nobody", env=env, check=False)
    assert missing.returncode == 1 and "no user named 'nobody'" in missing.stderr


def test_web_refuses_to_start_without_a_secret_key(engine, database_url):
    result = repostwatch("web", "--port", "0", env=_env(database_url), check=False, timeout=60)
    assert result.returncode == 1
    assert "REPOSTWATCH_SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_evidence_keygen_prints_a_pair_that_seals_and_opens():
    from crawler.db import evidence

    printed = repostwatch("evidence", "keygen", env={}).stdout.splitlines()
    names = [line.partition("=")[0] for line in printed]
    assert names == ["REPOSTWATCH_EVIDENCE_PUBLIC_KEY", "REPOSTWATCH_EVIDENCE_PRIVATE_KEY"]
    public, private = (line.partition("=")[2] for line in printed)
    sealed = evidence.sealer(public).encrypt(b"media")
    assert evidence.opener(private).decrypt(sealed) == b"media"
    assert public != private and public not in repostwatch("evidence", "keygen", env={}).stdout


def test_keygen_prints_usable_keys():
    evidence_key = repostwatch("web", "keygen", env={}).stdout.strip()
    Fernet(evidence_key.encode())  # raises if it is not a Fernet key
    secret = repostwatch("web", "keygen", "--secret", env={}).stdout.strip()
    assert len(secret) >= 60 and secret != evidence_key


def test_web_serves_the_login_page_and_refuses_anonymous_pages(engine, database_url):
    env = {**_env(database_url), "REPOSTWATCH_SECRET_KEY": "s" * 48}
    with served(env) as url:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{url}/login", timeout=10) as response:
            body = response.read().decode()
            assert response.status == 200 and 'name="csrf_token"' in body
            assert response.headers["Cache-Control"] == "no-store, private"
        with urllib.request.urlopen(f"{url}/", timeout=10) as response:
            assert response.url.startswith(f"{url}/login")  # redirected


def test_users_passwd_sets_a_password_and_ends_the_sessions(engine, database_url):
    from crawler.db import users as accounts
    from crawler.db.session import make_sessionmaker

    env = _env(database_url)
    _add(env, "kim", "reviewer")
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        before = accounts.authenticate(session, "kim", PASSWORD).session_version
    new = "another long passphrase"
    result = subprocess.run(
        [REPOSTWATCH, "users", "passwd", "kim", "--password-stdin"],
        input=new + "\n",
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "New password set for kim; its open sessions have ended." in result.stdout
    with sessions() as session:
        assert accounts.authenticate(session, "kim", PASSWORD) is None
        assert accounts.authenticate(session, "kim", new).session_version > before
    # Asked twice when typed: two different answers are refused.
    typed = subprocess.run(
        [REPOSTWATCH, "users", "passwd", "kim"],
        input=f"{new}1\n{new}2\n",
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    assert typed.returncode != 0
    missing = subprocess.run(
        [REPOSTWATCH, "users", "passwd", "nobody", "--password-stdin"],
        input=new + "\n",
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1 and "no user named 'nobody'" in missing.stderr


def test_users_totp_reset_forgets_the_second_factor(engine, database_url):
    from crawler.db import totp
    from crawler.db import users as accounts
    from crawler.db.session import make_sessionmaker

    env = _env(database_url)
    _add(env, "kim", "approver")
    sessions = make_sessionmaker(engine)
    fernet = totp.cipher("s" * 48)
    with sessions.begin() as session:
        kim = accounts.authenticate(session, "kim", PASSWORD)
        enrolment = totp.start_enrolment(session, kim.id, fernet)
        assert totp.verify(session, kim.id, pyotp.TOTP(enrolment.secret).now(), fernet)
    with sessions() as session:
        assert accounts.get_user(session, kim.id).totp_enrolled
    result = repostwatch("users", "totp-reset", "kim", env=env)
    assert "kim has no second factor now: it enrols again at its next login." in result.stdout
    with sessions() as session:
        after = accounts.get_user(session, kim.id)
        assert not after.totp_enrolled and after.session_version > kim.session_version
        assert totp.read_secret(session, "kim", fernet) is None
