"""Crawler traps: links that generate endless URLs. Each refusal is named by its reason.

Pure bookkeeping over URLs, one instance per crawl:

- ``url_too_long``: longer than ``follow.max_url_length``;
- ``repeated_segments``: a path segment repeated more than ``follow.max_repeated_segments``
  times (``/a/b/a/b/a/b/...``, relative links that keep nesting);
- ``query_variants``: more than ``follow.max_query_variants`` different query strings on one
  path (the same listing with ever-new parameters: sort orders, session ids, filters);
- ``calendar``: more than ``follow.max_calendar_pages`` pages whose path or query holds a date
  (``/2026/11/``, ``?month=2026-11``, ``?date=20261125``): an endless calendar.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from urllib.parse import urlsplit

_DATE = re.compile(
    r"(?:^|[/=&?_-])(?:19|20)\d{2}(?:[/_-]?(?:0?[1-9]|1[0-2]))(?:[/_-]?(?:0?[1-9]|[12]\d|3[01]))?"
    r"(?:$|[/&#._-])"
)


class TrapGuard:
    def __init__(
        self,
        *,
        max_url_length: int,
        max_repeated_segments: int,
        max_query_variants: int,
        max_calendar_pages: int,
    ):
        self.max_url_length = max_url_length
        self.max_repeated_segments = max_repeated_segments
        self.max_query_variants = max_query_variants
        self.max_calendar_pages = max_calendar_pages
        self.queries: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
        self.calendar_pages = 0

    def refusal(self, url: str) -> str | None:
        """Why ``url`` must not be followed, or None; remembers what it lets through."""
        if len(url) > self.max_url_length:
            return "url_too_long"
        parts = urlsplit(url)
        segments = [segment for segment in parts.path.split("/") if segment]
        if segments and max(Counter(segments).values()) > self.max_repeated_segments:
            return "repeated_segments"
        calendar = bool(_DATE.search(parts.path) or _DATE.search("?" + parts.query))
        if calendar and self.calendar_pages >= self.max_calendar_pages:
            return "calendar"
        if parts.query:
            seen = self.queries[(parts.netloc, parts.path)]
            if parts.query not in seen and len(seen) >= self.max_query_variants:
                return "query_variants"
            seen.add(parts.query)
        if calendar:
            self.calendar_pages += 1
        return None
