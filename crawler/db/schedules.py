"""Operations state: scheduled runs and their scrapyd jobs, schedule state and health per site.

The schedule itself (every / cron, time zone) lives in the site file; the database keeps what the
scheduler must remember across restarts: whether a site is paused, when it last scheduled a crawl
and when the next one is due, and whether the site's crawls look healthy. Functions take a
Session; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from crawler.db.models import CrawlRun, Site, SiteHealth, SiteSchedule
from crawler.db.runs import CHECK_TRIGGER, ensure_site, start_run
from crawler.db.session import dialect_insert

#: The trigger of the runs of scheduled search crawls ([schedule] search_every / search_cron).
SEARCH_TRIGGER = "schedule-search"
#: Who opened a scheduled run: the site's [schedule] (a crawl, or a search crawl), a person
#: (run now), or a person's manual check of pages found by hand.
TRIGGERS = ("schedule", "manual", SEARCH_TRIGGER, CHECK_TRIGGER)


@dataclass(frozen=True, slots=True)
class ScheduleState:
    site: str
    site_id: int
    paused: bool
    paused_at: datetime | None
    schedule: str | None  # the rule next_due_at was computed from, e.g. "every 6h"
    last_scheduled_at: datetime | None
    next_due_at: datetime | None


@dataclass(frozen=True, slots=True)
class ActiveRun:
    """A run still marked running, with where it was handed over (if it was)."""

    id: int
    site: str
    started_at: datetime
    triggered_by: str | None
    scheduled_at: datetime | None
    scrapyd_node: str | None
    scrapyd_job: str | None


@dataclass(frozen=True, slots=True)
class ClosedRun:
    """A run that ended (finished or failed), with the figures health is judged on."""

    id: int
    site: str
    site_id: int
    status: str
    finish_reason: str | None
    pages: int
    media: int
    triggered_by: str | None = None

    @property
    def search(self) -> bool:
        """A scheduled search crawl (judged against earlier search crawls only)."""
        return self.triggered_by == SEARCH_TRIGGER


@dataclass(frozen=True, slots=True)
class HealthState:
    site: str
    site_id: int
    state: str  # "healthy" or "unhealthy"
    reason: str | None
    since: datetime
    last_run_id: int | None


# --- scheduled runs ---------------------------------------------------------------------------
def open_scheduled_run(session: Session, site_name: str, *, triggered_by: str, at: datetime) -> int:
    """Open a running run for ``site_name`` that is about to be handed to scrapyd; its id."""
    if triggered_by not in TRIGGERS:
        raise ValueError(f"triggered_by must be one of {', '.join(TRIGGERS)}, not {triggered_by!r}")
    run_id = start_run(session, site_name)
    session.execute(
        update(CrawlRun)
        .where(CrawlRun.id == run_id)
        .values(triggered_by=triggered_by, scheduled_at=at)
    )
    return run_id


def lock_site(session: Session, site_name: str) -> int:
    """The site's id, its row locked until the transaction ends (PostgreSQL; SQLite serialises
    writers anyway): two schedulers, or the scheduler and `crawls run-now`, checking whether a
    site is busy and opening its run cannot interleave."""
    site_id = ensure_site(session, site_name)
    session.execute(select(Site.id).where(Site.id == site_id).with_for_update())
    return site_id


def record_scrapyd_job(session: Session, run_id: int, *, node: str, job: str) -> None:
    """Remember which scrapyd node runs run ``run_id`` and under which job id."""
    session.execute(
        update(CrawlRun).where(CrawlRun.id == run_id).values(scrapyd_node=node, scrapyd_job=job)
    )


def active_runs(session: Session, site: str | None = None) -> list[ActiveRun]:
    """Runs still marked running, oldest first (of one site, or of every site)."""
    query = (
        select(
            CrawlRun.id,
            Site.name,
            CrawlRun.started_at,
            CrawlRun.triggered_by,
            CrawlRun.scheduled_at,
            CrawlRun.scrapyd_node,
            CrawlRun.scrapyd_job,
        )
        .join(Site, CrawlRun.site_id == Site.id)
        .where(CrawlRun.status == "running")
        .order_by(CrawlRun.id)
    )
    if site is not None:
        query = query.where(Site.name == site)
    return [ActiveRun(*row) for row in session.execute(query)]


def last_scheduled_at(session: Session, site_name: str, triggered_by: str) -> datetime | None:
    """When the newest run of ``site_name`` opened with ``triggered_by`` was handed over (the
    search crawls' schedule keeps no state of its own: it counts from here)."""
    return session.execute(
        select(func.max(CrawlRun.scheduled_at))
        .join(Site, CrawlRun.site_id == Site.id)
        .where(Site.name == site_name, CrawlRun.triggered_by == triggered_by)
    ).scalar_one()


def run_job(session: Session, run_id: int) -> tuple[str | None, str | None, str | None]:
    """(triggered_by, scrapyd_node, scrapyd_job) of a run."""
    row = session.execute(
        select(CrawlRun.triggered_by, CrawlRun.scrapyd_node, CrawlRun.scrapyd_job).where(
            CrawlRun.id == run_id
        )
    ).one()
    return row[0], row[1], row[2]


def closed_runs(
    session: Session, site_id: int, *, after_id: int | None = None, limit: int | None = None
) -> list[ClosedRun]:
    """Runs of a site that ended, newest first; only those newer than ``after_id`` if given.
    Manual checks (trigger ``check``: a few pages found by hand) are left out: they say nothing
    about the site's health, and are no history for it."""
    query = (
        select(
            CrawlRun.id,
            Site.name,
            CrawlRun.site_id,
            CrawlRun.status,
            CrawlRun.finish_reason,
            CrawlRun.pages,
            CrawlRun.media,
            CrawlRun.triggered_by,
        )
        .join(Site, CrawlRun.site_id == Site.id)
        .where(CrawlRun.site_id == site_id, CrawlRun.status != "running", _not_a_check())
        .order_by(CrawlRun.id.desc())
        .limit(limit)
    )
    if after_id is not None:
        query = query.where(CrawlRun.id > after_id)
    return [ClosedRun(*row) for row in session.execute(query)]


def finished_before(
    session: Session, site_id: int, run_id: int, limit: int, *, search: bool | None = None
) -> list[ClosedRun]:
    """The site's last ``limit`` runs with status "finished" before run ``run_id``, newest first;
    with ``search``, only scheduled search crawls (True) or only other runs (False)."""
    query = (
        select(
            CrawlRun.id,
            Site.name,
            CrawlRun.site_id,
            CrawlRun.status,
            CrawlRun.finish_reason,
            CrawlRun.pages,
            CrawlRun.media,
            CrawlRun.triggered_by,
        )
        .join(Site, CrawlRun.site_id == Site.id)
        .where(
            CrawlRun.site_id == site_id,
            CrawlRun.status == "finished",
            CrawlRun.id < run_id,
            _not_a_check(),
        )
        .order_by(CrawlRun.id.desc())
        .limit(limit)
    )
    if search is True:
        query = query.where(CrawlRun.triggered_by == SEARCH_TRIGGER)
    elif search is False:
        query = query.where(
            or_(CrawlRun.triggered_by.is_(None), CrawlRun.triggered_by != SEARCH_TRIGGER)
        )
    return [ClosedRun(*row) for row in session.execute(query)]


def _not_a_check():
    return or_(CrawlRun.triggered_by.is_(None), CrawlRun.triggered_by != CHECK_TRIGGER)


def sites_with_closed_runs(session: Session) -> list[tuple[int, str]]:
    """(site id, name) of every site that has a run that ended."""
    query = (
        select(Site.id, Site.name)
        .where(
            select(CrawlRun.id)
            .where(CrawlRun.site_id == Site.id, CrawlRun.status != "running")
            .exists()
        )
        .order_by(Site.name)
    )
    return [(row[0], row[1]) for row in session.execute(query)]


# --- schedule state ---------------------------------------------------------------------------
def _schedule_row(session: Session, site_name: str) -> int:
    site_id = ensure_site(session, site_name)
    insert = dialect_insert(session, SiteSchedule).values(site_id=site_id, paused=False)
    session.execute(insert.on_conflict_do_nothing(index_elements=[SiteSchedule.site_id]))
    return site_id


def schedule_states(session: Session) -> dict[str, ScheduleState]:
    """Every site's schedule state, by site name."""
    query = select(
        Site.name,
        SiteSchedule.site_id,
        SiteSchedule.paused,
        SiteSchedule.paused_at,
        SiteSchedule.schedule,
        SiteSchedule.last_scheduled_at,
        SiteSchedule.next_due_at,
    ).join(Site, SiteSchedule.site_id == Site.id)
    return {row[0]: ScheduleState(*row) for row in session.execute(query)}


def get_schedule_state(session: Session, site_name: str) -> ScheduleState:
    """A site's schedule state (created, not paused and not yet due, when new)."""
    _schedule_row(session, site_name)
    row = session.execute(
        select(
            Site.name,
            SiteSchedule.site_id,
            SiteSchedule.paused,
            SiteSchedule.paused_at,
            SiteSchedule.schedule,
            SiteSchedule.last_scheduled_at,
            SiteSchedule.next_due_at,
        )
        .join(Site, SiteSchedule.site_id == Site.id)
        .where(Site.name == site_name)
    ).one()
    return ScheduleState(*row)


def save_schedule_state(
    session: Session,
    site_name: str,
    *,
    schedule: str | None,
    next_due_at: datetime | None,
    last_scheduled_at: datetime | None = None,
) -> None:
    """Store the rule in force, the next due time and (when a crawl was scheduled) its time."""
    site_id = _schedule_row(session, site_name)
    values: dict[str, object] = {"schedule": schedule, "next_due_at": next_due_at}
    if last_scheduled_at is not None:
        values["last_scheduled_at"] = last_scheduled_at
    session.execute(update(SiteSchedule).where(SiteSchedule.site_id == site_id).values(**values))


def set_paused(session: Session, site_name: str, paused: bool, *, at: datetime) -> bool:
    """Pause or resume a site's scheduled crawls; False if it already was in that state."""
    site_id = _schedule_row(session, site_name)
    changed = session.execute(
        update(SiteSchedule)
        .where(SiteSchedule.site_id == site_id, SiteSchedule.paused != paused)
        .values(paused=paused, paused_at=at if paused else None)
        .returning(SiteSchedule.site_id)
    ).first()
    return changed is not None


# --- health -----------------------------------------------------------------------------------
def _health_query():
    return select(
        Site.name,
        SiteHealth.site_id,
        SiteHealth.state,
        SiteHealth.reason,
        SiteHealth.since,
        SiteHealth.last_run_id,
    ).join(Site, SiteHealth.site_id == Site.id)


def get_health(session: Session, site_id: int) -> HealthState | None:
    row = session.execute(_health_query().where(SiteHealth.site_id == site_id)).one_or_none()
    return None if row is None else HealthState(*row)


def health_states(session: Session) -> dict[str, HealthState]:
    """Every judged site's health, by site name."""
    return {row[0]: HealthState(*row) for row in session.execute(_health_query())}


def save_health(
    session: Session,
    site_id: int,
    *,
    state: str,
    reason: str | None,
    since: datetime,
    last_run_id: int,
) -> None:
    """Store a site's health after judging run ``last_run_id``."""
    values = {"state": state, "reason": reason, "since": since, "last_run_id": last_run_id}
    insert = dialect_insert(session, SiteHealth).values(site_id=site_id, **values)
    session.execute(insert.on_conflict_do_update(index_elements=[SiteHealth.site_id], set_=values))
