"""Crawl health: does a site's newest crawl look like its earlier ones?

A site is **unhealthy** when its newest ended run

* failed (the crawl did not start, crashed, or its scrapyd job vanished), or
* finished without crawling a single page, or
* found fewer than half (``SHARE``) the median pages, or the median media, of the site's last
  five (``HISTORY``) finished runs before it, when there are at least three (``MIN_HISTORY``):
  a layout change usually shows as a sudden drop in what is found.

Otherwise it is healthy. Runs are judged once each, as the scheduler sees them end; the earlier
runs that make the median include low ones, so a site whose smaller size is here to stay reads
healthy again after a few runs. Scheduled search crawls (trigger "schedule-search") are
compared with the site's earlier search crawls only, and other runs with other runs: a search
finds far less than a crawl of the whole site.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

from crawler.db.schedules import ClosedRun

HISTORY = 5
MIN_HISTORY = 3
SHARE = 0.5


@dataclass(frozen=True, slots=True)
class Verdict:
    state: str  # "healthy" or "unhealthy"
    reason: str | None


def judge(run: ClosedRun, earlier: list[ClosedRun]) -> Verdict:
    """The site's health after ``run``, given its earlier finished runs of the same kind
    (search crawls or not), newest first."""
    name = f"search crawl run {run.id}" if run.search else f"crawl run {run.id}"
    if run.status == "failed":
        return Verdict("unhealthy", f"{name} failed: {run.finish_reason or 'no reason'}")
    if run.pages == 0:
        return Verdict("unhealthy", f"{name} crawled no page")
    history = earlier[:HISTORY]
    if len(history) >= MIN_HISTORY:
        for what, value in (("pages", run.pages), ("media", run.media)):
            typical = median(getattr(earlier_run, what) for earlier_run in history)
            if value < typical * SHARE:
                return Verdict(
                    "unhealthy",
                    f"{name} found {value} {what}, under half the median "
                    f"({typical:g}) of the {len(history)} finished runs before it: has the "
                    "site's layout changed?",
                )
    return Verdict("healthy", None)
