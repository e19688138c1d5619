"""A crawl's run: its row in ``crawl_runs``, its closing figures and its summary.

The pipeline opens the run when the spider opens (or joins the one it was given: the scheduler
and the first distributed worker open runs beforehand) and closes it with the crawl's figures
when the spider closes. A crawl stopped before Scrapy closes the spider (cancelled while
starting, a second Ctrl-C) never gets there, so the run is also closed, as failed, when the
process exits: a run left "running" would block the site's next crawl. The figures and the
summary ``repostwatch crawl`` prints are read from the crawl's stats, by the names of
:mod:`crawler.stats`.
"""

from __future__ import annotations

import atexit
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scrapy.statscollectors import StatsCollector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from crawler import db
from crawler.distributed import UNSUMMED_STATS
from crawler.stats import (
    FLAGS_NEW,
    FLAGS_SEEN_AGAIN,
    FLAGS_SPILLED,
    MEDIA_CACHE_HITS,
    MEDIA_FAILED,
    MEDIA_HASHED,
    MEDIA_SKIPPED_PREFIX,
    PAGES,
    REFUSED_PREFIX,
    RUN_ID,
    SCRAPY_ERRORS_LOGGED,
    SCRAPY_FINISH_REASON,
    SCRAPY_RESPONSE_BYTES,
    SEARCH_REQUESTS,
    SEARCH_RESULT_PAGES,
    is_own,
)

logger = logging.getLogger(__name__)

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
#: The finish reason of a crawl that ended without crawling a single page.
NO_PAGES = "no_page_crawled"
#: A shared run's outcome is decided by its last worker; each worker adds only its counters.
RUN_OUTCOME = ("status", "finish_reason")


