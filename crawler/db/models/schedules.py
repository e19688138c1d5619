"""Operations: the scheduler's memory of each site and each site's crawl health."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from crawler.db.models.base import NAME_LENGTH, Base, check_in

HEALTH_STATES = ("healthy", "unhealthy")


class SiteSchedule(Base):
    """The scheduler's memory of one site: paused or not, when it last scheduled a crawl, when
    the next one is due. The schedule itself lives in the site file; ``schedule`` keeps the rule
    ``next_due_at`` was computed from, so that an edited site file is noticed."""

    __tablename__ = "site_schedules"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    paused: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    paused_at: Mapped[datetime | None]
    schedule: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    last_scheduled_at: Mapped[datetime | None]
    next_due_at: Mapped[datetime | None]


class SiteHealth(Base):
    """Whether a site's crawls look right, since when and why; ``last_run_id`` is the newest
    run judged, so each finished run is judged (and alerted on) once."""

    __tablename__ = "site_health"
    __table_args__ = (CheckConstraint(check_in("state", HEALTH_STATES), name="state"),)

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="healthy")
    reason: Mapped[str | None] = mapped_column(Text)
    since: Mapped[datetime]
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
