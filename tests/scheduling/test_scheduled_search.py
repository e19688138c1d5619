"""Scheduled search crawls: `search=1` crawls read the keywords inside the crawl, and the
scheduler hands them to scrapyd without ever putting a keyword into a job's arguments.

The crawl tests run the real `scrapy crawl` against the search board of tests/sites/search.py. The
scheduler tests talk to a small scrapyd stand-in on 127.0.0.1 that records what it is asked
(tests/scheduling/test_scrapyd.py runs a real scrapyd): what matters here is what the scheduler
sends.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from scrapy.exceptions import CloseSpider

from crawler import db
from crawler.db import schedules
from crawler.db.session import make_sessionmaker
from crawler.demo import samples
from crawler.demo.localsite import LocalSite
from crawler.scheduling import Scheduler, ScrapydClient
from crawler.scheduling.scrapyd import Node
from crawler.sites import SiteConfigError, parse_site
from spiders.site import SiteSpider
from tests.scheduling.helpers import SCRAPYD_PROJECT, Clock, finish
from tests.sites import search as board
from tests.support.cli_runner import repostwatch
from tests.support.project import ROOT

PROJECT = ROOT
SKY_Q = board.q(board.SKY_KEYWORD)
MOON_Q = board.q(board.MOON_KEYWORD)
NOT_FOUND = "없는별"  # "no such star": an active keyword the board answers 404 for


def _site_file(base_url: str, schedule: str) -> str:
    return board.site_file("board", base_url) + f"[schedule]\n{schedule}\n"


# --- site files -------------------------------------------------------------------------------
def test_search_schedule_alone_or_with_crawls():
    only = parse_site(_site_file("http://127.0.0.1:9", 'search_every = "1d"')).schedule
    assert (only.crawls, only.rule, only.search_schedule.rule) == (False, "search only", "every 1d")
    both = parse_site(
        _site_file(
            "http://127.0.0.1:9", 'every = "6h"\nsearch_cron = "0 3 * * *"\ntimezone = "Asia/Seoul"'
        )
    ).schedule
    assert (both.crawls, both.rule) == (True, "every 6h (Asia/Seoul)")
    assert both.search_schedule.rule == "cron 0 3 * * * (Asia/Seoul)"
    assert both.search_schedule.timezone == "Asia/Seoul"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            'search_every = "1d"\nsearch_cron = "0 3 * * *"',
            'schedule: give search_every (e.g. "1d") or search_cron (e.g. "0 3 * * *"), not both',
        ),
        ('search_every = "10s"', "schedule.search_every: '10s' is shorter than the shortest"),
        ('search_cron = "0 3 * *"', "schedule.search_cron: '0 3 * *' is not a cron expression"),
    ],
)
def test_bad_search_schedules_are_refused(text, problem):
    with pytest.raises(SiteConfigError) as error:
        parse_site(_site_file("http://127.0.0.1:9", text), "sites/board.toml")
    assert str(error.value).startswith(f"sites/board.toml: {problem}")


def test_a_search_schedule_needs_a_search_table():
    text = (
        'name = "gallery"\nstart_urls = ["http://127.0.0.1:9/"]\n[schedule]\nsearch_every = "1d"\n'
    )
    with pytest.raises(SiteConfigError) as error:
        parse_site(text, "sites/gallery.toml")
    assert str(error.value).startswith(
        "sites/gallery.toml: schedule.search_every: search crawls need a [search] table"
    )


# --- the spider argument ----------------------------------------------------------------------
def test_search_argument_is_checked():
    config = parse_site(board.site_file("board", "http://127.0.0.1:9"))
    assert SiteSpider(config=config, search="1").search_from_database is True
    assert SiteSpider(config=config, search="0").search_from_database is False
    with pytest.raises(ValueError, match=r"search must be 1 or 0 \(-a search=1\), not 'maybe'"):
        SiteSpider(config=config, search="maybe")
    with pytest.raises(ValueError, match=r"give -a search=1 or -a keywords=\.\.\., not both"):
        SiteSpider(config=config, search="1", keywords=["하늘별"])
    plain = parse_site('name = "gallery"\nstart_urls = ["http://127.0.0.1:9/"]\n')
    with pytest.raises(ValueError, match=r"no \[search\] table"):
        SiteSpider(config=plain, search="1")


def test_search_without_loaded_keywords_closes_rather_than_crawls():
    """Without the keywords (extension off, database down) the crawl must not fall back to an
    ordinary crawl of the start URLs."""
    spider = SiteSpider(config=parse_site(board.site_file("board", "http://127.0.0.1:9")), search=1)

    async def first():
        return [request async for request in spider.start()]

    with pytest.raises(CloseSpider) as closed:
        asyncio.run(first())
    assert closed.value.reason == "search_keywords_unavailable"


# --- a real crawl -----------------------------------------------------------------------------
@pytest.fixture
def cases(database_url, tmp_path):
    """A migrated database with both cases' references and keywords (one withdrawn)."""
    sites_dir = tmp_path / "sites"
    sites_dir.mkdir()
    env = {"REPOSTWATCH_DATABASE_URL": database_url, "REPOSTWATCH_SITES_DIR": str(sites_dir)}
    repostwatch("db", "upgrade", env=env, cwd=tmp_path)
    for case, photos in board.REFERENCES.items():
        paths = [samples.photo_path(name) for name in photos]
        repostwatch("refs", "add", "--case", case, *paths, env=env, cwd=tmp_path)
    repostwatch(
        "cases", "keywords", "add", board.SKY, board.SKY_KEYWORD, board.SKY_WITHDRAWN, env=env
    )
    repostwatch("cases", "keywords", "add", board.MOON, board.MOON_KEYWORD, NOT_FOUND, env=env)
    repostwatch("cases", "keywords", "remove", board.SKY, board.SKY_WITHDRAWN, env=env)
    return env, sites_dir


