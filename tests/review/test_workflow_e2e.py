"""The whole review workflow in real headless Chromium, against the real commands:

a reviewer logs in, claims and confirms a flag with the keyboard; an approver drafts a notice
(the page photographed in Chromium, media blurred), approves it and sends it to a real SMTP
server (aiosmtpd on 127.0.0.1); the local repost site deletes the page; `repostwatch recheck`
finds it gone; the app shows the flag removed and the notice resolved.

On SQLite and PostgreSQL (about 15 s each); to keep only SQLite, mark it
``@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)``.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select, update

from crawler.db import users
from crawler.db.flags import MatchRecord, record_match
from crawler.db.models import AuditEntry, Flag, Notice, RecheckObservation, utcnow
from crawler.db.references import NewHash, add_reference_hashes, load_references
from crawler.db.runs import ensure_site, start_run
from crawler.db.session import make_sessionmaker
from tests.review.conftest import PASSWORD
from tests.review.test_browser_e2e import browser  # noqa: F401  (a fixture)
from tests.support.cli_runner import repostwatch
from tests.support.serving import served
from tests.support.settings import CHROMIUM
from tests.support.totp import log_in_page
from tests.takedown.conftest import PHOTO, repost_site, smtp_server  # noqa: F401  (fixtures)

SENDER = "Seoul Support Centre <takedown@centre.example>"
SECRET = "workflow-" + "w" * 40


def _site_file(directory, url: str) -> None:
    directory.mkdir()
    (directory / "board.toml").write_text(
        f'name = "board"\nstart_urls = ["{url}/"]\nallow_private_network = true\n'
        '[takedown]\nlanguage = "ko"\nabuse_contact = "abuse@board.example"\n',
        encoding="utf-8",
    )


def _log_in(page, url: str, username: str) -> None:
    log_in_page(page, url, username, PASSWORD)
    page.wait_for_url(f"{url}/")


def test_review_notice_send_recheck_and_removal_in_the_browser(
    browser,  # noqa: F811
    engine,
    database_url,
    tmp_path,
    repost_site,  # noqa: F811
    smtp_server,  # noqa: F811
):
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        add_reference_hashes(session, "case-1", [NewHash("pdq", "f" * 64, 90)])
        (reference,) = load_references(session)
        site_id = ensure_site(session, "board")
        flag_id = record_match(
            session,
            MatchRecord(
                run_id=start_run(session, "board"),
                site_id=site_id,
                page_url=repost_site.page_url,
                media_url=repost_site.media_url,
                media_sha256=hashlib.sha256(PHOTO).hexdigest(),
                media_pdq=repost_site.hashes.get("pdq").hex,
                case_id=reference.case_id,
                reference_id=reference.id,
                algorithm="pdq",
                distance=6,
            ),
        ).flag_id
        users.create_user(session, "kim", PASSWORD, "reviewer")
        users.create_user(session, "park", PASSWORD, "approver")
    sites_dir = tmp_path / "sites"
    _site_file(sites_dir, repost_site.url)
    env = {
        "REPOSTWATCH_DATABASE_URL": database_url,
        "REPOSTWATCH_SECRET_KEY": SECRET,
        "REPOSTWATCH_SITES_DIR": str(sites_dir),
        "REPOSTWATCH_SMTP_URL": smtp_server.url,
        "REPOSTWATCH_NOTICE_FROM": SENDER,
        "REPOSTWATCH_CHROMIUM": CHROMIUM,
    }
    with served(env) as url:
        page = browser.new_page()
        page.set_default_timeout(60_000)
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))

        # A reviewer claims the flag and confirms it with the keyboard.
        _log_in(page, url, "kim")
        page.click("#claim")
        page.wait_for_url(f"{url}/flags/{flag_id}*")
        page.keyboard.press("c")
        page.wait_for_url(f"{url}/")
        assert "No more flags in your batch" in page.content()
        page.click("header form.logout button")
        page.wait_for_url(f"{url}/login*")

        # An approver drafts the notice (the page photographed), approves and sends it.
        _log_in(page, url, "park")
        page.goto(f"{url}/notices/")
        assert page.is_checked("#draft-screenshots")
        page.click("#draft")
        page.wait_for_url(re.compile(rf"{re.escape(url)}/notices/\d+$"))
        notice_id = int(page.url.rsplit("/", 1)[1])
        assert "1 screenshot queued" in page.content()  # taken beside the request
        assert page.inner_text("#notice-language") == "ko"
        assert page.inner_text("#notice-recipient") == "abuse@board.example"
        shot = page.locator(".notice-item .shot img")
        for _ in range(120):  # the background runner stores it; the page shows it on reload
            if shot.count() or "Screenshot pending" not in page.content():
                break
            page.wait_for_timeout(500)
            page.reload()
        shot.wait_for()
        page.wait_for_function("() => document.querySelector('.notice-item .shot img').complete")
        assert shot.evaluate("img => img.naturalWidth") > 0
        page.click("#approve")
        page.wait_for_selector("#notice-status:text('approved')")
        page.click("#send")
        page.wait_for_selector("#notice-status:text('sent')")
        assert "sent to abuse@board.example" in page.content()
        assert all(u.startswith(url) for u in requested), requested

        ((mail_from, recipients, message),) = smtp_server.inbox.received
        assert (mail_from, recipients) == ("takedown@centre.example", ["abuse@board.example"])
        assert message["Content-Language"] == "ko"
        assert message["Subject"].startswith("[삭제 요청]")
        text = message.get_body(("plain",)).get_content()
        assert repost_site.page_url in text and repost_site.media_url in text
        assert hashlib.sha256(PHOTO).hexdigest() in text
        ((name, png),) = [(p.get_filename(), p.get_content()) for p in message.iter_attachments()]
        assert name == f"notice-{notice_id}-item-1.png" and png.startswith(b"\x89PNG")

        # The site deletes the page and its media; two re-checks a day apart find it gone.
        repost_site.remove("/post/1")
        repost_site.remove(urlsplit(repost_site.media_url).path)
        result = repostwatch("recheck", env=env)
        assert "0 removed, 1 seen gone (not yet removed)" in result.stdout
        with sessions.begin() as session:
            session.execute(
                update(RecheckObservation).values(observed_at=utcnow() - timedelta(hours=24))
            )
        result = repostwatch("recheck", env=env)
        assert "1 removed, 0 seen gone (not yet removed), 0 still there" in result.stdout
        assert "1 notice(s) resolved" in result.stdout

        page.goto(f"{url}/flags/{flag_id}")
        assert page.inner_text("h1 .status") == "removed"
        assert "(media_http_404)" in page.inner_text("#removed")
        assert "time-to-removal" in page.inner_text("#removed")
        assert page.inner_text("#notices") == f"notice {notice_id} (resolved)"
        page.goto(f"{url}/notices/{notice_id}")
        assert page.inner_text("#notice-status") == "resolved"

    with sessions() as session:
        flag = session.get(Flag, flag_id)
        assert (flag.status, flag.decided_by, flag.removed_reason) == (
            "removed",
            "kim",
            "media_http_404",
        )
        notice = session.get(Notice, notice_id)
        assert (notice.status, notice.approved_by, notice.send_count) == ("resolved", "park", 1)
        actions = session.execute(
            select(AuditEntry.username, AuditEntry.action)
            .where(
                AuditEntry.action.in_(("decide", "notice_draft", "notice_approve", "notice_send"))
            )
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(a) for a in actions] == [
        ("kim", "decide"),
        ("park", "notice_draft"),
        ("park", "notice_approve"),
        ("park", "notice_send"),
    ]
