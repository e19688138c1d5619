"""The one spider most sites need: crawl a site described by a site file and report its media."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor

from crawler.items import MediaPage
from crawler.sites import SiteConfig, find_site
from spiders.extraction import extract_media_urls


class SiteSpider(scrapy.Spider):
    """Crawls one configured site: ``scrapy crawl site -a site=NAME`` (or ``-a site=PATH``).

    Follows the site file's link rules up to its depth and page limits and yields one
    :class:`~crawler.items.MediaPage` per page; the pipeline downloads and hashes the media.
    """

    name = "site"

    def __init__(self, site: str | None = None, *, config: SiteConfig | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if config is None:
            if not site:
                raise ValueError(
                    "the site spider needs a site: scrapy crawl site -a site=NAME (or a path to "
                    "a site file)"
                )
            config = find_site(site, kwargs.get("sites_dir") or _default_sites_dir())
        self.config = config
        self.site_name = config.name
        self.allowed_domains = config.domains
        self.allow_private_network = config.allow_private_network
        self.requested: set[str] = set()  # page URLs requested so far, for max_pages
        follow = config.follow
        # Offsite links are dropped here (not by LinkExtractor's allow_domains, which does not
        # match IP hosts with a port) so that they never count against max_pages.
        self.link_extractor = LinkExtractor(allow=follow.allow, deny=follow.deny)

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):
        kwargs.setdefault("sites_dir", crawler.settings.get("REPOSTWATCH_SITES_DIR"))
        spider = super().from_crawler(crawler, *args, **kwargs)
        config = spider.config
        # Per-site limits; the crawler's settings are still open for changes at this point.
        settings = crawler.settings
        settings.set("DEPTH_LIMIT", config.follow.max_depth, priority="spider")
        settings.set("DOWNLOAD_DELAY", config.download_delay, priority="spider")
        settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", config.concurrency, priority="spider")
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.config.start_urls:
            self.requested.add(url)
            yield scrapy.Request(url, callback=self.parse)

    def parse(self, response: Response, **kwargs: Any):
        if not isinstance(response, TextResponse):
            self.logger.info("Not a page (no text), skipped: %s", response.url)
            return
        depth = response.meta.get("depth", 0)
        yield MediaPage(
            url=response.url,
            site=self.site_name,
            media_urls=extract_media_urls(response.selector, response.urljoin),
            depth=depth,
        )
        if not self.config.follow.enabled:
            return
        for link in self.link_extractor.extract_links(response):
            if link.url in self.requested or not self.is_on_site(link.url):
                continue
            if len(self.requested) >= self.config.follow.max_pages:
                self.crawler.stats.inc_value("repostwatch/refused/max_pages")
                continue
            self.requested.add(link.url)
            yield response.follow(link, callback=self.parse)

    def is_on_site(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return False
        host = (parts.hostname or "").lower()
        return any(host == d or host.endswith(f".{d}") for d in self.allowed_domains)


def _default_sites_dir() -> str:
    from scrapy.utils.project import get_project_settings

    return get_project_settings().get("REPOSTWATCH_SITES_DIR")
