"""Run one site's crawl in this process (what ``repostwatch crawl`` and the demo do).

The crawl's summary, and the run it is recorded on, are :mod:`crawler.crawling.run`'s.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from scrapy.settings import Settings

from crawler.items import SPIDER

if TYPE_CHECKING:
    from crawler.crawling.run import CrawlSummary
    from crawler.sites import SiteConfig


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


def run_crawl(
    site: str,
    site_name: str,
    settings: Settings,
    keywords: Sequence[str] | None = None,
    *,
    config: SiteConfig | None = None,
) -> CrawlSummary:
    """Crawl one site with the ``site`` spider and block until it ends.

    ``site`` is a site NAME, which the spider reads from the configured source (the database,
    or the site files: REPOSTWATCH_SITES_SOURCE), or the PATH of a site file.

    With ``keywords`` (the cases' active keywords, ``db.search_keywords``) it is a search
    crawl: the keywords go through the site's search instead of crawling its start URLs. With
    ``config`` the spider crawls that configuration instead of the file's (a manual check:
    ``crawler.sites.checks``).
    Runs Scrapy's reactor in this process, so it can be called once per process.
    """
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess(settings)
    # By name, through Scrapy's spider loader (SPIDER_MODULES): the library never imports spiders.
    crawler = process.create_crawler(SPIDER)
    if config is not None:
        process.crawl(crawler, site=site, config=config)
    elif keywords is None:
        process.crawl(crawler, site=site)
    else:
        process.crawl(crawler, site=site, keywords=list(keywords))
    process.start()
    from crawler.crawling.run import summarize  # after the crawl: its reactor is installed first

    return summarize(site_name, crawler.stats.get_stats() if crawler.stats else {})
