"""Schedules, the scheduler's decisions, crawl health and its alerts (real DB, HTTP and SMTP).

The scrapyd node here is a real URL nobody listens on (a node that is down): these tests are about
what the scheduler decides; tests/scheduling/test_scrapyd.py hands real crawls to a real scrapyd.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from crawler.db import notices as db_notices
from crawler.db import schedules
from crawler.db.models import AuditEntry, Flag, utcnow
from crawler.db.references import NewHash, add_reference_hashes, load_references
from crawler.db.runs import finish_run, start_run
from crawler.db.session import make_sessionmaker
from crawler.demo.localsite import LocalSite, Route, html
from crawler.hashing import hash_media
from crawler.scheduling import (
    Alerter,
    NodeState,
    Reminders,
    Scheduler,
    ScrapydClient,
    Upkeep,
    timing,
)
from crawler.scheduling.scheduler import least_loaded
from crawler.scheduling.scrapyd import Node, parse_nodes
from crawler.sites import SiteConfigError, parse_site
from crawler.takedown.drafting import draft_notices
from crawler.takedown.recheck import Fetcher
from crawler.takedown.sending import parse_smtp_url, send_notice
from tests.support.ports import free_port
from tests.takedown.conftest import PHOTO, T0, World

DAY = timedelta(hours=24)

SITE = """name = "{name}"
start_urls = ["http://127.0.0.1:9/"]
allow_private_network = true
[schedule]
{schedule}
"""


def _schedule(text: str):
    return parse_site(SITE.format(name="board", schedule=text)).schedule


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


# --- timing -----------------------------------------------------------------------------------
def test_cron_schedule_is_read_in_its_time_zone():
    schedule = _schedule('cron = "0 9 * * *"\ntimezone = "Asia/Seoul"')
    now = datetime(2026, 11, 25, 1, 30, tzinfo=UTC)  # 10:30 in Seoul: today's 09:00 is past
    assert timing.first_due(schedule, now, None) == datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
    assert schedule.rule == "cron 0 9 * * * (Asia/Seoul)"


def test_next_slot_after_downtime_skips_every_missed_slot():
    schedule = _schedule('cron = "0 */6 * * *"')
    down_since = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    back = down_since + timedelta(days=3, hours=1)  # twelve slots missed
    assert timing.next_after(schedule, back) == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    # A slot is never "after" itself: no crawl twice for one slot.
    assert timing.next_after(schedule, down_since) == datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def test_interval_counts_from_the_last_scheduled_crawl():
    schedule = _schedule('every = "1h30m"')
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert schedule.interval_seconds == 5400
    assert timing.first_due(schedule, now, None) == now  # never crawled: due at once
    last = now - timedelta(minutes=30)
    assert timing.first_due(schedule, now, last) == now + timedelta(hours=1)
    assert timing.next_after(schedule, now) == now + timedelta(minutes=90)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('every = "6x"', "schedule.every: '6x' is not an interval: write a number with d, h, m"),
        ('every = "30s"', "schedule.every: '30s' is shorter than the shortest interval, 1 minute"),
        ('cron = "0 25 * * *"', "schedule.cron: '0 25 * * *' is not a cron expression"),
        ('cron = "0 * * *"', "schedule.cron: '0 * * *' is not a cron expression (Wrong number"),
        ('timezone = "Mars/Base"\nevery = "1h"', "schedule.timezone: 'Mars/Base' is not a time"),
        ('every = "1h"\ncron = "0 * * * *"', 'schedule: give every (an interval, e.g. "6h")'),
        ("enabled = true", "schedule: give every (an interval"),
        ('enabled = "yes"\nevery = "1h"', "schedule.enabled: must be true or false"),
        ('evry = "1h"', "schedule.evry: unknown key"),
    ],
)
def test_bad_schedules_name_the_file_and_the_key(text, problem):
    with pytest.raises(SiteConfigError) as error:
        parse_site(SITE.format(name="board", schedule=text), "sites/board.toml")
    assert str(error.value).startswith(f"sites/board.toml: {problem}")


def test_least_loaded_node_first_and_down_nodes_left_out():
    def node(url: str, running: int, pending: int, up: bool = True) -> NodeState:
        state = NodeState(ScrapydClient(Node.parse(url)), up=up, running=running)
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


def test_node_urls_keep_credentials_out_of_the_name():
    nodes = parse_nodes("http://ops:s%40cret@10.0.0.2:6800, https://crawler2.example/scrapyd/")
    assert [n.name for n in nodes] == ["http://10.0.0.2:6800/", "https://crawler2.example/scrapyd/"]
    assert (nodes[0].username, nodes[0].password) == ("ops", "s@cret")
    assert "s@cret" not in repr(nodes[0])
    with pytest.raises(ValueError, match="not a scrapyd URL"):
        parse_nodes("ftp://host/")


# --- the scheduler with its only node down --------------------------------------------------
@pytest.fixture
def down_node(refused_port) -> ScrapydClient:
    return ScrapydClient(Node.parse(f"http://127.0.0.1:{refused_port()}/"), timeout=2)


def _scheduler(engine, sites_dir, clock, down_node, alerter=None) -> Scheduler:
    return Scheduler(
        make_sessionmaker(engine), sites_dir, [down_node], clock=clock, alerter=alerter
    )


def test_paused_site_is_not_scheduled_until_resumed(engine, tmp_path, down_node):
    (tmp_path / "board.toml").write_text(SITE.format(name="board", schedule='every = "6h"'))
    clock = Clock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    scheduler = _scheduler(engine, tmp_path, clock, down_node)

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
    report = _scheduler(engine, tmp_path, Clock(utcnow()), down_node).run_pass()
    assert report.skipped == {"board": "schedule disabled in the site file"}
    assert report.problems == [f"{tmp_path / 'broken.toml'}: start_urls: required key is missing"]


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
    scheduler = _scheduler(engine, tmp_path, clock, down_node)
    assert scheduler.run_pass().closed == []  # within the grace period
    clock.now += timedelta(minutes=2)
    report = scheduler.run_pass()
    assert report.closed == [
        (lost, "scheduler: the job never reached scrapyd (interrupted hand-over)")
    ]
    with sessions() as session:
        # The run on a node that is down cannot be judged; the local crawl is not the scheduler's.
        assert [run.id for run in schedules.active_runs(session)] == [on_down_node, by_hand]


# --- health and alerts ------------------------------------------------------------------------
class _Webhook:
    def __init__(self):
        self.posts: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                hook.posts.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class _Mailbox:
    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def webhook():
    hook = _Webhook()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


@pytest.fixture
def mailbox():
    box = _Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.url = f"smtp://{controller.hostname}:{controller.port}"
    yield box
    controller.stop()


def _run(sessions, site: str, status: str, pages: int, media: int, reason: str = "finished"):
    with sessions.begin() as session:
        run_id = start_run(session, site)
        finish_run(
            session,
            run_id,
            status=status,
            finish_reason=reason,
            pages=pages,
            media=media,
            bytes=0,
            errors=0,
            flags=0,
        )
    return run_id


def test_health_changes_are_alerted_once_each_by_webhook_and_mail(
    engine, tmp_path, down_node, webhook, mailbox
):
    alerter = Alerter(
        webhook=webhook.url,
        email_to="ops@centre.example",
        smtp_url=mailbox.url,
        email_from="RepostWatch <rw@centre.example>",
    )
    clock = Clock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    scheduler = _scheduler(engine, tmp_path, clock, down_node, alerter)
    sessions = make_sessionmaker(engine)
    for pages, media in ((40, 100), (44, 90), (38, 120), (41, 110)):
        _run(sessions, "board", "finished", pages, media)
    assert scheduler.run_pass().health == []  # healthy from the start: nothing to say

    thin = _run(sessions, "board", "finished", 40, 40)  # median media 105: under half
    clock.now += timedelta(hours=6)
    (alert,) = scheduler.run_pass().health
    assert (alert.site, alert.state, alert.run_id) == ("board", "unhealthy", thin)
    assert alert.reason == (
        f"crawl run {thin} found 40 media, under half the median (105) of the 4 finished runs "
        "before it: has the site's layout changed?"
    )
    assert scheduler.run_pass().health == []  # no new run: nothing judged, nothing sent

    failed = _run(sessions, "board", "failed", 0, 0, reason="site down")
    assert scheduler.run_pass().health == []  # unhealthy still: no second alert
    with sessions() as session:
        (state,) = schedules.health_states(session).values()
    assert (state.state, state.reason) == ("unhealthy", f"crawl run {failed} failed: site down")
    assert state.since == datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # since it became unhealthy

    good = _run(sessions, "board", "finished", 42, 104)
    clock.now += timedelta(hours=6)
    (recovered,) = scheduler.run_pass().health
    assert (recovered.state, recovered.reason, recovered.run_id) == ("healthy", None, good)

    assert [(post["site"], post["state"], post["run_id"]) for post in webhook.posts] == [
        ("board", "unhealthy", thin),
        ("board", "healthy", good),
    ]
    assert webhook.posts[0]["text"] == f"RepostWatch: site board is unhealthy: {alert.reason}"
    deadline = time.monotonic() + 10
    while len(mailbox.messages) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [m.rcpt_tos for m in mailbox.messages] == [["ops@centre.example"]] * 2
    subjects = [
        line
        for m in mailbox.messages
        for line in m.content.decode().splitlines()
        if line.startswith("Subject:")
    ]
    assert subjects[0].startswith("Subject: RepostWatch: site board is unhealthy: crawl run")
    assert subjects[1] == f"Subject: RepostWatch: site board is healthy again (crawl run {good})"


def test_a_crawl_without_pages_is_unhealthy_even_without_history(engine, tmp_path, down_node):
    sessions = make_sessionmaker(engine)
    run_id = _run(sessions, "board", "finished", 0, 0)
    scheduler = _scheduler(engine, tmp_path, Clock(utcnow()), down_node)
    (alert,) = scheduler.run_pass().health
    assert (alert.state, alert.reason) == ("unhealthy", f"crawl run {run_id} crawled no page")


def test_alert_email_needs_an_smtp_server():
    with pytest.raises(ValueError, match="REPOSTWATCH_SMTP_URL is not"):
        Alerter(email_to="ops@centre.example")


# --- takedown upkeep: removal re-checks and notice reminders ----------------------------------
SENDER = "Seoul Support Centre <takedown@centre.example>"


def _world(session) -> World:
    """A case with a reference and a crawl run on "board" (as tests/takedown's ``world``)."""
    add_reference_hashes(session, "case-7", [NewHash("pdq", "f" * 64, 90)], media_sha256="c" * 64)
    (reference,) = load_references(session)
    run_id = start_run(session, "board")
    session.commit()
    return World(session, reference.case_id, reference.id, run_id)


def _upkeep(engine, sites_dir, clock, **options) -> Upkeep:
    fetcher = Fetcher(user_agent="RepostWatch-test", timeout=10)
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
    world = _world(session)
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

        # The site deletes a media; a page answers 503 (cannot tell).
        del site.routes["/media/2.jpg"]
        site.routes["/post/3"] = Route(b"busy", "text/plain", 503)
        clock.now = checked_at + timedelta(hours=6, minutes=1)
        third = _round(scheduler)
        assert (third.rechecks_due, third.present, third.removed) == (3, [flags[0]], [flags[1]])
        fourth = _round(scheduler)
        assert (fourth.checked, fourth.unknown) == (1, {flags[2]: "page answered HTTP 503"})
        # An uncertain check is retried after the interval, not on every pass.
        assert _round(scheduler).rechecks_due == 0
        clock.now += timedelta(hours=6)
        assert _round(scheduler).unknown == {flags[2]: "page answered HTTP 503"}
        removed_at = third.at

    session.expire_all()
    states = {f: session.get(Flag, f) for f in flags}
    assert (states[flags[1]].status, states[flags[1]].removed_reason) == (
        "removed",
        "media_http_404",
    )
    assert states[flags[1]].removed_at == removed_at
    assert (states[flags[0]].status, states[flags[0]].last_checked_at) == ("confirmed", removed_at)
    assert (states[flags[2]].status, states[flags[2]].last_checked_at) == (
        "confirmed",
        checked_at,
    )


def test_notice_reminders_are_sent_when_due_and_audit_logged(
    engine, session, tmp_path, down_node, mailbox
):
    world = _world(session)
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
    world = _world(session)
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


def test_status_shows_search_crawls_rechecks_and_reminders_due(
    database_url, tmp_path, refused_port
):
    from crawler import db
    from tests.support.cli_runner import repostwatch

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
        "REPOSTWATCH_SCRAPYD_URLS": f"http://127.0.0.1:{refused_port()}/",
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
            world = _world(session)
            world.flag(page_url="http://127.0.0.1:9/post/1", media_url="http://127.0.0.1:9/1.jpg")
            config = parse_site((sites_dir / "board.toml").read_text())
            (notice_id,) = draft_notices(session, {"board": config}, now=T0).created
            db_notices.approve_notice(session, notice_id, by="park.approver", now=T0)
            db_notices.record_sent(session, notice_id, now=T0, resend_after=DAY)
            session.commit()
        with sessions.begin() as session:
            finish_run(
                session,
                run_id,
                status="finished",
                finish_reason="finished",
                pages=1,
                media=1,
                bytes=0,
                errors=0,
                flags=0,
            )
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


def test_search_crawls_are_judged_against_search_crawls_only(engine, tmp_path, down_node):
    sessions = make_sessionmaker(engine)
    for pages, media in ((40, 100), (44, 90), (38, 120)):
        _run(sessions, "board", "finished", pages, media)

    def search_run(pages: int, media: int) -> int:
        with sessions.begin() as session:
            run_id = schedules.open_scheduled_run(
                session, "board", triggered_by="schedule-search", at=utcnow()
            )
            finish_run(
                session,
                run_id,
                status="finished",
                finish_reason="finished",
                pages=pages,
                media=media,
                bytes=0,
                errors=0,
                flags=0,
            )
        return run_id

    scheduler = _scheduler(engine, tmp_path, Clock(utcnow()), down_node)
    for pages, media in ((6, 12), (5, 10), (7, 14)):  # far less than a crawl: that is normal
        search_run(pages, media)
        assert scheduler.run_pass().health == []
    _run(sessions, "board", "finished", 41, 110)  # a crawl is still judged against crawls
    assert scheduler.run_pass().health == []
    thin = search_run(1, 2)  # but a search that finds far less than the searches before it
    (alert,) = scheduler.run_pass().health
    assert (alert.state, alert.run_id) == ("unhealthy", thin)
    assert alert.reason == (
        f"search crawl run {thin} found 1 pages, under half the median (6) of the 3 finished "
        "runs before it: has the site's layout changed?"
    )
