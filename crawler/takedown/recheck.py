"""Re-check confirmed flags: is the media still on the site?

The media URL itself decides. It looks **gone** when it answers 404 or 410, or when it now
serves other media (a different SHA-256 and a PDQ more than 31 bits from the flag's). It is
**present** when it serves the flagged media, even when its page is gone or no longer shows it
(the file is still online). Anything else cannot tell: a timeout, a 5xx, a refused address,
robots.txt, or a web page where the media was (a maintenance or error page).

One check never removes anything: each is recorded as an observation, and a flag becomes
"removed" only when its media was seen gone twice, at least REPOSTWATCH_RECHECK_GONE_HOURS apart,
with no sighting in between (crawler/db/rechecks.py, ``observe``); its evidence stays until its
case closes.

The page is fetched too (the media is asked for with it as the Referer, as a browser would) and
read as the crawl reads it: decoded by its HTTP charset, ``<meta charset>`` or byte order mark
(:func:`crawler.extraction.decode_page`, Scrapy's rules) and its media found by the crawler's
own extraction, with queries in the page's encoding. Whether the page still shows the media is
reported, not decisive. Fetching is crawler/takedown/fetching.py: the crawler's network rules,
a neutral User-Agent and a deadline per request; a round has a deadline too
(REPOSTWATCH_RECHECK_ROUND_SECONDS), and a site that runs out of time is left for the next round
so that it cannot hold up the others.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import urljoin

from parsel import Selector
from sqlalchemy.orm import Session, sessionmaker
from w3lib.html import get_base_url

from crawler.db import rechecks as db_rechecks
from crawler.db.models import utcnow
from crawler.extraction import canonical_media_url, decode_page, extract_media_urls
from crawler.hashing import PDQ_MATCH_THRESHOLD, MediaError, hamming, hash_media
from crawler.network import NO_OPT_IN, PRIVATE_NETWORK, PrivateOptIn
from crawler.sites import SiteConfig
from crawler.takedown.fetching import (
    FETCH_ERRORS,
    DeadlineExceeded,
    Fetched,
    Fetcher,
    PrivateAddressRefused,
)

GONE = (404, 410)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    flag_id: int
    present: bool | None  # what this check saw: True there, False gone, None could not tell
    # Gone: why (media_http_404, media_http_410, media_changed). Present: what was odd about
    # the page (page_http_404, not_on_page), if anything.
    reason: str | None = None
    error: str | None = None  # why it could not tell
    http_status: int | None = None  # the media URL's answer (the page's when it failed)
    late: bool = False  # a deadline passed before the check could end
    private_refused: bool = False  # a private address was refused (the site file's opt-in)

    def observation(self) -> db_rechecks.Observation:
        if self.present is None:
            return db_rechecks.Observation("unknown", self.http_status, self.error)
        return db_rechecks.Observation(
            "present" if self.present else "gone", self.http_status, self.reason
        )


def check_flag(
    target: db_rechecks.CheckTarget,
    fetcher: Fetcher,
    *,
    private_opt_in: PrivateOptIn = NO_OPT_IN,
    page_markup_counts: bool = True,
    obey_robots: bool = True,
    robots_agent: str | None = None,
    until: float | None = None,
) -> CheckResult:
    """What ``target``'s media URL serves now, and whether its page still shows it.
    ``private_opt_in``: the private hosts and ports its site's file allows (``private_opt_in``
    of its SiteConfig; none by default), for the page, the media and their redirects alike.
    ``until`` (time.monotonic()) is the end of the round, if any."""

    def get(url: str, referer: str | None = None) -> Fetched:
        return fetcher.get(
            url,
            opt_in=private_opt_in,
            referer=referer,
            robots=obey_robots,
            robots_agent=robots_agent,
            until=until,
        )

    try:
        page = get(target.page_url)
        page_note = None
        if page.status != 200:
            page_note = f"page_http_{page.status}"
        elif page_markup_counts and not references(page, target.page_url, target.media_url):
            page_note = "not_on_page"
        media = get(target.media_url, referer=target.page_url)
    except FETCH_ERRORS as exc:
        error = f"{exc.__class__.__name__}: {exc}"
        refused = getattr(exc, "reason", exc)  # urllib wraps what a connection raised
        return CheckResult(
            target.flag_id,
            None,
            error=error,
            late=isinstance(exc, DeadlineExceeded),
            private_refused=isinstance(refused, PrivateAddressRefused)
            and refused.kind == PRIVATE_NETWORK,
        )
    if media.status in GONE:
        return CheckResult(target.flag_id, False, f"media_http_{media.status}", None, media.status)
    if media.status != 200:
        return CheckResult(
            target.flag_id,
            None,
            error=f"media answered HTTP {media.status}",
            http_status=media.status,
        )
    return _same_media(target, media, page_note)


def references(page: Fetched, page_url: str, media_url: str) -> bool:
    """Whether the page shows ``media_url``, read as the crawl reads it: decoded with the
    page's own encoding, its media URLs found by crawler/extraction/ with queries encoded
    in that encoding (as a browser requests them)."""
    encoding, text = decode_page(page.content_type, page.body)
    base_url = get_base_url(text[:4096], page_url, encoding)  # what Scrapy's urljoin uses
    thumbnails: set[str] = set()
    found = extract_media_urls(
        Selector(text=text), lambda raw: urljoin(base_url, raw), thumbnails, encoding=encoding
    )
    return canonical_media_url(media_url) in {*found, *thumbnails}


def _same_media(target: db_rechecks.CheckTarget, media: Fetched, note: str | None) -> CheckResult:
    present = CheckResult(target.flag_id, True, note, http_status=media.status)
    if hashlib.sha256(media.body).hexdigest() == target.media_sha256:
        return present
    not_media = CheckResult(
        target.flag_id,
        None,
        error="the media URL serves something that is not media (an error or maintenance page?)",
        http_status=media.status,
    )
    if media.content_type.split(";")[0].strip().lower() in ("text/html", "text/plain"):
        return not_media
    try:
        found = hash_media(media.body).get("pdq")
    except MediaError:
        return not_media
    near = found is not None and target.media_pdq
    if near and hamming(found.hex, target.media_pdq) <= PDQ_MATCH_THRESHOLD:
        return present
    return CheckResult(target.flag_id, False, "media_changed", http_status=media.status)


def _no_site_file(site: str) -> str:
    return (
        f" (site {site!r} has no valid site file, so its re-checks may reach no private "
        f"address: add or fix the site (`repostwatch sites import {site}.toml`, or "
        f"{site}.toml in REPOSTWATCH_SITES_DIR while the database holds no site), with "
        "allow_private_network = true if the site is on a private network)"
    )


@dataclass
class RecheckSummary:
    checked: int = 0
    removed: list[CheckResult] = field(default_factory=list)  # gone twice over time: removed
    gone: list[CheckResult] = field(default_factory=list)  # seen gone, not yet long enough
    present: list[CheckResult] = field(default_factory=list)
    unknown: list[CheckResult] = field(default_factory=list)
    resolved_notices: list[int] = field(default_factory=list)
    # Not checked in time (the round's deadline, or their site ran out of time): next round.
    left: list[db_rechecks.CheckTarget] = field(default_factory=list)
    removable_at: dict[int, datetime] = field(default_factory=dict)  # flag id -> for `gone`


Progress = Callable[[db_rechecks.CheckTarget, CheckResult, db_rechecks.Verdict], None]


def recheck(
    sessions: sessionmaker[Session],
    sites: Mapping[str, SiteConfig],
    fetcher: Fetcher,
    *,
    gone_after: timedelta,
    round_seconds: float | None = None,
    site: str | None = None,
    now: Callable[[], datetime] = utcnow,
    progress: Progress | None = None,
    targets: Sequence[db_rechecks.CheckTarget] | None = None,
) -> RecheckSummary:
    """Re-check every confirmed flag (of one site), or only ``targets`` (the scheduler's due
    ones), and record what each check saw. A flag seen gone twice, ``gone_after``
    (REPOSTWATCH_RECHECK_GONE_HOURS) apart, becomes "removed". Within ``round_seconds``
    (REPOSTWATCH_RECHECK_ROUND_SECONDS): what is not checked by then is left (``left``), and so
    are the other flags of a site whose request ran out of time."""
    if targets is None:
        with sessions.begin() as session:
            targets = db_rechecks.check_targets(session, site)
    until = None if round_seconds is None else time.monotonic() + round_seconds
    summary = RecheckSummary()
    slow_sites: set[str] = set()
    unconfigured: set[str] = set()  # sites with flags and no valid site file
    for target in targets:
        if target.site in slow_sites or (until is not None and time.monotonic() >= until):
            summary.left.append(target)
            continue
        config = sites.get(target.site)
        if config is None and target.site not in unconfigured:
            unconfigured.add(target.site)
            logger.warning(
                "Site %r has no valid site file: its flags are re-checked with no private "
                "address allowed, robots.txt obeyed and the default User-Agent",
                target.site,
            )
        result = check_flag(
            target,
            fetcher,
            private_opt_in=config.private_opt_in if config else NO_OPT_IN,
            page_markup_counts=not (config and config.render == "browser"),
            obey_robots=config.obey_robots if config else True,
            robots_agent=(config.user_agent or None) if config else None,
            until=until,
        )
        if config is None and result.private_refused:
            result = replace(result, error=result.error + _no_site_file(target.site))
        if result.late:
            if until is not None and time.monotonic() >= until:
                summary.left.append(target)  # the round ended during it: not an observation
                continue
            slow_sites.add(target.site)
        summary.checked += 1
        with sessions.begin() as session:
            verdict = db_rechecks.observe(
                session, target.flag_id, result.observation(), now=now(), gone_after=gone_after
            )
        if verdict.removed:
            summary.removed.append(result)
            summary.resolved_notices += verdict.resolved_notices
        elif result.present is False:
            summary.gone.append(result)
            if verdict.removable_at is not None:
                summary.removable_at[target.flag_id] = verdict.removable_at
        elif result.present:
            summary.present.append(result)
        else:
            summary.unknown.append(result)
        if progress is not None:
            progress(target, result, verdict)
    return summary
