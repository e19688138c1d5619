"""Takedown notices: a notice to one site, and its items with their screenshots."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from crawler.db.models.base import NAME_LENGTH, Base, check_in, utcnow

NOTICE_STATUSES = ("draft", "approved", "sent", "resolved")


class Notice(Base):
    """A takedown notice to one site (or one host of it): drafted, approved by a person, sent.

    A notice never leaves the draft state without an approver (a check constraint says so as
    well as the code). ``sent_at`` is the first sending, which time-to-removal counts from;
    ``next_send_at`` is when an unresolved notice is due to be sent again.
    """

    __tablename__ = "notices"
    __table_args__ = (
        CheckConstraint(check_in("status", NOTICE_STATUSES), name="status"),
        CheckConstraint(
            "status = 'draft' OR (approved_by IS NOT NULL AND approved_at IS NOT NULL)",
            name="approved",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    host: Mapped[str | None] = mapped_column(String(255))  # set when grouped per host
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    recipient: Mapped[str | None] = mapped_column(String(320))  # the site's abuse contact
    subject: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    approved_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_sent_at: Mapped[datetime | None]
    send_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_send_at: Mapped[datetime | None] = mapped_column(index=True)
    resolved_at: Mapped[datetime | None]


class NoticeItem(Base):
    """One confirmed flag in a notice (a flag is in at most one notice), with its screenshot.

    The screenshot (PNG, the page with the flagged media blurred) is stored in the row, not in
    a file: it is evidence that must travel with the notice through backups and to the web app
    on another machine, and it never shows the victim's media.
    """

    __tablename__ = "notice_items"
    __table_args__ = (UniqueConstraint("flag_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"))
    screenshot_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    screenshot_at: Mapped[datetime | None]
    screenshot_error: Mapped[str | None] = mapped_column(Text)
    #: Set when the web app asked for a screenshot its background runner has not taken yet.
    screenshot_requested_at: Mapped[datetime | None]

    # A flag that left "confirmed" once the notice was approved or sent stays as a record,
    # withdrawn: it is no longer asked for, and a sent notice owes the site a correction.
    withdrawn_at: Mapped[datetime | None]
    correction_due: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    correction_sent_at: Mapped[datetime | None]


#: What one re-check saw of a flag's media: still there, gone, or could not tell.
RECHECK_OUTCOMES = ("present", "gone", "unknown")


class RecheckObservation(Base):
    """One re-check of a flag: when, what it saw, the media URL's HTTP status and why.

    A flag becomes "removed" only when its media was seen gone twice, far enough apart
    (REPOSTWATCH_RECHECK_GONE_HOURS), with no sighting of it in between: a single 404, a
    maintenance page or an answer meant for one user agent never ends a takedown.
    """

    __tablename__ = "recheck_observations"
    __table_args__ = (CheckConstraint(check_in("outcome", RECHECK_OUTCOMES), name="outcome"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"), index=True)
    observed_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))
    http_status: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
