"""Run one site's crawl in this process (what ``repostwatch crawl`` and the demo do)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from scrapy.settings import Settings


def project_settings(**overrides: Any) -> Settings:
    """The Scrapy project settings (package ``settings``), with ``overrides`` on top."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "settings")
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
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
    bytes: int
    flags_new: int
    flags_seen_again: int
    flags_spilled: int
    refused: dict[str, int]

    @property
    def ok(self) -> bool:
        return self.run_id is not None and self.finish_reason == "finished"


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
        bytes=count("downloader/response_bytes"),
        flags_new=count("repostwatch/flags/new"),
        flags_seen_again=count("repostwatch/flags/seen_again"),
        flags_spilled=count("repostwatch/flags/spilled"),
        refused=refused,
    )


def run_crawl(site_path: str, site_name: str, settings: Settings) -> CrawlSummary:
    """Crawl one site with the ``site`` spider and block until it ends.

    Runs Scrapy's reactor in this process, so it can be called once per process.
    """
    from scrapy.crawler import CrawlerProcess

    from spiders.site import SiteSpider

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(SiteSpider)
    process.crawl(crawler, site=site_path)
    process.start()
    return summarize(site_name, crawler.stats.get_stats() if crawler.stats else {})
