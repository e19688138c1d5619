"""Crawler traps: links that generate endless URLs. Each refusal is named by its reason.

Pure bookkeeping over URLs, one instance per crawl:

- ``url_too_long``: longer than ``follow.max_url_length``;
- ``repeated_segments``: a path segment repeated more than ``follow.max_repeated_segments``
  times (``/a/b/a/b/a/b/...``, relative links that keep nesting);
- ``query_variants``: more than ``follow.max_query_variants`` variants of the query on one
  path (the same listing with ever-new parameters: sort orders, session ids, filters). A
  variant is the query's parameter names with their values, except the numeric value of a
  parameter named as an item or page number (``wr_id``, ``id``, ``articleId``, ``no``, ``idx``,
  ``page``, ...): ``board.php?bo_table=free&wr_id=1`` to ``wr_id=500`` are 500 posts and one
  variant, ``list?sort=...`` with ever-new sort values are ever-new variants;
- ``calendar``: more than ``follow.max_calendar_pages`` calendar pages of one template. A
  calendar page is one whose path *ends* in a date of at least year and month
  (``/calendar/2026/11/``, ``/archive/2026-11-25``) or whose query has a parameter that is
  wholly a date (``?month=2026-11``) or a number under a date-like name (``?date=20261125``,
  ``?year=2026&month=11``); its template is the URL with those dates replaced. A date followed by
  more path (``/2026/11/some-slug/``, a WordPress post) or a number under another name
  (``?wr_id=201203``, ``/view/20240512``) is no calendar.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from urllib.parse import parse_qsl, urlsplit

_YEAR = r"(?:19|20)\d{2}"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
#: A path ending in a date: /2026/11, /2026/11/25, /2026-11, /2026-11-25 (a trailing / allowed).
_PATH_DATE = re.compile(rf"(?<=/){_YEAR}[/_-]{_MONTH}(?:[/_-]{_DAY})?(?=/?$)")
#: A query value that is a separated date: 2026-11, 2026-11-25, 2026/11, 2026.11.25.
_VALUE_DATE = re.compile(rf"{_YEAR}[/._-]{_MONTH}(?:[/._-]{_DAY})?")
#: Parameter names whose numeric values are dates: date=20261125, year=2026, month=11, ym=202611.
_DATE_NAME = re.compile(r"(?i)date|day|month|year|week|^(?:y|m|d|ym|ymd|cal)$")
#: Parameter names whose numeric values are items or page numbers, not variants of a listing.
_ID_NAME = re.compile(
    r"(?i)^(?:p|pg|page|post|article|topic|thread|doc|item|no|num|idx|seq|srl)$"
    r"|(?:id|_no|_num|_idx|_seq|_srl)$"
)
_NOT_ID_NAME = re.compile(r"(?i)sess|token|^sid$")
_NUMBER = re.compile(r"\d{1,12}")


def _is_id(name: str, value: str) -> bool:
    return bool(
        _NUMBER.fullmatch(value) and _ID_NAME.search(name) and not _NOT_ID_NAME.search(name)
    )


def _is_date(name: str, value: str) -> bool:
    if _VALUE_DATE.fullmatch(value):
        return True
    return bool(_NUMBER.fullmatch(value) and len(value) <= 8 and _DATE_NAME.search(name))


def query_variant(query: str) -> tuple[tuple[str, str], ...]:
    """The variant of a query string: its parameters and values, but numbers of items and
    pages, and dates (the calendar limit counts those), left out."""
    pairs = parse_qsl(query, keep_blank_values=True)
    return tuple(sorted((name, _variant_value(name, value)) for name, value in pairs))


def _variant_value(name: str, value: str) -> str:
    if _is_id(name, value):
        return "{id}"
    return "{date}" if _is_date(name, value) else value


def calendar_template(path: str, query: str) -> str | None:
    """The URL template of a calendar page (its dates replaced by ``{date}``), or None."""
    pairs = parse_qsl(query, keep_blank_values=True)
    dated = [_is_date(name, value) for name, value in pairs]
    path_template = _PATH_DATE.sub("{date}", path)
    if path_template == path and not any(dated):
        return None
    query_template = "&".join(
        f"{name}={'{date}' if is_date else value}"
        for (name, value), is_date in sorted(zip(pairs, dated, strict=True))
    )
    return f"{path_template}?{query_template}"


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
        self.variants: defaultdict[tuple[str, str], set[tuple[tuple[str, str], ...]]] = defaultdict(
            set
        )
        self.calendar_pages: Counter[tuple[str, str]] = Counter()

    def refusal(self, url: str) -> str | None:
        """Why ``url`` must not be followed, or None; remembers what it lets through.

        Call it once per new URL: a calendar page let through counts whether or not it was
        seen before.
        """
        if len(url) > self.max_url_length:
            return "url_too_long"
        parts = urlsplit(url)
        segments = [segment for segment in parts.path.split("/") if segment]
        if segments and max(Counter(segments).values()) > self.max_repeated_segments:
            return "repeated_segments"
        template = calendar_template(parts.path, parts.query)
        calendar = None if template is None else (parts.netloc, template)
        if calendar and self.calendar_pages[calendar] >= self.max_calendar_pages:
            return "calendar"
        if parts.query:
            seen = self.variants[(parts.netloc, parts.path)]
            variant = query_variant(parts.query)
            if variant not in seen and len(seen) >= self.max_query_variants:
                return "query_variants"
            seen.add(variant)
        if calendar:
            self.calendar_pages[calendar] += 1
        return None