EXPECTED_FLAGS = {  # media path: (case, keyword that led to it)
    "/img/1.jpg": (board.SKY, board.SKY_KEYWORD),
    "/img/3.jpg": (board.SKY, board.SKY_KEYWORD),
    "/img/2.jpg": (board.MOON, board.SKY_KEYWORD),
    "/img/5.jpg": (board.MOON, board.MOON_KEYWORD),
}


def test_scrapy_crawl_with_search_1_reads_the_keywords_itself(cases, database_url):
    env, sites_dir = cases
    scrapy = str(Path(sys.executable).with_name("scrapy"))
    with LocalSite(board.routes()) as site:
        (sites_dir / "board.toml").write_text(board.site_file("board", site.url))
        done = subprocess.run(
            [scrapy, "crawl", "site", "-a", "site=board", "-a", "search=1"],
            cwd=PROJECT,
            env={**os.environ, **env, "REPOSTWATCH_HASH_WORKERS": "1"},
            capture_output=True,
            text=True,
            check=True,
            timeout=240,
        )
        got = {path for method, path, _ in site.exchanges if method == "GET"}
    # Every active keyword was searched (page 2 of one of them too); the withdrawn one never.
    assert {p for p in got if p.startswith("/search")} == {
        f"/search?q={SKY_Q}",
        f"/search?q={SKY_Q}&page=2",
        f"/search?q={MOON_Q}",
        f"/search?q={board.q(NOT_FOUND)}",
    }
    assert "/" not in got  # a search crawl: the start URL is not crawled
    flags = json.loads(repostwatch("flags", "list", "--json", env=env).stdout)
    assert {urlsplit(f["media_url"]).path: (f["case"], f["keyword"]) for f in flags} == (
        EXPECTED_FLAGS
    )
    assert "Searching board for 3 active case keyword(s)" in done.stderr
    # The log names how many keywords, never which: Scrapy's INFO line about the search that
    # answered 404 has the keyword replaced.
    assert "Ignoring response <404 http://127.0.0.1:" in done.stderr
    assert "/search?q=[keyword]>" in done.stderr
    for keyword in (board.SKY_KEYWORD, board.MOON_KEYWORD, NOT_FOUND):
        for secret in (keyword, board.q(keyword), board.q(keyword).lower()):
            assert secret not in done.stderr and secret not in done.stdout


# --- the scheduler ----------------------------------------------------------------------------
class FakeScrapyd:
    """Answers daemonstatus.json, listjobs.json and schedule.json like scrapyd 1.6, recording
    every request body; a scheduled job stays pending until ``finish(job)``."""

    def __init__(self):
        self.requests: list[tuple[str, str]] = []  # (path, raw body)
        self.scheduled: list[dict[str, list[str]]] = []
        self.pending: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, payload: dict) -> None:
                body = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                fake.requests.append((self.path, ""))
                if path == "/daemonstatus.json":
                    self._answer({"status": "ok", "running": 0, "pending": len(fake.pending)})
                elif path == "/listjobs.json":
                    self._answer(
                        {"status": "ok", "pending": fake.pending, "running": [], "finished": []}
                    )
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"])).decode()
                fake.requests.append((self.path, raw))
                form = parse_qs(raw)
                fake.scheduled.append(form)
                job = form["jobid"][0]
                args = {k: v[0] for k, v in form.items() if k in ("site", "search")}
                fake.pending.append({"id": job, "spider": form["spider"][0], "args": args})
                self._answer({"status": "ok", "jobid": job})

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def finish(self, job: str) -> None:
        self.pending = [j for j in self.pending if j["id"] != job]


@pytest.fixture
def scrapyd():
    fake = FakeScrapyd()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def _finish(sessions, run_id: int) -> None:
    with sessions.begin() as session:
        finish(session, run_id, pages=4, media=8)


