"""Digests of new flags for reviewer groups (crawler/scheduling/digests.py): a real SMTP server
and a real HTTP server on 127.0.0.1, a real database."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crawler.db import digests as db_digests
from crawler.db import make_sessionmaker
from crawler.scheduling.digests import (
    DigestConfigError,
    DigestSettings,
    check_webhook,
    parse_hosts,
    send_due,
)
from crawler.takedown.sending import parse_smtp_url
from tests.scheduling.helpers import Clock, takedown_world
from tests.takedown.conftest import T0

WEB = "https://repostwatch.centre.example"
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _settings(smtp_url: str = "", hosts: str = "", web_url: str = WEB) -> DigestSettings:
    return DigestSettings(
        web_url=web_url,
        default_locale="ko",
        webhook_hosts=parse_hosts(hosts),
        smtp=parse_smtp_url(smtp_url) if smtp_url else None,
        sender="RepostWatch <repostwatch@centre.example>",
        timeout=5,
    )


def _group(session, name="night", channel="email", target="kim@centre.example", **options):
    created = db_digests.add_subscription(
        session, name, channel, target, interval_minutes=60, now=T0, **options
    )
    session.commit()
    return created


def _messages(mailbox) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(m.content, policy=email.policy.default) for m in mailbox.messages
    ]


def _assert_nothing_identifying(text: str) -> None:
    """No case name, site name, page or media URL, hash: only counts and links."""
    for leak in ("case-7", "board", "board.example", "/post/", "/media/", ".jpg", "f" * 16):
        assert leak not in text, leak


def test_an_email_digest_counts_each_new_flag_once_and_holds_only_counts_and_links(
    engine, session, mailbox
):
    world = takedown_world(session)
    _group(session, locale="en")
    flags = [world.flag(confirm=n == 0, seen_at=T0 + timedelta(minutes=n)) for n in range(3)]
    sessions, clock = make_sessionmaker(engine), Clock(T0 + timedelta(hours=1))
    settings = _settings(mailbox.url)

    (sent,) = send_due(sessions, settings, by="(test)", now=clock)
    assert (sent.flags, sent.error) == (3, None)
    (message,) = _messages(mailbox)
    assert message["Subject"] == "RepostWatch: 3 new flags"
    assert message["Content-Language"] == "en" and not message.is_multipart()
    text = message.get_content().replace("\r\n", "\n")
    assert "3 new flags since the last digest; 2 of them still waiting" in text
    assert "The queue holds 2 flags waiting for a decision:" in text
    assert f"{WEB}/\n" in text
    assert all(f"{WEB}/flags/{flag_id}" in text for flag_id in flags)
    _assert_nothing_identifying(message.as_string())

    # Within the interval nothing goes; after it, only what is new, once.
    assert [s.flags for s in send_due(sessions, settings, by="(test)", now=clock)] == []
    clock.now += timedelta(hours=1)
    assert [s.flags for s in send_due(sessions, settings, by="(test)", now=clock)] == [0]
    newer = world.flag(seen_at=clock.now)
    clock.now += timedelta(hours=1)
    assert [s.flags for s in send_due(sessions, settings, by="(test)", now=clock)] == [1]
    assert len(mailbox.messages) == 2
    assert f"{WEB}/flags/{newer}" in _messages(mailbox)[1].get_content()
    assert f"{WEB}/flags/{flags[0]}" not in _messages(mailbox)[1].get_content()


@SQLITE_ONLY
def test_a_failed_digest_is_tried_again_later_with_the_same_flags(
    engine, session, mailbox, refused_port
):
    world = takedown_world(session)
    _group(session)
    flags = [world.flag(seen_at=T0) for _ in range(2)]
    sessions, clock = make_sessionmaker(engine), Clock(T0 + timedelta(minutes=1))

    down = _settings(f"smtp://127.0.0.1:{refused_port()}")
    (failed,) = send_due(sessions, down, by="(test)", now=clock)
    assert failed.error and "Connection" in failed.error
    with sessions.begin() as s:
        (group,) = db_digests.list_subscriptions(s)
        assert group.last_error == failed.error and group.last_sent_at is None
        assert len(db_digests.new_flags(s, group)) == 2  # nothing counted as told

    clock.now += timedelta(minutes=10)  # the retry waits min(interval, 15 minutes)
    assert send_due(sessions, _settings(mailbox.url), by="(test)", now=clock) == []
    clock.now += timedelta(minutes=5)
    later = world.flag(seen_at=clock.now)
    (sent,) = send_due(sessions, _settings(mailbox.url), by="(test)", now=clock)
    assert sent.flags == 3 and sent.error is None
    (message,) = _messages(mailbox)
    assert message["Subject"] == "RepostWatch: 새 플래그 3건"
    assert all(f"/flags/{flag_id}" in message.get_content() for flag_id in [*flags, later])
    with sessions.begin() as s:
        (group,) = db_digests.list_subscriptions(s)
        assert group.last_error is None and group.last_sent_at == clock.now


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, self.headers["Content-Type"], body))
        if self.path == "/moved":
            self.send_response(307)
            self.send_header("Location", "http://127.0.0.2/elsewhere")
        else:
            self.send_response(500 if self.path == "/broken" else 204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@SQLITE_ONLY
def test_a_webhook_digest_is_json_posted_only_to_an_allowed_host(engine, session, webhook):
    world = takedown_world(session)
    base = f"http://127.0.0.1:{webhook.server_port}"
    for name in ("hook", "moved", "broken"):
        _group(session, name, "webhook", f"{base}/{name}")
    flag_id = world.flag(seen_at=T0, confirm=False)
    sessions, clock = make_sessionmaker(engine), Clock(T0 + timedelta(minutes=1))

    refused = send_due(sessions, _settings(hosts="chat.centre.example"), by="(test)", now=clock)
    assert all("REPOSTWATCH_DIGEST_WEBHOOK_HOSTS" in (s.error or "") for s in refused)
    assert webhook.received == []

    clock.now += timedelta(minutes=15)
    results = {
        s.group: s for s in send_due(sessions, _settings(hosts="127.0.0.1"), by="t", now=clock)
    }
    assert results["hook"].flags == 1
    assert "307" in results["moved"].error and "500" in results["broken"].error
    assert sorted(path for path, _, _ in webhook.received) == ["/broken", "/hook", "/moved"]
    (_, kind, body) = next(r for r in webhook.received if r[0] == "/hook")
    assert kind.startswith("application/json")
    sent = json.loads(body)
    assert sent["new_flags"] == 1 and sent["new_waiting"] == 1 and sent["locale"] == "ko"
    assert sent["flag_urls"] == [f"{WEB}/flags/{flag_id}"] and sent["queue_url"] == f"{WEB}/"
    assert "새 플래그" in sent["text"]
    _assert_nothing_identifying(body.decode())


@SQLITE_ONLY
def test_a_digest_without_the_web_apps_address_is_not_sent(engine, session, mailbox):
    world = takedown_world(session)
    _group(session)
    world.flag(seen_at=T0)
    sessions = make_sessionmaker(engine)
    (sent,) = send_due(
        sessions, _settings(mailbox.url, web_url=""), by="t", now=Clock(T0 + timedelta(hours=1))
    )
    assert "REPOSTWATCH_WEB_URL" in sent.error and mailbox.messages == []


def test_a_webhook_must_be_https_on_an_allowed_host():
    allowed = parse_hosts("chat.centre.example, 127.0.0.1")
    check_webhook("https://chat.centre.example/hooks/1", allowed)
    check_webhook("http://127.0.0.1:8080/hook", allowed)
    for url in ("https://evil.example/hook", "http://chat.centre.example/hooks/1", "hook"):
        with pytest.raises(DigestConfigError):
            check_webhook(url, allowed)


@SQLITE_ONLY
def test_subscriptions_refuse_what_cannot_be_delivered(session):
    for channel, target in [
        ("email", "Kim <kim@centre.example>"),
        ("email", ""),
        ("webhook", "ftp://chat.centre.example/"),
        ("sms", "010"),
    ]:
        with pytest.raises(db_digests.DigestError):
            db_digests.add_subscription(session, "g", channel, target, interval_minutes=60)
    with pytest.raises(db_digests.DigestError, match="at least 5"):
        db_digests.add_subscription(session, "g", "email", "a@b.example", interval_minutes=1)
    _group(session, "g")
    with pytest.raises(db_digests.DigestError, match="exists"):
        _group(session, "g")
