"""The one spider most sites need: crawl a site described by a site file and report its media."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor

from crawler.browser.guard_proxy import GuardProxy
from crawler.extraction import PageMedia, canonical_media_url, page_media
from crawler.extraction.previews import page_previews
from crawler.items import STORYBOARD, MediaPage, Preview
from crawler.sites import SiteConfig, Sites, configured_sites, find_site
from crawler.sites.checks import argument_config
from crawler.stats import (
    BROWSER_CLICKED,
    BROWSER_MEDIA_FROM_NETWORK,
    BROWSER_PAGES,
    BROWSER_PLAYER_PARTS,
    BROWSER_PLAYER_SILENT,
    BROWSER_PLAYER_STARTED,
    BROWSER_PLAYER_STREAMS,
    BROWSER_PLAYER_VIDEOS,
    BROWSER_SCROLLS,
    BROWSER_VIEWER_MEDIA,
    BROWSER_VIEWER_STEPS,
    BROWSER_VIEWER_WALKS,
    BROWSER_WAIT_FOR_TIMEOUT,
    FULL_SIZE_NAMED,
    MEDIA_CAPPED,
    MEDIA_DATA_UNREAD,
    MEDIA_GUESSED,
    PREVIEWS_FOUND,
    browser_proxy_refused,
    key,
    media_source,
)
from spiders import browser
from spiders.embeds import EMBED_OF, PageEmbeds
from spiders.full_size import FullSizeLinks
from spiders.links import PageLinks
from spiders.search import (
    KEYWORD,
    RESULT_PAGE,
    SiteSearch,
    keyword_meta,
    keywords_argument,
    search_argument,
    search_meta,
)
from spiders.traps import TrapGuard


class SiteSpider(scrapy.Spider):
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

    The spider owns its helpers as objects, each given what it needs, as Scrapy's CrawlSpider
    owns its Rules: ``links`` (:class:`~spiders.links.PageLinks`, which links become pages),
    ``full_size`` (:class:`~spiders.full_size.FullSizeLinks`) and, for a site with a
    ``[search]`` table, ``search`` (:class:`~spiders.search.SiteSearch`). They count into the
    crawl's stats, so they are made when the spider opens (Scrapy makes the stats after the
    spider); a spider made without a crawler has None there and only its arguments checked.
    """

    name = "site"

    def __init__(
        self,
        site: str | None = None,
        *,
        config: SiteConfig | None = None,
        sites: Sites | None = None,
        keywords: object = None,
        search: object = None,
        check: object = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if check is not None:
            # A manual check handed to scrapyd: exactly these pages, with the site's rules (or
            # the default profile for site=manual), no link followed (crawler/sites/checks.py).
            if config is not None or not site:
                raise ValueError("-a check=URLS needs -a site=NAME (or site=manual), no config")
            config = argument_config(site, check, sites if sites is not None else _default_sites())
        if config is None:
            if not site:
                raise ValueError(
                    "the site spider needs a site: scrapy crawl site -a site=NAME (or a path to "
                    "a site file)"
                )
            config = find_site(site, sites if sites is not None else _default_sites())
        self.config = config
        self.site_name = config.name
        self.allowed_domains = config.domains
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
        # render = "browser" sites: set by from_crawler (REPOSTWATCH_BROWSER_SETTLE_SECONDS).
        self.browser_settle_seconds: float | None = None
        self.browser_problem: str | None = None  # why a browser site cannot be rendered
        # The proxy every connection of the crawl's Chromium goes through (from_crawler).
        self.guard_proxy: GuardProxy | None = None
        # The helpers: made when the spider opens (spider_opened), with the crawl's stats.
        self.full_size: FullSizeLinks | None = None
        self.links: PageLinks | None = None
        self.search: SiteSearch | None = None
        self.embeds: PageEmbeds | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any):
        # Where a site NAME is looked up: the database, or the site files (REPOSTWATCH_SITES_SOURCE
        # decides; the spider itself never opens the database).
        if "config" not in kwargs:
            kwargs.setdefault("sites", configured_sites(crawler.settings))
        spider = super().from_crawler(crawler, *args, **kwargs)
        # The helpers count into the crawl's stats, which exist once the spider opens.
        crawler.signals.connect(spider.spider_opened, signal=signals.spider_opened)
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
        if settings.get("FEEDS"):
            # Items name every page and its media URLs (a search crawl's, the keywords too): in
            # plain text, beside flags, they map out where a victim's photos are. No item feed,
            # also not the one scrapyd asks for (-s FEEDS=... when its items_dir is set).
            settings.set("FEEDS", {}, priority="cmdline")
            spider.logger.warning(
                "This crawl writes no item feed (FEEDS, -o, scrapyd's items_dir): items name "
                "every page and media URL; flags are in the database"
            )
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
            # Chromium reaches nothing but through the guard proxy, which applies the crawl's
            # network rule to every connection (crawler/browser/guard_proxy.py).
            spider.guard_proxy = GuardProxy(config.private_opt_in).start()
            launch = settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")
            launch["args"] = [*launch.get("args", ()), *spider.guard_proxy.chromium_args()]
            settings.set("PLAYWRIGHT_LAUNCH_OPTIONS", launch, priority="spider")
            crawler.signals.connect(spider.stop_guard_proxy, signal=signals.engine_stopped)
            crawler.signals.connect(spider.count_proxy_refusals, signal=signals.spider_closed)
        return spider

    def count_proxy_refusals(self) -> None:
        """Store the guard proxy's refusals in the crawl's stats (before they are dumped)."""
        if self.guard_proxy is not None:
            for reason, count in self.guard_proxy.refusals().items():
                self.crawler.stats.set_value(browser_proxy_refused(reason), count)

    def stop_guard_proxy(self) -> None:
        if self.guard_proxy is not None:
            self.guard_proxy.stop()

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
            for request in self.search.requests(self.keywords):
                yield request
            return
        for url in self.config.start_urls:
            self.links.start(url)
            yield scrapy.Request(url, callback=self.parse, meta=self._page_meta())

    async def parse(self, response: Response, **kwargs: Any):
        if not isinstance(response, TextResponse):
            self.logger.info("Not a page (no text), skipped: %s", response.url)
            return
        depth = response.meta.get("depth", 0)
        yield await self._media_page(response, depth)
        # <iframe> players, one level: an embed's own iframes and links are not followed.
        for request in self.embeds.requests(response, depth, self._page_meta()):
            yield request
        if RESULT_PAGE in response.meta:
            for request in self.search.follow_results(response):
                yield request
            return
        if not self._follows_links(response):
            return
        # Links one deeper than follow.max_depth are refused (and counted) here rather than
        # dropped by Scrapy's DepthMiddleware, which counts no reason and takes a DEPTH_LIMIT of 0
        # for "no limit". A search crawl's pages are limited by search.follow_depth instead.
        too_deep = KEYWORD not in response.meta and depth >= self.config.follow.max_depth
        for link in self.link_extractor.extract_links(response):
            if self.links.admit(link.url, too_deep=too_deep):
                meta = self._page_meta() | keyword_meta(response.meta)
                yield response.follow(link, callback=self.parse, meta=meta)

    async def parse_embed(self, response: Response, **kwargs: Any):
        """An embedded player's page (an iframe of a crawled page): its media, nothing more."""
        if not isinstance(response, TextResponse):
            self.logger.info("Not a page (no text), skipped: %s", response.url)
            return
        parent, depth = response.meta[EMBED_OF]
        yield await self._media_page(response, depth, embedded_in=parent)

    async def _media_page(
        self, response: TextResponse, depth: int, *, embedded_in: str | None = None
    ) -> MediaPage:
        """The page's item: its media (rendered pages: with what the browser and the player
        fetched) and its videos' previews."""
        # Queries in the page's encoding (EUC-KR boards), as a browser requests them.
        found = page_media(response.selector, response.urljoin, encoding=response.encoding)
        self._count_sources(found)
        media_urls = found.urls  # thumbnails whose full size the page names are left out
        previews = page_previews(response.selector, response.urljoin)
        captured: list[str] = []
        if response.meta.get("playwright"):
            media_urls, previews, captured = self._rendered_page_media(
                response, media_urls, found.thumbnails, previews
            )
        if found.unknown_links:
            # Thumbnails linked to /file/123-like URLs: is the link the full-size file?
            referer = "" if KEYWORD in response.meta else response.url  # see search_meta
            media_urls = await self.full_size.settle(referer, media_urls, found.unknown_links)
        if previews:
            self.crawler.stats.inc_value(PREVIEWS_FOUND, len(previews))
        return MediaPage(
            url=response.url,
            site=self.site_name,
            media_urls=media_urls,
            depth=depth,
            keyword=response.meta.get(KEYWORD),
            previews=previews,
            embedded_in=embedded_in,
            captured=captured,
        )

    def parse_search_form(self, response: Response, **kwargs: Any) -> Iterator[scrapy.Request]:
        """Submit the site's search form once per keyword (a form search's first page)."""
        return self.search.form_requests(response, self.keywords or [])

    def use_keywords(self, keywords: Iterable[str]) -> int:
        """Give a ``search=1`` crawl its keywords (normalised, each once); how many.

        The spider's documented hook for the crawl's own component
        (crawler/crawling/extensions/search_keywords.py), called before start() runs."""
        self.keywords = keywords_argument(list(keywords))
        return len(self.keywords)

    def spider_opened(self) -> None:
        """Make the spider's helpers, each given what it needs: the crawl's stats exist now,
        and start() has not run yet."""
        config, stats = self.config, self.crawler.stats
        self.full_size = FullSizeLinks(stats=stats, download=self._download, logger=self.logger)
        self.embeds = PageEmbeds(
            embeds=config.embeds_options,
            rendered=config.render == "browser",
            block_hosts=config.browser_options.block_hosts if config.render == "browser" else [],
            callback=self.parse_embed,
            stats=stats,
        )
        self.links = PageLinks(
            domains=self.allowed_domains,
            max_pages=config.follow.max_pages,
            traps=self.traps,
            is_media_link=self.full_size.is_media_link,
            stats=stats,
            logger=self.logger,
        )
        if config.search is None:
            return
        self.search = SiteSearch(
            search=config.search,
            site_name=self.site_name,
            source=config.source or config.name,
            links=self.links,
            result_links=LinkExtractor(
                allow=config.follow.allow,
                deny=config.follow.deny,
                restrict_css=(config.search.result_links,) if config.search.result_links else (),
            ),
            stats=stats,
            logger=self.logger,
            page_meta=self._page_meta,
            result_meta=self._result_meta,
            parse=self.parse,
            parse_form=self.parse_search_form,
        )

    async def _download(self, request: scrapy.Request) -> Response:
        """``request``'s response, downloaded through the crawl's engine (its middlewares)."""
        return await self.crawler.engine.download_async(request)

    def _follows_links(self, response: Response) -> bool:
        """Whether the links of this (non-result) page are followed."""
        if KEYWORD in response.meta:
            return response.meta.get("depth", 0) < self.config.search.follow_depth
        return self.config.follow.enabled

    def _page_meta(self) -> dict[str, Any]:
        """Meta of a new page request: rendered in the browser for render = "browser" sites."""
        if self.config.render != "browser":
            return {}
        return browser.page_meta(
            self.config.browser_options,
            private_origins=sorted(self.config.private_opt_in.origins),
            settle_seconds=self.browser_settle_seconds,  # REPOSTWATCH_BROWSER_SETTLE_SECONDS
        )

    def _result_meta(self, keyword: str, number: int) -> dict[str, Any]:
        """Meta of the request for result page ``number`` of a search for ``keyword``."""
        # depth_reset: result pages are depth 0, their result links depth 1, ... so the site's
        # follow.max_depth never cuts pagination short.
        return self._page_meta() | search_meta(keyword) | {RESULT_PAGE: number, "depth_reset": True}

    def _count_sources(self, found: PageMedia) -> None:
        """Where a page's media URLs were found, and what its bounds left out."""
        stats = self.crawler.stats
        for source, count in found.sources.items():
            stats.inc_value(media_source(source), count)
        for stat, count in (
            (FULL_SIZE_NAMED, found.full_size_named),
            (MEDIA_CAPPED, found.capped),
            (MEDIA_GUESSED, found.guessed),
            (MEDIA_DATA_UNREAD, found.unread),
        ):
            if count:
                stats.inc_value(stat, count)

    def _rendered_page_media(
        self,
        response: Response,
        dom_media: list[str],
        thumbnails: set[str],
        previews: list[Preview],
    ) -> tuple[list[str], list[Preview], list[str]]:
        """The rendered DOM's media, then the media only the browser's network traffic showed
        (but not the thumbnails the page links to their full-size files): the streams and videos
        its player asked for among them; the previews, with the storyboards the player fetched
        and the page's one video for those the markup ties to none (a blob: player); and which
        of the media the player asked for (captured: a stream's delivery says so)."""
        report = browser.page_report(response.meta)
        stats = self.crawler.stats
        if not report.guarded:
            self.logger.error("Rendered without the browser request guard: %s", response.url)
        stats.inc_value(BROWSER_PAGES)
        for reason, count in report.refused.items():
            stats.inc_value(key(reason), count)
        stats.inc_value(BROWSER_CLICKED, len(report.clicked))
        stats.inc_value(BROWSER_SCROLLS, report.scrolls)
        if report.viewer is not None:
            stats.inc_value(BROWSER_VIEWER_WALKS)
            stats.inc_value(BROWSER_VIEWER_STEPS, report.viewer.get("steps", 0))
            stats.inc_value(BROWSER_VIEWER_MEDIA, report.viewer.get("media", 0))
        if report.wait_for == "timeout":
            stats.inc_value(BROWSER_WAIT_FOR_TIMEOUT)
            self.logger.warning(
                "wait_for %r did not appear within %ss on %s; reading the page as it is",
                self.config.browser_options.wait_for,
                self.config.browser_options.wait_timeout,
                response.url,
            )
        media = dict.fromkeys(dom_media)
        posters = {preview.url for preview in previews}  # the browser shows them: not media
        videos, parts = report.player.media()
        streams = set(report.player.streams())
        for url in [*report.network_media, *videos]:
            url = canonical_media_url(url)
            if url in thumbnails or url in posters:
                continue
            if url not in media and urlsplit(url).scheme in ("http", "https"):
                media[url] = None
                stats.inc_value(BROWSER_MEDIA_FROM_NETWORK)
        captured = [url for url in map(canonical_media_url, videos) if url in media]
        for url in videos:
            stats.inc_value(BROWSER_PLAYER_STREAMS if url in streams else BROWSER_PLAYER_VIDEOS)
        if parts:
            stats.inc_value(BROWSER_PLAYER_PARTS, parts)
        if report.player_state == "started":
            stats.inc_value(BROWSER_PLAYER_STARTED)
        elif report.player_state == "silent":
            stats.inc_value(BROWSER_PLAYER_SILENT)
            self.logger.info("The video player of %s asked for no video", response.url)
        previews = _with_videos(previews, report.player.storyboards, videos)
        return list(media), previews, list(dict.fromkeys(captured))


def _with_videos(
    previews: list[Preview], storyboards: list[str], videos: list[str]
) -> list[Preview]:
    """``previews`` and the storyboards the player fetched; those tied to no video are tied to
    the page's one video when the player asked for exactly one."""
    only = videos[0] if len(videos) == 1 else None
    known = {preview.url for preview in previews}
    found = [*previews, *(Preview(url, STORYBOARD) for url in storyboards if url not in known)]
    return [
        Preview(p.url, p.kind, only) if p.video is None and only is not None else p for p in found
    ]


def _default_sites() -> Sites:
    from scrapy.utils.project import get_project_settings

    return configured_sites(get_project_settings())
