"""The whole takedown workflow through the real console script: crawl a local repost site,
confirm, draft (Chromium screenshots), approve, send to a real SMTP server, re-check after the
site deletes the media: the flag is removed with its time-to-removal, the other one stays."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from crawler.db import make_engine
from crawler.db.models import AuditEntry, Notice, RecheckObservation, utcnow
from crawler.demo import samples
from tests.support.accounts import add_staff
from tests.support.cli_runner import repostwatch

# End to end through the console script: once, on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_database


def _site_file(url: str) -> str:
    return f"""name = "board"
start_urls = ["{url}/post/1"]
allow_private_network = true

[follow]
enabled = false

[takedown]
language = "ko"
abuse_contact = "abuse@board.example"
"""


@pytest.fixture
def env(database_url, tmp_path, smtp_server):
    sites = tmp_path / "sites"
    sites.mkdir()
    env = {
        "REPOSTWATCH_DATABASE_URL": database_url,
        "REPOSTWATCH_SITES_DIR": str(sites),
        "REPOSTWATCH_SPILL_FILE": str(tmp_path / "spill.jsonl"),
        "REPOSTWATCH_MEDIA_CACHE": "0",
        "REPOSTWATCH_SMTP_URL": smtp_server.url,
        "REPOSTWATCH_NOTICE_FROM": "Support Centre <takedown@centre.example>",
    }
    repostwatch("db", "upgrade", env=env, cwd=tmp_path)
    repostwatch("refs", "add", "--case", "case-9", samples.photo_path("astronaut"), env=env)
    return env


def _flags(env, *status):
    args = ("--status", *status) if status else ()
    return json.loads(repostwatch("flags", "list", *args, "--json", env=env).stdout)


def test_draft_approve_send_and_recheck(env, tmp_path, repost_site, smtp_server):
    (tmp_path / "sites" / "board.toml").write_text(_site_file(repost_site.url))
    repostwatch("crawl", "board", "-L", "WARNING", env=env, cwd=tmp_path)
    flags = _flags(env)
    assert sorted(f["media_url"] for f in flags) == sorted(
        [repost_site.media_url, repost_site.url + "/media/same-but-not-flagged.jpg"]
    )
    add_staff(env, "kim")
    add_staff(env, "park.approver", "approver")
    for flag in flags:
        repostwatch("flags", "decide", flag["id"], "confirm", "--by", "kim", env=env)

    drafted = repostwatch("notices", "draft", env=env, cwd=tmp_path).stdout
    assert "Drafted 1 notice(s): 1." in drafted
    assert drafted.count("element(s) blurred") == 2
    assert "No confirmed flags waiting" in repostwatch("notices", "draft", env=env).stdout

    refused = repostwatch("notices", "send", "1", env=env, check=False)
    assert refused.returncode == 1 and "has not been approved" in refused.stderr
    assert smtp_server.messages == []

    shown = repostwatch("notices", "show", "1", env=env).stdout
    assert "Notice 1: draft" in shown and repost_site.media_url in shown
    out = repostwatch("notices", "approve", "1", "--by", "park.approver", env=env).stdout
    assert "Notice 1 approved by park.approver." in out
    sent = repostwatch("notices", "send", "1", env=env).stdout
    assert "Notice 1 sent to abuse@board.example (1 time(s))" in sent

    (message,) = smtp_server.messages
    assert message["Subject"] == "[삭제 요청] board 내 동의 없이 유포된 성적 촬영물 2건"
    text = message.get_body(("plain",)).get_content()
    pdq = repost_site.hashes.get("pdq").hex
    assert repost_site.media_url in text and repost_site.hashes.sha256 in text and pdq in text
    shots = [a.get_content() for a in message.iter_attachments()]
    assert len(shots) == 2 and all(s.startswith(b"\x89PNG") for s in shots)

    listed = repostwatch("notices", "list", "--case", "case-9", env=env).stdout
    assert "sent" in listed and "0/2" in listed
    assert "No notices." in repostwatch("notices", "list", "--case", "other", env=env).stdout
    shots = repostwatch("notices", "screenshots", "1", env=env).stdout
    assert "Took 0 screenshot(s) for notice 1; 0 failed." in shots  # none missing
    eml = repostwatch("notices", "export", "1", "--format", "eml", env=env).stdout
    assert email.message_from_string(eml, policy=email.policy.default)["To"] == (
        "abuse@board.example"
    )

    del repost_site.site.routes["/media/1.jpg"]
    checked = repostwatch("recheck", env=env).stdout
    assert "Checked 2 flag(s): 0 removed, 1 seen gone (not yet removed), 1 still there" in checked
    assert "gone (media_http_404); removed if still gone at " in checked
    assert len(_flags(env, "removed")) == 0
    # A day later it is still gone: removed now.
    engine = make_engine(env["REPOSTWATCH_DATABASE_URL"])
    with engine.begin() as connection:
        first = connection.execute(select(RecheckObservation)).all()
        connection.execute(
            update(RecheckObservation).values(observed_at=utcnow() - timedelta(hours=24))
        )
    assert len(first) == 2
    checked = repostwatch("recheck", env=env).stdout
    assert "Checked 2 flag(s): 1 removed, 0 seen gone (not yet removed), 1 still there" in checked
    (removed,) = _flags(env, "removed")
    assert removed["media_url"] == repost_site.media_url
    assert len(_flags(env, "confirmed")) == 1
    removals = repostwatch("notices", "removals", env=env).stdout
    assert "media_http_404" in removals and "notice" in removals
    assert "board: median time-to-removal" in removals
    due = repostwatch("notices", "resend-due", "--dry-run", env=env).stdout
    assert due.strip() == "0 notice(s) due: -"
    # A day later one item is still there: the reminder goes out.
    with engine.begin() as connection:
        connection.execute(update(Notice).values(next_send_at=utcnow() - timedelta(minutes=1)))
    resent = repostwatch("notices", "resend-due", env=env).stdout
    assert "notice 1: sent again" in resent and len(smtp_server.messages) == 2
    # Every notice action taken here is in the review app's audit log.
    with engine.connect() as connection:
        actions = connection.execute(
            select(
                AuditEntry.action,
                AuditEntry.target_type,
                AuditEntry.target_id,
                AuditEntry.username,
                AuditEntry.details,
            )
            .where(AuditEntry.target_type == "notice")
            .order_by(AuditEntry.id)
        ).all()
    engine.dispose()
    assert [tuple(a[:3]) for a in actions] == [
        ("notice_draft", "notice", "1"),
        ("notice_approve", "notice", "1"),
        ("notice_send", "notice", "1"),
        ("notice_screenshots", "notice", "1"),
        ("notice_export", "notice", "1"),
        ("notice_resend", "notice", "1"),
    ]
    assert all(a.username.startswith("(cli)") for a in actions)
    assert json.loads(actions[3].details) == {
        "retake": False, "taken": 0, "failed": 0, "via": "cli"
    }  # fmt: skip
    assert json.loads(actions[5].details) == {
        "to": "abuse@board.example", "n": 2, "via": "cli"
    }  # fmt: skip


def test_screenshots_that_fail_make_the_command_fail_and_a_sent_notice_is_not_retaken(
    database_url, tmp_path, world, repost_site
):
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "board.toml").write_text(_site_file(repost_site.url))
    env = {"REPOSTWATCH_DATABASE_URL": database_url, "REPOSTWATCH_SITES_DIR": str(sites)}
    world.flag(page_url=repost_site.page_url, media_url=repost_site.media_url)
    world.flag(page_url=repost_site.url + "/post/gone", media_url=repost_site.url + "/m/2.jpg")
    drafted = repostwatch("notices", "draft", "--no-screenshots", env=env).stdout
    assert "Drafted 1 notice(s): 1." in drafted

    failed = repostwatch("notices", "screenshots", "1", env=env, check=False)
    assert failed.returncode == 1, failed.stderr
    assert "HTTP 404" in failed.stdout
    assert "Took 1 screenshot(s) for notice 1; 1 failed." in failed.stdout

    add_staff(env, "park.approver", "approver")
    repostwatch("notices", "approve", "1", "--by", "park.approver", env=env)
    retaken = repostwatch("notices", "screenshots", "1", "--retake", env=env, check=False)
    assert "its screenshots were not retaken (only drafts' are)" in retaken.stdout
    assert "Took 0 screenshot(s) for notice 1; 1 failed." in retaken.stdout  # the 404 again
    assert retaken.returncode == 1
