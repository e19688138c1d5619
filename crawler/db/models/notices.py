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
    # A flag that left "confirmed" once the notice was approved or sent stays as a record,
    # withdrawn: it is no longer asked for, and a sent notice owes the site a correction.
    withdrawn_at: Mapped[datetime | None]
    correction_due: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    correction_sent_at: Mapped[datetime | None]
