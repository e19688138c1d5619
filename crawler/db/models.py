"""Typed SQLAlchemy 2 models: cases, reference hashes, sites, crawl runs, flags and sightings.

Victim media is never stored: a reference is an algorithm name and lowercase hex digits. Every
uniqueness rule lives in a database constraint so that several crawler processes can write at once
with upserts. The schema itself is created by the Alembic migrations, never by ``create_all``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

#: Constraint names are stable across SQLite and PostgreSQL, so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

REFERENCE_SOURCES = ("file", "import")
RUN_STATUSES = ("running", "finished", "failed")
FLAG_STATUSES = ("pending", "confirmed", "rejected")

# Lengths: the longest hash we know (sha256, PDQ) is 64 hex digits; 128 leaves room for more.
ALGORITHM_LENGTH = 32
HASH_LENGTH = 128
SHA256_HEX_LENGTH = 64
NAME_LENGTH = 200


def utcnow() -> datetime:
    return datetime.now(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value is stored as naive
    UTC and made aware again when read. Naive datetimes are refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: pass an aware UTC datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class Case(Base):
    """One victim's case: the reference hashes belong to it, flags are raised against it."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReferenceHash(Base):
    """A hash of a victim's media. The media itself is never stored."""

    __tablename__ = "reference_hashes"
    __table_args__ = (
        UniqueConstraint("case_id", "algorithm", "value"),
        CheckConstraint(_in("source", REFERENCE_SOURCES), name="source"),
        CheckConstraint("quality IS NULL OR (quality >= 0 AND quality <= 100)", name="quality"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    algorithm: Mapped[str] = mapped_column(String(ALGORITHM_LENGTH))
    value: Mapped[str] = mapped_column(String(HASH_LENGTH))
    quality: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16), default="file")
    label: Mapped[str | None] = mapped_column(String(255))
    # Groups the hashes computed from one reference file (its sha256), when known.
    media_sha256: Mapped[str | None] = mapped_column(String(SHA256_HEX_LENGTH), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A withdrawn reference stops matching (a case closed, a mistaken registration); the row
    # stays so that its flags keep their evidence. changed_at moves on every add, withdrawal and
    # re-add: running crawls poll it to pick changes up without a restart.
    withdrawn_at: Mapped[datetime | None]
    changed_at: Mapped[datetime] = mapped_column(
        default=utcnow, server_default=func.current_timestamp(), index=True
    )


class Site(Base):
    """A monitored site, named as in ``settings/sites/<name>.toml``."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CrawlRun(Base):
    """One crawl of one site, with the counters it finished with."""

    __tablename__ = "crawl_runs"
    __table_args__ = (CheckConstraint(_in("status", RUN_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="running")
    finish_reason: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    pages: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    media: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    errors: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    flags: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Every counter of the run as JSON: pages, media, cache hits, bytes, refusals by reason,
    # errors by kind, flags (the columns above are the ones worth querying).
    stats: Mapped[str | None] = mapped_column(Text)


class Flag(Base):
    """A media URL whose content matched a case's reference: waits for a human decision.

    One flag per (case, media URL, media content). Seeing it again only moves ``last_seen`` and
    ``last_run_id``; the decision and the first-seen evidence are never overwritten.
    """

    __tablename__ = "flags"
    __table_args__ = (
        UniqueConstraint("case_id", "media_url_key", "media_sha256"),
        CheckConstraint(_in("status", FLAG_STATUSES), name="status"),
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


class ReferenceVideo(Base):
    """A reference video of a case: its frame hashes (below), never its pictures.

    Its SHA-256 and MD5 are ordinary reference hashes (exact matches); ``reference_id`` points at
    the SHA-256 one, which flags raised by frame matching refer to.
    """

    __tablename__ = "reference_videos"
    __table_args__ = (UniqueConstraint("case_id", "media_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    reference_id: Mapped[int] = mapped_column(ForeignKey("reference_hashes.id"), index=True)
    media_sha256: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))
    label: Mapped[str | None] = mapped_column(String(255))
    duration: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
    changed_at: Mapped[datetime] = mapped_column(
        default=utcnow, server_default=func.current_timestamp(), index=True
    )


class ReferenceVideoFrame(Base):
    """One sampled frame of a reference video: its time and PDQ hash."""

    __tablename__ = "reference_video_frames"
    __table_args__ = (
        UniqueConstraint("video_id", "seconds"),
        CheckConstraint("quality >= 0 AND quality <= 100", name="quality"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("reference_videos.id"), index=True)
    seconds: Mapped[float] = mapped_column(Float)
    value: Mapped[str] = mapped_column(String(HASH_LENGTH))  # PDQ hex
    quality: Mapped[int] = mapped_column(Integer)


class MediaCacheEntry(Base):
    """What a media URL held when it was last hashed, and the validators to ask if it changed.

    A re-crawl sends a conditional request (``If-None-Match`` / ``If-Modified-Since``, or a HEAD
    compared by length); when the media is unchanged its stored hashes are matched again without
    downloading or hashing it. Hashes only: the media itself is never stored.
    """

    __tablename__ = "media_cache"
    __table_args__ = (UniqueConstraint("url_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url_key: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))  # sha256 hex of url
    url: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(String(64))
    content_length: Mapped[int | None] = mapped_column(BigInteger)
    media_sha256: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))
    hashes: Mapped[str] = mapped_column(Text)  # JSON (MediaHashes.to_json), never a pickle
    hashed_at: Mapped[datetime]
    checked_at: Mapped[datetime]
