"""A shared crawl run: the workers' figures add up in the database, and the worker registry
(crawler/distributed/registry.py) against the real Redis decides who is busy, lost or last out."""

from __future__ import annotations

import json

import pytest
from scrapy.settings import Settings

from crawler import db
from crawler.distributed import (
    RunKeys,
    WorkerRegistry,
    close_abandoned_runs,
    open_run,
    registry,
    run_outcome,
)


def test_workers_add_their_figures_and_the_last_closes_the_run(session):
    run_id = db.start_run(session, "board")
    figures = {"pages": 3, "media": 5, "bytes": 100, "errors": 1, "flags": 2}
    db.add_to_run(
        session,
        run_id,
        **figures,
        stats=json.dumps({"repostwatch/pages": 3, "repostwatch/run_id": run_id, "x": "a"}),
        unsummed=("repostwatch/run_id",),
    )
    db.add_to_run(
        session,
        run_id,
        **{**figures, "pages": 4},
        stats=json.dumps({"repostwatch/pages": 4, "repostwatch/run_id": run_id, "x": "b"}),
        unsummed=("repostwatch/run_id",),
    )
    run = db.get_run(session, run_id)
    assert (run.status, run.pages, run.media, run.bytes, run.errors, run.flags) == (
        "running",
        7,
        10,
        200,
        2,
        4,
    )
    assert json.loads(run.stats) == {"repostwatch/pages": 7, "repostwatch/run_id": run_id, "x": "b"}
    assert db.close_run(session, run_id, status="finished", finish_reason="finished")
    assert not db.close_run(session, run_id, status="failed", finish_reason="workers_lost")
    run = db.get_run(session, run_id)
    assert (run.status, run.finish_reason, run.pages) == ("finished", "finished", 7)
    assert run.finished_at is not None
    with pytest.raises(ValueError, match=f"crawl run {run_id} is already finished"):
        db.add_to_run(session, run_id, **figures)


def _registry(client, prefix: str, worker: str, timeout: int = 300) -> WorkerRegistry:
    return WorkerRegistry(client, RunKeys(prefix, 7), worker, ttl=600, worker_timeout=timeout)


def test_a_worker_waits_while_another_is_busy(client):
    server, prefix = client
    a, b = _registry(server, prefix, "a"), _registry(server, prefix, "b")
    a.join(), b.join()
    server.zadd(a.keys.key("requests"), {b"request": 0})
    assert a.pop_request() == b"request"  # a is busy: it may queue more
    assert not b.all_done()
    assert a.pop_request() is None
    assert a.all_done()  # queue empty, nobody busy
    assert b.all_done()


def test_the_last_worker_out_gets_every_reason(client):
    server, prefix = client
    a, b = _registry(server, prefix, "a"), _registry(server, prefix, "b")
    a.join(), b.join()
    server.sadd(a.keys.key("seen"), "fingerprint")
    server.zadd(a.keys.key("requests"), {b"request": 0})
    a.heartbeat()
    for name in ("workers", "seen", "requests"):  # every key expires unless heartbeats go on
        assert 0 < server.ttl(a.keys.key(name)) <= 600
    server.delete(a.keys.key("requests"))
    assert a.leave("finished") is None
    assert b.leave("shutdown") == {"a": "finished", "b": "shutdown"}
    assert run_outcome({"a": "finished", "b": "shutdown"}) == (
        "failed",
        "shutdown (1 of 2 workers)",
    )
    with pytest.raises(RuntimeError, match="start a new run"):
        _registry(server, prefix, "c").join()


def test_a_silent_worker_counts_as_lost_and_what_it_held_goes_back(client):
    server, prefix = client
    a, b = _registry(server, prefix, "a", timeout=1), _registry(server, prefix, "b", timeout=1)
    a.join(), b.join()
    server.zadd(a.keys.key("requests"), {b"page-1": -5, b"page-2": 0})
    assert a.pop_request() == b"page-1"  # a takes a request, then dies without a word
    server.hset(a.keys.key("workers"), "a", 0)  # its last heartbeat: long ago
    b.heartbeat()
    assert not b.all_done()  # what a held is back in the queue, at its priority
    assert b.given_back == 1
    assert b.pop_request() == b"page-1"
    assert b.pop_request() == b"page-2"
    assert b.pop_request() is None
    assert b.all_done()  # a dead worker does not keep the others waiting
    assert b.leave("finished") == {"a": "worker_lost", "b": "finished"}


