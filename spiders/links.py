"""Which links a crawl follows: the one rule for the site's pages and a search's results alike.

A link becomes a page request once: when it is on the site (one of its domains, http or https),
not a full-size media file (:mod:`spiders.full_size`: hashed as media, not crawled), not one
deeper than ``follow.max_depth``, within ``follow.max_pages`` and no crawler trap
(:mod:`spiders.traps`). Each refusal but the first two is counted as ``refused/<reason>``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from crawler.stats import REFUSED_MAX_DEPTH, REFUSED_MAX_PAGES, refused
from spiders.traps import TrapGuard


class PageLinks:
    """The pages a crawl has requested, and the rules a link passes to be one more."""

    def __init__(
        self,
        *,
        domains: Iterable[str],
        max_pages: int,
        traps: TrapGuard,
        is_media_link: Callable[[str], bool],
        stats,
        logger: logging.Logger | logging.LoggerAdapter,
    ):
        self.domains = tuple(domains)
        self.max_pages = max_pages
        self.traps = traps
        self.is_media_link = is_media_link
        self.stats = stats
        self.logger = logger
        self.requested: set[str] = set()  # page URLs requested so far, for max_pages

    def is_on_site(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return False
        host = (parts.hostname or "").lower()
        return any(host == d or host.endswith(f".{d}") for d in self.domains)

    def start(self, url: str) -> None:
        """A start URL: requested without asking the rules."""
        self.requested.add(url)

    def admit(self, url: str, *, too_deep: bool = False) -> bool:
        """Whether to request the page ``url`` (then it counts as requested). ``too_deep``: the
        page it is linked from is at ``follow.max_depth`` already."""
        if url in self.requested or not self.is_on_site(url):
            return False
        if self.is_media_link(url):
            return False  # a full-size file (hashed as media), not a page
        if too_deep:
            self.stats.inc_value(REFUSED_MAX_DEPTH)
            return False
        if len(self.requested) >= self.max_pages:
            self.stats.inc_value(REFUSED_MAX_PAGES)
            return False
        if reason := self.traps.refusal(url):
            self.stats.inc_value(refused(reason))
            self.logger.debug("Not following %s: %s", url, reason)
            return False
        self.requested.add(url)
        return True
