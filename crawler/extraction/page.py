"""A page's media: every URL it shows or names, each once, with the full-size files in place
of the thumbnails the page names them for, and where each was found.

:func:`page_media` reads the markup (:mod:`~crawler.extraction.markup`: elements, ``<noscript>``,
data attributes), then the inline scripts and JSON (:mod:`~crawler.extraction.embedded`);
markup inside strings is read the same way, :data:`MAX_FRAGMENT_DEPTH` deep.

One rule for full size over thumbnail, wherever the page says it: a link around a thumbnail
(``<a href="x.jpg"><img src="x-300x200.jpg">``), an image's or a lightbox item's attributes
(``data-orig-file``, ``data-zoom-image``, ``data-pswp-src``), a script record
(``{thumb, image, big}``), an image URL naming its original (``/_next/image?url=%2Fx.jpg&w=640``,
``timthumb.php?src=x.jpg``). Each says "this URL is a smaller copy of that one"; a URL is left out
(not fetched, not hashed) when a chain of such pairs leads to a URL the page keeps, so the
thumbnail stays when no full size exists (or the full size is one the page cannot give).

Bounds: a page's data (scripts, JSON, HTML in strings) is read up to :data:`MAX_DATA_CHARS`
characters, :data:`MAX_DATA_TOKENS` tokens and :data:`MAX_DATA_STRINGS` strings that may be
URLs, and adds at most :data:`MAX_DATA_MEDIA` URLs, :data:`MAX_GUESSED_MEDIA` of them without a
media extension; what is passed over is counted.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from parsel import Selector

from crawler.extraction import embedded, markup
from crawler.extraction.embedded import HTML_IN_STRING, JSON, JSON_LD, SCRIPT
from crawler.extraction.markup import DATA_ATTRIBUTE, MARKUP, NOSCRIPT
from crawler.extraction.scripts import Budget
from crawler.extraction.urls import (
    canonical_media_url,
    is_media_link,
    looks_like_html,
    media_string,
    url_string,
)

#: Where a media URL was found, in the order a URL found in several places is counted by.
SOURCES = (MARKUP, NOSCRIPT, DATA_ATTRIBUTE, JSON_LD, JSON, SCRIPT, HTML_IN_STRING)
_RANK = {source: rank for rank, source in enumerate(SOURCES)}
#: Characters of scripts, JSON and strings read per page (a text that would pass it is not read).
MAX_DATA_CHARS = 4_000_000
#: Tokens of a page's scripts and values of its JSON read per page (quotes, slashes, braces and
#: brackets: a megabyte of minified code has some 100,000), and of them strings that may be
#: URLs or markup looked at: each costs Python's time on the crawl's reactor thread.
MAX_DATA_TOKENS = 200_000
MAX_DATA_STRINGS = 30_000
#: Media URLs a page's data (anything but its own markup) may add.
MAX_DATA_MEDIA = 1000
#: Of them, URLs without a media extension (fetched to find out what they are).
MAX_GUESSED_MEDIA = 50
#: Markup inside strings is read this many levels deep (markup in a string in markup in a
#: string), and at most this many strings' markup per page.
MAX_FRAGMENT_DEPTH = 2
MAX_FRAGMENTS = 200
#: Query parameters by which an image URL names the original it is made from.
NAMING_PARAMETERS = frozenset(("url", "src", "image", "img", "file"))


@dataclass
class PageMedia:
    """What :func:`page_media` found on one page."""

    #: Absolute http(s) media URLs, in page order, each once, thumbnails left out.
    urls: list[str]
    #: URLs left out as thumbnails of a full size the page names (shown or only offered, as
    #: the smaller candidates of a srcset): not to be fetched, also not from a browser.
    thumbnails: set[str]
    #: How many of ``urls`` were found where (first by :data:`SOURCES`' order).
    sources: Counter[str]
    #: Of the URLs the page shows or names, those left out as smaller copies of a full size.
    full_size_named: int = 0
    #: URLs of the page's data over :data:`MAX_DATA_MEDIA` / :data:`MAX_GUESSED_MEDIA`.
    capped: int = 0
    #: URLs kept without a media extension.
    guessed: int = 0
    #: Scripts, JSON and strings not read to their end (over :data:`MAX_DATA_CHARS`,
    #: :data:`MAX_DATA_TOKENS`, :data:`MAX_DATA_STRINGS` or the fragment bounds).
    unread: int = 0
    #: ``(link, [image URLs])`` of links around images whose URL does not say what it is.
    unknown_links: list[tuple[str, list[str]]] = field(default_factory=list)


class PageCollector:
    """Collects one page's media URLs and which is a thumbnail of which; :meth:`result`."""

    def __init__(self, urljoin: Callable[[str], str], encoding: str):
        self._urljoin = urljoin
        self._encoding = encoding
        self._absolute: dict[str, str | None] = {}
        self.found: dict[str, str] = {}  # URL -> source, in the order found
        self.full_sizes: dict[str, list[str]] = defaultdict(list)  # thumbnail -> full sizes
        self._captures: list[list[str]] = []  # URLs added while reading a string's markup
        self.data_media = self.guessed = self.capped = self.unread = 0
        self.chars_left = MAX_DATA_CHARS
        self.budget = Budget(MAX_DATA_TOKENS)
        self.strings_left = MAX_DATA_STRINGS
        self.fragments = self.depth = 0

    def url(self, raw: str) -> str | None:
        """``raw`` as an absolute, canonical http(s) URL; None for data:, javascript: ..."""
        if raw in self._absolute:
            return self._absolute[raw]
        url = None
        stripped = raw.strip()
        if stripped and not stripped.lower().startswith(("data:", "javascript:", "blob:")):
            try:
                url = canonical_media_url(self._urljoin(stripped), self._encoding)
                if urlsplit(url).scheme not in ("http", "https"):
                    url = None
            except ValueError:  # "http://[oops/a.jpg": no URL (urlsplit refuses the host)
                url = None
        self._absolute[raw] = url
        return url

    def add(self, source: str, raw: str, *, guessed: bool = False) -> str | None:
        """Add a media URL found in ``source``; its absolute URL, None if it is none or capped."""
        if source not in (MARKUP, NOSCRIPT):
            if url_string(raw) is None:
                return None  # data and markup in strings: no templates ("{{ url }}"), no spaces
            if raw not in self._absolute and self.data_media >= MAX_DATA_MEDIA:
                self.capped += 1  # not even made absolute: a page may list a million
                return None
        url = self.url(raw)
        if url is None:
            return None
        if url in self.found:
            if _RANK[source] < _RANK[self.found[url]]:
                self.found[url] = source
        elif source in (MARKUP, NOSCRIPT) or self._within_data_bounds(guessed):
            self.found[url] = source
            self._original_named(source, url)
        else:
            return None
        for capture in self._captures:
            capture.append(url)
        return url

    def _within_data_bounds(self, guessed: bool) -> bool:
        if self.data_media >= MAX_DATA_MEDIA or (guessed and self.guessed >= MAX_GUESSED_MEDIA):
            self.capped += 1
            return False
        self.data_media += 1
        self.guessed += guessed
        return True

    def _original_named(self, source: str, url: str) -> None:
        """``/_next/image?url=%2Fa.jpg&w=640`` is a thumbnail of ``/a.jpg``: add and pair it."""
        if is_media_link(url):
            return
        for name, value in parse_qsl(urlsplit(url).query):
            if name.lower() in NAMING_PARAMETERS and (raw := media_string(value)):
                if (original := self.add(source, raw)) is not None:
                    self.pair(url, original)
                return

    def pair(self, thumbnail: str, full_size: str) -> None:
        """``thumbnail`` (raw or absolute) is a smaller copy of ``full_size`` (absolute)."""
        url = self.url(thumbnail)
        if url is not None and url != full_size:
            self.full_sizes[url].append(full_size)

    def group(self, members: list[tuple[int, str]]) -> str | None:
        """Copies of one picture as ``(tier, URL)`` (:mod:`~crawler.extraction.names`): those
        below the highest tier are thumbnails of the first of the highest; that one."""
        members = [(tier, url) for tier, url in members if url]
        if not members:
            return None
        top = max(tier for tier, _ in members)
        best = next(url for tier, url in members if tier == top)
        for tier, url in members:
            if tier < top:
                self.pair(url, best)
        return best

    def read(self, text: str) -> bool:
        """Whether ``text`` (a script, JSON, a string's markup) may be read: counts it against
        :data:`MAX_DATA_CHARS`, and none is read once :data:`MAX_DATA_TOKENS` are spent."""
        if len(text) > self.chars_left or self.budget.left <= 0:
            self.unread += 1
            return False
        self.chars_left -= len(text)
        return True

    def read_to_the_end(self) -> None:
        """Count the text just read as unread if the token budget ran out in it."""
        if self.budget.left < 0:
            self.unread += 1
            self.budget.left = 0

    def take_string(self) -> bool:
        """Whether one more string may be looked at (:data:`MAX_DATA_STRINGS`)."""
        self.strings_left -= 1
        if self.strings_left == -1:
            self.unread += 1  # counted once: the text it was in is not read to its end
        return self.strings_left >= 0

    def json_text(self, source: str, text: str, key: str | None = None) -> None:
        """Read JSON (or script) text found in ``source``, e.g. a data attribute named ``key``."""
        if self.depth > MAX_FRAGMENT_DEPTH or not self.read(text):
            return
        self.depth += 1
        try:
            embedded.collect_json(text, self, source)
        finally:
            self.depth -= 1
        self.read_to_the_end()

    def fragment(self, html: str) -> list[str]:
        """Read markup found inside a string or an attribute; the URLs it shows."""
        if not looks_like_html(html):
            return []
        if self.depth >= MAX_FRAGMENT_DEPTH or self.fragments >= MAX_FRAGMENTS:
            self.unread += 1
            return []
        if not self.read(html):
            return []
        self.fragments += 1
        self.depth += 1
        capture: list[str] = []
        self._captures.append(capture)
        try:
            collect(Selector(text=html), self, HTML_IN_STRING)
        finally:
            self._captures.pop()
            self.depth -= 1
        return list(dict.fromkeys(capture))

    def result(self, page: Selector) -> PageMedia:
        thumbnails = self._thumbnails()
        urls = [url for url in self.found if url not in thumbnails]
        unknown = []
        for href, images in markup.unknown_links(page):
            link = self.url(href)
            shown = [url for url in map(self.url, images) if url and url not in thumbnails]
            if link is not None and shown:
                unknown.append((link, list(dict.fromkeys(shown))))
        return PageMedia(
            urls=urls,
            thumbnails=thumbnails,
            sources=Counter(self.found[url] for url in urls),
            full_size_named=sum(1 for url in self.found if url in thumbnails),
            capped=self.capped,
            guessed=sum(1 for url in urls if self._guessed(url)),
            unread=self.unread,
            unknown_links=unknown,
        )

    def _guessed(self, url: str) -> bool:
        return self.found[url] not in (MARKUP, NOSCRIPT) and media_string(url) is None

    def _thumbnails(self) -> set[str]:
        """The URLs from which a chain of thumbnail pairs leads to a URL the page keeps."""
        smaller: dict[str, list[str]] = defaultdict(list)
        for thumbnail, full_sizes in self.full_sizes.items():
            for full_size in full_sizes:
                smaller[full_size].append(thumbnail)
        kept = deque(url for url in self.found if url not in self.full_sizes)
        thumbnails: set[str] = set()
        while kept:
            for thumbnail in smaller.get(kept.popleft(), ()):
                if thumbnail not in thumbnails:
                    thumbnails.add(thumbnail)
                    kept.append(thumbnail)
        return thumbnails


