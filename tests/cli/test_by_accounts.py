"""`--by` on the command line names an enabled staff account, with the rights the web app would
give it; the audit log records that account and the OS user who ran the command."""

from __future__ import annotations

import getpass
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from crawler.db import audit, make_engine, make_sessionmaker, users
from crawler.db import notices as db_notices
from crawler.db.flags import MatchRecord, record_match
from crawler.db.references import NewHash, add_reference_hashes, load_references
from crawler.db.runs import ensure_site, start_run
from tests.support.accounts import add_staff
from tests.support.cli_runner import repostwatch

# End to end through the console script: once, on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_database

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def sessions(env):
    engine = make_engine(env["REPOSTWATCH_DATABASE_URL"])
    yield make_sessionmaker(engine)
    engine.dispose()


def _flags(sessions, n: int) -> list[int]:
    with sessions.begin() as session:
        add_reference_hashes(session, "case-3", [NewHash("pdq", "f" * 64, 90)])
        (reference,) = load_references(session)
        site_id = ensure_site(session, "board")
        run_id = start_run(session, "board")
        return [
            record_match(
                session,
                MatchRecord(
                    run_id=run_id,
                    site_id=site_id,
                    page_url=f"https://board.example/post/{i}",
                    media_url=f"https://board.example/media/{i}.jpg",
                    media_sha256=hashlib.sha256(f"media {i}".encode()).hexdigest(),
                    case_id=reference.case_id,
                    reference_id=reference.id,
                    algorithm="pdq",
                    distance=4,
                    seen_at=T0,
                ),
            ).flag_id
            for i in range(n)
        ]


def test_by_must_name_an_enabled_account_and_the_os_user_is_audited(env, sessions):
    (flag_id,) = _flags(sessions, 1)
    unknown = repostwatch(
        "flags", "decide", flag_id, "confirm", "--by", "kim", env=env, check=False
    )
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr
    assert "'kim' is not a staff account" in unknown.stderr
    assert "`repostwatch users add kim --role reviewer`" in unknown.stderr
    add_staff(env, "kim")
    with sessions.begin() as session:
        users.set_disabled(session, "kim")
    disabled = repostwatch(
        "flags", "decide", flag_id, "confirm", "--by", "kim", env=env, check=False
    )
    assert disabled.returncode == 1 and "the account is disabled" in disabled.stderr
    with sessions.begin() as session:
        users.set_disabled(session, "kim", False)
    out = repostwatch("flags", "decide", flag_id, "confirm", "--by", "kim", env=env)
    assert "is confirmed (by kim)" in out.stdout
    with sessions() as session:
        (entry,), _ = audit.list_entries(session, action="decide")
        (kim,) = [u for u in users.list_users(session) if u.username == "kim"]
    assert entry.user_id == kim.id and entry.username == "(cli) kim"
    assert entry.os_user == getpass.getuser()


def test_the_approver_is_an_approver_who_confirmed_none_of_the_flags(env, sessions):
    flag_ids = _flags(sessions, 2)
    add_staff(env, "kim")
    add_staff(env, "park", "approver")
    add_staff(env, "lee", "approver")
    repostwatch("flags", "decide", flag_ids[0], "confirm", "--by", "kim", env=env)
    repostwatch("flags", "decide", flag_ids[1], "confirm", "--by", "park", env=env)
    with sessions.begin() as session:
        notice_id = db_notices.create_notice(
            session, site="board", language="en", subject="s", flag_ids=flag_ids
        )
    reviewer = repostwatch("notices", "approve", notice_id, "--by", "kim", env=env, check=False)
    assert reviewer.returncode == 1 and "'kim' is a reviewer: only an approver" in reviewer.stderr
    own = repostwatch("notices", "approve", notice_id, "--by", "park", env=env, check=False)
    assert own.returncode == 1
    assert f"park confirmed flag(s) {flag_ids[1]} of notice {notice_id}" in own.stderr
    out = repostwatch("notices", "approve", notice_id, "--by", "lee", env=env)
    assert "approved by lee" in out.stdout

    # Now sent: a reviewer may no longer reject its flags; an approver may (and withdraws it).
    with sessions.begin() as session:
        db_notices.record_sent(session, notice_id, now=T0, resend_after=timedelta(hours=24))
    refused = repostwatch(
        "flags", "decide", flag_ids[0], "reject", "--by", "kim", env=env, check=False
    )
    assert refused.returncode == 1 and "which is sent: only an approver" in refused.stderr
    repostwatch("flags", "decide", flag_ids[0], "reject", "--by", "lee", env=env)
    with sessions() as session:
        notice = db_notices.get_notice(session, notice_id)
    assert [item.flag_id for item in notice.open_items] == [flag_ids[1]]
    assert [item.flag_id for item in notice.corrections] == [flag_ids[0]]
