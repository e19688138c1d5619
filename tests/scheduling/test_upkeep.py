"""Takedown upkeep in the background of each scheduler pass (crawler/scheduling/upkeep.py):
removal re-checks, notice reminders and digests of new flags (real database, HTTP and SMTP)."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from crawler.db import notices as db_notices
from crawler.db.digests import add_subscription
from crawler.db.models import AuditEntry, Flag
from crawler.db.session import make_sessionmaker
from crawler.demo.localsite import LocalSite, Route, html
from crawler.hashing import hash_media
from crawler.scheduling import Reminders, Scheduler, Upkeep
from crawler.scheduling.digests import DigestSettings
from crawler.sites import parse_site
from crawler.takedown.drafting import draft_notices
from crawler.takedown.sending import parse_smtp_url, send_notice
from tests.scheduling.helpers import Clock, takedown_world
from tests.support.drip import DripServer
from tests.takedown.conftest import PHOTO, T0, local_fetcher

DAY = timedelta(hours=24)
SENDER = "Seoul Support Centre <takedown@centre.example>"


def _upkeep(engine, sites_dir, clock, fetcher=None, **options) -> Upkeep:
    fetcher = fetcher or local_fetcher()
    # REPOSTWATCH_RECHECK_HOURS and REPOSTWATCH_RECHECK_BATCH as settings/__init__.py has them
    options = {
        "recheck_after": timedelta(hours=6),
        "recheck_batch": 200,
        "gone_after": timedelta(hours=24),
        "round_seconds": 600,
        **options,
    }
    return Upkeep(make_sessionmaker(engine), sites_dir, fetcher, clock=clock, **options)


def _round(scheduler: Scheduler):
    report = scheduler.run_pass()
    assert report.upkeep_started
    done = scheduler.upkeep.join(timeout=60)
    assert done is not None and done.at == report.at
    return done


def test_confirmed_flags_are_rechecked_when_due_and_not_before(
    engine, session, tmp_path, down_node
):
    photo = PHOTO
    routes = {}
    for n in (1, 2, 3):
        routes[f"/post/{n}"] = html(f'<img src="/media/{n}.jpg">')
        routes[f"/media/{n}.jpg"] = Route(photo, "image/jpeg")
    world = takedown_world(session)
    with LocalSite(routes) as site:
        (tmp_path / "board.toml").write_text(
            f'name = "board"\nstart_urls = ["{site.url}/"]\nallow_private_network = true\n'
        )
        flags = [
            world.flag(
                page_url=f"{site.url}/post/{n}",
                media_url=f"{site.url}/media/{n}.jpg",
                media_sha256=hashlib.sha256(photo).hexdigest(),
                media_pdq=hash_media(photo).get("pdq").hex,
            )
            for n in (1, 2, 3)
        ]
        clock = Clock(T0 + timedelta(hours=1))
        upkeep = _upkeep(engine, tmp_path, clock, recheck_after=timedelta(hours=6), recheck_batch=2)
        scheduler = Scheduler(
            make_sessionmaker(engine), tmp_path, [down_node], clock=clock, upkeep=upkeep
        )

        # Never checked: all due, at most two per pass.
        first = _round(scheduler)
        assert (first.rechecks_due, first.present, first.removed) == (3, flags[:2], [])
        second = _round(scheduler)
        assert (second.rechecks_due, second.present) == (1, flags[2:])
        checked_at = clock.now

        # Checked less than REPOSTWATCH_RECHECK_HOURS ago: nothing is fetched.
        clock.now += timedelta(hours=5, minutes=59)
        fetched = len(site.exchanges)
        assert (_round(scheduler).rechecks_due, len(site.exchanges)) == (0, fetched)

        # The site deletes a media; another answers 503 (cannot tell).
        del site.routes["/media/2.jpg"]
        site.routes["/media/3.jpg"] = Route(b"busy", "text/plain", 503)
        clock.now = checked_at + timedelta(hours=6, minutes=1)
        third = _round(scheduler)
        assert (third.rechecks_due, third.present, third.gone) == (3, [flags[0]], [flags[1]])
        assert third.removed == []  # seen gone once: not removed yet
        fourth = _round(scheduler)
        assert (fourth.checked, fourth.unknown) == (1, {flags[2]: "media answered HTTP 503"})
        # An uncertain check is retried after the interval, not on every pass.
        assert _round(scheduler).rechecks_due == 0
        clock.now += timedelta(hours=6)
        assert _round(scheduler).unknown == {flags[2]: "media answered HTTP 503"}
        # Gone again at every check; removed REPOSTWATCH_RECHECK_GONE_HOURS after it was first
        # seen gone (every due flag per pass from here on).
        upkeep.recheck_batch = 200
        clock.now = third.at + timedelta(hours=12, minutes=1)
        middle = _round(scheduler)
        assert (middle.gone, middle.removed) == ([flags[1]], [])
        clock.now = third.at + timedelta(hours=24)
        done = _round(scheduler)
        assert (done.gone, done.removed) == ([], [flags[1]])
        removed_at = done.at

    session.expire_all()
    states = {f: session.get(Flag, f) for f in flags}
    assert (states[flags[1]].status, states[flags[1]].removed_reason) == (
        "removed",
        "media_http_404",
    )
    assert states[flags[1]].removed_at == removed_at
    assert (states[flags[0]].status, states[flags[0]].last_checked_at) == ("confirmed", removed_at)
    assert states[flags[2]].status == "confirmed"


def test_notice_reminders_are_sent_when_due_and_audit_logged(
    engine, session, tmp_path, down_node, mailbox
):
    world = takedown_world(session)
    for n in (1, 2):  # on an address a re-check refuses to fetch: no site file allows it
        world.flag(page_url=f"http://127.0.0.1:9/post/{n}", media_url=f"http://127.0.0.1:9/{n}.jpg")
    config = parse_site(
        'name = "board"\nstart_urls = ["http://127.0.0.1:9/"]\n'
        '[takedown]\nlanguage = "en"\nabuse_contact = "abuse@board.example"\n'
    )
    (notice_id,) = draft_notices(session, {"board": config}, now=T0).created
    db_notices.approve_notice(session, notice_id, by="park.approver", now=T0)
    smtp = parse_smtp_url(mailbox.url)
    send_notice(session, notice_id, smtp=smtp, sender=SENDER, resend_after=DAY, now=T0)
    session.commit()
    assert len(mailbox.messages) == 1

    clock = Clock(T0 + DAY - timedelta(minutes=1))
    reminders = Reminders(smtp=smtp, sender=SENDER, resend_after=DAY)
    upkeep = _upkeep(engine, tmp_path, clock, reminders=reminders)
    scheduler = Scheduler(
        make_sessionmaker(engine), tmp_path, [down_node], clock=clock, upkeep=upkeep
    )
    early = _round(scheduler)
    assert (early.reminders_sent, len(mailbox.messages)) == ([], 1)
    assert len(early.unknown) == 2  # the re-checks ran too, and could not tell

    clock.now = T0 + DAY
    done = _round(scheduler)
    assert (done.reminders_sent, done.reminders_failed) == ([notice_id], {})
    assert len(mailbox.messages) == 2
    assert mailbox.messages[1].rcpt_tos == ["abuse@board.example"]
    subject = next(
        line
        for line in mailbox.messages[1].content.decode().splitlines()
        if line.startswith("Subject:")
    )
    assert subject.startswith("Subject: Reminder 1: ")
    assert _round(scheduler).reminders_sent == []  # the next one is a day later

    session.expire_all()
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "notice_send").order_by(AuditEntry.id)
    ).all()
    assert [(e.username, e.target_type, e.target_id) for e in entries] == [
        ("(scheduler)", "notice", str(notice_id))
    ]
    assert json.loads(entries[0].details) == {
        "to": "abuse@board.example",
        "n": 2,
        "via": "scheduler",
    }
    notice = db_notices.get_notice(session, notice_id)
    assert (notice.send_count, notice.next_send_at) == (2, T0 + 2 * DAY)


def test_a_failed_reminder_stays_due(engine, session, tmp_path, down_node, refused_port):
    world = takedown_world(session)
    world.flag(page_url="http://127.0.0.1:9/post/1", media_url="http://127.0.0.1:9/1.jpg")
    config = parse_site(
        'name = "board"\nstart_urls = ["http://127.0.0.1:9/"]\n'
        '[takedown]\nabuse_contact = "abuse@board.example"\n'
    )
    (notice_id,) = draft_notices(session, {"board": config}, now=T0).created
    db_notices.approve_notice(session, notice_id, by="park.approver", now=T0)
    db_notices.record_sent(session, notice_id, now=T0, resend_after=DAY)
    session.commit()
    closed = parse_smtp_url(f"smtp://127.0.0.1:{refused_port()}?timeout=5")
    clock = Clock(T0 + DAY)
    upkeep = _upkeep(engine, tmp_path, clock, reminders=Reminders(closed, SENDER, DAY))
    scheduler = Scheduler(
        make_sessionmaker(engine), tmp_path, [down_node], clock=clock, upkeep=upkeep
    )
    done = _round(scheduler)
    assert done.reminders_sent == []
    assert done.reminders_failed[notice_id].startswith("ConnectionRefusedError")
    assert upkeep.reminders_due() == [notice_id]


def test_a_dripping_site_stops_neither_the_other_rechecks_nor_the_reminders(
    engine, session, tmp_path, down_node, mailbox
):
    world = takedown_world(session)
    routes = {
        "/post/1": html('<img src="/media/1.jpg">'),
        "/media/1.jpg": Route(PHOTO, "image/jpeg"),
    }
    with DripServer() as slow, LocalSite(routes) as site:
        (tmp_path / "a-slow.toml").write_text(
            f'name = "a-slow"\nstart_urls = ["{slow.url}/"]\nallow_private_network = true\n'
        )
        board = (
            f'name = "board"\nstart_urls = ["{site.url}/"]\nallow_private_network = true\n'
            '[takedown]\nlanguage = "en"\nabuse_contact = "abuse@board.example"\n'
        )
        (tmp_path / "board.toml").write_text(board)
        slow_flags = [
            world.flag(
                site="a-slow", page_url=f"{slow.url}/post/{n}", media_url=f"{slow.url}/{n}.jpg"
            )
            for n in (1, 2)
        ]
        there = world.flag(
            page_url=f"{site.url}/post/1",
            media_url=f"{site.url}/media/1.jpg",
            media_sha256=hashlib.sha256(PHOTO).hexdigest(),
            media_pdq=hash_media(PHOTO).get("pdq").hex,
        )
        (notice_id,) = draft_notices(session, {"board": parse_site(board)}, now=T0).created
        db_notices.approve_notice(session, notice_id, by="park.approver", now=T0)
        smtp = parse_smtp_url(mailbox.url)
        send_notice(session, notice_id, smtp=smtp, sender=SENDER, resend_after=DAY, now=T0)
        session.commit()

        clock = Clock(T0 + DAY)
        upkeep = _upkeep(
            engine,
            tmp_path,
            clock,
            fetcher=local_fetcher(request_seconds=1),
            reminders=Reminders(smtp=smtp, sender=SENDER, resend_after=DAY),
        )
        scheduler = Scheduler(
            make_sessionmaker(engine), tmp_path, [down_node], clock=clock, upkeep=upkeep
        )
        started = time.monotonic()
        done = _round(scheduler)
        took = time.monotonic() - started
    assert list(done.unknown) == [slow_flags[0]]  # robots.txt dripped: cut off at the deadline
    assert "DeadlineExceeded" in done.unknown[slow_flags[0]]
    assert done.left == [slow_flags[1]]  # its site ran out of time: the next pass's
    assert done.present == [there]
    assert done.reminders_sent == [notice_id]
    assert took < 4, took


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_round_sends_the_due_digests_and_audit_logs_them(engine, session, tmp_path, mailbox):
    world = takedown_world(session)
    add_subscription(session, "night", "email", "kim@centre.example", interval_minutes=60, now=T0)
    session.commit()
    flag_id = world.flag(confirm=False, seen_at=T0)
    digests = DigestSettings(
        web_url="https://rw.centre.example",
        default_locale="en",
        smtp=parse_smtp_url(mailbox.url),
        sender=SENDER,
    )
    upkeep = _upkeep(engine, tmp_path, Clock(T0 + DAY), digest_settings=digests)
    done = upkeep.run()
    assert done.digests_sent == {"night": 1} and done.digests_failed == {}
    (envelope,) = mailbox.messages
    assert f"https://rw.centre.example/flags/{flag_id}" in envelope.content.decode()
    logged = session.execute(
        select(AuditEntry.username, AuditEntry.details).where(AuditEntry.action == "digest_send")
    ).one()
    assert logged.username == "(scheduler)" and json.loads(logged.details)["flags"] == 1
