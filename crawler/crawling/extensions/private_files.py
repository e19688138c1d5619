"""Every file a crawl writes is readable by its own user only (0600; directories 0700).

A crawl's log names sites, pages, run and flag ids (search crawls: the pages a victim's name led
to), and the spill file holds matches waiting for the database. The extension sets the process's
umask to 077 as the crawl starts, so whatever the crawl creates from then on is private,
and makes the log file Scrapy opened before any extension existed (``LOG_FILE``, as scrapyd
passes it for each job) 0600. scripts/scrapyd.sh and the ``repostwatch`` command set the same
umask for everything they start.
"""

from __future__ import annotations

import logging
import os

from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

#: Group and others get nothing: files 0600, directories 0700.
PRIVATE_UMASK = 0o077


class PrivateFiles:
    """Makes the crawl's files private (see the module's docstring)."""

    def __init__(self, log_file: str | None):
        os.umask(PRIVATE_UMASK)
        if log_file:
            try:
                os.chmod(log_file, 0o600)
            except OSError as exc:
                logger.warning("Could not make the log file %s private (0600): %s", log_file, exc)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrivateFiles:
        return cls(crawler.settings.get("LOG_FILE"))
