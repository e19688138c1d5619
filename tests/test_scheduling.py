"""Schedules, the scheduler's decisions, crawl health and its alerts (real DB, HTTP and SMTP).

The scrapyd node here is a real URL nobody listens on (a node that is down): these tests are
about what the scheduler decides; tests/test_scrapyd.py hands real crawls to a real scrapyd.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from crawler.db import schedules
from crawler.db.models import utcnow
from crawler.db.runs import finish_run, start_run
from crawler.db.session import make_sessionmaker
from crawler.scheduling import Alerter, NodeState, Scheduler, ScrapydClient, timing
from crawler.scheduling.scheduler import least_loaded
from crawler.scheduling.scrapyd import Node, parse_nodes
from crawler.sites import SiteConfigError, parse_site

SITE = """name = "{name}"
start_urls = ["http://127.0.0.1:9/"]
allow_private_network = true
[schedule]
{schedule}
"""


def _schedule(text: str):
    return parse_site(SITE.format(name="board", schedule=text)).schedule


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
def down_node() -> ScrapydClient:
    return ScrapydClient(Node.parse(f"http://127.0.0.1:{_free_port()}/"), timeout=2)


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
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
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
