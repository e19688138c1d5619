"""Crawl health (crawler/scheduling/health.py) as the scheduler judges each run that ended, and
its alerts by webhook and e-mail (real database, HTTP and SMTP)."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crawler.db import schedules
from crawler.db.models import utcnow
from crawler.db.runs import CHECK_TRIGGER, start_run
from crawler.db.session import make_sessionmaker
from crawler.scheduling import Alerter
from tests.scheduling.helpers import Clock, closed_run, finish, make_scheduler


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


@pytest.fixture
def webhook():
    hook = _Webhook()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


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
    scheduler = make_scheduler(engine, tmp_path, clock, down_node, alerter)
    sessions = make_sessionmaker(engine)
    for pages, media in ((40, 100), (44, 90), (38, 120), (41, 110)):
        closed_run(sessions, "board", "finished", pages, media)
    assert scheduler.run_pass().health == []  # healthy from the start: nothing to say

    thin = closed_run(sessions, "board", "finished", 40, 40)  # median media 105: under half
    clock.now += timedelta(hours=6)
    (alert,) = scheduler.run_pass().health
    assert (alert.site, alert.state, alert.run_id) == ("board", "unhealthy", thin)
    assert alert.reason == (
        f"crawl run {thin} found 40 media, under half the median (105) of the 4 finished runs "
        "before it: has the site's layout changed?"
    )
    assert scheduler.run_pass().health == []  # no new run: nothing judged, nothing sent

    failed = closed_run(sessions, "board", "failed", 0, 0, reason="site down")
    assert scheduler.run_pass().health == []  # unhealthy still: no second alert
    with sessions() as session:
        (state,) = schedules.health_states(session).values()
    assert (state.state, state.reason) == ("unhealthy", f"crawl run {failed} failed: site down")
    assert state.since == datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # since it became unhealthy

    good = closed_run(sessions, "board", "finished", 42, 104)
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
    run_id = closed_run(sessions, "board", "finished", 0, 0)
    scheduler = make_scheduler(engine, tmp_path, Clock(utcnow()), down_node)
    (alert,) = scheduler.run_pass().health
    assert (alert.state, alert.reason) == ("unhealthy", f"crawl run {run_id} crawled no page")


def test_alert_email_needs_an_smtp_server():
    with pytest.raises(ValueError, match="REPOSTWATCH_SMTP_URL is not"):
        Alerter(email_to="ops@centre.example")


def test_search_crawls_are_judged_against_search_crawls_only(engine, tmp_path, down_node):
    sessions = make_sessionmaker(engine)
    for pages, media in ((40, 100), (44, 90), (38, 120)):
        closed_run(sessions, "board", "finished", pages, media)

    def search_run(pages: int, media: int) -> int:
        with sessions.begin() as session:
            run_id = schedules.open_scheduled_run(
                session, "board", triggered_by="schedule-search", at=utcnow()
            )
            finish(session, run_id, pages=pages, media=media)
        return run_id

    scheduler = make_scheduler(engine, tmp_path, Clock(utcnow()), down_node)
    for pages, media in ((6, 12), (5, 10), (7, 14)):  # far less than a crawl: that is normal
        search_run(pages, media)
        assert scheduler.run_pass().health == []
    closed_run(sessions, "board", "finished", 41, 110)  # a crawl is still judged against crawls
    assert scheduler.run_pass().health == []
    thin = search_run(1, 2)  # but a search that finds far less than the searches before it
    (alert,) = scheduler.run_pass().health
    assert (alert.state, alert.run_id) == ("unhealthy", thin)
    assert alert.reason == (
        f"search crawl run {thin} found 1 pages, under half the median (6) of the 3 finished "
        "runs before it: has the site's layout changed?"
    )


def test_a_proposed_domain_move_is_alerted_once(engine, tmp_path, down_node, webhook):
    from crawler.db import domain_moves

    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        move_id, _ = domain_moves.record_move(
            session,
            "board",
            old_domain="board12.example",
            new_domain="board13.example",
            kind="successor",
            new_url="https://board13.example/",
            evidence="every start URL died",
        )
    scheduler = make_scheduler(
        engine, tmp_path, Clock(utcnow()), down_node, Alerter(webhook=webhook.url)
    )
    (alert,) = scheduler.run_pass().moves
    assert (alert.site, alert.move_id) == ("board", move_id)
    assert scheduler.run_pass().moves == []  # once
    (post,) = webhook.posts
    assert (
        post["text"]
        == "RepostWatch: site board may have moved from board12.example to board13.example"
    )
    assert post["new_domain"] == "board13.example"


def test_manual_checks_are_not_judged_nor_history(engine, tmp_path, down_node):
    """A manual check crawls a few pages found by hand: far less than a crawl, and no sign of a
    layout change; the next crawl is judged against the crawls before it."""
    sessions = make_sessionmaker(engine)
    for pages, media in ((40, 100), (44, 90), (38, 120)):
        closed_run(sessions, "board", "finished", pages, media)
    scheduler = make_scheduler(engine, tmp_path, Clock(utcnow()), down_node)
    assert scheduler.run_pass().health == []
    with sessions.begin() as session:
        check = start_run(session, "board", triggered_by=CHECK_TRIGGER)
        finish(session, check, pages=1, media=2)
    assert scheduler.run_pass().health == []
    with sessions() as session:
        (state,) = schedules.health_states(session).values()
    assert state.state == "healthy" and state.last_run_id != check
    thin = closed_run(sessions, "board", "finished", 41, 30)  # median of the crawls: 100
    (alert,) = scheduler.run_pass().health
    assert (alert.run_id, alert.state) == (thin, "unhealthy")
    assert "median (100) of the 3 finished runs" in alert.reason