def run_stats(stats: dict[str, Any]) -> str:
    """The counters of a crawl as JSON text for the crawl run row (numbers and text only)."""
    kept = {
        key: value
        for key, value in sorted(stats.items())
        if (is_own(key) or key.startswith(KEPT_STATS)) and isinstance(value, int | float | str)
    }
    return json.dumps(kept, sort_keys=True)


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
    """The summary of a crawl of ``site`` from its stats."""

    def count(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    skipped = sum(v for k, v in stats.items() if k.startswith(MEDIA_SKIPPED_PREFIX))
    refused = {
        k.removeprefix(REFUSED_PREFIX): v for k, v in stats.items() if k.startswith(REFUSED_PREFIX)
    }
    return CrawlSummary(
        site=site,
        run_id=stats.get(RUN_ID),
        finish_reason=str(stats.get(SCRAPY_FINISH_REASON, "did not start")),
        pages=count(PAGES),
        media_hashed=count(MEDIA_HASHED),
        media_failed=count(MEDIA_FAILED),
        media_skipped=skipped,
        media_cached=count(MEDIA_CACHE_HITS),
        bytes=count(SCRAPY_RESPONSE_BYTES),
        flags_new=count(FLAGS_NEW),
        flags_seen_again=count(FLAGS_SEEN_AGAIN),
        flags_spilled=count(FLAGS_SPILLED),
        # Media that could not be downloaded, and everything logged at ERROR level (pages that
        # could not be fetched after retries, spider errors, database trouble).
        errors=count(MEDIA_FAILED) + count(SCRAPY_ERRORS_LOGGED),
        refused=refused,
        searches=count(SEARCH_REQUESTS),
        result_pages=count(SEARCH_RESULT_PAGES),
    )


def closing_figures(site: str, stats: dict[str, Any], status: str, reason: str) -> dict:
    """A run's closing figures (:func:`crawler.db.finish_run`'s arguments) from its stats."""
    summary = summarize(site, stats)
    return {
        "status": status,
        "finish_reason": reason,
        "pages": summary.pages,
        "media": summary.media_hashed + summary.media_cached,
        "bytes": summary.bytes,
        "errors": summary.errors,
        "flags": summary.flags_new + summary.flags_seen_again + summary.flags_spilled,
        "stats": run_stats(stats),
    }


class RunRow:
    """The crawl's row in ``crawl_runs``: opened or joined, then closed exactly once.

    ``join_run_id`` is the run to join (``REPOSTWATCH_RUN_ID``), 0 to open one. A ``shared``
    run (a distributed crawl) only gets this worker's counters; crawler.distributed closes it
    after its last worker.
    """

    def __init__(self, *, database_url: str, stats: StatsCollector, join_run_id: int, shared: bool):
        self.database_url = database_url
        self.stats = stats
        self.join_run_id = join_run_id
        self.shared = shared
        self.run_id: int | None = None
        self.site_id: int | None = None
        self.site_name = ""  # the site's name in the database
        self.started_at: datetime | None = None  # with the site, names the run in a spill file
        self.spider_name = ""  # what the summary calls the site (the spider's name)
        self.open_at_exit = False  # opened, and not closed yet: close it at exit

    def open(self, session: Session, site_name: str, spider_name: str) -> None:
        """Open a run of ``site_name`` (the site is created if new), or join the one given."""
        self.spider_name = spider_name
        self.site_name = site_name
        if self.join_run_id:
            db.join_run(session, self.join_run_id, site_name)
            self.run_id = self.join_run_id
        else:
            self.run_id = db.start_run(session, site_name)
        run = db.get_run(session, self.run_id)
        self.site_id, self.started_at = run.site_id, run.started_at

    def close_at_exit(self) -> None:
        """From now on, a process that exits without :meth:`close` closes the run as failed."""
        self.open_at_exit = True
        atexit.register(self._close_at_exit)

    def figures(self, status: str, reason: str) -> dict:
        """The run's closing figures, now."""
        return closing_figures(self.spider_name, self.stats.get_stats(), status, reason)

    def progress(self, sessions: sessionmaker[Session]) -> None:
        """Write the crawl's figures so far to its running row (REPOSTWATCH_RUN_PROGRESS_SECONDS).
        Not a shared run's: its workers add their figures to it as they leave."""
        if self.run_id is None or self.shared:
            return
        figures = self.figures("running", "")
        counters = {k: v for k, v in figures.items() if k not in RUN_OUTCOME}
        with sessions.begin() as session:
            db.record_progress(session, self.run_id, **counters)

    def close(self, sessions: sessionmaker[Session], reason: str) -> None:
        """Close the run with the crawl's figures (Scrapy's ``spider_closed``); a database that
        cannot take them is tried three times, then the figures are logged."""
        finished = reason == "finished" or reason.startswith("closespider_")
        if finished and not self.shared and not summarize("", self.stats.get_stats()).pages:
            # A site that is down (or refuses every start URL) is a failed crawl, not an empty
            # one: the site's health and `crawls list` must say so.
            finished, reason = False, NO_PAGES
        figures = self.figures("finished" if finished else "failed", reason)
        for attempt in range(3):
            try:
                with sessions.begin() as session:
                    if self.shared:  # crawler.distributed closes the run after the last worker
                        counters = {k: v for k, v in figures.items() if k not in RUN_OUTCOME}
                        db.add_to_run(session, self.run_id, **counters, unsummed=UNSUMMED_STATS)
                    else:
                        db.finish_run(session, self.run_id, **figures)
                break
            except SQLAlchemyError as exc:
                if attempt == 2:
                    logger.error(
                        "Could not close crawl run %s in the database (%s); its figures: %s",
                        self.run_id,
                        str(exc).splitlines()[0],
                        figures,
                    )
                else:
                    time.sleep(2.0 * (attempt + 1))
        self.open_at_exit = False

    def _close_at_exit(self) -> None:
        """Close the run as failed if the process exits without :meth:`close` having run."""
        if self.run_id is None or not self.open_at_exit or self.shared:
            return  # a shared run's lost workers are closed by crawler.distributed
        self.open_at_exit = False
        engine = db.make_engine(self.database_url)
        try:
            with db.make_sessionmaker(engine).begin() as session:
                db.finish_run(
                    session,
                    self.run_id,
                    **self.figures("failed", "stopped before the crawl could close its run"),
                )
            logger.warning("Crawl run %s closed as failed: the crawl stopped early", self.run_id)
        except (SQLAlchemyError, ValueError) as exc:
            logger.error("Could not close crawl run %s at exit: %s", self.run_id, exc)
        finally:
            engine.dispose()
