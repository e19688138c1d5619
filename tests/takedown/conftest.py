"""Fixtures of the takedown tests: confirmed flags on a real database (SQLite and PostgreSQL),
a local repost site on 127.0.0.1 and a real SMTP server (aiosmtpd) on a free local port."""

from __future__ import annotations

import email
import email.policy
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session

from crawler.db.flags import MatchRecord, decide, record_match
from crawler.db.references import NewHash, add_reference_hashes, load_references
from crawler.db.runs import ensure_site, start_run
from crawler.demo import samples
from crawler.demo.localsite import LocalSite, Route, html
from crawler.hashing import hash_media
from crawler.sites import SiteConfig, parse_site
from crawler.takedown.fetching import Fetcher
from tests.support.ports import free_port
from tests.support.settings import default_settings

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@dataclass
class World:
    """A case with references, and helpers that put confirmed flags on sites."""

    session: Session
    case_id: int
    reference_id: int
    run_id: int
    counter: int = 0

    def flag(
        self,
        *,
        site: str = "board",
        page_url: str | None = None,
        media_url: str | None = None,
        media_sha256: str | None = None,
        media_pdq: str | None = None,
        confirm: bool = True,
        seen_at: datetime = T0,
        reference_id: int | None = None,
    ) -> int:
        self.counter += 1
        n = self.counter
        site_id = ensure_site(self.session, site)
        result = record_match(
            self.session,
            MatchRecord(
                run_id=self.run_id,
                site_id=site_id,
                page_url=page_url or f"https://{site}.example/post/{n}",
                media_url=media_url or f"https://{site}.example/media/{n}.jpg",
                media_sha256=media_sha256 or hashlib.sha256(f"media {n}".encode()).hexdigest(),
                case_id=self.case_id,
                reference_id=reference_id or self.reference_id,
                algorithm="pdq",
                distance=4,
                seen_at=seen_at,
                media_pdq=media_pdq if media_pdq is not None else f"{n:02x}" * 32,
            ),
        )
        if confirm:
            decide(self.session, result.flag_id, "confirm", by="kim.reviewer")
        self.session.commit()
        return result.flag_id


@pytest.fixture
def world(session) -> World:
    add_reference_hashes(
        session,
        "case-7",
        [NewHash("pdq", "f" * 64, 90), NewHash("sha256", "a" * 64)],
        media_sha256="c" * 64,
    )
    reference = next(r for r in load_references(session) if r.algorithm == "pdq")
    ensure_site(session, "board")
    run_id = start_run(session, "board")
    session.commit()
    return World(session, reference.case_id, reference.id, run_id)


def local_fetcher(request_seconds: float = 10) -> Fetcher:
    """A re-check Fetcher as the CLI builds one (the project's user agents and media size
    limit), with a short deadline: everything it fetches is on 127.0.0.1."""
    settings = default_settings()
    return Fetcher(
        user_agent=settings["REPOSTWATCH_RECHECK_USER_AGENT"],
        robots_agent=settings["USER_AGENT"],
        max_bytes=settings["REPOSTWATCH_MEDIA_MAXSIZE"],
        request_seconds=request_seconds,
    )


def site_config(name: str, url: str, takedown: str = "", **extra: str) -> SiteConfig:
    lines = [f'name = "{name}"', f'start_urls = ["{url}"]']
    lines += [f"{key} = {value}" for key, value in extra.items()]
    if takedown:
        lines += ["[takedown]", takedown]
    return parse_site("\n".join(lines) + "\n")


# --- a local repost site ----------------------------------------------------------------------
PHOTO = samples.reencoded_jpeg("astronaut", quality=90, scale=0.5)
OTHER_PHOTO = samples.reencoded_jpeg("coffee", quality=90, scale=0.5)


@dataclass
class RepostSite:
    site: LocalSite
    photo: bytes = PHOTO
    hashes: object = field(default=None)

    @property
    def url(self) -> str:
        return self.site.url

    @property
    def page_url(self) -> str:
        return self.site.url + "/post/1"

    @property
    def media_url(self) -> str:
        return self.site.url + "/media/1.jpg"

    def remove(self, path: str) -> None:
        del self.site.routes[path]


PAGE = """<!doctype html><html><head><style>
  body { margin: 0; background: #fff; }
  img { position: absolute; top: 100px; width: 400px; height: 400px; }
  #flagged { left: 40px; } #other { left: 600px; }
</style></head><body>
<img id="flagged" src="/media/1.jpg"><img id="other" src="/media/same-but-not-flagged.jpg">
</body></html>"""


@pytest.fixture
def repost_site() -> Iterator[RepostSite]:
    """A page showing the flagged photo, next to the same photo at a URL nobody flagged."""
    routes = {
        "/post/1": html(PAGE),
        "/media/1.jpg": Route(PHOTO, "image/jpeg"),
        "/media/same-but-not-flagged.jpg": Route(PHOTO, "image/jpeg"),
    }
    with LocalSite(routes) as site:
        yield RepostSite(site, PHOTO, hash_media(PHOTO))


# --- a real SMTP server ---------------------------------------------------------------------
class Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        return [message for _, _, message in self.inbox.received]


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpServer(inbox, controller.port)
    finally:
        controller.stop()
