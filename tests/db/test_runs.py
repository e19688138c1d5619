"""Sites and crawl runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC

import pytest

from crawler.db.runs import (
    RunNotFound,
    ensure_site,
    finish_run,
    get_run,
    join_run,
    list_runs,
    start_run,
)

COUNTERS = {"pages": 5, "media": 11, "bytes": 6_000_000_000, "errors": 1, "flags": 6}


def test_ensure_site_is_idempotent(session):
    first = ensure_site(session, "gallery")
    assert ensure_site(session, "gallery") == first
    assert ensure_site(session, "other") != first


def test_start_run_opens_a_running_run(session):
    run_id = start_run(session, "gallery")
    session.commit()
    run = get_run(session, run_id)
    assert (run.site, run.status, run.finished_at, run.pages, run.bytes) == (
        "gallery",
        "running",
        None,
        0,
        0,
    )
    assert run.site_id == ensure_site(session, "gallery")
    assert run.started_at.tzinfo is not None and run.started_at.utcoffset().total_seconds() == 0


def test_finish_run_stores_the_counters(session):
    run_id = start_run(session, "gallery")
    finish_run(session, run_id, status="finished", finish_reason="finished", **COUNTERS)
    session.commit()
    run = get_run(session, run_id)
    assert run.status == "finished" and run.finish_reason == "finished"
    assert (run.pages, run.media, run.bytes, run.errors, run.flags) == tuple(COUNTERS.values())
    assert run.finished_at is not None and run.finished_at >= run.started_at
    assert run.finished_at.tzinfo == UTC


def test_a_run_is_finished_only_once(session):
    run_id = start_run(session, "gallery")
    finish_run(session, run_id, status="failed", finish_reason="shutdown", **COUNTERS)
    with pytest.raises(ValueError, match="already failed"):
        finish_run(session, run_id, status="finished", finish_reason="finished", **COUNTERS)


def test_finish_run_refuses_a_bad_status(session):
    run_id = start_run(session, "gallery")
    with pytest.raises(ValueError, match="finished, failed"):
        finish_run(session, run_id, status="running", finish_reason=None, **COUNTERS)


def test_unknown_run_raises_run_not_found(session):
    with pytest.raises(RunNotFound, match="no crawl run with id 42"):
        get_run(session, 42)
    with pytest.raises(RunNotFound):
        finish_run(session, 42, status="finished", finish_reason="finished", **COUNTERS)


def test_list_runs_newest_first_by_site_and_limit(session):
    ids = [start_run(session, site) for site in ("a", "b", "a", "a")]
    session.commit()
    assert [run.id for run in list_runs(session)] == ids[::-1]
    assert [run.id for run in list_runs(session, site="a")] == [ids[3], ids[2], ids[0]]
    assert [run.id for run in list_runs(session, site="a", limit=2)] == [ids[3], ids[2]]
    assert list_runs(session, site="nowhere") == []


def test_join_run_checks_the_site_and_that_the_run_is_running(session):
    run_id = start_run(session, "boards")
    other = start_run(session, "tube")
    assert join_run(session, run_id, "boards") == get_run(session, run_id).site_id
    with pytest.raises(ValueError, match="is a run of site 'tube', not of 'boards'"):
        join_run(session, other, "boards")
    finish_run(session, run_id, status="finished", finish_reason="finished", **COUNTERS)
    with pytest.raises(ValueError, match="already finished"):
        join_run(session, run_id, "boards")
    with pytest.raises(RunNotFound):
        join_run(session, 9999, "boards")
