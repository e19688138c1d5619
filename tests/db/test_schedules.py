"""Operations state on SQLite and PostgreSQL: scheduled runs, schedule state, site health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawler.db import schedules
from crawler.db.runs import finish_run, get_run, join_run, start_run

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _close(session, run_id, status="finished", pages=10, media=20):
    finish_run(
        session,
        run_id,
        status=status,
        finish_reason="finished" if status == "finished" else "boom",
        pages=pages,
        media=media,
        bytes=0,
        errors=0,
        flags=0,
    )


def test_scheduled_run_records_trigger_node_and_job_and_can_be_joined(session):
    run_id = schedules.open_scheduled_run(session, "board", triggered_by="schedule", at=AT)
    schedules.record_scrapyd_job(session, run_id, node="http://10.0.0.2:6800/", job="board.1")
    session.commit()
    assert schedules.run_job(session, run_id) == ("schedule", "http://10.0.0.2:6800/", "board.1")
    (active,) = schedules.active_runs(session, "board")
    assert (active.id, active.site, active.scheduled_at, active.scrapyd_job) == (
        run_id,
        "board",
        AT,
        "board.1",
    )
    assert join_run(session, run_id, "board") == get_run(session, run_id).site_id
    with pytest.raises(ValueError, match="triggered_by must be one of schedule, manual"):
        schedules.open_scheduled_run(session, "board", triggered_by="cron", at=AT)


def test_schedule_state_is_created_on_first_use_and_updated(session):
    state = schedules.get_schedule_state(session, "board")
    assert (state.site, state.paused, state.schedule, state.next_due_at) == (
        "board",
        False,
        None,
        None,
    )
    schedules.save_schedule_state(session, "board", schedule="every 6h", next_due_at=AT)
    later = AT + timedelta(hours=6)
    schedules.save_schedule_state(
        session, "board", schedule="every 6h", next_due_at=later, last_scheduled_at=AT
    )
    schedules.save_schedule_state(session, "board", schedule="every 6h", next_due_at=later)
    session.commit()
    state = schedules.schedule_states(session)["board"]
    assert (state.schedule, state.last_scheduled_at, state.next_due_at) == ("every 6h", AT, later)


def test_pause_and_resume_report_whether_anything_changed(session):
    assert schedules.set_paused(session, "board", True, at=AT) is True
    assert schedules.set_paused(session, "board", True, at=AT) is False
    state = schedules.get_schedule_state(session, "board")
    assert (state.paused, state.paused_at) == (True, AT)
    assert schedules.set_paused(session, "board", False, at=AT) is True
    state = schedules.get_schedule_state(session, "board")
    assert (state.paused, state.paused_at) == (False, None)


def test_closed_runs_newest_first_and_finished_history(session):
    first, second, failed, running = (start_run(session, "board") for _ in range(4))
    _close(session, first, pages=5)
    _close(session, second, pages=7)
    _close(session, failed, status="failed")
    site_id = get_run(session, first).site_id
    assert [r.id for r in schedules.closed_runs(session, site_id)] == [failed, second, first]
    assert [r.id for r in schedules.closed_runs(session, site_id, after_id=second)] == [failed]
    history = schedules.finished_before(session, site_id, failed, limit=5)
    assert [(r.id, r.pages) for r in history] == [(second, 7), (first, 5)]
    assert schedules.sites_with_closed_runs(session) == [(site_id, "board")]
    assert [r.id for r in schedules.active_runs(session)] == [running]


def test_health_is_one_row_per_site_overwritten(session):
    run_id = start_run(session, "board")
    _close(session, run_id)
    site_id = get_run(session, run_id).site_id
    assert schedules.get_health(session, site_id) is None
    schedules.save_health(
        session, site_id, state="unhealthy", reason="no pages", since=AT, last_run_id=run_id
    )
    schedules.save_health(
        session, site_id, state="healthy", reason=None, since=AT, last_run_id=run_id
    )
    session.commit()
    health = schedules.get_health(session, site_id)
    assert (health.site, health.state, health.reason, health.since, health.last_run_id) == (
        "board",
        "healthy",
        None,
        AT,
        run_id,
    )
    assert list(schedules.health_states(session)) == ["board"]
