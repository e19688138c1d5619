"""A crawl stopped before it can close its run still closes it (as failed), at process exit.

Otherwise the run stays "running" and the scheduler never starts the site's next crawl.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from crawler import db
from tests.sites import gallery
from tests.support.cli_runner import repostwatch
from tests.support.project import ROOT

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
        env={**os.environ, **env, "REPOSTWATCH_HASH_WORKERS": "1"},
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