def test_search_crawls_are_scheduled_when_due_never_beside_another_crawl(engine, tmp_path, scrapyd):
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:  # keywords exist, and must never reach scrapyd
        db.add_keywords(session, "case-sky", [board.SKY_KEYWORD])
    schedule = 'every = "6h"\nsearch_every = "1d"'
    (tmp_path / "board.toml").write_text(_site_file("http://127.0.0.1:9", schedule))
    clock = Clock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    client = ScrapydClient(Node.parse(scrapyd.url), SCRAPYD_PROJECT, timeout=5)
    scheduler = Scheduler(sessions, tmp_path, [client], clock=clock)

    # Both are due at once: the crawl goes first, the search waits for it (one crawl per site).
    first = scheduler.run_pass()
    (crawl,) = first.scheduled
    assert (crawl.triggered_by, crawl.search) == ("schedule", False)
    assert (
        first.skipped_searches["board"]
        == f"board has scrapyd job {crawl.job} on {client.name} already"
    )
    assert scheduler.run_pass().scheduled == []  # the crawl is still queued

    scrapyd.finish(crawl.job)
    _finish(sessions, crawl.run_id)
    clock.now += timedelta(minutes=5)
    (search,) = scheduler.run_pass().scheduled
    assert (search.site, search.triggered_by, search.search) == ("board", "schedule-search", True)
    assert search.job == f"board.{search.run_id}"
    form = scrapyd.scheduled[-1]
    assert form["spider"] == ["site"]
    assert form["site"] == ["board"] and form["search"] == ["1"]
    assert form["setting"] == [f"REPOSTWATCH_RUN_ID={search.run_id}"]
    assert "keywords" not in form
    posted = "".join(body for _, body in scrapyd.requests)
    assert board.SKY_KEYWORD not in posted and SKY_Q not in posted and "%ED" not in posted
    with sessions() as session:
        assert schedules.last_scheduled_at(session, "board", "schedule-search") == clock.now
        (run,) = schedules.active_runs(session)
    assert (run.id, run.triggered_by, run.scrapyd_job) == (
        search.run_id,
        "schedule-search",
        search.job,
    )

    # Not due again for a day after it was scheduled; the 6-hourly crawl waits while it runs.
    scrapyd.finish(search.job)
    _finish(sessions, search.run_id)
    clock.now += timedelta(hours=23, minutes=50)
    due = [(h.triggered_by, h.search) for h in scheduler.run_pass().scheduled]
    assert due == [("schedule", False)]  # the crawl (due since 18:00, caught up once) ...
    scrapyd.finish(scrapyd.pending[0]["id"])
    with sessions() as session:
        (crawl_run,) = schedules.active_runs(session)
    _finish(sessions, crawl_run.id)
    assert scheduler.run_pass().scheduled == []  # ... and no search yet
    clock.now += timedelta(minutes=10)  # 24 h after the last search crawl was scheduled
    (again,) = scheduler.run_pass().scheduled
    assert (again.triggered_by, again.search) == ("schedule-search", True)


def test_cron_search_waits_for_its_slot_and_catches_up_once(engine, tmp_path, scrapyd):
    sessions = make_sessionmaker(engine)
    (tmp_path / "board.toml").write_text(
        _site_file("http://127.0.0.1:9", 'search_cron = "0 3 * * *"')
    )
    clock = Clock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    scheduler = Scheduler(
        sessions,
        tmp_path,
        [ScrapydClient(Node.parse(scrapyd.url), SCRAPYD_PROJECT, timeout=5)],
        clock=clock,
    )
    assert scheduler.run_pass().scheduled == []  # search only: no ordinary crawl, first slot ahead
    clock.now = datetime(2026, 11, 26, 2, 59, tzinfo=UTC)
    assert scheduler.run_pass().scheduled == []
    clock.now = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    (first,) = scheduler.run_pass().scheduled
    assert first.search
    scrapyd.finish(first.job)
    _finish(sessions, first.run_id)
    clock.now = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)  # three slots missed: one catch-up
    (caught_up,) = scheduler.run_pass().scheduled
    scrapyd.finish(caught_up.job)
    _finish(sessions, caught_up.run_id)
    assert scheduler.run_pass().scheduled == []
    clock.now = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    assert len(scheduler.run_pass().scheduled) == 1


def test_a_site_never_searched_is_due_at_the_first_pass_on_the_real_clock(
    engine, tmp_path, scrapyd
):
    (tmp_path / "board.toml").write_text(_site_file("http://127.0.0.1:9", 'search_every = "1d"'))
    client = ScrapydClient(Node.parse(scrapyd.url), SCRAPYD_PROJECT, timeout=5)
    scheduler = Scheduler(make_sessionmaker(engine), tmp_path, [client])  # utcnow, moving on
    (handover,) = scheduler.run_pass().scheduled
    assert (handover.triggered_by, handover.search) == ("schedule-search", True)
