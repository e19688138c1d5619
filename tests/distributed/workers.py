"""Distributed crawl workers as the tests start them: the real console script (``repostwatch
crawl board --distributed``) on a local site of listings that records every request."""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from pathlib import Path

from crawler import db
from crawler.demo.localsite import html
from tests.sites import gallery
from tests.support.cli_runner import REPOSTWATCH

#: Listing pages besides the gallery's six, so that two workers both get work.
LISTINGS = 40
GALLERY_PAGES = {"/", "/page/1", "/page/2", "/page/3", "/page/4", "/post/99"}
PAGES = GALLERY_PAGES | {f"/list/{i}" for i in range(LISTINGS)}


def site_routes() -> dict:
    routes = gallery.routes()
    routes["/"] = html(
        routes["/"].body.decode().replace("</body>", '<a href="/list/0">listings</a></body>')
    )
    for i in range(LISTINGS):
        links = {
            f"/list/{(i + 1) % LISTINGS}",
            f"/list/{(i * 7 + 3) % LISTINGS}",
            f"/page/{i % 4 + 1}",
        }
        anchors = "".join(f'<a href="{link}">{link}</a>' for link in sorted(links))
        routes[f"/list/{i}"] = html(f"<!doctype html><title>List {i}</title>{anchors}")
    return routes


def site_file(base_url: str, *, delay: float = 0.3, max_pages: int = 1000) -> str:
    return (
        f'name = "board"\nstart_urls = ["{base_url}/"]\nallow_private_network = true\n'
        f"download_delay = {delay}\nconcurrency = 2\nautothrottle = false\n"
        f"[follow]\nallow = ['/page/\\d+', '/post/', '/list/\\d+']\nmax_depth = 60\n"
        f"max_pages = {max_pages}\n"
    )


class Worker(subprocess.Popen[str]):
    """A worker process. Its log (stderr) goes to a file, not a pipe: a pipe that nobody reads
    while the test waits for another worker fills up, and the worker then stops in the middle
    of a log line, reactor and all."""

    def __init__(self, command: list[str], *, log: Path, **kwargs):
        self.log = log
        with log.open("w") as stderr:
            super().__init__(command, stdout=subprocess.PIPE, stderr=stderr, text=True, **kwargs)

    def outcome(self, timeout: float) -> tuple[str, str]:
        """Wait for it to exit: what it printed, and its log."""
        out, _ = self.communicate(timeout=timeout)
        return out, self.log_text()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start_worker(*args: object, env: dict[str, str], cwd: Path) -> Worker:
    return Worker(
        [REPOSTWATCH, "crawl", "board", "--distributed", *map(str, args)],
        log=cwd / f"worker-{uuid.uuid4().hex[:8]}.log",
        env={**os.environ, **env},
        cwd=cwd,
    )


def finish(worker: Worker, timeout: float = 240) -> tuple[str, str]:
    out, err = worker.outcome(timeout)
    assert worker.returncode == 0, f"worker exited {worker.returncode}\n{out}\n{err[-6000:]}"
    return out, err


def opened_run_id(worker: Worker) -> int:
    """The id the first worker prints as soon as it has opened the run."""
    assert worker.stdout is not None
    line = worker.stdout.readline()
    match = re.match(r"Opened crawl run (\d+) of board", line)
    assert match, f"expected the run id first, got {line!r}; stderr: {worker.log_text()[-3000:]}"
    return int(match.group(1))


def pages_of(summary: str) -> int:
    return int(re.search(r"^\s*pages\s+(\d+)$", summary, re.M).group(1))


def the_run(env: dict[str, str], run_id: int) -> db.RunView:
    engine = db.make_engine(env["REPOSTWATCH_DATABASE_URL"])
    with db.make_sessionmaker(engine)() as session:
        run = db.get_run(session, run_id)
    engine.dispose()
    return run


def flags(env: dict[str, str], cwd: Path) -> list[dict]:
    listed = subprocess.run(
        [REPOSTWATCH, "flags", "list", "--json"],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(listed.stdout)


def settings_of(env: dict[str, str]) -> dict:
    """The settings a worker reads from ``env``, for library calls in the test process."""
    return {
        "REPOSTWATCH_DATABASE_URL": env["REPOSTWATCH_DATABASE_URL"],
        "REPOSTWATCH_REDIS_URL": env["REPOSTWATCH_REDIS_URL"],
        "REPOSTWATCH_DISTRIBUTED_PREFIX": env["REPOSTWATCH_DISTRIBUTED_PREFIX"],
        "REPOSTWATCH_DISTRIBUTED_WORKER_TIMEOUT": 300,
        "REPOSTWATCH_DISTRIBUTED_KEY_TTL": 3600,
    }
