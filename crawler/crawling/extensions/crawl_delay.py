"""robots.txt's ``Crawl-delay``, honoured per download slot (one slot per host).

Scrapy's RobotsTxtMiddleware reads robots.txt (with Protego, which parses ``Crawl-delay``) but
only uses it to allow or refuse URLs. This extension takes the delay robots.txt asks of our
User-Agent and makes it the smallest delay between two requests to that host: the effective
delay is ``max(download_delay of the site file, Crawl-delay)``. AutoThrottle may slow a site
down further but never below it, and the random jitter Scrapy adds to delays is turned off for a
host whose Crawl-delay governs (a random ±50% would go below what the site asked for).

It only acts when robots.txt is obeyed (a site file with ``obey_robots = false`` ignores the
whole file, Crawl-delay included). A Crawl-delay above ``REPOSTWATCH_MAX_CRAWL_DELAY`` is cut to
it (a site asking for an hour between pages would never be crawled) and the cut is counted.
Stats: ``repostwatch/robots/crawl_delay`` (the largest delay honoured, in seconds) and
``repostwatch/robots/crawl_delay_capped``.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.robotstxt import RobotParser

from crawler.stats import ROBOTS_CRAWL_DELAY, ROBOTS_CRAWL_DELAY_CAPPED

logger = logging.getLogger(__name__)


class CrawlDelay:
    """Keeps each host's download slot at least as slow as its robots.txt Crawl-delay."""

    def __init__(self, crawler: Crawler, *, max_delay: float, download_delay: float, agent: str):
        self.crawler = crawler
        self.max_delay = max_delay
        self.download_delay = download_delay
        self.agent = agent
        self.floors: dict[str, float] = {}  # download slot key -> smallest delay allowed
        crawler.signals.connect(self.robots_parsed, signal=signals.robots_parsed)
        crawler.signals.connect(self.request_reached, signal=signals.request_reached_downloader)
        # Connected after AutoThrottle's handler (extensions load in order; see settings), so
        # the floor is put back right after AutoThrottle lowers a delay.
        crawler.signals.connect(self.response_downloaded, signal=signals.response_downloaded)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlDelay:
        settings = crawler.settings
        if not settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured("robots.txt is not obeyed, so neither is its Crawl-delay")
        # Scrapy's rule (RobotsTxtMiddleware): robots.txt is read for ROBOTSTXT_USER_AGENT when
        # it is set, for the User-Agent sent otherwise.
        robots_agent = settings.get("ROBOTSTXT_USER_AGENT")
        return cls(
            crawler,
            max_delay=settings.getfloat("REPOSTWATCH_MAX_CRAWL_DELAY"),
            download_delay=settings.getfloat("DOWNLOAD_DELAY"),
            agent=robots_agent if robots_agent else settings.get("USER_AGENT"),
        )

    def robots_parsed(self, robotparser: RobotParser, request: Request) -> None:
        agent = request.headers.get(b"User-Agent") or self.agent
        asked = robotparser.crawl_delay(agent)
        if not asked or asked <= 0:
            return
        stats = self.crawler.stats
        delay = float(asked)
        if delay > self.max_delay:
            logger.warning(
                "robots.txt of %s asks for Crawl-delay %ss; using REPOSTWATCH_MAX_CRAWL_DELAY "
                "(%ss) instead",
                urlsplit(request.url).netloc,
                asked,
                self.max_delay,
            )
            stats.inc_value(ROBOTS_CRAWL_DELAY_CAPPED)
            delay = self.max_delay
        stats.max_value(ROBOTS_CRAWL_DELAY, delay)
        if delay <= self.download_delay:
            return  # the site file is slower already
        downloader = self.crawler.engine.downloader
        keys = {downloader.get_slot_key(request), urlsplit(request.url).hostname or ""}
        for key in keys:
            self.floors[key] = max(delay, self.floors.get(key, 0.0))
            self._hold(key)
        logger.info(
            "Honouring robots.txt Crawl-delay of %s: %ss between requests",
            urlsplit(request.url).netloc,
            delay,
        )

    def request_reached(self, request: Request, spider: object = None) -> None:
        self._hold(request.meta.get("download_slot"))

    def response_downloaded(self, response: Response, request: Request, spider: object = None):
        self._hold(request.meta.get("download_slot"))

    def _hold(self, key: str | None) -> None:
        floor = self.floors.get(key or "")
        if floor is None:
            return
        slot = self.crawler.engine.downloader.slots.get(key or "")
        if slot is None:
            return
        slot.jitter = 0.0
        if slot.delay < floor:
            slot.delay = floor
