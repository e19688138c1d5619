"""Distributed crawls: several workers, on any machines, share one crawl run of a site via Redis.

Turned on by ``REPOSTWATCH_DISTRIBUTED`` (``repostwatch crawl SITE --distributed``, ``scrapy crawl
site -s REPOSTWATCH_DISTRIBUTED=1``, or the environment): :class:`DistributedCrawl`, a Scrapy
add-on, then applies ``settings/distributed.py``, which swaps in
:class:`~crawler.distributed.scheduler.RunScheduler`, the
scrapy-redis scheduler and dupefilter with keys of their own per crawl run. Every worker joins
the same run (``REPOSTWATCH_RUN_ID``), takes page requests from the shared queue, hashes and
matches the media of its pages and writes its flags as a lone crawl would.

The keys of run N (``PREFIX`` is ``REPOSTWATCH_DISTRIBUTED_PREFIX``, one per database):

- ``PREFIX:run:N:requests``  the shared queue (scrapy-redis priority queue of requests as JSON)
- ``PREFIX:run:N:seen``      the dupefilter: one fingerprint per page request of this run
- ``PREFIX:run:N:pages``     page requests scheduled so far (the site's ``max_pages``, shared)
- ``PREFIX:run:N:workers``   worker id -> last heartbeat (Redis server time, seconds)
- ``PREFIX:run:N:busy``      workers that took a request and have not been idle since
- ``PREFIX:run:N:left``      worker id -> the reason it stopped, for the run's status
- ``PREFIX:run:N:closed``    set by the last worker out: nobody can join the run any more
- ``PREFIX:runs``            run id -> last heartbeat of every open distributed run (tiny)

Every key of a run expires ``REPOSTWATCH_DISTRIBUTED_KEY_TTL`` seconds after its last worker's
last heartbeat, so deduplication is per run (the next run visits every page again) and a run's
Redis memory is bounded by its ``max_pages``. A worker closes when the queue is empty and no
living worker is busy (one that is fetching may still find new links). As it leaves, it adds its
figures to the run (the pipeline: :func:`crawler.db.add_to_run`); the last one out closes the
run. A worker whose heartbeat is older than ``REPOSTWATCH_DISTRIBUTED_WORKER_TIMEOUT`` counts as
lost; a run whose workers are all lost is closed as failed (``workers_lost``) by the next
distributed worker that starts (:func:`close_abandoned_runs`).

Modules: this one (the switch, the Redis connection, opening or joining a run as a worker
starts), :mod:`.registry` (the keys
and the workers of a run, closing runs), :mod:`.scheduler` (the scrapy-redis scheduler) and
:mod:`.serializer` (queued requests as JSON, never pickle).
"""

from __future__ import annotations

from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry
from scrapy.settings import BaseSettings
from scrapy_redis import connection, defaults

from crawler.distributed.registry import (
    RunClosed,
    RunKeys,
    WorkerRegistry,
    close_abandoned_runs,
    close_run_in_database,
    run_outcome,
)
from crawler.stats import REFERENCES, RUN_ID, SCRAPY_ELAPSED

__all__ = [
    "UNSUMMED_STATS",
    "DistributedCrawl",
    "DistributedSetupError",
    "RunClosed",
    "RunKeys",
    "WorkerRegistry",
    "close_abandoned_runs",
    "close_run_in_database",
    "open_run",
    "prepare_worker",
    "redis_client",
    "run_outcome",
    "setup_problem",
]

#: Stat keys that are not counters: a shared run keeps their largest value, not their sum.
UNSUMMED_STATS = (RUN_ID, REFERENCES, SCRAPY_ELAPSED)


class DistributedSetupError(ValueError):
    """Distributed crawling was asked for but cannot run as configured."""


# --- settings -------------------------------------------------------------------------------
class DistributedCrawl:
    """Scrapy add-on (always listed in ``ADDONS``): with ``REPOSTWATCH_DISTRIBUTED`` on, applies
    the settings module ``REPOSTWATCH_DISTRIBUTED_SETTINGS`` (``settings.distributed``)."""

    def update_settings(self, settings: BaseSettings) -> None:
        if not settings.getbool("REPOSTWATCH_DISTRIBUTED"):
            return
        problem = setup_problem(settings)
        if problem:
            raise DistributedSetupError(problem)
        settings.setmodule(settings.get("REPOSTWATCH_DISTRIBUTED_SETTINGS"), priority="project")
        # A worker takes from the shared queue only what it downloads at once (the site's
        # concurrency, set by the spider before add-ons run): requests waiting out a download
        # delay in one worker's downloader are requests another worker could be fetching.
        per_site = settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
        if per_site < settings.getint("CONCURRENT_REQUESTS"):
            settings.set("CONCURRENT_REQUESTS", per_site, priority="spider")


