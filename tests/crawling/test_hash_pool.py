"""The hashing processes of a killed crawl do not linger."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool

import pytest

from crawler.crawling.hash_pool import HashTimeout, new_hash_pool
from crawler.hashing import UnsupportedMedia, hash_media
from tests.support.processes import running
from tests.support.project import ROOT

#: A crawl in miniature: start the pool, let a worker take a job, print the workers, then wait.
CRAWL = """
import os, sys, time
from crawler.crawling.hash_pool import new_hash_pool
from tests.support.processes import running
pool = new_hash_pool(2)
pids = {pool.submit(os.getpid).result() for _ in range(4)}
print(" ".join(map(str, sorted(pids))), flush=True)
time.sleep(120)
"""


def test_the_workers_exit_when_the_crawl_is_killed():
    crawl = subprocess.Popen(
        [sys.executable, "-c", CRAWL],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    workers: list[int] = []
    try:
        workers += [int(pid) for pid in crawl.stdout.readline().split()]
        assert workers and crawl.pid not in workers
        assert all(running(pid) for pid in workers)
        crawl.send_signal(signal.SIGKILL)  # no shutdown: the pool is never told
        crawl.wait(timeout=10)
        deadline = time.monotonic() + 15
        while any(running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if running(pid)], "workers outlived the crawl"
    finally:
        crawl.kill()
        for pid in workers:
            if running(pid):
                os.kill(pid, signal.SIGKILL)


def test_the_pool_hashes_as_usual():
    with new_hash_pool(1) as pool:
        assert pool.submit(sum, [1, 2, 3]).result(timeout=60) == 6


def test_a_task_past_its_deadline_has_its_worker_killed_and_replaced():
    with new_hash_pool(1, task_seconds=3) as pool:
        first = pool.submit(os.getpid).result(timeout=60)  # the worker is up
        started = time.monotonic()
        with pytest.raises(HashTimeout, match="REPOSTWATCH_HASH_TASK_SECONDS"):
            pool.submit(time.sleep, 120).result(timeout=60)
        assert time.monotonic() - started < 10
        assert not running(first), "the stuck worker was left running"
        replacement = pool.submit(os.getpid).result(timeout=60)
        assert replacement != first
        assert pool.submit(sum, [1, 2, 3]).result(timeout=60) == 6


def test_a_slow_task_holds_up_only_its_own_worker():
    with new_hash_pool(2, task_seconds=30) as pool:
        slow = pool.submit(time.sleep, 5)
        started = time.monotonic()
        assert pool.submit(sum, [1, 2]).result(timeout=60) == 3
        assert not slow.done()
        assert time.monotonic() - started < 5


def test_a_worker_that_dies_is_replaced():
    with new_hash_pool(1, task_seconds=30) as pool:
        with pytest.raises(BrokenProcessPool):
            pool.submit(os._exit, 3).result(timeout=60)
        assert pool.submit(sum, [4]).result(timeout=60) == 4


def test_hashing_errors_come_back_as_themselves():
    with new_hash_pool(1) as pool, pytest.raises(UnsupportedMedia):
        pool.submit(hash_media, b"not media at all").result(timeout=60)
