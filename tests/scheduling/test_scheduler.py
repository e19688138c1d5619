"""The scheduler's decisions (real database and HTTP): what it hands over, skips and closes.

The scrapyd node here is a real URL nobody listens on (a node that is down): these tests are about
what the scheduler decides; tests/scheduling/test_scrapyd.py hands real crawls to a real scrapyd.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crawler.db import schedules
from crawler.db.models import utcnow
from crawler.db.runs import start_run
from crawler.db.session import make_sessionmaker
from crawler.scheduling import NodeState, ScrapydClient
from crawler.scheduling.scheduler import least_loaded
from crawler.scheduling.scrapyd import Node
from tests.scheduling.helpers import SCRAPYD_PROJECT, SITE, Clock, make_scheduler


def test_paused_site_is_not_scheduled_until_resumed(engine, tmp_path, down_node):
    (tmp_path / "board.toml").write_text(SITE.format(name="board", schedule='every = "6h"'))
    clock = Clock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    scheduler = make_scheduler(engine, tmp_path, clock, down_node)

    report = scheduler.run_pass()  # due at once, but no node can take it
    assert report.scheduled == []
    assert report.skipped["board"].startswith("no scrapyd node is up: http://127.0.0.1:")
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        assert schedules.active_runs(session) == []  # nothing opened for a crawl not handed over
        assert schedules.set_paused(session, "board", True, at=clock.now) is True
        assert schedules.set_paused(session, "board", True, at=clock.now) is False
    assert scheduler.run_pass().skipped == {"board": "paused"}
    with sessions.begin() as session:
        assert schedules.set_paused(session, "board", False, at=clock.now) is True
    assert scheduler.run_pass().skipped["board"].startswith("no scrapyd node is up")


def test_disabled_schedule_and_invalid_site_files_are_reported(engine, tmp_path, down_node):
    text = SITE.format(name="board", schedule='every = "6h"\nenabled = false')
    (tmp_path / "board.toml").write_text(text)
    (tmp_path / "broken.toml").write_text('name = "broken"\n')
    report = make_scheduler(engine, tmp_path, Clock(utcnow()), down_node).run_pass()
    assert report.skipped == {"board": "schedule disabled in the site file"}
    assert report.problems == [f"{tmp_path / 'broken.toml'}: start_urls: required key is missing"]


def test_sites_saved_in_the_database_apply_at_the_next_pass(
    database_url, engine, tmp_path, down_node
):
    from crawler.db.sites import DatabaseSites, save_site

    # A site file of the same name is not read once the database holds sites.
    (tmp_path / "board.toml").write_text(SITE.format(name="board", schedule='every = "6h"'))
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        text = SITE.format(name="board", schedule='every = "6h"\nenabled = false')
        save_site(session, "board", text, by="(cli) ops", via="cli")
    source = DatabaseSites(database_url, tmp_path)
    scheduler = make_scheduler(engine, source, Clock(utcnow()), down_node)
    assert scheduler.run_pass().skipped == {"board": "schedule disabled in the site file"}
    with sessions.begin() as session:  # edited in the web app: no restart, no deploy
        text = SITE.format(name="board", schedule='every = "6h"')
        save_site(session, "board", text, by="ops", via="web", expected_version=1)
    assert scheduler.run_pass().skipped["board"].startswith("no scrapyd node is up")


def test_interrupted_hand_over_is_closed_as_failed_after_the_grace_period(
    engine, tmp_path, down_node
):
    clock = Clock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        lost = schedules.open_scheduled_run(session, "board", triggered_by="schedule", at=clock.now)
        on_down_node = schedules.open_scheduled_run(
            session, "other", triggered_by="manual", at=clock.now
        )
        schedules.record_scrapyd_job(session, on_down_node, node=down_node.name, job="other.2")
        by_hand = start_run(session, "third")  # `repostwatch crawl`: never the scheduler's
    scheduler = make_scheduler(engine, tmp_path, clock, down_node)
    assert scheduler.run_pass().closed == []  # within the grace period
    clock.now += timedelta(minutes=2)
    report = scheduler.run_pass()
    assert report.closed == [
        (lost, "scheduler: the job never reached scrapyd (interrupted hand-over)")
    ]
    with sessions() as session:
        # The run on a node that is down cannot be judged; the local crawl is not the scheduler's.
        assert [run.id for run in schedules.active_runs(session)] == [on_down_node, by_hand]


def test_least_loaded_node_first_and_down_nodes_left_out():
    def node(url: str, running: int, pending: int, up: bool = True) -> NodeState:
        state = NodeState(ScrapydClient(Node.parse(url), SCRAPYD_PROJECT), up=up, running=running)
        state.pending = pending
        return state

    a, b, c, d = (
        node("http://a:6800", 2, 1),
        node("http://b:6800", 0, 1),
        node("http://c:6800", 0, 0, up=False),
        node("http://d:6800", 1, 0),
    )
    assert [n.client.name for n in least_loaded([a, b, c, d])] == [
        "http://b:6800/",
        "http://d:6800/",
        "http://a:6800/",
    ]
