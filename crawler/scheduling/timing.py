"""When a scheduled site is due: APScheduler's triggers decide, nothing here parses cron.

A site that is due is crawled once, however many slots passed while the scheduler was down (the
next due time is always the first slot after *now*), so downtime never causes a burst of crawls.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler.sites import ScheduleConfig


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
