"""Distributed crawls: worker processes share one crawl run of a site through a real Redis
(crawler/distributed: prepare_worker, the add-on, the run scheduler).

The workers are the real console script (``repostwatch crawl SITE --distributed``) or ``scrapy
crawl``, on a real database (SQLite and PostgreSQL) and a local site that records every request.
Each test has Redis keys of its own (``REPOSTWATCH_DISTRIBUTED_PREFIX``).
"""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from scrapy.settings import Settings

from benchmarks.reliability.relay import Relay
from crawler.demo.localsite import LocalSite
from crawler.distributed import (
    RunKeys,
    open_run,
)
from tests.distributed.workers import (
    PAGES,
    finish,
    flags,
    opened_run_id,
    pages_of,
    settings_of,
    site_file,
    site_routes,
    start_worker,
    the_run,
)
from tests.sites import gallery
from tests.support.project import ROOT


def test_two_workers_share_one_crawl_run(workers_env, redis_url, tmp_path):
    env, sites_dir, prefix = workers_env
    with LocalSite(site_routes()) as site:
        (sites_dir / "board.toml").write_text(site_file(site.url))
        first = start_worker(env=env, cwd=tmp_path)
        run_id = opened_run_id(first)
        second = start_worker("--run-id", run_id, env=env, cwd=tmp_path)
        (first_out, _), (second_out, second_err) = finish(first), finish(second)
        requested = collections.Counter(site.requests)

    # Every page was fetched exactly once across both workers, and both fetched pages.
    assert {path: requested[path] for path in PAGES} == dict.fromkeys(PAGES, 1)
    fetched = [pages_of(first_out), pages_of(second_out)]
    assert min(fetched) > 0 and sum(fetched) == len(PAGES), fetched
    assert f"Crawl run {run_id} of board" in second_out
    # Hash matching and flag writing are unchanged in each worker: every repost, once.
    found = flags(env, tmp_path)
    assert sorted((urlsplit(f["media_url"]).path, f["case"]) for f in found) == sorted(
        gallery.EXPECTED_FLAGS
    )
    assert {f["last_run_id"] for f in found} == {run_id}
    # The run adds up both workers' figures; the last worker out closed it.
    run = the_run(env, run_id)
    assert (run.status, run.finish_reason) == ("finished", "finished")
    assert run.pages == len(PAGES)
    assert run.flags == len(gallery.EXPECTED_FLAGS)
    stats = json.loads(run.stats)
    assert stats["repostwatch/workers"] == 2
    assert stats["repostwatch/pages"] == len(PAGES)
    assert stats["repostwatch/run_id"] == run_id  # not summed
    assert "ERROR" not in second_err.replace("log_count/ERROR", "")
    # Its keys are gone but "closed", which expires and turns late workers away.
    with redis.Redis.from_url(redis_url) as client:
        keys = RunKeys(prefix, run_id)
        assert sorted(k.decode() for k in client.keys(f"{prefix}:*")) == [keys.key("closed")]
        assert 0 < client.ttl(keys.key("closed")) <= 6 * 3600
    late = start_worker("--run-id", run_id, env=env, cwd=tmp_path)
    late_out, late_err = late.outcome(timeout=120)
    assert late.returncode != 0
    assert f"crawl run {run_id} is already finished" in late_err + late_out


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_next_run_visits_every_page_again(workers_env, tmp_path):
    env, sites_dir, _ = workers_env
    with LocalSite(site_routes()) as site:
        (sites_dir / "board.toml").write_text(site_file(site.url, delay=0))
        outs = [finish(start_worker(env=env, cwd=tmp_path))[0] for _ in range(2)]
        requested = collections.Counter(site.requests)

    assert {path: requested[path] for path in PAGES} == dict.fromkeys(PAGES, 2)
    first, second = (int(re.search(r"Opened crawl run (\d+)", out).group(1)) for out in outs)
    assert first != second
    assert [pages_of(out) for out in outs] == [len(PAGES)] * 2
    assert f"0 new, {len(gallery.EXPECTED_FLAGS)} seen again" in outs[1]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_max_pages_holds_across_workers(workers_env, tmp_path):
    env, sites_dir, _ = workers_env
    with LocalSite(site_routes()) as site:
        (sites_dir / "board.toml").write_text(site_file(site.url, max_pages=12))
        first = start_worker(env=env, cwd=tmp_path)
        run_id = opened_run_id(first)
        second = start_worker("--run-id", run_id, env=env, cwd=tmp_path)
        finish(first), finish(second)
        pages = [path for path in site.requests if path in PAGES]

    assert len(pages) == 12 and len(set(pages)) == 12
    run = the_run(env, run_id)
    assert run.pages == 12 and run.status == "finished"
    assert json.loads(run.stats)["repostwatch/refused/max_pages"] > 0


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_scrapy_crawl_joins_with_settings(workers_env, tmp_path):
    """`scrapy crawl site -a site=NAME -s REPOSTWATCH_DISTRIBUTED=1 -s REPOSTWATCH_RUN_ID=N`."""
    env, sites_dir, _ = workers_env
    project = ROOT
    scrapy = str(Path(sys.executable).with_name("scrapy"))
    settings = Settings({**settings_of(env), "REPOSTWATCH_DISTRIBUTED_KEY_TTL": 600})
    run_id = open_run(settings, "board")
    with LocalSite(site_routes()) as site:
        (sites_dir / "board.toml").write_text(site_file(site.url, delay=0.05))
        command = [scrapy, "crawl", "site", "-a", "site=board", "-s", "REPOSTWATCH_DISTRIBUTED=1"]
        command += ["-s", f"REPOSTWATCH_RUN_ID={run_id}"]
        workers = [
            subprocess.Popen(
                command, cwd=project, env={**os.environ, **env}, stderr=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        logs = [worker.communicate(timeout=240)[1] for worker in workers]
        requested = collections.Counter(site.requests)
    assert [worker.returncode for worker in workers] == [0, 0], logs[0][-3000:]
    assert {path: requested[path] for path in PAGES} == dict.fromkeys(PAGES, 1)
    run = the_run(env, run_id)
    assert (run.status, run.pages, run.flags) == (
        "finished",
        len(PAGES),
        len(gallery.EXPECTED_FLAGS),
    )
    assert sum("Last worker out" in log for log in logs) == 1

    # Without a run id, or without Redis, it says what is missing.
    bad = subprocess.run(
        [scrapy, "crawl", "site", "-a", "site=board", "-s", "REPOSTWATCH_DISTRIBUTED=1"],
        cwd=project,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0 and "-s REPOSTWATCH_RUN_ID=N" in bad.stderr


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_killed_worker_is_given_up_and_the_run_closes(workers_env, tmp_path):
    """A worker killed mid-crawl: the other stops waiting for it after the worker timeout,
    crawls what the dead one had taken and not processed, finishes the crawl, and closes the
    run as failed (a worker was lost)."""
    env, sites_dir, _ = workers_env
    project = ROOT
    scrapy = str(Path(sys.executable).with_name("scrapy"))
    settings = Settings(settings_of(env))
    run_id = open_run(settings, "board")
    command = [scrapy, "crawl", "site", "-a", "site=board", "-s", "REPOSTWATCH_DISTRIBUTED=1"]
    command += ["-s", f"REPOSTWATCH_RUN_ID={run_id}", "-s", "LOG_LEVEL=INFO"]
    command += ["-s", "REPOSTWATCH_DISTRIBUTED_HEARTBEAT_SECONDS=0.5"]
    command += ["-s", "REPOSTWATCH_DISTRIBUTED_WORKER_TIMEOUT=3"]
    with LocalSite(site_routes()) as site:
        (sites_dir / "board.toml").write_text(site_file(site.url, delay=0.3))
        run = {"cwd": project, "env": {**os.environ, **env}, "text": True}
        survivor = subprocess.Popen(command, stderr=subprocess.PIPE, **run)
        victim = subprocess.Popen(command, stderr=subprocess.DEVNULL, **run)
        deadline = time.monotonic() + 120
        while sum(path in PAGES for path in site.requests) < 12 and time.monotonic() < deadline:
            time.sleep(0.2)
        victim.kill()
        victim.wait(timeout=30)
        _, log = survivor.communicate(timeout=240)
        requested = collections.Counter(path for path in site.requests if path in PAGES)

    assert survivor.returncode == 0, log[-3000:]
    assert set(requested) == PAGES  # no page lost with the worker that held it
    assert max(requested.values()) <= 2  # taken again only when the dead worker held it
    result = the_run(env, run_id)
    assert result.status == "failed"
    assert result.finish_reason == "worker_lost (1 of 2 workers)"
    assert 0 < result.pages <= 2 * len(PAGES)  # the dead worker's own figures never arrive
    assert "Last worker out" in log


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_workers_wait_out_a_redis_outage_and_lose_no_page(workers_env, redis_url, tmp_path):
    """Redis goes away for a few seconds mid-crawl (connections reset, then refused): the
    workers keep the links they find, wait, queue them when Redis is back, and every page and
    every flag of the site is there in the end. Each worker's log says once that Redis went
    away and once that it is back, and holds no traceback: the engine's loop raised at every
    pass while Redis was away, and the tracebacks of a one-minute outage filled the pipe of the
    benchmark's second worker, which then stopped for minutes (docs/reliability.md)."""
    env, sites_dir, _ = workers_env
    url = urlsplit(redis_url)
    relay = Relay(url.port or 6379)
    env = {**env, "REPOSTWATCH_REDIS_URL": f"redis://127.0.0.1:{relay.port}{url.path}"}
    try:
        with LocalSite(site_routes()) as site:
            (sites_dir / "board.toml").write_text(site_file(site.url, delay=0.2))
            first = start_worker(env=env, cwd=tmp_path)
            run_id = opened_run_id(first)
            second = start_worker("--run-id", run_id, env=env, cwd=tmp_path)
            workers = RunKeys(env["REPOSTWATCH_DISTRIBUTED_PREFIX"], run_id).key("workers")
            deadline = time.monotonic() + 120
            with redis.Redis.from_url(redis_url) as client:  # both joined, the crawl under way
                while time.monotonic() < deadline and (
                    client.hlen(workers) < 2 or sum(p in PAGES for p in site.requests) < 10
                ):
                    time.sleep(0.1)
            relay.down()
            time.sleep(4)
            relay.up()
            (_, first_err), (_, second_err) = finish(first), finish(second)
            requested = collections.Counter(path for path in site.requests if path in PAGES)
    finally:
        relay.down()

    assert set(requested) == PAGES, sorted(PAGES - set(requested))
    found = flags(env, tmp_path)
    assert sorted((urlsplit(f["media_url"]).path, f["case"]) for f in found) == sorted(
        gallery.EXPECTED_FLAGS
    )
    assert "Redis is unreachable" in first_err + second_err
    for log in (first_err, second_err):
        assert "Traceback" not in log, log[-6000:]
        assert log.count("Redis is unreachable") <= 1, log[-6000:]
        assert log.count("Redis is back") == log.count("Redis is unreachable"), log[-6000:]
