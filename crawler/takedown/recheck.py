"""Re-check confirmed flags: is the media still on the site?

A flag's media counts as removed when its media URL answers 404 or 410, when its page answers
404 or 410 or no longer references the media URL, or when the media URL now serves something
that no longer matches the flag's hashes (a different SHA-256 and a PDQ more than 31 bits from
the flag's). Anything uncertain (a timeout, a 5xx, a refused address) leaves the flag open and
is reported: a notice is never resolved on a guess.

Fetching is a small synchronous urllib client, not a Scrapy crawl: a re-check is two requests
per flag, and it must run from the CLI, a scheduler or the web app without a reactor. It keeps
the crawler's network rules (crawler/network.py): http and https only, every connection's
address resolved and refused when private, loopback or link-local (unless the site file allows
private addresses), no proxies from the environment, the connection made to the address that
was checked (so a DNS answer cannot change in between), and robots.txt obeyed with the site's
User-Agent unless the site file says ``obey_robots = false``. Page markup is read with the
crawler's own extraction (crawler/extraction.py), so "referenced" means what it means to a
crawl. For ``render = "browser"`` sites the page's markup is not proof of absence (scripts
build it), so only the page's status and the media itself are checked.
"""

from __future__ import annotations

import http.client
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from parsel import Selector
from sqlalchemy.orm import Session, sessionmaker

from crawler.db import rechecks as db_rechecks
from crawler.db.models import utcnow
from crawler.extraction import canonical_media_url, extract_media_urls
from crawler.hashing import PDQ_MATCH_THRESHOLD, MediaError, hamming, hash_media
from crawler.network import (
    NO_OPT_IN,
    AddressRefused,
    PrivateOptIn,
    checked_addresses_blocking,
)
from crawler.sites import SiteConfig

GONE = (404, 410)


class PrivateAddressRefused(OSError):
    """The host resolves to a private, loopback or link-local address."""


def _guarded_connection(
    address: tuple[str, int],
    timeout: float | object = socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
    source_address: tuple[str, int] | None = None,
    *,
    allow_private: bool,
) -> socket.socket:
    host, port = address
    opt_in = PrivateOptIn(everywhere=True) if allow_private else NO_OPT_IN
    try:  # the crawler's rule: no loopback or local names, no unresolvable or private hosts
        addresses = checked_addresses_blocking(host, port, opt_in)
    except AddressRefused as exc:
        raise PrivateAddressRefused(f"{exc}; refused") from None
    last: OSError | None = None
    for ip in addresses:  # connect to the address just checked, not to a new DNS answer
        try:
            return socket.create_connection((str(ip), port), timeout, source_address)  # type: ignore[arg-type]
        except OSError as exc:
            last = exc
    raise last or OSError(f"cannot connect to {host}:{port}")


class _HTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, allow_private: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = partial(_guarded_connection, allow_private=allow_private)


class _HTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, allow_private: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = partial(_guarded_connection, allow_private=allow_private)


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, allow_private: bool):
        super().__init__()
        self.allow_private = allow_private

    def http_open(self, req):
        return self.do_open(partial(_HTTPConnection, allow_private=self.allow_private), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, allow_private: bool):
        super().__init__()
        self.allow_private = allow_private

    def https_open(self, req):
        return self.do_open(partial(_HTTPSConnection, allow_private=self.allow_private), req)


@dataclass(frozen=True)
class Fetched:
    status: int
    body: bytes


class RobotsRefused(OSError):
    """robots.txt disallows the URL for our User-Agent."""


class Fetcher:
    """GET over http(s) only, guarded like a crawl, with a size limit (``max_bytes``:
    REPOSTWATCH_MEDIA_MAXSIZE) and a timeout in seconds (a crawl's DOWNLOAD_TIMEOUT); robots.txt
    is obeyed (read once per host and User-Agent) unless the caller says otherwise."""

    def __init__(self, *, user_agent: str, max_bytes: int, timeout: float):
        self.user_agent = user_agent
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._robots: dict[tuple[str, str, bool], RobotFileParser] = {}

    def allowed(self, url: str, *, allow_private: bool, user_agent: str | None = None) -> bool:
        """What the host's robots.txt says about ``url``. As for crawls (Scrapy's robots.txt
        middleware), a robots.txt that is missing or cannot be read allows everything; one
        answered with 401 or 403 allows nothing."""
        agent = user_agent or self.user_agent
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        key = (origin, agent, allow_private)
        if key not in self._robots:
            rules = RobotFileParser(origin + "/robots.txt")
            try:
                answer = self.get(origin + "/robots.txt", allow_private=allow_private, robots=False)
            except (OSError, http.client.HTTPException, ValueError):
                answer = Fetched(404, b"")
            if answer.status in (401, 403):
                rules.disallow_all = True
            elif answer.status == 200:
                rules.parse(answer.body.decode("utf-8", errors="replace").splitlines())
            else:
                rules.allow_all = True
            self._robots[key] = rules
        return self._robots[key].can_fetch(agent, url)

    def opener(self, allow_private: bool) -> urllib.request.OpenerDirector:
        opener = urllib.request.OpenerDirector()  # no proxy, file: or ftp: handlers
        for handler in (
            _HTTPHandler(allow_private),
            _HTTPSHandler(allow_private),
            urllib.request.HTTPRedirectHandler(),
            urllib.request.HTTPDefaultErrorHandler(),
            urllib.request.HTTPErrorProcessor(),
        ):
            opener.add_handler(handler)
        return opener

    def get(
        self,
        url: str,
        *,
        allow_private: bool,
        referer: str | None = None,
        robots: bool = True,
        user_agent: str | None = None,
    ) -> Fetched:
        if robots and not self.allowed(url, allow_private=allow_private, user_agent=user_agent):
            raise RobotsRefused(f"robots.txt disallows {url}")
        headers = {"User-Agent": user_agent or self.user_agent}
        if referer:
            headers["Referer"] = referer
        request = urllib.request.Request(url, headers=headers)
        try:
            with self.opener(allow_private).open(request, timeout=self.timeout) as response:
                body = response.read(self.max_bytes + 1)
                status = response.status
        except urllib.error.HTTPError as exc:
            return Fetched(exc.code, b"")
        if len(body) > self.max_bytes:
            raise OSError(f"{url}: larger than {self.max_bytes} bytes")
        return Fetched(status, body)