def test_a_processed_request_is_not_given_back(client):
    server, prefix = client
    a, b = _registry(server, prefix, "a", timeout=1), _registry(server, prefix, "b", timeout=1)
    a.join(), b.join()
    server.zadd(a.keys.key("requests"), {b"page-1": 0, b"page-2": 0})
    first, second = a.pop_request(), a.pop_request()
    a.release(first)  # its page left the pipeline
    server.hset(a.keys.key("workers"), "a", 0)  # then a died
    b.heartbeat()
    assert not b.all_done()
    assert b.pop_request() == second  # only the unprocessed one comes back
    assert b.pop_request() is None


def test_an_idle_worker_has_processed_everything_it_held(client):
    server, prefix = client
    a, b = _registry(server, prefix, "a", timeout=1), _registry(server, prefix, "b", timeout=1)
    a.join(), b.join()
    server.zadd(a.keys.key("requests"), {b"redirected": 0})
    a.pop_request()  # a redirect: no page item ever releases it
    assert a.pop_request() is None
    assert a.all_done()  # idle: the engine has nothing of it left in flight
    server.hset(a.keys.key("workers"), "a", 0)
    b.heartbeat()
    assert b.all_done()
    assert b.given_back == 0


def test_a_request_whose_pop_reply_was_lost_goes_back_when_the_worker_is_idle(client):
    """Redis ran the pop script, then the connection dropped before the reply: the request is
    held in the worker's name, but the worker never saw it. Idle, it gives it back."""
    server, prefix = client
    a = _registry(server, prefix, "a")
    a.join()
    server.zadd(a.keys.key("requests"), {b"seen": 0, b"lost-reply": -2})
    keys = a.keys
    lost = server.eval(  # the pop, as Redis ran it, with nobody left to read the reply
        registry._POP, 3, keys.key("requests"), keys.key("busy"), keys.key("held"), "a"
    )
    assert lost == b"lost-reply"
    assert a.pop_request() == b"seen"
    assert not a.all_done()  # the lost one is queued again, at its priority
    assert (a.never_received, a.given_back) == (1, 0)
    assert server.zrange(keys.key("requests"), 0, -1, withscores=True) == [(b"lost-reply", -2.0)]
    assert not server.hlen(keys.key("held"))  # "seen" was processed: forgotten
    assert a.pop_request() == b"lost-reply"
    assert a.pop_request() is None
    assert a.all_done()


def test_a_worker_that_leaves_early_gives_back_what_it_held(client):
    server, prefix = client
    a, b = _registry(server, prefix, "a"), _registry(server, prefix, "b")
    a.join(), b.join()
    server.zadd(a.keys.key("requests"), {b"page-1": -3})
    a.pop_request()
    assert a.leave("shutdown") is None  # b still works
    assert server.zrange(a.keys.key("requests"), 0, -1, withscores=True) == [(b"page-1", -3.0)]
    assert not server.hlen(a.keys.key("held"))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_run_whose_workers_all_died_is_closed_as_failed(client, engine, database_url, redis_url):
    server, prefix = client
    settings = Settings(
        {
            "REPOSTWATCH_DATABASE_URL": database_url,
            "REPOSTWATCH_REDIS_URL": redis_url,
            "REPOSTWATCH_DISTRIBUTED_PREFIX": prefix,
            "REPOSTWATCH_DISTRIBUTED_WORKER_TIMEOUT": 2,
            "REPOSTWATCH_DISTRIBUTED_KEY_TTL": 600,
        }
    )
    dead, alive = open_run(settings, "board"), open_run(settings, "board")
    WorkerRegistry(server, RunKeys(prefix, dead), "w", ttl=600, worker_timeout=2).join()
    server.zadd(f"{prefix}:runs", {str(dead): server.time()[0] - 10})  # last heard of 10 s ago
    assert close_abandoned_runs(server, prefix, settings) == [dead]
    with db.make_sessionmaker(engine)() as session:
        closed, running = db.get_run(session, dead), db.get_run(session, alive)
    assert (closed.status, closed.finish_reason) == ("failed", "workers_lost")
    assert running.status == "running"
    assert server.exists(RunKeys(prefix, dead).key("workers")) == 0
