"""Embedded players: a page's ``<iframe>``\\ s, followed one level deep.

Repost sites show many videos in a player page of another host (an embed host), put on the
page by an iframe. :class:`PageEmbeds` turns a page's iframes into requests for the embedded
pages, each through the crawl's downloader like any page: robots.txt of the embed host, the
private-network guard (an embed on a private address needs the site file's ``private_hosts``),
politeness and retries apply. The site file's ``[embeds]`` table says whether iframes are
followed and which hosts are (``allow``) or are not (``deny``); a browser site's
``block_hosts`` are never followed either. An embedded page's own iframes and links are not
followed: one level.

A ``render = "browser"`` page renders its same-origin iframes inline (the browser keeps
iframes of other origins from loading: ``browser/embeds_deferred``), so only those of other
origins are followed from it; a plain page's iframes are all followed. Counted under
``embeds/found``, ``embeds/followed``, ``embeds/refused`` and ``embeds/capped``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import TextResponse

from crawler.network import origin
from crawler.sites import EmbedsConfig
from crawler.stats import EMBEDS_CAPPED, EMBEDS_FOLLOWED, EMBEDS_FOUND, EMBEDS_REFUSED
from spiders.search import keyword_meta

#: Request meta of an embedded page: ``(URL of the page that embeds it, its depth)``.
EMBED_OF = "repostwatch_embed_of"
#: Attributes an iframe keeps its page in (lazy loaders put it in data-src).
IFRAME_ATTRIBUTES = ("src", "data-src", "data-lazy-src")


def iframe_urls(response: TextResponse) -> list[str]:
    """The absolute http(s) URLs of a page's iframes, in page order, each once."""
    urls: dict[str, None] = {}
    for frame in response.css("iframe"):
        for attribute in IFRAME_ATTRIBUTES:
            raw = (frame.root.get(attribute) or "").strip()
            if not raw or raw.lower().startswith(("about:", "javascript:", "data:", "blob:")):
                continue
            try:
                url = response.urljoin(raw)
            except ValueError:
                continue
            if urlsplit(url).scheme in ("http", "https") and urlsplit(url).hostname:
                urls[url.split("#", 1)[0]] = None
                break
    return list(urls)


class PageEmbeds:
    """Which iframes of a page are followed, as requests (see the module's docstring)."""

    def __init__(
        self,
        *,
        embeds: EmbedsConfig,
        rendered: bool,
        block_hosts: list[str],
        callback: Callable[..., Any],
        stats: Any,
    ) -> None:
        self.embeds = embeds
        self.rendered = rendered
        self.block_hosts = block_hosts
        self.callback = callback
        self.stats = stats

    def requests(
        self, response: TextResponse, depth: int, page_meta: dict[str, Any]
    ) -> Iterator[scrapy.Request]:
        """Requests for the embedded pages of ``response`` (a page at ``depth``)."""
        urls = iframe_urls(response)
        if self.rendered:  # same-origin iframes were rendered with the page
            urls = [url for url in urls if origin(url) != origin(response.url)]
        if not urls:
            return
        self.stats.inc_value(EMBEDS_FOUND, len(urls))
        followed = 0
        for url in urls:
            if not self.admits(url):
                self.stats.inc_value(EMBEDS_REFUSED)
                continue
            if followed >= self.embeds.max_per_page:
                self.stats.inc_value(EMBEDS_CAPPED)
                continue
            followed += 1
            self.stats.inc_value(EMBEDS_FOLLOWED)
            meta = {
                **page_meta,
                **keyword_meta(response.meta),
                EMBED_OF: [response.url, depth + 1],
                # An embed host is no host of the site; its depth is the page's, plus one,
                # whatever follow.max_depth says (one level, never further).
                "allow_offsite": True,
                "depth_reset": True,
            }
            yield scrapy.Request(url, callback=self.callback, meta=meta)

    def admits(self, url: str) -> bool:
        """Whether the site file lets the crawl follow an iframe of ``url``."""
        if not self.embeds.follow:
            return False
        host = (urlsplit(url).hostname or "").lower()
        if any(host == h or host.endswith(f".{h}") for h in self.block_hosts):
            return False
        return self.embeds.admits(host)
