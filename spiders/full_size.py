"""Thumbnails linked to a URL that does not say what it is: the crawl asks once, then knows.

``<a href="/photo.jpg"><img src="/photo-300x200.jpg"></a>`` is settled by the extension
(:mod:`crawler.extraction`): the full-size file is hashed, not the thumbnail. Many boards link
thumbnails to ``/file/123``, ``/view.php?no=123`` or ``/i/AbC9`` instead: the full-size file
served without an extension, or a page. A ``HEAD`` request tells, and every link of the same
kind on the site (same host, same path with the segments holding digits wildcarded, same query
parameter names) is the same thing: the first one is asked, the answer is remembered for the
whole crawl (pages awaiting the same kind share the one request). Links found to be media
replace their thumbnails and are not crawled as pages; links to pages keep their thumbnails
(the only copy the page shows; the linked page is crawled on its own). A link kind that gives
no clear answer (an error, robots.txt, another content type) counts as pages.

The page's MediaPage waits for the answer, so a thumbnail is never hashed before the crawl
knows whether its full-size file is there instead. Stats under ``repostwatch/full_size/``:
``probes``, ``media_links`` / ``page_links`` / ``unanswered`` (link kinds by answer) and
``replaced`` (thumbnails replaced by their full-size file).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import scrapy
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector

from crawler.network import same_origin_referer
from crawler.stats import FULL_SIZE_PROBES, FULL_SIZE_REPLACED, full_size

#: ``await download(request)``: the response Scrapy's engine downloads for ``request``.
Download = Callable[[scrapy.Request], Awaitable[Response]]

MEDIA_TYPES = ("image/", "video/")
PAGE_TYPES = ("text/html", "application/xhtml+xml")


def link_kind(url: str) -> str:
    """``http://b.example/file/123?no=5&t=x`` → ``b.example/file/*?no&t``: links of one kind."""
    parts = urlsplit(url)
    path = "/".join(
        "*" if any(char.isdigit() for char in segment) else segment
        for segment in parts.path.split("/")
    )
    names = sorted({name for name, _ in parse_qsl(parts.query, keep_blank_values=True)})
    query = f"?{'&'.join(names)}" if names else ""
    return f"{(parts.hostname or '').lower()}{path}{query}"


def replace_thumbnails(
    media_urls: list[str], linked: list[tuple[str, list[str]]]
) -> tuple[list[str], int]:
    """``media_urls`` with each link's thumbnails replaced by the link (where the first of them
    was); the number of thumbnails replaced."""
    replacement = {thumb: link for link, thumbs in linked for thumb in thumbs}
    result: dict[str, None] = {}
    replaced = 0
    for url in media_urls:
        if url in replacement:
            replaced += 1
            url = replacement[url]
        result.setdefault(url, None)
    return list(result), replaced


class FullSizeLinks:
    """Asks about each kind of thumbnail link once and remembers the answer for the crawl.

    :class:`~spiders.site.SiteSpider` owns one (``spider.full_size``) and gives it the crawl's
    stats, its logger and ``download``, which fetches a request through Scrapy's engine.
    """

    def __init__(self, *, stats: StatsCollector, download: Download, logger: Any):
        self.stats = stats
        self.download = download
        self.logger = logger
        #: link kind -> True: such links are media files; False: pages (or no clear answer).
        self.link_kinds: dict[str, bool] = {}
        #: link kind -> the request asking about it (pages with links of that kind await it).
        self.probes: dict[str, asyncio.Future[None]] = {}

    def is_media_link(self, url: str) -> bool:
        """Whether links like ``url`` proved to be media files (not pages to crawl)."""
        return self.link_kinds.get(link_kind(url), False)

    async def settle(
        self, page_url: str, media_urls: list[str], linked: list[tuple[str, list[str]]]
    ) -> list[str]:
        """``media_urls`` with the thumbnails of links that are media replaced by the links."""
        first_of_kind = {link_kind(link): link for link, _ in reversed(linked)}
        unknown = {
            kind: link for kind, link in first_of_kind.items() if kind not in self.link_kinds
        }
        if unknown:
            await asyncio.gather(
                *(self._learn(kind, link, page_url) for kind, link in unknown.items())
            )
        media_links = [(link, thumbs) for link, thumbs in linked if self.is_media_link(link)]
        if not media_links:
            return media_urls
        media_urls, replaced = replace_thumbnails(media_urls, media_links)
        self.stats.inc_value(FULL_SIZE_REPLACED, replaced)
        return media_urls

    async def _learn(self, kind: str, link: str, referer: str) -> None:
        probe = self.probes.get(kind)
        if probe is None:  # the first page with links of this kind asks; the others wait
            probe = self.probes[kind] = asyncio.ensure_future(self._probe(kind, link, referer))
        await asyncio.shield(probe)

    async def _probe(self, kind: str, link: str, referer: str) -> None:
        self.stats.inc_value(FULL_SIZE_PROBES)
        request = scrapy.Request(
            link,
            method="HEAD",
            headers=same_origin_referer(referer, link),
            meta={"allow_offsite": True},  # full-size files often live on another host
            dont_filter=True,
        )
        answer = None
        try:
            response = await self.download(request)
        except Exception as exc:  # refused (robots.txt, private network) or failed
            self.logger.debug("No answer about links like %s: %r", link, exc)
        else:
            content_type = response.headers.get(b"Content-Type", b"").decode("latin-1").lower()
            if response.status == 200 and content_type.startswith(MEDIA_TYPES):
                answer = True
            elif response.status == 200 and content_type.startswith(PAGE_TYPES):
                answer = False
        outcome = "unanswered" if answer is None else "media_links" if answer else "page_links"
        self.stats.inc_value(full_size(outcome))
        self.link_kinds[kind] = bool(answer)
        self.logger.debug("Links like %s are %s", link, "media files" if answer else "pages")
