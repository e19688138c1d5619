"""The dashboard's figures: flags per day by state, removal rate and median time-to-removal per
site, crawl runs per site with their pages, media and flags.

Time-to-removal comes from :func:`crawler.db.rechecks.removals`, as on the case page. Days are
the dates of a flag's first sighting in the time zone asked for (the user's: a flag at 23:30 UTC
is on the next day in Seoul), grouped here rather than in SQL so that SQLite and PostgreSQL count
the same days. Functions take a Session; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.db import rechecks
from crawler.db.cases import median_time_to_removal
from crawler.db.models import FLAG_STATUSES, CrawlRun, Flag, Site


@dataclass(frozen=True, slots=True)
class FlagDay:
    day: date
    flags: dict[str, int]  # by current state, every state present


@dataclass(frozen=True, slots=True)
class SiteRemovals:
    """Of a site's flags ever confirmed (confirmed now, or removed since), how many are removed."""

    site: str
    confirmed: int  # confirmed and still there
    removed: int
    median_time_to_removal: timedelta | None

    @property
    def rate(self) -> float | None:
        total = self.confirmed + self.removed
        return self.removed / total if total else None


@dataclass(frozen=True, slots=True)
class SiteRuns:
    site: str
    runs: int
    pages: int
    media: int
    flags: int
    last_started_at: datetime | None


def flags_per_day(session: Session, *, since: datetime, tz: tzinfo = UTC) -> list[FlagDay]:
    """Flags first seen on each day (a date in ``tz``) from ``since`` on, by their current
    state; days without flags are included (zero), so a chart's axis has no gaps."""
    counts: dict[date, dict[str, int]] = {}
    for first_seen, status in session.execute(
        select(Flag.first_seen, Flag.status).where(Flag.first_seen >= since)
    ):
        local = first_seen.astimezone(tz).date()
        day = counts.setdefault(local, dict.fromkeys(FLAG_STATUSES, 0))
        day[status] += 1
    if not counts:
        return []
    day, last = since.astimezone(tz).date(), max(counts)
    found = []
    while day <= last:
        found.append(FlagDay(day, counts.get(day, dict.fromkeys(FLAG_STATUSES, 0))))
        day += timedelta(days=1)
    return found


def removals_per_site(session: Session) -> list[SiteRemovals]:
    """Per site with confirmed or removed flags: the removal rate and median time-to-removal."""
    tally: dict[str, dict[str, int]] = {}
    for site, status, n in session.execute(
        select(Site.name, Flag.status, func.count(Flag.id))
        .join(Site, Flag.site_id == Site.id)
        .where(Flag.status.in_(("confirmed", "removed")))
        .group_by(Site.name, Flag.status)
    ):
        tally.setdefault(site, {"confirmed": 0, "removed": 0})[status] = n
    found = rechecks.removals(session)
    return [
        SiteRemovals(
            site,
            counts["confirmed"],
            counts["removed"],
            median_time_to_removal([r for r in found if r.site == site]),
        )
        for site, counts in sorted(tally.items())
    ]


def runs_per_site(session: Session, *, since: datetime | None = None) -> list[SiteRuns]:
    """Crawl runs per site (started from ``since`` on) with the pages, media and flags they
    recorded."""
    query = (
        select(
            Site.name,
            func.count(CrawlRun.id),
            func.coalesce(func.sum(CrawlRun.pages), 0),
            func.coalesce(func.sum(CrawlRun.media), 0),
            func.coalesce(func.sum(CrawlRun.flags), 0),
            func.max(CrawlRun.started_at),
        )
        .join(Site, CrawlRun.site_id == Site.id)
        .group_by(Site.name)
        .order_by(Site.name)
    )
    if since is not None:
        query = query.where(CrawlRun.started_at >= since)
    return [
        SiteRuns(site, runs, int(pages), int(media), int(flags), last)
        for site, runs, pages, media, flags, last in session.execute(query)
    ]
