"""The manual URL check form (crawler/review/checks.py): validation with clear errors, the check
run in the background by `repostwatch check --run-id`, its submitter in the audit log, its run's
state on the page."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from crawler.db import users
from crawler.db.models import AuditEntry, CrawlRun
from crawler.db.runs import list_runs
from crawler.db.sites import save_site
from crawler.review import check_runner, create_app
from crawler.review.checks import MAX_URLS
from tests.review.conftest import SECRET, https_client, login, post
from tests.support.fake_scrapyd import FakeScrapyd
from tests.support.settings import default_web_config

BOARD = 'name = "board"\nstart_urls = ["https://board.example/"]\n'
MIRROR = """name = "mirror"
start_urls = ["https://mirror1.example/"]
successor_urls = ["https://mirror{n}.example/"]
"""


def board_app(database_url, evidence_keys, tmp_path, **settings):
    """The web app over a sites folder holding the board site, with ``settings`` on top."""
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "board.toml").write_text(BOARD, encoding="utf-8")
    return create_app(
        default_web_config(
            REPOSTWATCH_DATABASE_URL=database_url,
            REPOSTWATCH_SECRET_KEY=SECRET,
            REPOSTWATCH_EVIDENCE_PRIVATE_KEY=evidence_keys.private,
            REPOSTWATCH_SITES_DIR=str(sites),
            **settings,
        )
    )


@pytest.fixture
def checks_app(database_url, engine, evidence_keys, tmp_path):
    app = board_app(database_url, evidence_keys, tmp_path)
    yield app
    app.extensions["repostwatch"].engine.dispose()


def _submit(client, text: str):
    return post(client, "/checks/", {"urls": text}, page="/checks/")


REFUSED = [
    ("", "Paste at least one page address."),
    ("  \n\n", "Paste at least one page address."),
    (
        "https://board.example/1\nftp://board.example/2",
        "Line 2: ftp://board.example/2 is not a page address",
    ),
    ("board.example/post/1", "Line 1: board.example/post/1 is not a page address"),
    ("https://board.example/a b", "is not a page address"),
    (
        "\n".join(f"https://board.example/{n}" for n in range(MAX_URLS + 1)),
        f"{MAX_URLS + 1} addresses: one check takes at most {MAX_URLS}",
    ),
    (
        "https://board.example/1\nhttps://elsewhere.example/2",
        "The addresses belong to different sites; check them separately "
        "(no site: https://elsewhere.example/2; board: https://board.example/1)",
    ),
]


@pytest.mark.any_database
def test_the_form_refuses_what_it_cannot_check_and_keeps_the_text(checks_app, world, tmp_path):
    mo = world.user("mo", "monitor")
    client = https_client(checks_app)
    login(client, "mo")
    for text, error in REFUSED:
        response = _submit(client, text)
        assert response.status_code == 400, text
        page = response.text
        assert 'id="check-errors"' in page and error in page, page[page.find("check-errors") :]
        assert f">{text}</textarea>" in page
    # A page of a site whose rules do not hold for it (its successor URL's {n} is read from
    # the start URL's host): what is wrong is said in the user's language, one item each.
    (tmp_path / "sites" / "mirror.toml").write_text(MIRROR, encoding="utf-8")
    with world.sessions.begin() as session:
        users.set_preferences(session, mo, locale="ko", timezone=None)
    response = _submit(client, "https://www.mirror1.example/post/1")
    assert response.status_code == 400
    assert (
        "<li>이 주소들은 확인할 수 없습니다: successor_urls[0]: "
        "&#39;https://mirror{n}.example/&#39;은(는) 어느 시작 URL의 호스트와도 맞지 않아"
    ) in response.text
    with world.sessions() as session:
        assert (
            session.scalars(select(AuditEntry).where(AuditEntry.action == "manual_check")).all()
            == []
        )
        assert session.scalars(select(CrawlRun).where(CrawlRun.triggered_by == "check")).all() == []


@pytest.mark.any_database
def test_a_check_runs_in_the_background_and_shows_its_run(checks_app, world, monkeypatch):
    """The real `repostwatch check`: a page on 127.0.0.1 belongs to no site, so the default
    profile checks it and refuses its private address: the run ends failed with no page."""
    monkeypatch.setenv("REPOSTWATCH_HASH_WORKERS", "1")
    mo = world.user("mo", "monitor")
    client = https_client(checks_app)
    login(client, "mo")
    url = "http://127.0.0.1:9/post/1"
    response = _submit(client, f"{url}\n{url}\n")  # a repeat is dropped
    assert response.status_code == 302
    with world.sessions() as session:
        run = session.scalars(select(CrawlRun).where(CrawlRun.triggered_by == "check")).one()
        (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "manual_check"))
    assert (entry.username, entry.target_type, entry.target_id) == ("mo", "crawl_run", str(run.id))
    assert json.loads(entry.details) == {"site": "manual", "urls": [url]}
    page = client.get("/checks/").text
    assert "Checking 1 address with the settings of the default profile" in page
    assert f"#{run.id}" in page and url in page

    deadline = time.monotonic() + 90
    status = "running"
    while status == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
        with world.sessions() as session:
            status = session.scalar(select(CrawlRun.status).where(CrawlRun.id == run.id))
    assert status == "failed"
    row = client.get("/checks/").text.split(f"#{run.id}</a>")[1].split("</tr>")[0]
    assert "failed" in row and "no_page_crawled" in row
    with world.sessions.begin() as session:
        users.set_preferences(session, mo, locale="ko", timezone=None)
    row = client.get("/checks/").text.split(f"#{run.id}</a>")[1].split("</tr>")[0]
    assert "수집한 페이지가 없음" in row and "no_page_crawled" in row


@pytest.mark.any_database
def test_with_scrapyd_configured_a_check_is_handed_to_a_node(
    world, database_url, evidence_keys, tmp_path, scrapyd_node
):
    app = board_app(database_url, evidence_keys, tmp_path, REPOSTWATCH_SCRAPYD_URLS=scrapyd_node)
    mo = world.user("mo", "monitor")
    client = https_client(app)
    login(client, "mo")
    urls = ["https://board.example/post/1", "https://board.example/post/2"]
    assert _submit(client, "\n".join(urls)).status_code == 302
    (asked,) = FakeScrapyd.scheduled
    with world.sessions() as session:
        run = session.scalars(select(CrawlRun).where(CrawlRun.triggered_by == "check")).one()
        (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "manual_check"))
    assert (asked["site"], asked["check"], asked["jobid"]) == (
        "board",
        "\n".join(urls),
        f"board.{run.id}",
    )
    assert asked["setting"] == [f"REPOSTWATCH_RUN_ID={run.id}"]
    assert run.status == "running" and run.scrapyd_job == f"board.{run.id}"
    assert (entry.username, entry.target_id) == ("mo", str(run.id))
    assert json.loads(entry.details)["urls"] == urls
    # The site has its check's job live now: another check waits, and says why.
    _submit(client, urls[0])
    assert len(FakeScrapyd.scheduled) == 1
    assert "board has crawl run" in client.get("/checks/").text
    with world.sessions.begin() as session:
        users.set_preferences(session, mo, locale="ko", timezone=None)
    _submit(client, urls[0])
    page = client.get("/checks/").text
    said = f"board의 수집 실행 {run.id}이(가) 아직 진행 중입니다"
    assert f"확인을 시작하지 못했습니다: {said}" in page  # the message
    assert page.count(said) == 3  # and the two refused checks in the list
    app.extensions["repostwatch"].engine.dispose()


@pytest.mark.any_database
def test_once_the_database_holds_sites_a_check_uses_their_rules(checks_app, world, monkeypatch):
    """The form finds the site of the addresses where crawls do (the database, once it holds
    sites: board's file is no longer one), and `repostwatch check` is told to read it there."""
    stored = 'name = "stored"\nstart_urls = ["https://stored.example/"]\n'
    with world.sessions.begin() as session:
        save_site(session, "stored", stored, by="ann", via="web")
    started = []
    monkeypatch.setattr(check_runner, "start_check", lambda *args: started.append(args) or 1)
    world.user("mo", "monitor")
    client = https_client(checks_app)
    login(client, "mo")
    assert _submit(client, "https://stored.example/post/1").status_code == 302
    assert _submit(client, "https://board.example/post/1").status_code == 302
    (stored_check, board_check) = started
    command, environment = stored_check
    assert command[-4:] == ["--site", "stored", "--", "https://stored.example/post/1"]
    assert environment["REPOSTWATCH_SITES_SOURCE"] == check_runner.DATABASE_SITES
    assert "--site" not in board_check[0]  # board.example: no site now, the default profile
    with world.sessions() as session:
        checks = set(session.scalars(select(CrawlRun.id).where(CrawlRun.triggered_by == "check")))
        sites = sorted(run.site for run in list_runs(session) if run.id in checks)
    assert sites == ["manual", "stored"]
