"""The review app on a real database (SQLite and PostgreSQL), with real accounts and flags."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from babel import dates as babel_dates

from crawler.db import evidence, users
from crawler.db.flags import MatchRecord, record_match
from crawler.db.references import NewHash, add_reference_hashes, load_references
from crawler.db.runs import ensure_site, start_run
from crawler.review import create_app
from tests.support.settings import default_web_config
from tests.support.totp import AUTHENTICATOR, Authenticator

SECRET = "test-secret-" + "k" * 40
PASSWORD = "correct horse battery"
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
_TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')
#: Where the tests' app shows times: the installation default (settings/__init__.py).
SHOWN_IN = "Asia/Seoul"


def shown_at(moment: datetime, *, seconds: bool = False) -> str:
    """``moment`` as the tests' app (English, Asia/Seoul) writes it: ``May 1, 2026, 9:03 PM``."""
    local = babel_dates.get_timezone(SHOWN_IN)
    if seconds:
        return babel_dates.format_datetime(moment, "medium", tzinfo=local, locale="en")
    day = babel_dates.format_date(moment.astimezone(local), "medium", locale="en")
    return f"{day}, {babel_dates.format_time(moment, 'short', tzinfo=local, locale='en')}"


@dataclass(frozen=True)
class World:
    """A case with one reference, a site and a crawl run; ``flag`` records pending flags."""

    sessions: object
    case_id: int
    reference_id: int
    site_id: int
    run_id: int

    def flag(self, n: int, *, sha256: str | None = None, **overrides) -> int:
        arguments = {
            "run_id": self.run_id,
            "site_id": self.site_id,
            "page_url": f"https://repost.example/page/{n}",
            "media_url": f"https://repost.example/img/{n}.jpg",
            "media_sha256": sha256 or f"{n:064x}",
            "case_id": self.case_id,
            "reference_id": self.reference_id,
            "algorithm": "pdq",
            "distance": 10 + n % 20,
            "seen_at": T0 + timedelta(minutes=n),
        } | overrides
        with self.sessions.begin() as session:
            return record_match(session, MatchRecord(**arguments)).flag_id

    def user(self, username: str, role: str = "reviewer") -> int:
        with self.sessions.begin() as session:
            return users.create_user(session, username, PASSWORD, role).id


@pytest.fixture
def world(engine) -> World:
    from crawler.db.session import make_sessionmaker

    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        add_reference_hashes(session, "case-1", [NewHash("pdq", "f" * 64, 90)])
        (reference,) = [r for r in load_references(session) if r.case_name == "case-1"]
        site_id = ensure_site(session, "gallery")
        run_id = start_run(session, "gallery")
    return World(sessions, reference.case_id, reference.id, site_id, run_id)


@dataclass(frozen=True)
class EvidenceKeys:
    public: str  # what crawls get: seals evidence
    private: str  # what the web app gets: opens it


@pytest.fixture
def evidence_keys() -> EvidenceKeys:
    return EvidenceKeys(*evidence.new_key_pair())


@pytest.fixture
def app(engine, database_url, evidence_keys):
    app = create_app(
        default_web_config(
            REPOSTWATCH_DATABASE_URL=database_url,
            REPOSTWATCH_SECRET_KEY=SECRET,
            REPOSTWATCH_EVIDENCE_PRIVATE_KEY=evidence_keys.private,
        )
    )
    yield app
    app.extensions["repostwatch"].engine.dispose()


def https_client(app):
    """A test client speaking https, as staff would (cookies are Secure outside development)."""
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    return client


@pytest.fixture
def client(app):
    return https_client(app)


def csrf_token(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = _TOKEN.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture
def authenticator() -> Authenticator:
    """The authenticator app :func:`login` uses: the accounts' TOTP secrets and their codes."""
    return AUTHENTICATOR


def login(client, username: str, password: str = PASSWORD, *, expect: int = 302):
    """Log in with the password, then the TOTP code (enrolling the account at its first login,
    from the secret the enrolment page shows). ``expect`` is the status of the password step
    when it is not a success."""
    token = csrf_token(client)
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert response.status_code == expect, response.get_data(as_text=True)[:500]
    if expect != 302 or not response.location.startswith("/login/code"):
        return response
    return enter_code(client, username)


def enter_code(client, username: str, *, expect: int = 302):
    """The second step of :func:`login`."""
    page = client.get("/login/code").get_data(as_text=True)
    if 'id="totp-secret"' in page:
        code = AUTHENTICATOR.enrol(username, page)
    else:
        code = AUTHENTICATOR.code(username)
    response = client.post(
        "/login/code", data={"code": code, "csrf_token": csrf_token(client, "/login/code")}
    )
    assert response.status_code == expect, response.get_data(as_text=True)[:500]
    return response


def post(client, path: str, data: dict | None = None, *, page: str = "/"):
    """A form POST carrying the CSRF token of ``page``, as a browser would."""
    return client.post(path, data={"csrf_token": csrf_token(client, page), **(data or {})})


@pytest.fixture
def scrapyd_node():
    """The URL of a stand-in scrapyd (tests/support/fake_scrapyd.py); what it was asked to
    schedule is in ``FakeScrapyd.scheduled``."""
    from tests.support.fake_scrapyd import fake_scrapyd

    with fake_scrapyd() as url:
        yield url
