"""The crawls page (crawler/review/crawls.py): every site with its schedule, state, next crawl,
health and reason; run now, pause and resume, audited; a site's recent runs charted; a run's
figures from its row; the monitor role."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from crawler.db import schedules, users
from crawler.db.models import AuditEntry, CrawlRun, utcnow
from crawler.db.runs import ensure_site, finish_run, start_run
from crawler.db.sites import save_site
from crawler.review import create_app
from tests.review.conftest import SECRET, https_client, login, post
from tests.support.fake_scrapyd import FakeScrapyd
from tests.support.settings import default_web_config

SITES = {
    "board": 'name = "board"\nstart_urls = ["https://board.example/"]\n[schedule]\nevery = "6h"\n',
    "gallery": 'name = "gallery"\nstart_urls = ["https://gallery.example/"]\n',
    "broken": 'name = "broken"\nstart_urls = "not a list"\n',
}
STATS = {
    "repostwatch/pages": 12,
    "repostwatch/media/hashed/image": 30,
    "repostwatch/media/hashed/video": 2,
    "repostwatch/media/downloaded": 28,
    "repostwatch/media/cache_hits": 4,
    "repostwatch/video/ranged": 1,
    "repostwatch/video/hls/streams": 1,
    "repostwatch/refused/robots_txt": 3,
    "repostwatch/errors/http_503": 2,
    "repostwatch/media/failed/too_large": 1,
    "repostwatch/flags/new": 1,
    "repostwatch/flags/seen_again": 2,
}


@pytest.fixture
def sites_dir(tmp_path):
    directory = tmp_path / "sites"
    directory.mkdir()
    for name, text in SITES.items():
        (directory / f"{name}.toml").write_text(text, encoding="utf-8")
    return directory


def _app(database_url, evidence_keys, sites_dir, scrapyd_urls: str):
    return create_app(
        default_web_config(
            REPOSTWATCH_DATABASE_URL=database_url,
            REPOSTWATCH_SECRET_KEY=SECRET,
            REPOSTWATCH_EVIDENCE_PRIVATE_KEY=evidence_keys.private,
            REPOSTWATCH_SITES_DIR=str(sites_dir),
            REPOSTWATCH_SCRAPYD_URLS=scrapyd_urls,
        )
    )


def _runs(world, site: str, figures: list[tuple[int, int]]) -> list[int]:
    """Finished runs of ``site`` with (pages, media), oldest first, each with :data:`STATS`."""
    ids = []
    with world.sessions.begin() as session:
        for pages, media in figures:
            run_id = start_run(session, site)
            finish_run(
                session,
                run_id,
                status="finished",
                finish_reason="finished",
                pages=pages,
                media=media,
                bytes=1000 * pages,
                errors=3,
                flags=3,
                stats=json.dumps(STATS),
            )
            ids.append(run_id)
    return ids


def _audit(world, action: str) -> list[AuditEntry]:
    with world.sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_a_monitor_sees_every_site_and_no_flag(world, database_url, evidence_keys, sites_dir):
    app = _app(database_url, evidence_keys, sites_dir, "")
    runs = _runs(world, "board", [(10, 20)])
    with world.sessions.begin() as session:
        schedules.save_health(
            session,
            ensure_site(session, "board"),
            state="unhealthy",
            reason="crawl run 1 crawled no page",
            since=utcnow(),
            last_run_id=runs[0],
        )
        schedules.save_schedule_state(
            session, "board", schedule="every 6h", next_due_at=utcnow() + timedelta(hours=2)
        )
    mo = world.user("mo", "monitor")
    client = https_client(app)
    response = login(client, "mo")
    assert response.location == "/crawls/"  # a monitor's first page: no queue for them
    page = client.get("/crawls/").text
    for name in SITES:
        assert f'id="site-{name}"' in page
    board = page[page.index('id="site-board"') :].split("</tr>")[0]
    assert "every 6h" in board and "scheduled" in board and "unhealthy" in board
    assert "crawl run 1 crawled no page" in board and f"#{runs[0]}" in board
    gallery = page[page.index('id="site-gallery"') :].split("</tr>")[0]
    assert "by hand" in gallery and "Pause" not in gallery and "Run now" in gallery
    broken = page[page.index('id="site-broken"') :].split("</tr>")[0]
    assert "invalid site file" in broken and "Run now" not in broken
    for refused in ("/", f"/flags/{world.flag(1)}", "/notices/", "/cases/", "/admin/users"):
        assert client.get(refused).status_code == 403, refused
    assert client.get("/account/").status_code == 200
    assert client.get("/crawls/sites/nowhere").status_code == 404
    # The stored (English) reason is shown in the user's language.
    with world.sessions.begin() as session:
        users.set_preferences(session, mo, locale="ko", timezone=None)
    korean = "수집 실행 1에서 페이지를 하나도 수집하지 못했습니다"
    assert korean in client.get("/crawls/").text
    assert korean in client.get("/crawls/sites/board").text


@pytest.mark.any_database
def test_pause_and_resume_are_audited(world, database_url, evidence_keys, sites_dir):
    app = _app(database_url, evidence_keys, sites_dir, "")
    world.user("mo", "monitor")
    client = https_client(app)
    login(client, "mo")
    assert post(client, "/crawls/sites/board/pause", page="/crawls/").status_code == 302
    assert "board is paused." in client.get("/crawls/").text
    board = client.get("/crawls/").text.split('id="site-board"')[1].split("</tr>")[0]
    assert "paused" in board and "Resume" in board
    post(client, "/crawls/sites/board/pause", page="/crawls/")  # already: no second entry
    post(client, "/crawls/sites/board/resume", page="/crawls/")
    with world.sessions() as session:
        assert not schedules.get_schedule_state(session, "board").paused
    assert [(e.action, e.target_id, e.username) for e in _audit(world, "crawl_pause")] == [
        ("crawl_pause", "board", "mo")
    ]
    assert [e.target_id for e in _audit(world, "crawl_resume")] == ["board"]
    assert post(client, "/crawls/sites/nowhere/pause", page="/crawls/").status_code == 404


@pytest.mark.any_database
def test_run_now_hands_the_crawl_to_scrapyd_and_is_audited(
    world, database_url, evidence_keys, sites_dir, scrapyd_node
):
    app = _app(database_url, evidence_keys, sites_dir, scrapyd_node)
    mo = world.user("mo", "monitor")
    client = https_client(app)
    login(client, "mo")
    post(client, "/crawls/sites/board/run-now", page="/crawls/")
    (asked,) = FakeScrapyd.scheduled
    with world.sessions() as session:
        run = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
    assert run.triggered_by == "manual" and run.status == "running"
    assert asked["site"] == "board" and asked["jobid"] == f"board.{run.id}"
    assert asked["setting"] == [f"REPOSTWATCH_RUN_ID={run.id}"]
    assert f"Crawl run {run.id} of board handed to scrapyd" in client.get("/crawls/").text
    # The same site again while its run is open: refused, and that is audited too.
    post(client, "/crawls/sites/board/run-now", page="/crawls/")
    assert len(FakeScrapyd.scheduled) == 1
    assert "still running" in client.get("/crawls/").text
    with world.sessions.begin() as session:
        users.set_preferences(session, mo, locale="ko", timezone=None)
    post(client, "/crawls/sites/board/run-now", page="/crawls/")
    assert (
        f"board 수집을 시작하지 않았습니다: board의 수집 실행 {run.id}이(가) 아직 진행 중입니다"
        in client.get("/crawls/").text
    )
    entries = _audit(world, "crawl_run_now")
    assert [json.loads(e.details).get("run_id") for e in entries] == [run.id, None, None]
    assert "refused" in json.loads(entries[1].details)


@pytest.mark.any_database
def test_run_now_without_a_usable_node_says_why(world, database_url, evidence_keys, sites_dir):
    app = _app(database_url, evidence_keys, sites_dir, "http://127.0.0.1:6800/")  # no credentials
    mo = world.user("mo", "monitor")
    client = https_client(app)
    login(client, "mo")
    post(client, "/crawls/sites/board/run-now", page="/crawls/")
    assert "No scrapyd node can be used" in client.get("/crawls/").text
    with world.sessions.begin() as session:
        users.set_preferences(session, mo, locale="ko", timezone=None)
    post(client, "/crawls/sites/board/run-now", page="/crawls/")
    assert (
        "사용할 수 있는 scrapyd 노드가 없습니다: "
        "REPOSTWATCH_SCRAPYD_URLS: http://127.0.0.1:6800/에 사용자 이름과 비밀번호가 없습니다"
    ) in client.get("/crawls/").text
    with world.sessions() as session:
        assert session.scalar(select(CrawlRun).where(CrawlRun.triggered_by == "manual")) is None


@pytest.mark.any_database
def test_a_sites_runs_are_charted_and_a_runs_figures_shown(
    world, database_url, evidence_keys, sites_dir
):
    app = _app(database_url, evidence_keys, sites_dir, "")
    runs = _runs(world, "board", [(10, 20), (12, 24), (1, 0)])
    rev = world.user("rev", "reviewer")  # roles above monitor see it too
    client = https_client(app)
    login(client, "rev")
    page = client.get("/crawls/sites/board").text
    charts = page.split('<svg class="spark"')[1:]
    assert len(charts) == 6  # pages, media, bytes, refusals, errors, flags
    pages_chart = charts[0].split("</svg>")[0]
    assert pages_chart.count("<rect") == 3 and "<script" not in pages_chart
    assert f"#{runs[2]}" in pages_chart and ": 1</title>" in pages_chart
    assert "http" not in pages_chart.replace("http://www.w3.org/2000/svg", "")

    run_page = client.get(f"/crawls/runs/{runs[0]}").text
    for shown in (
        "Media hashed: images",
        "Delivery: downloaded whole",
        "Delivery: large files sampled by byte ranges",
        "Delivery: HLS streams sampled by segments",
        "Delivery: unchanged, matched from the media cache",
        "Refused: forbidden by robots.txt",
        '<small class="code">robots_txt</small>',  # the code stays, for the monitoring team
        "Error: HTTP 503",
        '<small class="code">http_503</small>',
        "Error: media: file too large",
        "New flags",
    ):
        assert shown in run_page, shown
    assert client.get("/crawls/runs/999999").status_code == 404
    # In Korean: refusal reasons, error kinds, finish reasons (Scrapy's codes, and a failed
    # run's in the site's health reason) are labelled, their codes kept beside them.
    with world.sessions.begin() as session:
        stopped = start_run(session, "board")
        finish_run(
            session,
            stopped,
            status="failed",
            finish_reason="shutdown",
            pages=0,
            media=0,
            bytes=0,
            errors=0,
            flags=0,
        )
        schedules.save_health(
            session,
            ensure_site(session, "board"),
            state="unhealthy",
            reason=f"crawl run {stopped} failed: shutdown",
            since=utcnow(),
            last_run_id=stopped,
        )
        users.set_preferences(session, rev, locale="ko", timezone=None)
    run_page = client.get(f"/crawls/runs/{runs[0]}").text
    for shown in (
        "거부: robots.txt가 금지함",
        "오류: HTTP 503 응답",
        "오류: 미디어: 파일이 너무 큼",
    ):
        assert shown in run_page, shown
    stopped_page = client.get(f"/crawls/runs/{stopped}").text
    assert "중지됨 (수집 프로세스에 종료 요청)" in stopped_page
    assert '<small class="code">shutdown</small>' in stopped_page
    assert (
        f"수집 실행 {stopped}이(가) 실패했습니다: 중지됨 (수집 프로세스에 종료 요청)"
        in client.get("/crawls/sites/board").text
    )


@pytest.mark.any_database
def test_once_the_database_holds_sites_the_page_and_run_now_use_them(
    world, database_url, evidence_keys, sites_dir, scrapyd_node
):
    """Sites saved in the database (the site editor, `sites import`) are what crawls read: the
    page lists them instead of the site files, and run now hands a stored site over."""
    stored = 'name = "stored"\nstart_urls = ["https://stored.example/"]\n'
    with world.sessions.begin() as session:
        save_site(session, "stored", stored, by="ann", via="web")
    app = _app(database_url, evidence_keys, sites_dir, scrapyd_node)
    world.user("mo", "monitor")
    client = https_client(app)
    login(client, "mo")
    page = client.get("/crawls/").text
    assert 'id="site-stored"' in page and 'id="site-board"' not in page
    assert client.get("/crawls/sites/board").status_code == 404  # a file no longer crawled
    assert client.get("/crawls/sites/stored").status_code == 200
    post(client, "/crawls/sites/stored/run-now", page="/crawls/")
    (asked,) = FakeScrapyd.scheduled
    assert asked["site"] == "stored"


@pytest.mark.any_database
def test_a_running_runs_figures_are_shown_and_asked_for_while_it_runs(
    world, database_url, evidence_keys, sites_dir
):
    """The crawls page shows a running run's figures and names it for review.js, which asks
    /crawls/runs/live for its state and figures (as record_progress leaves them) until it ends."""
    from crawler.db.runs import record_progress

    app = _app(database_url, evidence_keys, sites_dir, "")
    (done,) = _runs(world, "gallery", [(10, 20)])
    with world.sessions.begin() as session:
        running = start_run(session, "board")
    world.user("mo", "monitor")
    client = https_client(app)
    login(client, "mo")
    page = client.get("/crawls/").text
    assert 'data-live-url="/crawls/runs/live"' in page
    board = page[page.index('id="site-board"') :].split("</tr>")[0]
    assert f'data-live-run="{running}"' in board and "Pages 0 · media 0 · flags 0" in board
    gallery = page[page.index('id="site-gallery"') :].split("</tr>")[0]
    assert "data-live-run" not in gallery and "Pages 10 · media 20 · flags 3" in gallery

    with world.sessions.begin() as session:
        record_progress(session, running, pages=1234, media=5, bytes=9, errors=0, flags=1)
    live = client.get(f"/crawls/runs/live?run={running}&run={done}&run=999999").json
    assert live["runs"] == [
        {
            "id": running,
            "running": True,
            "status": "running",
            "figures": "Pages 1,234 · media 5 · flags 1",
        },
        {
            "id": done,
            "running": False,
            "status": "finished",
            "figures": "Pages 10 · media 20 · flags 3",
        },
    ]
    anonymous = https_client(app).get(f"/crawls/runs/live?run={running}")
    assert anonymous.status_code in (302, 401)