def setup_problem(settings: BaseSettings, *, run_id_needed: bool = True) -> str | None:
    """Why a distributed crawl cannot start with these settings, or None."""
    if not settings.get("REPOSTWATCH_REDIS_URL"):
        return (
            "a distributed crawl needs Redis: set REPOSTWATCH_REDIS_URL (e.g. "
            "redis://:PASSWORD@redis.internal:6379/0, or rediss:// for TLS)"
        )
    heartbeat = settings.getfloat("REPOSTWATCH_DISTRIBUTED_HEARTBEAT_SECONDS")
    timeout = settings.getint("REPOSTWATCH_DISTRIBUTED_WORKER_TIMEOUT")
    if timeout < 3 * heartbeat:
        return (
            f"REPOSTWATCH_DISTRIBUTED_WORKER_TIMEOUT={timeout} is too short for heartbeats every "
            f"{heartbeat:g} s: living workers would count as lost; make it at least "
            f"{3 * heartbeat:g} s"
        )
    if run_id_needed and not settings.getint("REPOSTWATCH_RUN_ID"):
        return (
            "every worker of a distributed crawl joins one crawl run: give its id with "
            "-s REPOSTWATCH_RUN_ID=N (`repostwatch crawl SITE --distributed` opens one and "
            "prints it)"
        )
    return None


def redis_client(settings: BaseSettings):
    """A Redis client on ``REPOSTWATCH_REDIS_URL`` (``redis://``, ``rediss://``, a password in
    the URL), with scrapy-redis's connection defaults and ``REDIS_PARAMS`` on top.

    A call whose connection is found broken (Redis restarted since it was last used) is tried
    once more on a new connection, at once; nothing else is retried, never with a pause: the
    scheduler's calls run on the reactor thread, and it waits out an outage on its own.
    """
    params = {**defaults.REDIS_PARAMS, **settings.getdict("REDIS_PARAMS")}
    params.pop("url", None)
    params.setdefault("retry", Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)))
    return connection.get_redis(url=settings.get("REPOSTWATCH_REDIS_URL"), **params)


def open_run(settings: BaseSettings, site_name: str) -> int:
    """Open a crawl run for a distributed crawl of ``site_name`` (the first worker does); its id.

    The timeout rule covers the run from its first worker's heartbeat on: a run opened long
    before its workers start (a job waiting in scrapyd's queue) is not taken for abandoned.
    """
    from crawler import db

    engine = db.make_engine(settings.get("REPOSTWATCH_DATABASE_URL"))
    try:
        with db.make_sessionmaker(engine).begin() as session:
            run_id = db.start_run(session, site_name)
    finally:
        engine.dispose()
    return run_id


def prepare_worker(settings: BaseSettings, site_name: str) -> int | None:
    """Set this process up as a worker of a distributed crawl of ``site_name``, before Scrapy
    starts: check the settings and that Redis answers, then join the crawl run
    ``REPOSTWATCH_RUN_ID`` (it must be the site's, and still running) or, without one, open a
    run and set ``REPOSTWATCH_RUN_ID`` to it for the crawl.

    Returns the id of the run it opened (None when it joins one). Raises
    :class:`DistributedSetupError` saying what to fix, before any page is crawled.
    """
    import redis

    problem = setup_problem(settings, run_id_needed=False)
    if problem:
        raise DistributedSetupError(problem)
    run_id = settings.getint("REPOSTWATCH_RUN_ID")
    if run_id:
        _check_joinable(settings, run_id, site_name)
    try:
        redis_client(settings).ping()
    except redis.RedisError as exc:
        from crawler.db.session import redact_url

        url = redact_url(settings.get("REPOSTWATCH_REDIS_URL"))
        raise DistributedSetupError(
            f"cannot use Redis at {url}: {exc}; check REPOSTWATCH_REDIS_URL (password, "
            "rediss:// for TLS) and that this machine may reach it"
        ) from exc
    if run_id:
        return None
    opened = open_run(settings, site_name)
    settings.set("REPOSTWATCH_RUN_ID", opened, priority="cmdline")
    return opened


def _check_joinable(settings: BaseSettings, run_id: int, site_name: str) -> None:
    """A clear error now, rather than a traceback from inside Scrapy, when the run to join is
    not there, is another site's, or has ended."""
    from crawler import db

    engine = db.make_engine(settings.get("REPOSTWATCH_DATABASE_URL"))
    try:
        with db.make_sessionmaker(engine).begin() as session:
            db.join_run(session, run_id, site_name)
    except (db.RunNotFound, ValueError) as exc:
        raise DistributedSetupError(str(exc)) from exc
    finally:
        engine.dispose()
