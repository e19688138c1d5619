"""Takedown notices in the web app (Flask test client, SQLite and PostgreSQL): approvers draft,
approve, send (to a real local SMTP server) and export; reviewers read but are refused every
action; nothing unapproved goes out; every action is in the audit log; the flag page tells the
flag's takedown story (repost of, removal, notice)."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select, update

from crawler.db import audit
from crawler.db import notices as db_notices
from crawler.db import rechecks as db_rechecks
from crawler.db.flags import decide
from crawler.db.models import AuditEntry, Flag, Notice, utcnow
from crawler.review import create_app
from tests.review.conftest import SECRET, https_client, login, post, shown_at
from tests.support.settings import default_web_config
from tests.takedown.conftest import smtp_server  # noqa: F401  (a fixture)

SENDER = "Support Centre <takedown@centre.example>"
SITE_FILE = """name = "gallery"
start_urls = ["https://repost.example/"]
[takedown]
language = "ja"
abuse_contact = "abuse@repost.example"
"""


def _png(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def sites_dir(tmp_path):
    directory = tmp_path / "sites"
    directory.mkdir()
    (directory / "gallery.toml").write_text(SITE_FILE, encoding="utf-8")
    return directory


@pytest.fixture
def smtp_url(smtp_server) -> str:  # noqa: F811
    return smtp_server.url


@pytest.fixture
def notices_app(engine, database_url, evidence_keys, sites_dir, smtp_url):
    app = create_app(
        default_web_config(
            REPOSTWATCH_DATABASE_URL=database_url,
            REPOSTWATCH_SECRET_KEY=SECRET,
            REPOSTWATCH_EVIDENCE_PRIVATE_KEY=evidence_keys.private,
            REPOSTWATCH_SITES_DIR=str(sites_dir),
            REPOSTWATCH_SMTP_URL=smtp_url,
            REPOSTWATCH_NOTICE_FROM=SENDER,
            REPOSTWATCH_NOTICE_RESEND_HOURS="24",
        )
    )
    yield app
    app.extensions["repostwatch"].engine.dispose()


def _confirmed(world, *numbers: int) -> list[int]:
    ids = [world.flag(n, media_pdq=f"{n:02x}" * 32) for n in numbers]
    with world.sessions.begin() as session:
        for flag_id in ids:
            decide(session, flag_id, "confirm", by="kim")
    return ids


def _draft(client) -> int:
    response = post(client, "/notices/draft", page="/notices/")
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    notice_id = int(response.headers["Location"].rsplit("/", 1)[1])
    return notice_id


def _status(world, notice_id: int) -> str:
    with world.sessions() as session:
        return session.get(Notice, notice_id).status


def _audit(world, action: str) -> list[tuple[str | None, str | None]]:
    with world.sessions() as session:
        rows = session.execute(
            select(AuditEntry.username, AuditEntry.target_id)
            .where(AuditEntry.action == action)
            .order_by(AuditEntry.id)
        )
        return [tuple(row) for row in rows]


def test_approver_drafts_approves_and_sends_a_notice_that_arrives(
    notices_app,
    world,
    smtp_server,  # noqa: F811
):
    flag_ids = _confirmed(world, 1, 2)
    world.user("park", "approver")
    client = https_client(notices_app)
    login(client, "park")
    assert "2 confirmed flag(s) wait for a notice" in client.get("/notices/").get_data(True)
    notice_id = _draft(client)
    with world.sessions.begin() as session:
        notice = db_notices.get_notice(session, notice_id)
        assert (notice.status, notice.language, notice.recipient) == (
            "draft",
            "ja",
            "abuse@repost.example",
        )
        assert [item.flag_id for item in notice.items] == flag_ids
        db_notices.set_screenshot(session, notice.items[0].id, _png("red"))

    page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
    for n in (1, 2):
        assert f"https://repost.example/page/{n}" in page
        assert f"https://repost.example/img/{n}.jpg" in page
        assert f"{n:064x}" in page and f"{n:02x}" * 32 in page
    assert 'id="notice-language">ja<' in page and "abuse@repost.example" in page
    assert f"/notices/{notice_id}/items/{notice.items[0].id}/screenshot.png" in page
    assert "No screenshot" in page  # the second item has none
    assert 'id="notice-text"' in page and "削除" in page  # the Japanese legal text

    post(client, f"/notices/{notice_id}/approve", page=f"/notices/{notice_id}")
    assert _status(world, notice_id) == "approved"
    response = post(client, f"/notices/{notice_id}/send", page=f"/notices/{notice_id}")
    assert response.status_code == 302
    assert _status(world, notice_id) == "sent"
    ((mail_from, recipients, message),) = smtp_server.inbox.received
    assert (mail_from, recipients) == ("takedown@centre.example", ["abuse@repost.example"])
    assert message["Content-Language"] == "ja"
    text = message.get_body(("plain",)).get_content()
    assert "https://repost.example/page/1" in text and "https://repost.example/img/2.jpg" in text
    names = [part.get_filename() for part in message.iter_attachments()]
    assert names == [f"notice-{notice_id}-item-1.png"]
    for action in ("notice_draft", "notice_approve", "notice_send"):
        assert _audit(world, action) == [("park", str(notice_id))], action
    with world.sessions() as session:
        assert session.get(Notice, notice_id).approved_by == "park"


def test_reviewers_read_notices_but_every_action_is_refused(notices_app, world, smtp_server):  # noqa: F811
    _confirmed(world, 1)
    world.user("kim", "reviewer")
    world.user("park", "approver")
    approver = https_client(notices_app)
    login(approver, "park")
    notice_id = _draft(approver)

    client = https_client(notices_app)
    login(client, "kim")
    assert client.get("/notices/").status_code == 200
    page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert "https://repost.example/page/1" in page and 'id="approve"' not in page
    for path, data in [
        ("/notices/draft", {}),
        (f"/notices/{notice_id}/approve", {}),
        (f"/notices/{notice_id}/send", {}),
        (f"/notices/{notice_id}/export", {"format": "csv"}),
        (f"/notices/{notice_id}/screenshots", {}),
        ("/notices/resend-due", {}),
    ]:
        assert post(client, path, data, page="/notices/").status_code == 403, path
    assert _status(world, notice_id) == "draft"
    assert smtp_server.inbox.received == []
    assert _audit(world, "notice_approve") == []


def test_a_draft_is_never_sent_or_exported(notices_app, world, smtp_server):  # noqa: F811
    _confirmed(world, 1)
    world.user("ann", "admin")
    client = https_client(notices_app)
    login(client, "ann")
    notice_id = _draft(client)
    response = post(client, f"/notices/{notice_id}/send", page="/notices/")
    assert response.status_code == 302
    assert "has not been approved" in client.get(f"/notices/{notice_id}").get_data(True)
    response = post(client, f"/notices/{notice_id}/export", {"format": "eml"}, page="/notices/")
    assert response.status_code == 302 and response.mimetype != "message/rfc822"
    assert smtp_server.inbox.received == []
    assert _status(world, notice_id) == "draft"
    assert _audit(world, "notice_send") == [] and _audit(world, "notice_export") == []
    # An admin is an approver too.
    post(client, f"/notices/{notice_id}/approve", page="/notices/")
    assert _status(world, notice_id) == "approved"
    post(client, f"/notices/{notice_id}/approve", page="/notices/")  # twice: refused, said why
    assert "not a draft" in client.get(f"/notices/{notice_id}").get_data(True)


def test_exports_download_in_every_format_and_are_audited(notices_app, world):
    _confirmed(world, 1, 2)
    world.user("park", "approver")
    client = https_client(notices_app)
    login(client, "park")
    notice_id = _draft(client)
    post(client, f"/notices/{notice_id}/approve", page="/notices/")
    downloads = {}
    for fmt in ("eml", "html", "csv", "json", "pdf"):
        response = post(client, f"/notices/{notice_id}/export", {"format": fmt}, page="/notices/")
        assert response.status_code == 200, fmt
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="notice-{notice_id}.{fmt}"'
        )
        assert response.headers["Cache-Control"] == "no-store, private"
        downloads[fmt] = response.get_data()
    assert downloads["pdf"].startswith(b"%PDF-")
    assert b"To: abuse@repost.example" in downloads["eml"]
    assert "https://repost.example/page/2" in downloads["html"].decode()
    assert downloads["csv"].decode().splitlines()[0].startswith("notice,site,item,page_url")
    exported = json.loads(downloads["json"])
    assert (exported["language"], exported["recipient"]) == ("ja", "abuse@repost.example")
    assert [i["page_url"] for i in exported["items"]] == [
        "https://repost.example/page/1",
        "https://repost.example/page/2",
    ]
    assert _audit(world, "notice_export") == [("park", str(notice_id))] * 5
    bad = post(client, f"/notices/{notice_id}/export", {"format": "docx"}, page="/notices/")
    assert bad.status_code == 400


def test_screenshots_are_served_to_staff_only_and_never_cached(notices_app, world):
    _confirmed(world, 1)
    world.user("park", "approver")
    world.user("kim", "reviewer")
    client = https_client(notices_app)
    login(client, "park")
    notice_id = _draft(client)
    png = _png("blue")
    with world.sessions.begin() as session:
        (item,) = db_notices.get_notice(session, notice_id).items
        db_notices.set_screenshot(session, item.id, png)
    path = f"/notices/{notice_id}/items/{item.id}/screenshot.png"
    anonymous = https_client(notices_app)
    assert anonymous.get(path).status_code == 302
    reader = https_client(notices_app)
    login(reader, "kim")
    response = reader.get(path)
    assert (response.status_code, response.mimetype, response.get_data()) == (200, "image/png", png)
    assert response.headers["Cache-Control"] == "no-store, private"
    with world.sessions() as session:
        (entry,), _ = audit.list_entries(session, action="view_screenshot")
    assert (entry.username, entry.target_type, entry.target_id, entry.details) == (
        "kim",
        "notice",
        str(notice_id),
        {"item": item.id},
    )
    assert reader.get(f"/notices/{notice_id + 1}/items/{item.id}/screenshot.png").status_code == 404
    assert reader.get(f"/notices/{notice_id + 1}").status_code == 404


def test_send_due_reminders_sends_overdue_notices_again(notices_app, world, smtp_server):  # noqa: F811
    _confirmed(world, 1)
    world.user("park", "approver")
    client = https_client(notices_app)
    login(client, "park")
    notice_id = _draft(client)
    post(client, f"/notices/{notice_id}/approve", page="/notices/")
    post(client, f"/notices/{notice_id}/send", page="/notices/")
    post(client, "/notices/resend-due", page="/notices/")  # not due yet: nothing
    assert len(smtp_server.inbox.received) == 1
    with world.sessions.begin() as session:
        session.execute(
            update(Notice)
            .where(Notice.id == notice_id)
            .values(next_send_at=utcnow() - timedelta(minutes=1))
        )
    assert "1 notice(s) due for a reminder" in client.get("/notices/").get_data(True)
    post(client, "/notices/resend-due", page="/notices/")
    assert len(smtp_server.inbox.received) == 2
    with world.sessions() as session:
        assert session.get(Notice, notice_id).send_count == 2
    assert _audit(world, "notice_resend") == [("park", str(notice_id))]


def test_the_list_filters_by_state_and_site(notices_app, world):
    _confirmed(world, 1)
    world.user("park", "approver")
    client = https_client(notices_app)
    login(client, "park")
    notice_id = _draft(client)
    link = f'href="/notices/{notice_id}"'
    assert link in client.get("/notices/?status=draft&site=gallery").get_data(True)
    assert link not in client.get("/notices/?status=sent").get_data(True)
    assert link not in client.get("/notices/?site=elsewhere").get_data(True)


def test_the_flag_page_shows_repost_removal_and_notice(notices_app, world):
    (original,) = _confirmed(world, 1)
    world.user("park", "approver")
    client = https_client(notices_app)
    login(client, "park")
    notice_id = _draft(client)
    post(client, f"/notices/{notice_id}/approve", page="/notices/")
    sent_at = utcnow() - timedelta(hours=30)
    removed_at = sent_at + timedelta(hours=6)
    with world.sessions.begin() as session:
        session.execute(
            update(Notice).where(Notice.id == notice_id).values(status="sent", sent_at=sent_at)
        )
        db_rechecks.mark_removed(session, original, now=removed_at, reason="page_http_404")
    repost = world.flag(2)
    with world.sessions.begin() as session:
        session.execute(update(Flag).where(Flag.id == repost).values(repost_of_flag_id=original))

    page = client.get(f"/flags/{original}").get_data(as_text=True)
    assert "status-removed" in page
    assert shown_at(removed_at, seconds=True) in page and "page_http_404" in page
    assert "time-to-removal 6.0 h from the first notice" in page
    assert f'href="/notices/{notice_id}">notice {notice_id}</a> (resolved)' in page
    page = client.get(f"/flags/{repost}").get_data(as_text=True)
    assert f'href="/flags/{original}">{original}</a>' in page
    assert shown_at(removed_at) in page and "the media came back" in page
    assert 'id="removed"' not in page and 'id="notices"' not in page


def test_screenshots_are_queued_never_taken_in_the_request(notices_app, world, sites_dir):
    """The page takes seconds to answer: the request returns at once, the notice shows the
    item as pending, and the background runner (its worker runs Chromium) stores the PNG."""
    import threading
    import time

    from crawler.demo.localsite import LocalSite, html

    with LocalSite({"/slow": html("<p>a slow page</p>")}) as site:
        serve = site.server.RequestHandlerClass
        answered = threading.Event()

        class Slow(serve):  # type: ignore[misc, valid-type]
            def do_GET(self) -> None:
                time.sleep(3)
                super().do_GET()
                answered.set()

        site.server.RequestHandlerClass = Slow
        (sites_dir / "gallery.toml").write_text(
            SITE_FILE.replace("https://repost.example/", site.url + "/").replace(
                "[takedown]", "allow_private_network = true\n[takedown]"
            ),
            encoding="utf-8",
        )
        ids = [world.flag(1, page_url=site.url + "/slow")]
        with world.sessions.begin() as session:
            decide(session, ids[0], "confirm", by="kim")
        world.user("park", "approver")
        client = https_client(notices_app)
        login(client, "park")
        notice_id = _draft(client)

        started = time.monotonic()
        response = post(client, f"/notices/{notice_id}/screenshots", page="/notices/")
        assert response.status_code == 302
        assert time.monotonic() - started < 2.0  # the page alone takes 3 s
        page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
        assert "Screenshot pending" in page and "1 screenshot queued" in page

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with world.sessions() as session:
                (item,) = db_notices.get_notice(session, notice_id).items
            if item.has_screenshot:
                break
            time.sleep(0.5)
        assert answered.is_set()
    assert (item.has_screenshot, item.screenshot_pending, item.screenshot_error) == (
        True,
        False,
        None,
    )
    page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert "Screenshot pending" not in page
