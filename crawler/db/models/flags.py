"""Flags (media that matched a case's reference, waiting for a human decision) and the pages
each flagged media was seen on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from crawler.db.models.base import (
    ALGORITHM_LENGTH,
    HASH_LENGTH,
    KEYWORD_LENGTH,
    NAME_LENGTH,
    SHA256_HEX_LENGTH,
    Base,
    check_in,
)

#: "removed": a confirmed flag whose media is gone from the site (takedown re-check).
FLAG_STATUSES = ("pending", "confirmed", "rejected", "removed")


class Flag(Base):
    """A media URL whose content matched a case's reference: waits for a human decision.

    One flag per (case, media URL, media content). Seeing it again only moves ``last_seen`` and
    ``last_run_id``; the decision and the first-seen evidence are never overwritten.
    """

    __tablename__ = "flags"
    __table_args__ = (
        # One open flag per (case, media URL, content). A removed flag steps aside, so the same
        # media put back at the same URL becomes a new flag: a repost (takedown).
        Index(
            "uq_flags_open_media",
            "case_id",
            "media_url_key",
            "media_sha256",
            unique=True,
            sqlite_where=text("removed_at IS NULL"),
            postgresql_where=text("removed_at IS NULL"),
        ),
        CheckConstraint(check_in("status", FLAG_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    reference_id: Mapped[int] = mapped_column(ForeignKey("reference_hashes.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    media_url: Mapped[str] = mapped_column(Text)
    # sha256 hex of media_url: URLs can be longer than an index entry allows.
    media_url_key: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))
    media_sha256: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))
    page_url: Mapped[str] = mapped_column(Text)  # the first page it was seen on
    # When that page is an embedded player's (an <iframe> followed one level), the page that
    # embeds it: what a visitor of the site sees, and where staff look.
    embedded_in: Mapped[str | None] = mapped_column(Text)
    algorithm: Mapped[str] = mapped_column(String(ALGORITHM_LENGTH))
    distance: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(
        String(16), default="pending", server_default=text("'pending'"), index=True
    )
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    first_run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id"), index=True)
    last_run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id"), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    decided_at: Mapped[datetime | None]
    # Which variant of the found media matched ("original", "mirror", "rot90", "trimmed", ...)
    # and, for videos, the frame evidence as a short JSON object (shares, frames matched).
    variant: Mapped[str | None] = mapped_column(String(ALGORITHM_LENGTH))
    evidence: Mapped[str | None] = mapped_column(Text)
    # Review queue: higher priority is reviewed first (reposts of removed media are
    # raised); a reviewer's claim is a lease, so a flag left claimed returns to the queue.
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    claimed_until: Mapped[datetime | None]
    # Takedown: the found media's PDQ (hex) for re-checks and notices; when a
    # re-check found the media gone, and why ("http_404", "not_on_page", "media_changed", ...);
    # a new flag of media whose earlier flag was removed points at that flag (a repost).
    media_pdq: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    last_checked_at: Mapped[datetime | None]
    removed_at: Mapped[datetime | None]
    removed_reason: Mapped[str | None] = mapped_column(String(ALGORITHM_LENGTH))
    repost_of_flag_id: Mapped[int | None] = mapped_column(ForeignKey("flags.id"), index=True)
    # Search crawls: the case keyword whose site search first led to this media, and
    # the case that keyword belongs to (another case's keyword can find this case's media).
    keyword: Mapped[str | None] = mapped_column(String(KEYWORD_LENGTH))
    keyword_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))


class MediaSighting(Base):
    """A page on which a flagged media URL was seen."""

    __tablename__ = "media_sightings"
    __table_args__ = (UniqueConstraint("flag_id", "page_url_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"))
    page_url: Mapped[str] = mapped_column(Text)
    page_url_key: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))  # sha256 hex of page_url
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    first_run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id"), index=True)
    last_run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id"), index=True)