@dataclass(frozen=True)
class CheckResult:
    flag_id: int
    present: bool | None  # None: could not tell (the flag stays open)
    reason: str | None = None  # why it counts as removed: media_http_404, not_on_page, ...
    error: str | None = None


def check_flag(
    target: db_rechecks.CheckTarget,
    fetcher: Fetcher,
    *,
    allow_private_network: bool = False,
    page_markup_counts: bool = True,
    obey_robots: bool = True,
    user_agent: str | None = None,
) -> CheckResult:
    """Whether ``target``'s media is still on its page and still the same media."""
    get = partial(
        fetcher.get, allow_private=allow_private_network, robots=obey_robots, user_agent=user_agent
    )
    try:
        page = get(target.page_url)
        if page.status in GONE:
            return CheckResult(target.flag_id, False, f"page_http_{page.status}")
        if page.status != 200:
            return CheckResult(target.flag_id, None, error=f"page answered HTTP {page.status}")
        if page_markup_counts and not _references(page.body, target.page_url, target.media_url):
            return CheckResult(target.flag_id, False, "not_on_page")
        media = get(target.media_url, referer=target.page_url)
    except (OSError, http.client.HTTPException, urllib.error.URLError, ValueError) as exc:
        return CheckResult(target.flag_id, None, error=f"{exc.__class__.__name__}: {exc}")
    if media.status in GONE:
        return CheckResult(target.flag_id, False, f"media_http_{media.status}")
    if media.status != 200:
        return CheckResult(target.flag_id, None, error=f"media answered HTTP {media.status}")
    return _same_media(target, media.body)


def _references(body: bytes, page_url: str, media_url: str) -> bool:
    from urllib.parse import urljoin

    selector = Selector(text=body.decode("utf-8", errors="replace"))
    base = selector.css("base::attr(href)").get()
    base_url = urljoin(page_url, base) if base else page_url
    thumbnails: set[str] = set()
    found = extract_media_urls(selector, lambda raw: urljoin(base_url, raw), thumbnails)
    return canonical_media_url(media_url) in {*found, *thumbnails}


def _same_media(target: db_rechecks.CheckTarget, body: bytes) -> CheckResult:
    import hashlib

    if hashlib.sha256(body).hexdigest() == target.media_sha256:
        return CheckResult(target.flag_id, True)
    if target.media_pdq:
        try:
            found = hash_media(body).get("pdq")
        except MediaError:
            found = None
        if found is not None and hamming(found.hex, target.media_pdq) <= PDQ_MATCH_THRESHOLD:
            return CheckResult(target.flag_id, True)
    return CheckResult(target.flag_id, False, "media_changed")


@dataclass
class RecheckSummary:
    checked: int = 0
    removed: list[CheckResult] = field(default_factory=list)
    present: list[CheckResult] = field(default_factory=list)
    unknown: list[CheckResult] = field(default_factory=list)
    resolved_notices: list[int] = field(default_factory=list)


def recheck(
    sessions: sessionmaker[Session],
    sites: Mapping[str, SiteConfig],
    fetcher: Fetcher,
    *,
    site: str | None = None,
    now: Callable[[], datetime] = utcnow,
    progress: Callable[[db_rechecks.CheckTarget, CheckResult], None] | None = None,
    targets: Sequence[db_rechecks.CheckTarget] | None = None,
) -> RecheckSummary:
    """Re-check every confirmed flag (of one site), or only ``targets`` (the scheduler's due
    ones): removed ones become "removed" with the time of the check; present ones get
    ``last_checked_at``; unknown ones are left alone."""
    if targets is None:
        with sessions.begin() as session:
            targets = db_rechecks.check_targets(session, site)
    summary = RecheckSummary()
    for target in targets:
        config = sites.get(target.site)
        result = check_flag(
            target,
            fetcher,
            allow_private_network=bool(config and config.allow_private_network),
            page_markup_counts=not (config and config.render == "browser"),
            obey_robots=config.obey_robots if config else True,
            user_agent=(config.user_agent or None) if config else None,
        )
        summary.checked += 1
        with sessions.begin() as session:
            if result.present is True:
                db_rechecks.mark_checked(session, target.flag_id, now=now())
                summary.present.append(result)
            elif result.present is False:
                summary.resolved_notices += db_rechecks.mark_removed(
                    session, target.flag_id, now=now(), reason=result.reason or "removed"
                )
                summary.removed.append(result)
            else:
                summary.unknown.append(result)
        if progress is not None:
            progress(target, result)
    return summary
