"""The scrapy-redis scheduler of a distributed crawl: per-run keys, a worker registry, and a
``max_pages`` shared by every worker (``SCHEDULER`` in ``settings/distributed.py``)."""

from __future__ import annotations

import importlib
import logging
import os
import socket
import time
from dataclasses import dataclass

from redis.exceptions import RedisError
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.spiders import Spider
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler
from twisted.internet.task import LoopingCall

from crawler.distributed import DistributedSetupError, redis_client, setup_problem
from crawler.distributed.registry import (
    RunKeys,
    WorkerRegistry,
    close_abandoned_runs,
    close_run_in_database,
    run_outcome,
)
from crawler.distributed.serializer import UnserializableRequest
from crawler.stats import (
    REDIS_DEFERRED,
    REFUSED_MAX_PAGES,
    REFUSED_UNREADABLE_QUEUE_ENTRY,
    REFUSED_UNSERIALIZABLE,
    REQUEUED_FROM_LOST_WORKERS,
    REQUEUED_NEVER_RECEIVED,
    WORKERS,
)

logger = logging.getLogger(__name__)

#: The queue class :class:`RunScheduler` pops from atomically with marking its worker busy.
QUEUE_CLASS = "scrapy_redis.queue.PriorityQueue"
#: How often an idle worker looks at the shared queue again while other workers are busy.
IDLE_POLL_SECONDS = 1.0
#: Request meta: the queue entry a request was taken as, released once its page is processed.
HELD = "repostwatch_held"


@dataclass
class _Unsent:
    """A request waiting in this worker for Redis. Sent again after a reply that never came,
    it is found seen if Redis had queued it: the script that sees and queues it is atomic."""

    request: Request
    data: bytes


