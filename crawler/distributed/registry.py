"""The keys and the workers of a distributed crawl run in Redis, and closing runs.

Every change to the registry is one Lua script or one MULTI/EXEC transaction, so that workers
on different machines never see it half done; times are Redis's own clock (``TIME``), so that
the machines' clocks do not matter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunKeys:
    prefix: str
    run_id: int

    def key(self, name: str) -> str:
        return f"{self.prefix}:run:{self.run_id}:{name}"

    @property
    def index(self) -> str:
        return f"{self.prefix}:runs"

    @property
    def expiring(self) -> list[str]:
        """Every key of the run, all refreshed by each heartbeat."""
        names = ("requests", "held", "seen", "pages", "workers", "busy", "left", "closed")
        return [self.key(name) for name in names]


# KEYS: closed, workers, index; ARGV: worker, run id, ttl. Returns 0 when the run is closed.
_JOIN = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local now = tonumber(redis.call('TIME')[1])
redis.call('HSET', KEYS[2], ARGV[1], now)
redis.call('ZADD', KEYS[3], now, ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
"""
# KEYS: closed, workers, index, then every key to expire; ARGV: worker, run id, ttl
_HEARTBEAT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local now = tonumber(redis.call('TIME')[1])
redis.call('HSET', KEYS[2], ARGV[1], now)
redis.call('ZADD', KEYS[3], now, ARGV[2])
for i = 4, #KEYS do redis.call('EXPIRE', KEYS[i], ARGV[3]) end
return 1
"""
# A request a worker took from the queue stays in ``held`` (request -> "worker score") until the
# worker has processed it (its page item left the pipeline) or has gone idle; requests held by a
# lost worker go back to the queue, so that a killed worker loses no page of the run.
# KEYS: requests, busy, held; ARGV: worker. Returns the request taken, or nil.
_POP = """
redis.call('SADD', KEYS[2], ARGV[1])
local popped = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #popped == 0 then return false end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
redis.call('HSET', KEYS[3], popped[1], ARGV[1] .. ' ' .. popped[2])
return popped[1]
"""
# A new request is seen (its fingerprint added to the dupefilter), counted against the run's
# max_pages and queued in one script: a worker killed between the dupefilter and the queue lost
# the page for every worker (the others found it seen). KEYS: seen, pages, requests; ARGV:
# fingerprint, request, score, max_pages (-1: no limit). Returns 1 queued, 0 seen before, -1 over
# max_pages.
_SCHEDULE = """
local limit = tonumber(ARGV[4])
if limit >= 0 and tonumber(redis.call('GET', KEYS[2]) or '0') >= limit then return -1 end
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
if limit >= 0 then redis.call('INCR', KEYS[2]) end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
return 1
"""
# KEYS: held, requests; ARGV: worker, then every request this worker received (from pop_request)
# and has not released. An idle worker has processed everything it received: forget those. A
# request held in its name that it never received (the pop's reply was lost with the
# connection) goes back to the queue at its priority. Returns the number given back.
_RELEASE_ALL = """
local prefix = ARGV[1] .. ' '
local received = {}
for i = 2, #ARGV do received[ARGV[i]] = true end
local given_back = 0
local held = redis.call('HGETALL', KEYS[1])
for i = 1, #held, 2 do
  if string.sub(held[i + 1], 1, #prefix) == prefix then
    if not received[held[i]] then
      redis.call('ZADD', KEYS[2], string.match(held[i + 1], '(%S+)$'), held[i])
      given_back = given_back + 1
    end
    redis.call('HDEL', KEYS[1], held[i])
  end
end
return given_back
"""
# KEYS: busy, workers, requests, held; ARGV: worker, timeout.
# Returns {queued, busy workers, requests given back by lost workers}.
_IDLE = """
redis.call('SREM', KEYS[1], ARGV[1])
local now = tonumber(redis.call('TIME')[1])
local function lost(worker)
  local beat = redis.call('HGET', KEYS[2], worker)
  return (not beat) or now - tonumber(beat) > tonumber(ARGV[2])
end
for _, worker in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if lost(worker) then redis.call('SREM', KEYS[1], worker) end
end
local given_back = 0
local held = redis.call('HGETALL', KEYS[4])
for i = 1, #held, 2 do
  local worker, score = string.match(held[i + 1], '^(.*) (%S+)$')
  if worker ~= ARGV[1] and lost(worker) then
    redis.call('ZADD', KEYS[3], score, held[i])
    redis.call('HDEL', KEYS[4], held[i])
    given_back = given_back + 1
  end
end
return {redis.call('ZCARD', KEYS[3]), redis.call('SCARD', KEYS[1]), given_back}
"""
# KEYS: workers, busy, left, closed, held, requests; ARGV: worker, reason, timeout, ttl.
# A worker that leaves before it processed what it holds (shut down) gives it back to the queue.
# Returns {1, worker, reason, ...} for the last worker out, {0} for the others.
_LEAVE = """
local prefix = ARGV[1] .. ' '
local held = redis.call('HGETALL', KEYS[5])
for i = 1, #held, 2 do
  if string.sub(held[i + 1], 1, #prefix) == prefix then
    redis.call('ZADD', KEYS[6], string.sub(held[i + 1], #prefix + 1), held[i])
    redis.call('HDEL', KEYS[5], held[i])
  end
end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[3], ARGV[4])
if redis.call('EXISTS', KEYS[4]) == 1 then return {0} end
local now = tonumber(redis.call('TIME')[1])
local workers = redis.call('HGETALL', KEYS[1])
for i = 1, #workers, 2 do
  if now - tonumber(workers[i + 1]) > tonumber(ARGV[3]) then
    redis.call('HDEL', KEYS[1], workers[i])
    redis.call('HSET', KEYS[3], workers[i], 'worker_lost')
  end
end
if redis.call('HLEN', KEYS[1]) > 0 then return {0} end
redis.call('SET', KEYS[4], '1', 'EX', ARGV[4])
local result = {1}
for _, value in ipairs(redis.call('HGETALL', KEYS[3])) do table.insert(result, value) end
return result
"""


class RunClosed(RuntimeError):
    """The distributed run was closed (its last worker left): start a new run instead."""


class WorkerRegistry:
    """One worker's view of the workers of a distributed run (see the module docstring)."""

    def __init__(self, server, keys: RunKeys, worker: str, *, ttl: int, worker_timeout: int):
        self.server = server
        self.keys = keys
        self.worker = worker
        self.ttl = ttl
        self.worker_timeout = worker_timeout
        #: Requests this worker found held by lost workers and put back in the queue.
        self.given_back = 0
        #: Requests held in this worker's name whose pop reply never reached it (a connection
        #: lost after Redis ran the script), put back in the queue when it went idle.
        self.never_received = 0
        #: What pop_request returned and release has not forgotten yet.
        self.received: set[bytes] = set()

    def join(self) -> None:
        keys = self.keys
        joined = self.server.eval(
            _JOIN, 3, keys.key("closed"), keys.key("workers"), keys.index,
            self.worker, keys.run_id, self.ttl,
        )  # fmt: skip
        if not joined:
            raise RunClosed(
                f"distributed crawl run {keys.run_id} has finished (its last worker left); "
                "start a new run"
            )

    def heartbeat(self) -> bool:
        """Say this worker lives and keep every key of the run from expiring."""
        keys = self.keys
        return bool(
            self.server.eval(
                _HEARTBEAT, 3 + len(keys.expiring),
                keys.key("closed"), keys.key("workers"), keys.index, *keys.expiring,
                self.worker, keys.run_id, self.ttl,
            )
        )  # fmt: skip

    def pop_request(self) -> bytes | None:
        """Take the first request of the queue and mark this worker busy, in one script: a
        request is always queued, or held by the worker that took it until it is processed."""
        keys = self.keys
        popped = self.server.eval(
            _POP, 3, keys.key("requests"), keys.key("busy"), keys.key("held"), self.worker
        )
        if popped is not None:
            self.received.add(popped)
        return popped

    def schedule(
        self, fingerprint: str, request: bytes, priority: int, max_pages: int | None
    ) -> int:
        """Queue a new request unless its ``fingerprint`` was seen, or the run has scheduled
        ``max_pages`` pages (None: no limit), in one script; 1 queued, 0 seen, -1 over the
        limit."""
        keys = self.keys
        return int(
            self.server.eval(
                _SCHEDULE, 3, keys.key("seen"), keys.key("pages"), keys.key("requests"),
                fingerprint, request, -priority, -1 if max_pages is None else max_pages,
            )
        )  # fmt: skip

    def release(self, request: bytes) -> None:
        """``request`` (as :meth:`pop_request` returned it) is processed: forget it."""
        self.server.hdel(self.keys.key("held"), request)
        self.received.discard(request)

    def not_busy(self) -> None:
        self.server.srem(self.keys.key("busy"), self.worker)

    def all_done(self) -> bool:
        """Mark this worker idle (it has processed everything it received); True when nothing
        is queued and no living worker is busy. Requests held by lost workers go back to the
        queue first (:attr:`given_back` counts them), and so do requests held in this worker's
        name that never reached it (:attr:`never_received`)."""
        keys = self.keys
        received = list(self.received)
        self.never_received += self.server.eval(
            _RELEASE_ALL, 2, keys.key("held"), keys.key("requests"), self.worker, *received
        )
        self.received.difference_update(received)
        queued, busy, given_back = self.server.eval(
            _IDLE, 4, keys.key("busy"), keys.key("workers"), keys.key("requests"),
            keys.key("held"), self.worker, self.worker_timeout,
        )  # fmt: skip
        self.given_back += given_back
        return queued == 0 and busy == 0

    def leave(self, reason: str) -> dict[str, str] | None:
        """Leave the run; for the last worker out, the reason each worker stopped, else None."""
        keys = self.keys
        result = self.server.eval(
            _LEAVE, 6, keys.key("workers"), keys.key("busy"), keys.key("left"), keys.key("closed"),
            keys.key("held"), keys.key("requests"), self.worker, reason, self.worker_timeout,
            self.ttl,
        )  # fmt: skip
        if not result or result[0] != 1:
            return None
        values = [_text(value) for value in result[1:]]
        return dict(zip(values[::2], values[1::2], strict=True))

    def forget(self) -> None:
        """Delete the run's keys but ``closed`` (late workers are told the run is over)."""
        keys = self.keys
        self.server.delete(*(key for key in keys.expiring if key != keys.key("closed")))
        self.server.zrem(keys.index, keys.run_id)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def run_outcome(reasons: dict[str, str]) -> tuple[str, str]:
    """The status and finish reason of a shared run from the reasons its workers stopped."""
    ok = {w: r for w, r in reasons.items() if r == "finished" or r.startswith("closespider_")}
    if len(ok) == len(reasons):
        reasons_seen = sorted(set(ok.values()))
        return "finished", reasons_seen[-1] if reasons_seen else "finished"
    failed = sorted({r for w, r in reasons.items() if w not in ok})
    return "failed", f"{', '.join(failed)} ({len(reasons) - len(ok)} of {len(reasons)} workers)"


def close_run_in_database(settings: BaseSettings, run_id: int, status: str, reason: str) -> bool:
    """Close a shared run; False (logged) when the database cannot or it was closed already."""
    from sqlalchemy.exc import SQLAlchemyError

    from crawler import db

    engine = db.make_engine(settings.get("REPOSTWATCH_DATABASE_URL"))
    try:
        with db.make_sessionmaker(engine).begin() as session:
            return db.close_run(session, run_id, status=status, finish_reason=reason)
    except SQLAlchemyError as exc:
        logger.error("Could not close crawl run %s (%s, %s): %s", run_id, status, reason, exc)
        return False
    finally:
        engine.dispose()


def close_abandoned_runs(server, prefix: str, settings: BaseSettings) -> list[int]:
    """Close, as failed with reason ``workers_lost``, every distributed run none of whose workers
    has sent a heartbeat for ``REPOSTWATCH_DISTRIBUTED_WORKER_TIMEOUT`` seconds; their ids.

    The figures of workers that left in time are on the run already; requests still queued are
    dropped with the run's keys.
    """
    timeout = settings.getint("REPOSTWATCH_DISTRIBUTED_WORKER_TIMEOUT")
    now = server.time()[0]
    index = f"{prefix}:runs"
    closed = []
    for member in server.zrangebyscore(index, "-inf", now - timeout):
        run_id = int(_text(member))
        keys = RunKeys(prefix, run_id)
        # Claim it: of several workers starting at once, one closes it.
        if not server.set(
            keys.key("closed"), "1", nx=True, ex=settings.getint("REPOSTWATCH_DISTRIBUTED_KEY_TTL")
        ):
            server.zrem(index, member)
            continue
        if close_run_in_database(settings, run_id, "failed", "workers_lost"):
            logger.warning(
                "Crawl run %s closed as failed: none of its workers was heard of for %ss",
                run_id,
                timeout,
            )
            closed.append(run_id)
        WorkerRegistry(server, keys, "", ttl=0, worker_timeout=timeout).forget()
    return closed
