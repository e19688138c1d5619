"""The [schedule] table of a site file: when the site is crawled and searched."""

from __future__ import annotations

import re

from pydantic import (
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)

from crawler.problems import N_, Invalid
from crawler.sites.tables import Strict

_EVERY = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class ScheduleConfig(Strict):
    """When ``repostwatch scheduler`` crawls the site (the ``[schedule]`` table): ``every`` (an
    interval such as "6h", "30m", "1d", "1h30m") or ``cron`` (five fields, e.g. "0 */6 * * *"),
    read in ``timezone``. The timing rules are APScheduler's (crawler/scheduling/outlook.py).

    ``search_every`` / ``search_cron`` schedule search crawls (the site's ``[search]`` run for
    every active case keyword) the same way; a table may hold only those."""

    # timezone first: the cron validators read it.
    timezone: str = "UTC"
    every: str | None = None
    cron: str | None = None
    search_every: str | None = None
    search_cron: str | None = None
    enabled: StrictBool = True

    @field_validator("every", "search_every")
    @classmethod
    def _every(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = _EVERY.match(value)
        if not value or match is None:
            raise Invalid(
                N_(
                    '%(value)s is not an interval: write a number with d, h, m or s, e.g. "6h", '
                    '"30m", "1d" or "1h30m"'
                ),
                value=repr(value),
            )
        days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
        if days * 86400 + hours * 3600 + minutes * 60 + seconds < 60:
            raise Invalid(
                N_("%(value)s is shorter than the shortest interval, 1 minute"), value=repr(value)
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise Invalid(
                N_('%(value)s is not a time zone: use an IANA name such as "UTC" or "Asia/Seoul"'),
                value=repr(value),
            ) from None
        return value

    @field_validator("cron", "search_cron")
    @classmethod
    def _cron(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value, timezone=info.data.get("timezone") or "UTC")
        except ValueError as exc:
            raise Invalid(
                N_(
                    "%(value)s is not a cron expression (%(error)s); write five fields: minute "
                    'hour day month weekday, e.g. "0 */6 * * *"'
                ),
                value=repr(value),
                error=str(exc),
            ) from None
        return value

    @model_validator(mode="after")
    def _one_rule(self) -> ScheduleConfig:
        searches = self.search_every is not None or self.search_cron is not None
        if (self.every is not None and self.cron is not None) or not (self.crawls or searches):
            raise Invalid(
                N_(
                    'give every (an interval, e.g. "6h") or cron (e.g. "0 */6 * * *"), not both '
                    "and not neither (or only search_every / search_cron: search crawls only)"
                )
            )
        if self.search_every is not None and self.search_cron is not None:
            raise Invalid(
                N_('give search_every (e.g. "1d") or search_cron (e.g. "0 3 * * *"), not both')
            )
        return self

    @property
    def crawls(self) -> bool:
        """Whether the table schedules ordinary crawls (``every`` or ``cron``)."""
        return self.every is not None or self.cron is not None

    @property
    def search_schedule(self) -> ScheduleConfig | None:
        """The search crawls' schedule as a schedule of its own (same zone, same ``enabled``),
        or None when the table schedules no search crawls."""
        if self.search_every is None and self.search_cron is None:
            return None
        return ScheduleConfig(
            timezone=self.timezone,
            every=self.search_every,
            cron=self.search_cron,
            enabled=self.enabled,
        )

    @property
    def interval_seconds(self) -> int | None:
        """``every`` in seconds (None for a cron schedule)."""
        if self.every is None:
            return None
        days, hours, minutes, seconds = (int(p or 0) for p in _EVERY.match(self.every).groups())
        return days * 86400 + hours * 3600 + minutes * 60 + seconds

    @property
    def rule(self) -> str:
        """The rule as one line, e.g. "every 6h" or "cron 0 */6 * * * (Asia/Seoul)" ("search
        only" for a table that schedules search crawls only)."""
        if not self.crawls:
            return "search only"
        rule = f"every {self.every}" if self.every is not None else f"cron {self.cron}"
        return rule if self.timezone == "UTC" else f"{rule} ({self.timezone})"
