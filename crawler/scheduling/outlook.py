"""The one schedule rule: is a site scheduled, paused, disabled or crawled by hand, and when are
its next crawl and search crawl due? The scheduler acts on it; `repostwatch crawls list` and
`repostwatch status` show it.

- A site file without a ``[schedule]`` is crawled by hand only. One whose schedule says
  ``enabled = false`` is disabled, and one an operator paused (`crawls pause`) is paused: neither
  is handed to scrapyd, however due it is.
- A crawl schedule (``every`` / ``cron``) keeps its state in the database: the rule its next due
  time was computed from, that time, and when a crawl was last handed over. A new or changed rule
  is first due as :func:`first_due` says; after a hand-over the next crawl is due at the first
  slot after it (:func:`next_after`). So a site that is due is crawled once, however many slots
  passed while the scheduler was down: downtime never causes a burst of crawls.
- A search schedule (``search_every`` / ``search_cron``) keeps no state of its own: it counts
  from the site's last run triggered "schedule-search" (:func:`due_after_last`).

The times are APScheduler's triggers: nothing here parses cron.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session

from crawler.db import schedules
from crawler.db.schedules import ScheduleState
from crawler.sites import ScheduleConfig, SiteConfig, Sites, load_sites

#: A site's state, as `crawls list` and `status` name it.
SCHEDULED = "scheduled"
PAUSED = "paused"
DISABLED = "disabled"
BY_HAND = "by hand"
INVALID = "invalid site file"
#: Why the scheduler hands over nothing of a site whose schedule is disabled.
DISABLED_IN_FILE = "schedule disabled in the site file"


@dataclass(frozen=True, slots=True)
class Outlook:
    """One site's schedule as things stand: what its file says, whether an operator paused it,
    and when its next crawl and search crawl are due."""

    site: str
    config: SiteConfig | None  # None: the site file does not validate
    paused: bool = False
    #: When the next crawl is due, as recorded in the site's schedule state (None: no pass of
    #: the scheduler has recorded one yet, or the site schedules no crawls).
    next_crawl: datetime | None = None
    #: When the next search crawl is due (None: the site schedules no search crawls).
    next_search: datetime | None = None
    #: When the last search crawl was handed over (None: never).
    last_search: datetime | None = None

    @property
    def schedule(self) -> ScheduleConfig | None:
        """The site file's [schedule] (None: by hand, or an invalid file)."""
        return self.config.schedule if self.config is not None else None

    @property
    def crawls(self) -> bool:
        """Whether the site file schedules crawls (``every`` / ``cron``)."""
        return self.schedule is not None and self.schedule.crawls

    @property
    def searches(self) -> bool:
        """Whether the site file schedules search crawls (``search_every`` / ``search_cron``)."""
        return self.schedule is not None and self.schedule.search_schedule is not None

    @property
    def state(self) -> str:
        """scheduled, paused, disabled, by hand, or invalid site file. A pause is named before
        a disabled schedule: it is what an operator can undo (`crawls resume`)."""
        if self.config is None:
            return INVALID
        if self.schedule is None:
            return BY_HAND
        if self.paused:
            return PAUSED
        return SCHEDULED if self.schedule.enabled else DISABLED

    @property
    def held(self) -> str | None:
        """Why the scheduler hands over no crawl and no search crawl of the site, however due
        (None: nothing holds it). The site file is named before a pause: resuming the site
        would not make it run."""
        if self.schedule is not None and not self.schedule.enabled:
            return DISABLED_IN_FILE
        if self.paused:
            return PAUSED
        return None


