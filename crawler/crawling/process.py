"""Run one site's crawl in this process (what ``repostwatch crawl`` and the demo do)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scrapy.settings import Settings

from crawler.items import SPIDER


class SettingsError(ValueError):
    """A setting (usually an environment variable) that cannot be used."""


def project_settings(**overrides: Any) -> Settings:
    """The Scrapy project settings (package ``settings``), with ``overrides`` on top."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "settings")
    from scrapy.utils.project import get_project_settings

    try:
        settings = get_project_settings()
    except ValueError as exc:  # settings/__init__.py names the variable that is wrong
        raise SettingsError(str(exc)) from None
    for name, value in overrides.items():
        settings.set(name, value, priority="cmdline")
    return settings


@dataclass(frozen=True)
class CrawlSummary:
    site: str
    run_id: int | None
    finish_reason: str
    pages: int
    media_hashed: int
    media_failed: int
    media_skipped: int
    media_cached: int  # unchanged since the last crawl: matched from the media cache
    bytes: int
    flags_new: int
    flags_seen_again: int
    flags_spilled: int
    errors: int
    refused: dict[str, int]
    searches: int = 0  # search crawls: keyword searches submitted to the site
    result_pages: int = 0  # and the result pages read

    @property
    def problem(self) -> str | None:
        """Why this crawl cannot be called a success, or None."""
        if self.run_id is None:
            return "the crawl did not start"
        if self.finish_reason != "finished":
            return f"the crawl ended with {self.finish_reason!r}"
        if self.pages == 0:
            return "no page could be crawled (is the site up, and are its start URLs allowed?)"
        if self.flags_spilled:
            return (
                f"{self.flags_spilled} match(es) could not be written to the database and wait "
                "in the spill file; run `repostwatch flags replay` once it is back"
            )
        return None

    @property
    def ok(self) -> bool:
        return self.problem is None


def summarize(site: str, stats: dict[str, Any]) -> CrawlSummary:
    def count(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    skipped = sum(v for k, v in stats.items() if k.startswith("repostwatch/media/skipped/"))
    refused = {
        k.removeprefix("repostwatch/refused/"): v
        for k, v in stats.items()
        if k.startswith("repostwatch/refused/")
    }
    return CrawlSummary(
        site=site,
        run_id=stats.get("repostwatch/run_id"),
        finish_reason=str(stats.get("finish_reason", "did not start")),
        pages=count("repostwatch/pages"),
        media_hashed=count("repostwatch/media/hashed"),
        media_failed=count("repostwatch/media/failed"),
        media_skipped=skipped,
        media_cached=count("repostwatch/media/cache_hits"),
        bytes=count("downloader/response_bytes"),
        flags_new=count("repostwatch/flags/new"),
        flags_seen_again=count("repostwatch/flags/seen_again"),
        flags_spilled=count("repostwatch/flags/spilled"),
        # Media that could not be downloaded, and everything logged at ERROR level (pages that
        # could not be fetched after retries, spider errors, database trouble).
        errors=count("repostwatch/media/failed") + count("log_count/ERROR"),
        refused=refused,
        searches=count("repostwatch/search/requests"),
        result_pages=count("repostwatch/search/result_pages"),
    )


def run_crawl(
    site_path: str, site_name: str, settings: Settings, keywords: Sequence[str] | None = None
) -> CrawlSummary:
    """Crawl one site with the ``site`` spider and block until it ends.

    With ``keywords`` (the cases' active keywords, ``db.search_keywords``) it is a search
    crawl: the keywords go through the site's search instead of crawling its start URLs.
    Runs Scrapy's reactor in this process, so it can be called once per process.
    """
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess(settings)
    # By name, through Scrapy's spider loader (SPIDER_MODULES): the library never imports spiders.
    crawler = process.create_crawler(SPIDER)
    if keywords is None:
        process.crawl(crawler, site=site_path)
    else:
        process.crawl(crawler, site=site_path, keywords=list(keywords))
    process.start()
    return summarize(site_name, crawler.stats.get_stats() if crawler.stats else {})


#: Scrapy stats kept on the crawl run besides RepostWatch's own (``repostwatch/...``).
KEPT_STATS = (
    "downloader/",
    "log_count/",
    "robotstxt/",
    "retry/",
    "offsite/",
    "playwright/",
    "httperror/",  # pages answered with a 4xx/5xx status, by status
    "spider_exceptions/",  # pages whose parsing raised, by exception
    "depth/",  # requests Scrapy's DepthMiddleware dropped (repostwatch/refused/max_depth)
    "request_depth_max",
    "response_received_count",
    "item_scraped_count",
    "elapsed_time_seconds",
    "finish_reason",
)


def run_stats(stats: dict[str, Any]) -> str:
    """The counters of a crawl as JSON text for the crawl run row (numbers and text only)."""
    kept = {
        key: value
        for key, value in sorted(stats.items())
        if (key.startswith("repostwatch/") or key.startswith(KEPT_STATS))
        and isinstance(value, int | float | str)
    }
    return json.dumps(kept, sort_keys=True)
