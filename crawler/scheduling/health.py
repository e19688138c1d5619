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
from crawler.problems import N_, Problem

HISTORY = 5
MIN_HISTORY = 3
SHARE = 0.5


#: Why a site is unhealthy, by what its newest run was: stored in English (site_health.reason,
#: the alerts, `repostwatch crawls list`), read back by :func:`reason_problem` for the web app.
REASONS = (
    N_("crawl run %(run)s failed: %(reason)s"),
    N_("search crawl run %(run)s failed: %(reason)s"),
    N_("crawl run %(run)s failed: no reason"),
    N_("search crawl run %(run)s failed: no reason"),
    N_("crawl run %(run)s crawled no page"),
    N_("search crawl run %(run)s crawled no page"),
    N_(
        "crawl run %(run)s found %(value)s pages, under half the median (%(typical)s) of the "
        "%(count)s finished runs before it: has the site's layout changed?"
    ),
    N_(
        "search crawl run %(run)s found %(value)s pages, under half the median (%(typical)s) of "
        "the %(count)s finished runs before it: has the site's layout changed?"
    ),
    N_(
        "crawl run %(run)s found %(value)s media, under half the median (%(typical)s) of the "
        "%(count)s finished runs before it: has the site's layout changed?"
    ),
    N_(
        "search crawl run %(run)s found %(value)s media, under half the median (%(typical)s) of "
        "the %(count)s finished runs before it: has the site's layout changed?"
    ),
)
_FAILED, _SEARCH_FAILED, _NO_REASON, _SEARCH_NO_REASON, _EMPTY, _SEARCH_EMPTY = REASONS[:6]
_LOW = {
    (False, "pages"): REASONS[6],
    (True, "pages"): REASONS[7],
    (False, "media"): REASONS[8],
    (True, "media"): REASONS[9],
}


@dataclass(frozen=True, slots=True)
class Verdict:
    state: str  # "healthy" or "unhealthy"
    reason: Problem | None


def judge(run: ClosedRun, earlier: list[ClosedRun]) -> Verdict:
    """The site's health after ``run``, given its earlier finished runs of the same kind
    (search crawls or not), newest first."""
    if run.status == "failed":
        if run.finish_reason:
            failed = _SEARCH_FAILED if run.search else _FAILED
            return Verdict(
                "unhealthy", Problem(failed, {"run": run.id, "reason": run.finish_reason})
            )
        return Verdict(
            "unhealthy", Problem(_SEARCH_NO_REASON if run.search else _NO_REASON, {"run": run.id})
        )
    if run.pages == 0:
        return Verdict(
            "unhealthy", Problem(_SEARCH_EMPTY if run.search else _EMPTY, {"run": run.id})
        )
    history = earlier[:HISTORY]
    if len(history) >= MIN_HISTORY:
        for what, value in (("pages", run.pages), ("media", run.media)):
            typical = median(getattr(earlier_run, what) for earlier_run in history)
            if value < typical * SHARE:
                params = {"run": run.id, "value": value, "typical": f"{typical:g}"}
                params["count"] = len(history)
                return Verdict("unhealthy", Problem(_LOW[run.search, what], params))
    return Verdict("healthy", None)


def reason_problem(reason: str) -> Problem | None:
    """A stored health reason read back into its Problem (to be shown in another language), or
    None for a text no template of :data:`REASONS` gives."""
    return Problem.parse(reason, REASONS)
