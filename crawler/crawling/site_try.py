"""Try a site before saving it: crawl its start pages once, store nothing, report what was seen.

A try is a crawl with the site spider and the crawl's own settings (the private-network guard,
robots.txt, the user agent, delays, ``render = "browser"``) in which two components take the
place of the database and the hashes:

- :class:`TryRecorder`, a spider middleware, gives each start page an errback that records why
  it could not be read, and takes the page links the spider would follow (its follow rules,
  depth and page limits, trap guards) out of the crawl, recording them instead of requesting
  them: only the start pages (and their embedded players, one level, as in any crawl) are
  fetched.
- :class:`TryCollector`, the only item pipeline, records each page's media URLs with their
  kind (by the URL; nothing is downloaded, hashed or matched) and previews.

No run row is opened, no media cached, no flag written: the hash-and-match pipeline, the only
component that touches the database during a crawl, is not in the try's settings, and the
worker starts without the database's URL or any secret (crawler/sites/trying.py).

This module is also the worker the try runs in (``python -m crawler.crawling.site_try``): it
reads ``{"config": ..., "time_limit": S}`` as JSON on stdin and writes the result as one JSON
line on stdout (its log goes to stderr). Scrapy's reactor runs once per process, and the caller
(the web app, ``repostwatch sites try``) keeps a time limit on the process.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy import exceptions as scrapy_errors
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.settings import Settings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as twisted_errors
from twisted.python.failure import Failure
from twisted.web import _newclient as newclient

from crawler.crawling.middlewares.private_network import PrivateNetworkRefused
from crawler.crawling.middlewares.retries import PageUnreachable
from crawler.crawling.middlewares.robots import RobotsTxtRefused
from crawler.extraction.urls import IMAGE_EXTENSIONS, STREAM_EXTENSIONS, VIDEO_EXTENSIONS
from crawler.items import SPIDER, MediaPage
from crawler.problems import N_, Problem
from crawler.sites import SiteConfig
from crawler.stats import REFUSED_PREFIX, SCRAPY_FINISH_REASON

#: Kinds a media URL is shown with: by its extension, or "unknown" (a URL the page names as
#: media whose name does not say which; a crawl reads its first bytes to know).
IMAGE, VIDEO, STREAM, UNKNOWN = "image", "video", "stream", "unknown"
#: This module by name (settings name components by dotted path; run as ``__main__`` it is the
#: worker, whose components must still be this module's).
MODULE = "crawler.crawling.site_try"


def media_kind(url: str) -> str:
    """What ``url`` names by its extension: image, video, stream (HLS/DASH) or unknown."""
    path = urlsplit(url).path.lower()
    extension = path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else ""
    if extension in IMAGE_EXTENSIONS or extension in ("heic", "heif"):
        return IMAGE
    if extension in VIDEO_EXTENSIONS or extension == "ts":
        return VIDEO
    if extension in STREAM_EXTENSIONS:
        return STREAM
    return UNKNOWN


@dataclass
class TriedPage:
    url: str
    #: (URL, kind) of each media URL, in page order; kind is VIDEO for what the player asked for.
    media: list[tuple[str, str]] = field(default_factory=list)
    previews: list[tuple[str, str]] = field(default_factory=list)  # (URL, poster|storyboard)
    follow: list[str] = field(default_factory=list)  # page links the crawl would follow
    embedded_in: str | None = None  # an embedded player's page: the page that embeds it


@dataclass
class TryRecord:
    """What a try saw, filled in by the try's components as the crawl goes."""

    pages: dict[str, TriedPage] = field(default_factory=dict)
    #: start URL -> why it was not read
    failed: dict[str, Problem | str] = field(default_factory=dict)

    def page(self, url: str) -> TriedPage:
        return self.pages.setdefault(url, TriedPage(url))

    @classmethod
    def of(cls, crawler: Crawler) -> TryRecord:
        """The crawl's record (made by the first component that asks)."""
        record = getattr(crawler, "repostwatch_try", None)
        if record is None:
            record = crawler.repostwatch_try = cls()  # type: ignore[attr-defined]
        return record


def _kinds(module: Any, *names: str) -> tuple[type[BaseException], ...]:
    """The exception classes of ``module`` that exist in the installed version."""
    return tuple(getattr(module, name) for name in names if hasattr(module, name))


#: Why a start page was not read, by the type of the error (the error's own words, English,
#: follow as the detail). Twisted's errors, and Scrapy's own where its version has them.
FAILURES = (
    (
        _kinds(twisted_errors, "DNSLookupError") + _kinds(scrapy_errors, "CannotResolveHostError"),
        N_("the host name does not resolve (%(detail)s)"),
    ),
    (
        _kinds(twisted_errors, "ConnectionRefusedError")
        + _kinds(scrapy_errors, "DownloadConnectionRefusedError"),
        N_("the server refused the connection (%(detail)s)"),
    ),
    (
        _kinds(twisted_errors, "TimeoutError", "TCPTimedOutError")
        + _kinds(scrapy_errors, "DownloadTimeoutError"),
        N_("the server did not answer in time (%(detail)s)"),
    ),
    (
        _kinds(twisted_errors, "ConnectionLost", "ConnectionDone")
        + _kinds(newclient, "ResponseNeverReceived", "ResponseFailed")
        + _kinds(scrapy_errors, "ResponseDataLossError"),
        N_("the connection broke off (%(detail)s)"),
    ),
)