def collect(page: Selector, media: PageCollector, source: str = MARKUP) -> None:
    """Add everything ``page`` shows and names to ``media``: markup, then scripts."""
    markup.collect_markup(page, media, source)
    embedded.collect_scripts(page, media, None if source == MARKUP else source)


def page_media(
    page: Selector, urljoin: Callable[[str], str], *, encoding: str = "utf-8"
) -> PageMedia:
    """Every media URL ``page`` shows or names (see the module's docstring).

    ``urljoin`` makes a URL of the page absolute (``response.urljoin``); ``encoding`` is the
    page's (:func:`~crawler.extraction.urls.page_encoding`): queries are encoded in it, as
    browsers do.
    """
    media = PageCollector(urljoin, encoding)
    collect(page, media)
    return media.result(page)


def extract_media_urls(
    page: Selector,
    urljoin: Callable[[str], str],
    thumbnails: set[str] | None = None,
    *,
    encoding: str = "utf-8",
) -> list[str]:
    """:attr:`PageMedia.urls` of ``page``; pass a set as ``thumbnails`` to learn the
    thumbnails left out, e.g. to ignore them among what a browser loaded."""
    found = page_media(page, urljoin, encoding=encoding)
    if thumbnails is not None:
        thumbnails.update(found.thumbnails)
    return found.urls


def linked_thumbnails(
    page: Selector, urljoin: Callable[[str], str], *, encoding: str = "utf-8"
) -> list[tuple[str, list[str]]]:
    """:attr:`PageMedia.unknown_links` of ``page``: images wrapped in a link whose URL does not
    say what it is (``<a href="/f/123"><img src="/t/123.jpg"></a>``), ``(link, [image URLs])``.

    The link may be the full-size file served without an extension, or a page; only a request
    tells (spiders/full_size.py asks once per kind of link and remembers the answer).
    """
    return page_media(page, urljoin, encoding=encoding).unknown_links
