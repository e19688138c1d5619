"""The run scheduler (crawler/distributed/scheduler.py) while Redis goes away and comes back:
what the engine is told, and what the worker's log says.

The scheduler talks to the real Redis through a :class:`Relay` the test cuts (connections
reset, then refused), as the reliability benchmark does; the engine's calls are made by hand,
in the order Scrapy's engine makes them when its downloader is idle.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from scrapy import Request
from scrapy.exceptions import DontCloseSpider
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from benchmarks.reliability.relay import Relay
from crawler.distributed.scheduler import RunScheduler

#: Settings the scheduler reads, as the project sets them.
_PROJECT = (
    "SCHEDULER_SERIALIZER",
    "REDIS_PARAMS",
    "REPOSTWATCH_DISTRIBUTED_KEY_TTL",
    "REPOSTWATCH_DISTRIBUTED_WORKER_TIMEOUT",
    "REPOSTWATCH_DISTRIBUTED_HEARTBEAT_SECONDS",
)


@pytest.fixture
def relay(redis_url):
    relay = Relay(urlsplit(redis_url).port or 6379)
    yield relay
    relay.down()


@pytest.fixture
def scheduler(relay, redis_url, client):
    """An open run scheduler on the Redis behind ``relay``, with keys of the test's own."""
    _, prefix = client
    project = Settings()
    project.setmodule("settings")
    project.setmodule("settings.distributed")
    crawler = get_crawler(
        settings_dict={
            **{name: project[name] for name in _PROJECT},
            "REPOSTWATCH_REDIS_URL": f"redis://127.0.0.1:{relay.port}{urlsplit(redis_url).path}",
            "REPOSTWATCH_DISTRIBUTED_PREFIX": prefix,
            "REPOSTWATCH_RUN_ID": 7,
        }
    )
    looks = []  # the engine's next passes that the scheduler asks for (delays)
    crawler.engine = SimpleNamespace(
        _slot=SimpleNamespace(nextcall=SimpleNamespace(schedule=looks.append))
    )
    scheduler = RunScheduler.from_crawler(crawler)
    scheduler.open(SimpleNamespace(name="site"))
    scheduler.looks = looks
    yield scheduler
    scheduler.close("finished")


def _said(caplog, words: str) -> int:
    return sum(words in record.getMessage() for record in caplog.records)


def test_with_redis_away_the_queue_reads_as_empty_and_the_log_says_so_once(
    scheduler, relay, caplog
):
    """What Scrapy's engine asks at each pass while its downloader is idle: next_request(),
    then has_pending_requests(), then (when that is False) spider_idle. An exception out of
    has_pending_requests stopped the pass (a traceback in the log at every pass, and
    spider_idle, which waits for Redis up to the worker timeout, never reached)."""
    assert scheduler.enqueue_request(Request("http://127.0.0.1:9/a"))
    relay.down()
    caplog.set_level(logging.INFO, logger="crawler.distributed.scheduler")
    for _ in range(3):  # three passes of the engine
        assert scheduler.next_request() is None
        assert scheduler.has_pending_requests() is False
        with pytest.raises(DontCloseSpider):
            scheduler.spider_idle(scheduler.spider)
        scheduler._heartbeat()
        assert scheduler.enqueue_request(Request("http://127.0.0.1:9/b"))  # kept for later
    assert _said(caplog, "Redis is unreachable") == 1
    assert _said(caplog, "Redis is back") == 0
    assert scheduler.looks == [1.0] * 3  # the engine looks again in a second, each time
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]

    relay.up()
    taken = scheduler.next_request()  # sends what it kept, then takes the oldest
    assert taken is not None and taken.url == "http://127.0.0.1:9/a"
    assert scheduler.has_pending_requests() is True  # /b, kept while Redis was away
    assert _said(caplog, "Redis is back") == 1
    assert _said(caplog, "Redis is unreachable") == 1


def test_a_worker_gives_up_on_a_redis_that_does_not_come_back(scheduler, relay):
    """Idle, with Redis away for longer than the worker timeout: spider_idle lets the worker
    close (the engine asks has_pending_requests once more first: False, not an error)."""
    relay.down()
    assert scheduler.next_request() is None
    assert scheduler.has_pending_requests() is False
    with pytest.raises(DontCloseSpider):
        scheduler.spider_idle(scheduler.spider)
    scheduler.redis_away_since -= scheduler.registry.worker_timeout + 1  # that long ago
    scheduler.spider_idle(scheduler.spider)  # no DontCloseSpider: the worker stops
    assert scheduler.has_pending_requests() is False


class _Killed(BaseException):
    """The worker process dies here (kill -9): nothing after this call runs."""


@pytest.mark.parametrize("max_pages", [None, 50])
def test_a_worker_killed_while_scheduling_never_leaves_a_request_seen_but_unqueued(
    scheduler, client, max_pages
):
    """Whichever Redis call of enqueue_request the worker dies at, the request is either
    queued or not seen: a fingerprint in the dupefilter without the request in the queue loses
    the page for every worker (the others find it seen). The dupefilter and the queue were two
    calls apart, and a worker killed between them lost a page of the run."""
    redis_client, _ = client
    server = scheduler.server
    call = server.execute_command
    scheduler.max_pages = max_pages
    for dies_at in range(4):
        calls = 0

        def dying(*args, dies_at=dies_at, **kwargs):
            nonlocal calls
            if calls == dies_at:
                raise _Killed
            calls += 1
            return call(*args, **kwargs)

        request = Request(f"http://127.0.0.1:9/page-{dies_at}")
        server.execute_command = dying
        try:
            scheduler.enqueue_request(request)
        except _Killed:
            pass
        finally:
            server.execute_command = call
        seen = redis_client.sismember(scheduler.df.key, scheduler.df.request_fingerprint(request))
        queued = any(
            f"page-{dies_at}".encode() in entry
            for entry in redis_client.zrange(scheduler.queue.key, 0, -1)
        )
        assert queued or not seen, f"died at call {dies_at}: seen, never queued"