def _why(failure: Failure, url: str) -> Problem | str:
    """Why the start page ``url`` was not read: a Problem the web app translates, or (an error
    of no known kind) the error's own words."""
    error = failure.value
    if isinstance(error, HttpError):
        return Problem(N_("HTTP %(status)s"), {"status": error.response.status})
    if isinstance(error, RobotsTxtRefused):
        return Problem(N_("Forbidden by robots.txt"))
    detail = (str(error) or type(error).__name__).removeprefix(f"{url}: ")
    if isinstance(error, PrivateNetworkRefused):
        return Problem(N_("refused by the private-network guard: %(detail)s"), {"detail": detail})
    # After its retries a page that could not be fetched is PageUnreachable, raised while
    # handling the download's own error.
    cause = error.__context__ if isinstance(error, PageUnreachable) else error
    for kinds, template in FAILURES:
        if isinstance(cause, kinds):
            return Problem(template, {"detail": detail})
    return detail


class TryRecorder:
    """Spider middleware of a try: start pages' failures recorded, followed links not fetched."""

    def __init__(self, record: TryRecord):
        self.record = record

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TryRecorder:
        return cls(TryRecord.of(crawler))

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for request in start:
            if isinstance(request, Request) and request.errback is None:
                request = request.replace(errback=self._failed)
            yield request

    def _failed(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        self.record.failed[url] = _why(failure, url)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any], spider: Any = None
    ) -> AsyncIterator[Any]:
        async for output in result:
            if self._followed(response, output):
                continue
            yield output

    def process_spider_output(
        self, response: Response, result: Iterable[Any], spider: Any = None
    ) -> Iterable[Any]:
        for output in result:
            if not self._followed(response, output):
                yield output

    def _followed(self, response: Response, output: Any) -> bool:
        """Whether ``output`` is a page link the crawl follows (recorded, and not fetched)."""
        if not isinstance(output, Request):
            return False
        if getattr(output.callback, "__name__", "") != "parse":  # an embed, a search form...
            return False
        follow = self.record.page(response.url).follow
        if output.url not in follow:
            follow.append(output.url)
        return True


class TryCollector:
    """The try's only item pipeline: each page's media, by kind; nothing downloaded."""

    def __init__(self, record: TryRecord):
        self.record = record

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TryCollector:
        return cls(TryRecord.of(crawler))

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if isinstance(item, MediaPage):
            page = self.record.page(item.url)
            captured = set(item.captured)
            page.media = [
                (url, VIDEO if url in captured else media_kind(url)) for url in item.media_urls
            ]
            page.previews = [(preview.url, preview.kind) for preview in item.previews]
            page.embedded_in = item.embedded_in
        return item


def try_settings(settings: Settings, time_limit: float) -> Settings:
    """The crawl's settings for a try: the same guard, robots.txt, user agent and browser, with
    the try's components instead of the hash-and-match pipeline, and a time limit."""
    settings = settings.copy()
    settings.set("ITEM_PIPELINES", {f"{MODULE}.TryCollector": 300}, priority="cmdline")
    spider_middlewares = settings.getdict("SPIDER_MIDDLEWARES")
    spider_middlewares[f"{MODULE}.TryRecorder"] = 50
    settings.set("SPIDER_MIDDLEWARES", spider_middlewares, priority="cmdline")
    extensions = settings.getdict("EXTENSIONS")
    # Case keywords come from the database; a try searches nothing.
    extensions["crawler.crawling.extensions.search_keywords.SearchKeywords"] = None
    settings.set("EXTENSIONS", extensions, priority="cmdline")
    settings.set("REPOSTWATCH_DISTRIBUTED", False, priority="cmdline")
    settings.set("CLOSESPIDER_TIMEOUT", time_limit, priority="cmdline")
    settings.set("TELNETCONSOLE_ENABLED", False, priority="cmdline")
    settings.set("REMOTE_CONTROL_ENABLED", False, priority="cmdline")
    settings.set("FEEDS", {}, priority="cmdline")
    return settings


def run_try(config: SiteConfig, settings: Settings, time_limit: float) -> dict[str, Any]:
    """Crawl ``config``'s start pages once as a try; the result as plain data (see
    :class:`crawler.sites.trying.TryResult`). Runs Scrapy's reactor: once per process."""
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess(try_settings(settings, time_limit))
    crawler = process.create_crawler(SPIDER)
    record = TryRecord.of(crawler)
    process.crawl(crawler, site=config.name, config=config)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    refused = {
        k.removeprefix(REFUSED_PREFIX): int(v)
        for k, v in stats.items()
        if k.startswith(REFUSED_PREFIX) and isinstance(v, int)
    }
    return {
        "site": config.name,
        "finish_reason": str(stats.get(SCRAPY_FINISH_REASON, "did not start")),
        "pages": [asdict(page) for page in record.pages.values()],
        "failed": [_failed(url, why) for url, why in record.failed.items()],
        "refused": refused,
    }


def _failed(url: str, why: Problem | str) -> dict[str, Any]:
    """A start page not read, for the JSON answer: the English reason, and when it has one the
    template and values the web app translates it from."""
    if isinstance(why, Problem):
        return {"url": url, "reason": str(why), "template": why.template, "params": why.params}
    return {"url": url, "reason": why}


def main() -> None:
    """The worker: the request on stdin, the result as one JSON line on stdout."""
    from crawler.crawling.process import project_settings

    request = json.loads(sys.stdin.read())
    config = SiteConfig.model_validate(request["config"])
    settings = project_settings(LOG_LEVEL=request.get("log_level", "WARNING"))
    result = run_try(config, settings, float(request["time_limit"]))
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    from crawler.crawling.site_try import main as worker_main  # this module's, not __main__'s

    worker_main()
