"""The one spider most sites need: crawl a site described by a site file and report its media."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor

from crawler.extraction import canonical_media_url, extract_media_urls, linked_thumbnails
from crawler.items import MediaPage
from crawler.sites import SiteConfig, find_site
from spiders import browser
from spiders.full_size import FullSizeLinks
from spiders.search import (
    KEYWORD,
    RESULT_PAGE,
    SearchCrawl,
    keywords_argument,
    search_argument,
)
from spiders.traps import TrapGuard

STATS = "repostwatch"


class SiteSpider(SearchCrawl, FullSizeLinks, scrapy.Spider):
    """Crawls one configured site: ``scrapy crawl site -a site=NAME`` (or ``-a site=PATH``).

    Follows the site file's link rules up to its depth and page limits and yields one
    :class:`~crawler.items.MediaPage` per page; the pipeline downloads and hashes the media.
    A ``render = "browser"`` site's pages are rendered in Chromium (:mod:`spiders.browser`), and
    the images and videos the browser loaded count as the page's media too.

    With ``keywords`` (``-a keywords='["하늘별"]'``, or a list from ``repostwatch crawl SITE
    --search``) it is a search crawl instead: the keywords go through the site's ``[search]``
    (:mod:`spiders.search`) and the start URLs are not crawled. With ``-a search=1`` it is a search
    crawl for every active case keyword, which the crawl reads from the database itself
    (crawler/crawling/extensions/search_keywords.py) so that the keywords never appear among a job's
    arguments (as scrapyd stores and logs them); the scheduler's search crawls run this way.
    """

    name = "site"

    def __init__(
        self,
        site: str | None = None,
        *,
        config: SiteConfig | None = None,
        keywords: object = None,
        search: object = None,
        **kwargs: Any,
    ):
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
        self.link_kinds: dict[str, bool] = {}  # kinds of thumbnail links: media? (full_size.py)
        self.kind_probes: dict[str, Any] = {}
        follow = config.follow
        # Offsite links are dropped here (not by LinkExtractor's allow_domains, which does not
        # match IP hosts with a port) so that they never count against max_pages.
        self.link_extractor = LinkExtractor(allow=follow.allow, deny=follow.deny)
        self.traps = TrapGuard(
            max_url_length=follow.max_url_length,
            max_repeated_segments=follow.max_repeated_segments,
            max_query_variants=follow.max_query_variants,
            max_calendar_pages=follow.max_calendar_pages,
        )
        # Search crawls: the keywords to search for, and where a result page's results are.
        self.keywords = None if keywords is None else keywords_argument(keywords)
        # search=1: the crawl fills self.keywords from the database before start() runs.
        self.search_from_database = search_argument(search)
        if self.search_from_database and self.keywords is not None:
            raise ValueError("give -a search=1 or -a keywords=..., not both")
        if (self.keywords is not None or self.search_from_database) and config.search is None:
            raise ValueError(
                f"{config.source or config.name}: no [search] table, so the site cannot be "
                "searched for keywords; add one (README: Search by case keywords)"
            )
        if config.search is not None:
            self.result_link_extractor = LinkExtractor(
                allow=follow.allow,
                deny=follow.deny,
                restrict_css=(config.search.result_links,) if config.search.result_links else (),
            )
        self.browser_settle_seconds: float | None = None  # set for render = "browser" sites
        self.browser_problem: str | None = None  # why a browser site cannot be rendered

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
        settings.set("ROBOTSTXT_OBEY", config.obey_robots, priority="spider")
        settings.set("AUTOTHROTTLE_ENABLED", config.autothrottle, priority="spider")
        settings.set("RETRY_TIMES", config.retries, priority="spider")
        settings.set("REPOSTWATCH_RETRY_BACKOFF", config.retry_backoff, priority="spider")
        settings.set("REPOSTWATCH_RETRY_BACKOFF_MAX", config.retry_backoff_max, priority="spider")
        if config.user_agent:
            settings.set("USER_AGENT", config.user_agent, priority="spider")
        if (spider.keywords is not None or spider.search_from_database) and settings.get("FEEDS"):
            # A search crawl's items name the keywords (their keyword, their result page URLs):
            # no item feed, also not the one scrapyd asks for (as -s FEEDS=..., in items_dir).
            settings.set("FEEDS", {}, priority="cmdline")
            spider.logger.warning("A search crawl writes no item feed: its items name keywords")
        if not config.obey_robots:
            spider.logger.warning(
                "robots.txt of %s is not obeyed: %s", config.name, config.robots_reason
            )
        if config.render == "browser":
            problem = browser.chromium_problem(settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS"))
            if problem:
                spider.browser_problem = f"{config.source or config.name}: {problem}"
                return spider  # start() closes the crawl with this reason
            # Only this crawl gets the browser's download handlers; they render only requests
            # with meta playwright=True and pass every other request to Scrapy's HTTP client.
            handlers = settings.getdict("DOWNLOAD_HANDLERS")
            handlers.update(settings.getdict("REPOSTWATCH_BROWSER_DOWNLOAD_HANDLERS"))
            settings.set("DOWNLOAD_HANDLERS", handlers, priority="spider")
            spider.browser_settle_seconds = settings.getfloat("REPOSTWATCH_BROWSER_SETTLE_SECONDS")
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.browser_problem:
            self.logger.error(self.browser_problem)
            raise CloseSpider("browser_unavailable")
        if self.search_from_database and self.keywords is None:
            self.logger.error(
                "search=1 but the case keywords were not loaded (the extension "
                "crawler.crawling.extensions.search_keywords.SearchKeywords must be enabled and "
                "the database reachable; see the log above); nothing was searched"
            )
            raise CloseSpider("search_keywords_unavailable")
        if self.keywords is not None:
            for request in self.search_requests():
                yield request
            return
        for url in self.config.start_urls:
            self.requested.add(url)
            yield scrapy.Request(url, callback=self.parse, meta=self._page_meta())

    async def parse(self, response: Response, **kwargs: Any):
        if not isinstance(response, TextResponse):
            self.logger.info("Not a page (no text), skipped: %s", response.url)
            return
        depth = response.meta.get("depth", 0)
        thumbnails: set[str] = set()  # shown linked to their full-size file: not hashed
        media_urls = extract_media_urls(response.selector, response.urljoin, thumbnails)
        if response.meta.get("playwright"):
            media_urls = self._rendered_page_media(response, media_urls, thumbnails)
        if linked := linked_thumbnails(response.selector, response.urljoin):
            # Thumbnails linked to /file/123-like URLs: is the link the full-size file?
            media_urls = await self.settle_full_size(response.url, media_urls, linked)
        yield MediaPage(
            url=response.url,
            site=self.site_name,
            media_urls=media_urls,
            depth=depth,
            keyword=response.meta.get(KEYWORD),
        )
        if RESULT_PAGE in response.meta:
            for request in self.follow_results(response):
                yield request
            return
        if not self.follows_links(response):
            return
        # Links one deeper than follow.max_depth are refused (and counted) here rather than
        # dropped by Scrapy's DepthMiddleware, which counts no reason and takes a DEPTH_LIMIT of 0
        # for "no limit". A search crawl's pages are limited by search.follow_depth instead.
        too_deep = KEYWORD not in response.meta and depth >= self.config.follow.max_depth
        for link in self.link_extractor.extract_links(response):
            if link.url in self.requested or not self.is_on_site(link.url):
                continue
            if self.is_media_link_kind(link.url):
                continue  # a full-size file (hashed as media), not a page
            if too_deep:
                self.crawler.stats.inc_value(f"{STATS}/refused/max_depth")
                continue
            if len(self.requested) >= self.config.follow.max_pages:
                self.crawler.stats.inc_value("repostwatch/refused/max_pages")
                continue
            if reason := self.traps.refusal(link.url):
                self.crawler.stats.inc_value(f"repostwatch/refused/{reason}")
                self.logger.debug("Not following %s: %s", link.url, reason)
                continue
            self.requested.add(link.url)
            meta = self._page_meta() | self.keyword_meta(response)
            yield response.follow(link, callback=self.parse, meta=meta)

    def _page_meta(self) -> dict[str, Any]:
        """Meta of a new page request: rendered in the browser for render = "browser" sites."""
        if self.config.render != "browser":
            return {}
        return browser.page_meta(
            self.config.browser_options,
            allow_private_network=self.config.allow_private_network,
            settle_seconds=self.browser_settle_seconds or 0.0,
        )

    def _rendered_page_media(
        self, response: Response, dom_media: list[str], thumbnails: set[str]
    ) -> list[str]:
        """The rendered DOM's media, then the media only the browser's network traffic showed
        (but not the thumbnails the page links to their full-size files)."""
        report = browser.page_report(response.meta)
        stats = self.crawler.stats
        if not report.guarded:
            self.logger.error("Rendered without the browser request guard: %s", response.url)
        stats.inc_value(f"{STATS}/browser/pages")
        for reason, count in report.refused.items():
            stats.inc_value(f"{STATS}/{reason}", count)
        stats.inc_value(f"{STATS}/browser/clicked", len(report.clicked))
        stats.inc_value(f"{STATS}/browser/scrolls", report.scrolls)
        if report.wait_for == "timeout":
            stats.inc_value(f"{STATS}/browser/wait_for_timeout")
            self.logger.warning(
                "wait_for %r did not appear within %ss on %s; reading the page as it is",
                self.config.browser_options.wait_for,
                self.config.browser_options.wait_timeout,
                response.url,
            )
        media = dict.fromkeys(dom_media)
        for url in report.network_media:
            url = canonical_media_url(url)
            if url in thumbnails:
                continue
            if url not in media and urlsplit(url).scheme in ("http", "https"):
                media[url] = None
                stats.inc_value(f"{STATS}/browser/media_from_network")
        return list(media)

    def is_on_site(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return False
        host = (parts.hostname or "").lower()
        return any(host == d or host.endswith(f".{d}") for d in self.allowed_domains)


def _default_sites_dir() -> str:
    from scrapy.utils.project import get_project_settings

    return get_project_settings().get("REPOSTWATCH_SITES_DIR")
