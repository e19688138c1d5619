"""`repostwatch status` and `repostwatch crawls list`, through the real console script: what they
print of crawler/scheduling/status.py's collection and of every site's outlook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawler import db
from crawler.db import notices as db_notices
from crawler.db import schedules
from crawler.db.session import make_sessionmaker
from crawler.sites import parse_site
from crawler.takedown.drafting import draft_notices
from tests.scheduling.helpers import finish, takedown_world
from tests.support.cli_runner import repostwatch
from tests.takedown.conftest import T0

# End to end through the console script: once, on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_database

DAY = timedelta(hours=24)


def test_status_shows_search_crawls_rechecks_and_reminders_due(
    database_url, tmp_path, refused_port
):
    sites_dir = tmp_path / "sites"
    sites_dir.mkdir()
    (sites_dir / "board.toml").write_text(
        'name = "board"\nstart_urls = ["http://127.0.0.1:9/"]\nallow_private_network = true\n'
        '[search]\nurl = "http://127.0.0.1:9/search?q={query}"\n'
        '[schedule]\nevery = "6h"\nsearch_every = "1d"\n'
        '[takedown]\nabuse_contact = "abuse@board.example"\n'
    )
    env = {
        "REPOSTWATCH_DATABASE_URL": database_url,
        "REPOSTWATCH_SITES_DIR": str(sites_dir),
        "REPOSTWATCH_SCRAPYD_URLS": f"http://ops:s3cret@127.0.0.1:{refused_port()}/",
        "REPOSTWATCH_SMTP_URL": "",
    }
    repostwatch("db", "upgrade", env=env, cwd=tmp_path)
    engine = db.make_engine(database_url)
    try:
        sessions = make_sessionmaker(engine)
        searched_at = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
        with sessions.begin() as session:
            run_id = schedules.open_scheduled_run(
                session, "board", triggered_by="schedule-search", at=searched_at
            )
        with sessions() as session:
            world = takedown_world(session)
            world.flag(page_url="http://127.0.0.1:9/post/1", media_url="http://127.0.0.1:9/1.jpg")
            config = parse_site((sites_dir / "board.toml").read_text())
            (notice_id,) = draft_notices(session, {"board": config}, now=T0).created
            db_notices.approve_notice(session, notice_id, by="park.approver", now=T0)
            db_notices.record_sent(session, notice_id, now=T0, resend_after=DAY)
            session.commit()
        with sessions.begin() as session:
            finish(session, run_id, pages=1, media=1)
    finally:
        engine.dispose()
    result = repostwatch("status", env=env, cwd=tmp_path, check=False)
    assert result.returncode == 1  # the scrapyd node is down
    out = result.stdout
    assert "Re-checks 1 confirmed flag(s) due (not checked for 6 h)" in out
    assert "Notices   1 due for a reminder (REPOSTWATCH_SMTP_URL unset: not sent)" in out
    searches = out.split("Next search crawls\n")[1].splitlines()
    assert searches[2].split() == [
        "board",
        "every",
        "1d",
        "2026-11-21",
        "03:00",
        "UTC",
        "2026-11-20",
        "03:00",
        "UTC",
    ]
    crawls = out.split("Next crawls\n")[1].split("\n\n")[0]
    assert "board  every 6h" in crawls
    listing = repostwatch("crawls", "list", env=env, cwd=tmp_path).stdout
    assert listing.splitlines()[2].startswith("board  every 6h; search every 1d  scheduled  -")


def test_status_prints_what_it_reached_and_stops_where_it_must(
    database_url, tmp_path, refused_port
):
    port = refused_port()
    node = f"http://127.0.0.1:{port}/"
    env = {
        "REPOSTWATCH_DATABASE_URL": database_url,
        "REPOSTWATCH_SITES_DIR": str(tmp_path / "nowhere"),
        "REPOSTWATCH_SCRAPYD_URLS": "ftp://host/",
    }
    bad_nodes = repostwatch("status", env=env, cwd=tmp_path, check=False)
    assert bad_nodes.returncode == 1
    assert "CANNOT BE USED: 'ftp://host/' is not a scrapyd URL" in bad_nodes.stdout
    assert "Database  " in bad_nodes.stdout  # the rest is still shown

    env["REPOSTWATCH_SCRAPYD_URLS"] = node
    anonymous = repostwatch("status", env=env, cwd=tmp_path, check=False)
    assert anonymous.returncode == 1
    assert f"{node} has no user name and password" in anonymous.stdout
    assert "http://USER:PASSWORD@host:6800/" in anonymous.stdout
    assert "Database  " in anonymous.stdout

    env["REPOSTWATCH_SCRAPYD_URLS"] = f"http://ops:s3cret@127.0.0.1:{port}/"
    if database_url.startswith("sqlite:"):  # there, but never migrated (a missing file is an
        (tmp_path / "repostwatch.db").touch()  # error of its own: tests/cli/test_cli.py)
    unmigrated = repostwatch("status", env=env, cwd=tmp_path, check=False)
    assert unmigrated.returncode == 1 and "Traceback" not in unmigrated.stderr
    assert unmigrated.stdout.splitlines()[-1].endswith(": run `db upgrade`)")
    assert (
        f"  {node}  DOWN: " in unmigrated.stdout and "Redis     not configured" in unmigrated.stdout
    )

    repostwatch("db", "upgrade", env=env, cwd=tmp_path)
    no_sites = repostwatch("status", env=env, cwd=tmp_path, check=False)
    assert no_sites.returncode == 1
    assert no_sites.stdout.splitlines()[-1].endswith("(up to date)")
    assert "nowhere: no such directory" in no_sites.stderr


def test_status_shows_spilled_and_quarantined_matches(tmp_path):
    spill = tmp_path / "unrecorded.jsonl"
    spill.write_text('{"format": 2}\n{"format": 2}\n')
    (tmp_path / "unrecorded.jsonl.rejected").write_text('{"reason": "gone"}\n')
    env = {"REPOSTWATCH_SPILL_FILE": str(spill), "REPOSTWATCH_SCRAPYD_URLS": "ftp://host/"}
    shown = repostwatch("status", env=env, cwd=tmp_path, check=False)
    assert f"Spilled   2 match(es) wait in {spill}" in shown.stdout
    assert (
        "Quarantine 1 match(es) can never be recorded as they are: "
        f"read the reason on each line of {spill}.rejected" in shown.stdout
    )