def site_outlook(
    site: str,
    config: SiteConfig | None,
    state: ScheduleState | None,
    *,
    last_search: datetime | None,
    anchor: datetime,
) -> Outlook:
    """The outlook of ``site`` from its file's ``config`` (None: invalid), its schedule ``state``
    (None: never scheduled nor paused) and when its last search crawl was handed over.
    ``anchor`` is when a search rule that never ran was first seen: it counts from then."""
    schedule = config.schedule if config is not None else None
    search = schedule.search_schedule if schedule is not None else None
    crawls = schedule is not None and schedule.crawls
    return Outlook(
        site,
        config,
        paused=state is not None and state.paused,
        next_crawl=state.next_due_at if state is not None and crawls else None,
        next_search=due_after_last(search, last_search, anchor) if search else None,
        last_search=last_search,
    )


def crawl_due(
    schedule: ScheduleConfig, state: ScheduleState, now: datetime
) -> tuple[datetime, bool]:
    """When a site's next crawl is due, and whether that time is new (to be recorded): the
    recorded time while the rule is the one it was computed from; for a new or changed rule,
    or none recorded, the rule's first due time."""
    if state.schedule == schedule.rule and state.next_due_at is not None:
        return state.next_due_at, False
    return first_due(schedule, now, state.last_scheduled_at), True


def site_configs(sites: Sites) -> dict[str, SiteConfig | None]:
    """Every site of ``sites`` (the database, or a directory of site files) by site name (with
    None for one that does not validate). Raises SiteConfigError when a directory is none."""
    loaded = load_sites(sites)
    return {f.name: f.config for f in loaded.files}


def read_outlooks(
    session: Session, configs: Mapping[str, SiteConfig | None], now: datetime
) -> list[Outlook]:
    """The outlook of every site of ``configs``, by name, as recorded (a search rule that never
    ran counts from ``now``)."""
    states = schedules.schedule_states(session)
    found = []
    for name, config in sorted(configs.items()):
        schedule = config.schedule if config is not None else None
        last = None
        if schedule is not None and schedule.search_schedule is not None:
            last = schedules.last_scheduled_at(session, name, schedules.SEARCH_TRIGGER)
        found.append(site_outlook(name, config, states.get(name), last_search=last, anchor=now))
    return found


# --- the times, by APScheduler's triggers -----------------------------------------------------
def _trigger(schedule: ScheduleConfig, anchor: datetime) -> BaseTrigger:
    zone = ZoneInfo(schedule.timezone)
    if schedule.cron is not None:
        return CronTrigger.from_crontab(schedule.cron, timezone=zone)
    seconds = schedule.interval_seconds or 0
    return IntervalTrigger(seconds=seconds, start_date=anchor.astimezone(zone), timezone=zone)


def next_after(schedule: ScheduleConfig, moment: datetime) -> datetime:
    """The first slot strictly after ``moment`` (an interval counts from ``moment``), in UTC."""
    fire = _trigger(schedule, moment).get_next_fire_time(moment, moment)
    assert fire is not None, f"{schedule.rule} never fires again"
    return fire.astimezone(UTC)


def first_due(
    schedule: ScheduleConfig, now: datetime, last_scheduled_at: datetime | None
) -> datetime:
    """When a site whose schedule is new (or changed) is first due.

    An interval counts from the last crawl scheduled (due at once when there was none, or when
    that is longer ago than the interval); a cron schedule waits for its next slot.
    """
    if schedule.cron is not None:
        fire = _trigger(schedule, now).get_next_fire_time(None, now)
        assert fire is not None, f"{schedule.rule} never fires"
        return fire.astimezone(UTC)
    if last_scheduled_at is None:
        return now
    return max(now, last_scheduled_at + timedelta(seconds=schedule.interval_seconds or 0))


def due_after_last(
    schedule: ScheduleConfig, last_scheduled_at: datetime | None, anchor: datetime
) -> datetime:
    """When a schedule that keeps no state of its own (search crawls) is due, from the last
    time it was scheduled: the first slot after that (so a missed slot is caught up once, and a
    slot is never run twice). Never scheduled: an interval is due at ``anchor`` (at once), a cron
    schedule at its first slot after ``anchor`` (when the scheduler first saw the rule)."""
    if last_scheduled_at is None:
        return first_due(schedule, anchor, None)
    return next_after(schedule, last_scheduled_at)
