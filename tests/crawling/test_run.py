"""A crawl's run: its summary and figures from the crawl's stats, and its closing, also when the
crawl is stopped before it can close it (then at process exit, as failed: otherwise the run
stays "running" and the scheduler never starts the site's next crawl)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler import db
from crawler.crawling.run import closing_figures, run_stats, summarize
from tests.sites import gallery
from tests.support.cli_runner import repostwatch
from tests.support.project import ROOT

# End to end through the console script: once, on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_database

PROJECT = ROOT


def _runs(url: str) -> list[db.RunView]:
    engine = db.make_engine(url)
    try:
        with db.make_sessionmaker(engine)() as session:
            return db.list_runs(session)
    finally:
        engine.dispose()


def test_a_crawl_stopped_by_a_second_interrupt_closes_its_run_as_failed(database_url, tmp_path):
    sites_dir = tmp_path / "sites"
    sites_dir.mkdir()
    env = {"REPOSTWATCH_DATABASE_URL": database_url, "REPOSTWATCH_SITES_DIR": str(sites_dir)}
    repostwatch("db", "upgrade", env=env, cwd=tmp_path)
    # A server that accepts connections and never answers: the crawl hangs on its first page.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    base = f"http://127.0.0.1:{silent.getsockname()[1]}"
    (sites_dir / "stuck.toml").write_text(gallery.site_file("stuck", base))
    scrapy = str(Path(sys.executable).with_name("scrapy"))
    crawl = subprocess.Popen(
        [scrapy, "crawl", "site", "-a", "site=stuck"],
        cwd=PROJECT,
        env={
            **os.environ,
            **env,
            "REPOSTWATCH_HASH_WORKERS": "1",
            "REPOSTWATCH_RUN_PROGRESS_SECONDS": "0.2",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _runs(database_url) and time.monotonic() < deadline:
            time.sleep(0.2)
        [run] = _runs(database_url)
        assert run.status == "running"
        time.sleep(1.0)
        # While it runs, the crawl writes its figures so far to the row, every 0.2 s here.
        [run] = _runs(database_url)
        assert run.status == "running" and run.stats is not None, run
        assert json.loads(run.stats)["repostwatch/run_id"] == run.id
        crawl.send_signal(signal.SIGINT)  # shut down gracefully ...
        time.sleep(0.5)
        crawl.send_signal(signal.SIGINT)  # ... no: stop now, without closing the spider
        _, stderr = crawl.communicate(timeout=60)
    finally:
        if crawl.poll() is None:
            crawl.kill()
        silent.close()
    [run] = _runs(database_url)
    assert (run.status, run.finish_reason) == (
        "failed",
        "stopped before the crawl could close its run",
    ), stderr[-2000:]
    assert run.finished_at is not None


def test_crawls_close_run_closes_a_run_left_running(database_url, tmp_path):
    env = {"REPOSTWATCH_DATABASE_URL": database_url}
    repostwatch("db", "upgrade", env=env, cwd=tmp_path)
    engine = db.make_engine(database_url)
    with db.make_sessionmaker(engine).begin() as session:
        run_id = db.start_run(session, "board")
    engine.dispose()
    out = repostwatch("crawls", "close-run", str(run_id), "--reason", "killed", env=env).stdout
    assert out.strip() == f"Crawl run {run_id} of board closed as failed: killed."
    [run] = _runs(database_url)
    assert (run.status, run.finish_reason) == ("failed", "killed")
    again = repostwatch("crawls", "close-run", str(run_id), env=env, check=False)
    assert again.returncode == 1 and f"crawl run {run_id} is already failed" in again.stderr
    missing = repostwatch("crawls", "close-run", "999", env=env, check=False)
    assert missing.returncode == 1 and "no crawl run with id 999" in missing.stderr


#: A crawl's stats as Scrapy's collector holds them at the end (a datetime is not kept).
STATS = {
    "repostwatch/run_id": 7,
    "repostwatch/pages": 6,
    "repostwatch/media/hashed": 17,
    "repostwatch/media/hashed/image": 14,
    "repostwatch/media/cache_hits": 2,
    "repostwatch/media/failed": 3,
    "repostwatch/media/failed/too_large": 3,
    "repostwatch/media/skipped/UnsupportedMedia": 1,
    "repostwatch/media/skipped/MediaTooLarge": 2,
    "repostwatch/refused/robots_txt": 1,
    "repostwatch/refused/max_pages": 4,
    "repostwatch/flags/new": 5,
    "repostwatch/flags/seen_again": 2,
    "repostwatch/flags/spilled": 1,
    "repostwatch/search/requests": 2,
    "repostwatch/search/result_pages": 3,
    "downloader/response_bytes": 996230,
    "log_count/ERROR": 4,
    "log_count/INFO": 40,
    "finish_reason": "finished",
    "scheduler/enqueued": 9,
    "start_time": object(),
}


def test_the_summary_reads_the_crawls_stats():
    summary = summarize("gallery", STATS)
    assert (summary.site, summary.run_id, summary.finish_reason) == ("gallery", 7, "finished")
    assert (summary.pages, summary.media_hashed, summary.media_cached) == (6, 17, 2)
    assert (summary.media_failed, summary.media_skipped, summary.bytes) == (3, 3, 996230)
    assert (summary.flags_new, summary.flags_seen_again, summary.flags_spilled) == (5, 2, 1)
    assert summary.errors == 3 + 4  # media that failed, and every ERROR logged
    assert summary.refused == {"robots_txt": 1, "max_pages": 4}
    assert (summary.searches, summary.result_pages) == (2, 3)
    assert summary.problem.startswith("1 match(es) could not be written to the database")
    assert not summary.ok


def test_a_crawl_that_never_started_says_so():
    summary = summarize("gallery", {})
    assert (summary.run_id, summary.finish_reason, summary.pages) == (None, "did not start", 0)
    assert summary.problem == "the crawl did not start"


def test_the_run_keeps_our_counters_and_scrapys_chosen_ones():
    kept = json.loads(run_stats(STATS))
    assert kept["repostwatch/media/failed/too_large"] == 3
    assert kept["log_count/INFO"] == 40 and kept["finish_reason"] == "finished"
    assert "scheduler/enqueued" not in kept and "start_time" not in kept
    figures = closing_figures("gallery", STATS, "finished", "finished")
    assert {k: v for k, v in figures.items() if k != "stats"} == {
        "status": "finished",
        "finish_reason": "finished",
        "pages": 6,
        "media": 17 + 2,
        "bytes": 996230,
        "errors": 7,
        "flags": 5 + 2 + 1,
    }
    assert json.loads(figures["stats"]) == kept
