"""The one schedule rule (crawler/scheduling/outlook.py): a site's state, and when its next
crawl and search crawl are due, by APScheduler's triggers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawler.db.schedules import ScheduleState
from crawler.scheduling import outlook
from crawler.scheduling.outlook import Outlook, crawl_due, site_outlook
from crawler.sites import SiteConfigError, parse_site
from tests.scheduling.helpers import SITE, schedule_of

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _state(schedule: str | None, next_due_at=None, last=None, paused=False) -> ScheduleState:
    return ScheduleState("board", 1, paused, None, schedule, last, next_due_at)


def _config(schedule: str | None):
    text = SITE.format(name="board", schedule=schedule or "")
    if schedule is None:
        text = text.replace("[schedule]\n", "")
    return parse_site(text)


# --- the times ----------------------------------------------------------------------------------
def test_cron_schedule_is_read_in_its_time_zone():
    schedule = schedule_of('cron = "0 9 * * *"\ntimezone = "Asia/Seoul"')
    now = datetime(2026, 11, 25, 1, 30, tzinfo=UTC)  # 10:30 in Seoul: today's 09:00 is past
    assert outlook.first_due(schedule, now, None) == datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
    assert schedule.rule == "cron 0 9 * * * (Asia/Seoul)"


def test_next_slot_after_downtime_skips_every_missed_slot():
    schedule = schedule_of('cron = "0 */6 * * *"')
    down_since = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    back = down_since + timedelta(days=3, hours=1)  # twelve slots missed
    assert outlook.next_after(schedule, back) == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    # A slot is never "after" itself: no crawl twice for one slot.
    assert outlook.next_after(schedule, down_since) == datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def test_interval_counts_from_the_last_scheduled_crawl():
    schedule = schedule_of('every = "1h30m"')
    now = NOW
    assert schedule.interval_seconds == 5400
    assert outlook.first_due(schedule, now, None) == now  # never crawled: due at once
    last = now - timedelta(minutes=30)
    assert outlook.first_due(schedule, now, last) == now + timedelta(hours=1)
    assert outlook.next_after(schedule, now) == now + timedelta(minutes=90)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('every = "6x"', "schedule.every: '6x' is not an interval: write a number with d, h, m"),
        ('every = "30s"', "schedule.every: '30s' is shorter than the shortest interval, 1 minute"),
        ('cron = "0 25 * * *"', "schedule.cron: '0 25 * * *' is not a cron expression"),
        ('cron = "0 * * *"', "schedule.cron: '0 * * *' is not a cron expression (Wrong number"),
        ('timezone = "Mars/Base"\nevery = "1h"', "schedule.timezone: 'Mars/Base' is not a time"),
        ('every = "1h"\ncron = "0 * * * *"', 'schedule: give every (an interval, e.g. "6h")'),
        ("enabled = true", "schedule: give every (an interval"),
        ('enabled = "yes"\nevery = "1h"', "schedule.enabled: must be true or false"),
        ('evry = "1h"', "schedule.evry: unknown key"),
    ],
)
def test_bad_schedules_name_the_file_and_the_key(text, problem):
    with pytest.raises(SiteConfigError) as error:
        parse_site(SITE.format(name="board", schedule=text), "sites/board.toml")
    assert str(error.value).startswith(f"sites/board.toml: {problem}")


# --- the rule -----------------------------------------------------------------------------------
def test_a_recorded_due_time_holds_until_the_rule_changes():
    schedule = schedule_of('every = "6h"')
    recorded = NOW + timedelta(hours=2)
    assert crawl_due(schedule, _state("every 6h", recorded), NOW) == (recorded, False)
    # A changed rule (or none recorded yet) counts again from the last crawl handed over.
    last = NOW - timedelta(hours=1)
    assert crawl_due(schedule, _state("every 1d", recorded, last), NOW) == (
        NOW + timedelta(hours=5),
        True,
    )
    assert crawl_due(schedule, _state(None), NOW) == (NOW, True)


@pytest.mark.parametrize(
    ("schedule", "paused", "state", "held"),
    [
        ('every = "6h"', False, "scheduled", None),
        ('every = "6h"', True, "paused", "paused"),
        ('every = "6h"\nenabled = false', False, "disabled", "schedule disabled in the site file"),
        # Both: the display names the pause (resuming is what an operator can do), the
        # scheduler the site file (resuming would not make it run).
        ('every = "6h"\nenabled = false', True, "paused", "schedule disabled in the site file"),
        (None, False, "by hand", None),
    ],
)
def test_a_sites_state_and_what_holds_it(schedule, paused, state, held):
    site = site_outlook(
        "board", _config(schedule), _state(None, paused=paused), last_search=None, anchor=NOW
    )
    assert (site.state, site.held) == (state, held)


def test_an_invalid_site_file_has_no_schedule():
    site = Outlook("broken", None)
    assert (site.state, site.crawls, site.searches, site.schedule) == (
        "invalid site file",
        False,
        False,
        None,
    )


def test_next_crawl_is_the_recorded_one_and_a_search_counts_from_the_last_search():
    config = parse_site(
        'name = "board"\nstart_urls = ["http://127.0.0.1:9/"]\n'
        '[search]\nurl = "http://127.0.0.1:9/search?q={query}"\n'
        '[schedule]\nevery = "6h"\nsearch_every = "1d"\n'
    )
    recorded = NOW + timedelta(hours=3)
    searched = NOW - timedelta(hours=30)
    site = site_outlook(
        "board", config, _state("every 6h", recorded), last_search=searched, anchor=NOW
    )
    assert (site.crawls, site.searches) == (True, True)
    assert (site.next_crawl, site.last_search) == (recorded, searched)
    assert site.next_search == searched + timedelta(days=1)  # overdue: due since then
    never = site_outlook("board", config, None, last_search=None, anchor=NOW)
    assert (never.next_crawl, never.next_search, never.paused) == (None, NOW, False)