class RunScheduler(Scheduler):
    """The scrapy-redis scheduler with per-run keys, a worker registry and a shared page limit.

    Never flushes the queue or the dupefilter when its worker closes (other workers go on); the
    keys expire instead, and the last worker out deletes them.
    """

    def __init__(self, server, *, registry: WorkerRegistry, crawler: Crawler, heartbeat: float):
        keys = registry.keys
        settings = crawler.settings
        debug = settings.getbool("DUPEFILTER_DEBUG")
        serializer = settings.get("SCHEDULER_SERIALIZER")
        if not serializer:  # never scrapy-redis's default, pickle
            raise DistributedSetupError(
                "SCHEDULER_SERIALIZER is not set: settings/distributed.py sets it to "
                "crawler.distributed.serializer (JSON); a distributed crawl never falls back "
                "to scrapy-redis's pickled queue"
            )
        super().__init__(
            server,
            persist=True,
            queue_key=keys.key("requests"),
            queue_cls=QUEUE_CLASS,
            dupefilter=RFPDupeFilter(server, key=keys.key("seen"), debug=debug),
            dupefilter_key=keys.key("seen"),
            serializer=importlib.import_module(serializer),
        )
        self.registry = registry
        self.crawler = crawler
        self.heartbeat_seconds = heartbeat
        self.busy = False
        self.max_pages: int | None = None
        self.beating: LoopingCall | None = None
        #: Requests found while Redis was unreachable, queued when it answers again.
        self.unsent: list[_Unsent] = []
        self.redis_away_since: float | None = None
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunScheduler:
        settings = crawler.settings
        problem = setup_problem(settings)
        if problem:
            raise DistributedSetupError(problem)
        server = redis_client(settings)
        server.ping()  # a clear error now (wrong password, no TLS) rather than mid-crawl
        keys = RunKeys(
            settings.get("REPOSTWATCH_DISTRIBUTED_PREFIX"), settings.getint("REPOSTWATCH_RUN_ID")
        )
        worker = f"{socket.gethostname()}:{os.getpid()}:{id(crawler):x}"
        registry = WorkerRegistry(
            server,
            keys,
            worker,
            ttl=settings.getint("REPOSTWATCH_DISTRIBUTED_KEY_TTL"),
            worker_timeout=settings.getint("REPOSTWATCH_DISTRIBUTED_WORKER_TIMEOUT"),
        )
        scheduler = cls(
            server,
            registry=registry,
            crawler=crawler,
            heartbeat=settings.getfloat("REPOSTWATCH_DISTRIBUTED_HEARTBEAT_SECONDS"),
        )
        crawler.signals.connect(scheduler.spider_idle, signal=signals.spider_idle)
        for processed in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(scheduler.page_processed, signal=processed)
        # Connected after the pipeline's spider_closed (built with the engine, before the
        # scheduler): the pipeline adds this worker's figures to the run, then this leaves.
        crawler.signals.connect(scheduler.spider_closed, signal=signals.spider_closed)
        return scheduler

    def open(self, spider: Spider) -> None:
        close_abandoned_runs(self.server, self.registry.keys.prefix, self.crawler.settings)
        self.registry.join()
        super().open(spider)
        follow = getattr(getattr(spider, "config", None), "follow", None)
        self.max_pages = getattr(follow, "max_pages", None)
        self.beating = LoopingCall(self._heartbeat)
        self.beating.start(self.heartbeat_seconds, now=True)
        self.stats.set_value(WORKERS, 1)  # summed over the run's workers
        logger.info(
            "Distributed crawl run %s: worker %s joined (Redis keys %s)",
            self.registry.keys.run_id,
            self.registry.worker,
            self.registry.keys.key("*"),
        )

    def _heartbeat(self) -> None:
        try:
            self.registry.heartbeat()
            self._send_unsent()
        except RedisError as exc:  # Redis away: said once, and the next beat tries again
            self._redis_away(exc)
        except Exception as exc:
            logger.warning("Distributed crawl heartbeat failed: %s", exc)
        else:
            self._redis_back()

    def close(self, reason: str) -> None:
        if self.beating is not None and self.beating.running:
            self.beating.stop()

    def enqueue_request(self, request: Request) -> bool:
        request.meta.pop(HELD, None)  # a redirect or retry copies it: it is the old entry's
        try:  # first, so that a request the queue cannot carry is neither counted nor seen
            data = self.queue._encode_request(request)
        except UnserializableRequest as exc:
            self.stats.inc_value(REFUSED_UNSERIALIZABLE)
            logger.error("Not scheduled: %s cannot go into the Redis queue: %s", request, exc)
            return False
        unsent = _Unsent(request, data)
        if self.unsent:  # Redis was away: keep the order, the older ones go first
            self._keep(unsent, None)
            return True
        try:
            queued = self._enqueue(unsent)
        except RedisError as exc:
            self._keep(unsent, exc)
            return True
        self._redis_back()
        return queued

    def _enqueue(self, unsent: _Unsent) -> bool:
        request, data = unsent.request, unsent.data
        if request.dont_filter:  # retries: never deduplicated
            return self._push(request, data)
        counted = self.max_pages is not None and "redirect_times" not in request.meta
        scheduled = self.registry.schedule(
            self.df.request_fingerprint(request),
            data,
            request.priority,
            self.max_pages if counted else None,
        )
        if scheduled < 0:
            return self._refuse_max_pages(request)
        if scheduled == 0:
            self.df.log(request, self.spider)
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def _keep(self, unsent: _Unsent, exc: Exception | None) -> None:
        """Redis cannot take a request now: keep it in this worker until it can."""
        self.unsent.append(unsent)
        self.stats.inc_value(REDIS_DEFERRED)
        if exc is not None:
            self._redis_away(exc)

    def _send_unsent(self) -> None:
        """Queue the requests kept while Redis was away, oldest first; raises the first
        failure's RedisError (Redis still away), keeping the rest."""
        while self.unsent:
            self._enqueue(self.unsent[0])
            self.unsent.pop(0)

    def _redis_away(self, exc: Exception) -> None:
        """Redis did not answer: said once per outage (every Redis call of the scheduler fails
        while it lasts, and a log that grows by a line per call is a log nobody reads)."""
        if self.redis_away_since is None:
            self.redis_away_since = time.monotonic()
            logger.warning(
                "Distributed crawl run %s: Redis is unreachable (%s); this worker keeps what it "
                "finds and waits for it (up to %ss)",
                self.registry.keys.run_id,
                exc,
                self.registry.worker_timeout,
            )

    def _redis_back(self) -> None:
        """Redis has just answered a call."""
        if self.redis_away_since is not None:
            logger.warning(
                "Distributed crawl run %s: Redis is back after %.0f s",
                self.registry.keys.run_id,
                time.monotonic() - self.redis_away_since,
            )
            self.redis_away_since = None

    def _push(self, request: Request, data: bytes) -> bool:
        """Queue the encoded request as scrapy-redis's PriorityQueue.push does."""
        self.server.execute_command("ZADD", self.queue.key, -request.priority, data)
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def _refuse_max_pages(self, request: Request) -> bool:
        """Every worker together schedules at most the site's ``max_pages`` pages."""
        self.stats.inc_value(REFUSED_MAX_PAGES)
        logger.debug("Not scheduled (max_pages of the run reached): %s", request.url)
        return False

    def next_request(self) -> Request | None:
        try:
            self._send_unsent()
            data = self.registry.pop_request()
            if data is None and not self.busy:
                self.registry.not_busy()
        except RedisError as exc:  # Redis away: the engine asks again; idle waits for it
            self._redis_away(exc)
            return None
        self._redis_back()
        if data is None:
            return None
        try:
            request = self.queue._decode_request(data)
        except UnserializableRequest as exc:
            self.stats.inc_value(REFUSED_UNREADABLE_QUEUE_ENTRY)
            logger.error("Dropped an entry of the Redis queue that is not a request: %s", exc)
            return None
        request.meta[HELD] = data.decode() if isinstance(data, bytes) else data
        self.busy = True
        self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        """Whether the shared queue holds requests. The engine asks whenever this worker's
        downloader is idle; with Redis away the answer is False, never an exception: raised
        inside the engine's loop, it skipped ``spider_idle`` (so a worker never gave up on a
        Redis that did not come back) and logged a traceback at every pass of the engine, a
        log that grew by kilobytes a second for as long as Redis was away. ``spider_idle`` then
        waits for Redis, up to the worker timeout. Not asked again when :meth:`next_request`
        has just found Redis away: a Redis that does not answer costs the reactor its socket
        timeout at every call."""
        if self.redis_away_since is not None:
            return False
        try:
            return len(self) > 0
        except RedisError as exc:
            self._redis_away(exc)
            return False

    def page_processed(self, response=None, **kwargs) -> None:
        """A page's item left the pipeline (its media hashed, its matches recorded): the queue
        entry it came from is no longer needed should this worker die. Entries without an item
        (redirects, errors, robots.txt) are released when the worker next goes idle."""
        held = getattr(response, "meta", {}).get(HELD) if response is not None else None
        if held is None:
            return
        try:
            self.registry.release(held.encode())
        except RedisError as exc:  # Redis away: released at idle, or given back if this dies
            self._redis_away(exc)
        else:
            self._redis_back()

    def _requeued(self, stat: str, count: int, what: str) -> None:
        """Count and say the ``count`` requests that went back to the queue, and why."""
        if count > 0:
            self.stats.inc_value(stat, count)
            logger.warning(
                "Distributed crawl run %s: %d request(s) " + what, self.registry.keys.run_id, count
            )

    def spider_idle(self, spider: Spider) -> None:
        """Close only when the whole run is done: a busy worker may still queue new pages, and
        what a lost worker held comes back to the queue."""
        self.busy = False
        given_back, never_received = self.registry.given_back, self.registry.never_received
        done = False
        if self.redis_away_since is None:  # else next_request has just found it away
            try:
                self._send_unsent()
                done = self.registry.all_done()
            except RedisError as exc:
                self._redis_away(exc)
            else:
                self._redis_back()
        if not done and self._waited_too_long_for_redis():
            logger.error(
                "Distributed crawl run %s: Redis unreachable for over %ss; this worker stops "
                "(%d request(s) it found are not queued: the next run visits them)",
                self.registry.keys.run_id,
                self.registry.worker_timeout,
                len(self.unsent),
            )
            return
        self._requeued(
            REQUEUED_FROM_LOST_WORKERS,
            self.registry.given_back - given_back,
            "held by lost worker(s) went back to the queue",
        )
        self._requeued(
            REQUEUED_NEVER_RECEIVED,
            self.registry.never_received - never_received,
            "taken from the queue in this worker's name never reached it (a connection lost "
            "with Redis's reply); queued again",
        )
        if not done:
            self._look_again_soon()
            raise DontCloseSpider

    def _waited_too_long_for_redis(self) -> bool:
        since = self.redis_away_since
        return since is not None and time.monotonic() - since > self.registry.worker_timeout

    def _look_again_soon(self) -> None:
        """Ask the engine for the next request in a second, not at its next 5 s heartbeat, so
        that an idle worker picks up the pages a busy one queues."""
        slot = getattr(self.crawler.engine, "_slot", None)  # Scrapy 2.19's engine internals
        nextcall = getattr(slot, "nextcall", None)
        if nextcall is not None:
            nextcall.schedule(IDLE_POLL_SECONDS)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Leave the run; the last worker out closes it in the database and deletes its keys."""
        registry = self.registry
        try:
            reasons = registry.leave(reason)
        except Exception as exc:
            logger.error(
                "Could not leave distributed crawl run %s in Redis (%s); its other workers treat "
                "this one as lost after %ss",
                registry.keys.run_id,
                exc,
                registry.worker_timeout,
            )
            return
        if reasons is None:
            logger.info("Left distributed crawl run %s; other workers go on", registry.keys.run_id)
            return
        status, finish_reason = run_outcome(reasons)
        closed = close_run_in_database(
            self.crawler.settings, registry.keys.run_id, status, finish_reason
        )
        registry.forget()
        if closed:
            logger.info(
                "Last worker out: crawl run %s is %s (%s), %d worker(s)",
                registry.keys.run_id,
                status,
                finish_reason,
                len(reasons),
            )
