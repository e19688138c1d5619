"""What `repostwatch status` shows, collected by one library call (crawler/scheduling/status.py);
tests/cli/test_status.py prints it, tests/scheduling/test_scrapyd.py asks a real scrapyd."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawler.db import schedules
from crawler.db.migrate import head_revision, upgrade
from crawler.db.session import make_sessionmaker
from crawler.scheduling.status import collect_status
from tests.scheduling.helpers import SITE, closed_run

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SEARCHED = (
    'name = "board"\nstart_urls = ["http://127.0.0.1:9/"]\nallow_private_network = true\n'
    '[search]\nurl = "http://127.0.0.1:9/search?q={query}"\n'
    '[schedule]\nevery = "6h"\nsearch_every = "1d"\n'
)


def _signed(node: str) -> str:
    """The node's URL with the credentials every node needs (its name is ``node``)."""
    return node.replace("http://", "http://ops:s3cret@", 1)


def _collect(database_url, sites_dir, scrapyd_urls, **changes):
    options = {
        "scrapyd_urls": scrapyd_urls,
        "scrapyd_project": "repostwatch",
        "redis_url": "",
        "database_url": database_url,
        "spill_file": str(Path(sites_dir) / "no-spill.jsonl"),
        "sites": sites_dir,
        "recheck_hours": 6.0,
        "reminders_sent": False,
        "now": NOW,
    }
    return collect_status(**{**options, **changes})


def test_status_collects_services_backlog_and_every_sites_outlook(
    engine, database_url, tmp_path, refused_port
):
    (tmp_path / "board.toml").write_text(SEARCHED)
    (tmp_path / "paused.toml").write_text(SITE.format(name="paused", schedule='every = "1h"'))
    (tmp_path / "broken.toml").write_text('name = "broken"\n')
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        schedules.set_paused(session, "paused", True, at=NOW)
        searched = NOW - timedelta(hours=3)
        schedules.open_scheduled_run(session, "board", triggered_by="schedule-search", at=searched)
    closed_run(sessions, "gone", "failed", 0, 0, reason="site down")
    with sessions.begin() as session:
        schedules.save_health(
            session,
            schedules.sites_with_closed_runs(session)[0][0],
            state="unhealthy",
            reason="site down",
            since=NOW,
            last_run_id=1,
        )
    node = f"http://127.0.0.1:{refused_port()}/"

    status = _collect(database_url, tmp_path, _signed(node))

    assert status.stopped is None and status.at == NOW
    (down,) = status.nodes
    assert down.name == node and down.error.startswith(f"{node} is unreachable")
    assert (status.redis.url, status.redis.problem) == ("", None)  # not configured
    assert status.database.ready and status.database.head == head_revision()
    assert status.backlog.pending_flags == 0 and status.backlog.reminders_due == 0
    by_name = {site.site: site for site in status.sites}
    assert [site.site for site in status.sites] == ["board", "broken", "paused"]
    assert by_name["broken"].state == "invalid site file"
    assert by_name["paused"].state == "paused"
    board = by_name["board"]
    assert (board.state, board.last_search, board.next_search) == (
        "scheduled",
        searched,
        searched + timedelta(days=1),
    )
    assert board.next_crawl is None  # no scheduler pass has recorded one
    assert [(h.site, h.reason) for h in status.unhealthy] == [("gone", "site down")]
    assert status.problems == [f"scrapyd node {node}: {down.error}"]


def test_collection_stops_where_what_follows_cannot_be_read(database_url, tmp_path, refused_port):
    node = f"http://127.0.0.1:{refused_port()}/"
    # Unusable scrapyd URLs are a problem of their own: the rest is still read.
    bad_nodes = _collect(database_url, tmp_path, "ftp://host/")
    assert "not a scrapyd URL" in bad_nodes.nodes_error and bad_nodes.stopped is None
    assert bad_nodes.nodes == [] and bad_nodes.database is not None
    assert bad_nodes.problems[0] == f"scrapyd nodes: {bad_nodes.nodes_error}"
    unsigned = _collect(database_url, tmp_path, node)  # no credentials
    assert "no user name and password" in unsigned.nodes_error and unsigned.database is not None

    unmigrated = _collect(database_url, tmp_path, _signed(node))
    assert unmigrated.database.revision is None and not unmigrated.database.ready
    assert unmigrated.backlog is None and unmigrated.stopped is None

    upgrade(database_url)
    no_sites = _collect(database_url, tmp_path / "nowhere", _signed(node))
    assert no_sites.database.ready and no_sites.backlog is None
    assert no_sites.stopped.endswith(
        "no such directory; point REPOSTWATCH_SITES_DIR at your site files"
    )

    down = _collect(
        "postgresql://rw:secret@127.0.0.1:1/x?connect_timeout=2", tmp_path, _signed(node)
    )
    assert down.database.error and "secret" not in down.database.url
    assert down.problems[1:] == [f"database {down.database.url}: {down.database.error}"]


def test_status_counts_spilled_and_quarantined_matches_without_the_database(tmp_path):
    spill = tmp_path / "unrecorded.jsonl"
    spill.write_text('{"format": 2}\n{"format": 2}\n{"cut sho')
    (tmp_path / "unrecorded.jsonl.rejected").write_text('{"reason": "gone"}\n')
    status = _collect(
        "postgresql://x@127.0.0.1:1/x", tmp_path, "ftp://host/", spill_file=str(spill)
    )
    assert status.nodes_error and status.database.error  # and the spill file still counts
    assert (status.spill.pending, status.spill.quarantined) == (3, 1)
    assert status.spill.quarantine_path == f"{spill}.rejected"
