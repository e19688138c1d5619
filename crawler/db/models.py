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
    Index,
    Integer,
    LargeBinary,
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
#: "removed": a confirmed flag whose media is gone from the site (takedown re-check).
FLAG_STATUSES = ("pending", "confirmed", "rejected", "removed")

# Lengths: the longest hash we know (sha256, PDQ) is 64 hex digits; 128 leaves room for more.
ALGORITHM_LENGTH = 32
HASH_LENGTH = 128
SHA256_HEX_LENGTH = 64
NAME_LENGTH = 200
KEYWORD_LENGTH = 200


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
    # Cases (issue #6): a closed case's evidence is deleted and its references withdrawn; a case
    # may opt in to keep a heavily pixelated thumbnail of each reference file for reviewers.
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    pixelated_thumbnails: Mapped[bool] = mapped_column(default=False, server_default=text("false"))


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
    # Operations (issue #5): who started the run ("schedule", "manual"; NULL: a local crawl),
    # when it was handed to scrapyd, and the scrapyd node (URL, no credentials) and job id.
    triggered_by: Mapped[str | None] = mapped_column(String(16))
    scheduled_at: Mapped[datetime | None]
    scrapyd_node: Mapped[str | None] = mapped_column(String(255))
    scrapyd_job: Mapped[str | None] = mapped_column(String(NAME_LENGTH))


class Flag(Base):
    """A media URL whose content matched a case's reference: waits for a human decision.

    One flag per (case, media URL, media content). Seeing it again only moves ``last_seen`` and
    ``last_run_id``; the decision and the first-seen evidence are never overwritten.
    """

    __tablename__ = "flags"
    __table_args__ = (
        # One open flag per (case, media URL, content). A removed flag steps aside, so the same
        # media put back at the same URL becomes a new flag: a repost (takedown, issue #6).
        Index(
            "uq_flags_open_media",
            "case_id",
            "media_url_key",
            "media_sha256",
            unique=True,
            sqlite_where=text("removed_at IS NULL"),
            postgresql_where=text("removed_at IS NULL"),
        ),
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
    # Review queue (issue #6): higher priority is reviewed first (reposts of removed media are
    # raised); a reviewer's claim is a lease, so a flag left claimed returns to the queue.
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    claimed_until: Mapped[datetime | None]
    # Takedown (issue #6): the found media's PDQ (hex) for re-checks and notices; when a
    # re-check found the media gone, and why ("http_404", "not_on_page", "media_changed", ...);
    # a new flag of media whose earlier flag was removed points at that flag (a repost).
    media_pdq: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    last_checked_at: Mapped[datetime | None]
    removed_at: Mapped[datetime | None]
    removed_reason: Mapped[str | None] = mapped_column(String(ALGORITHM_LENGTH))
    repost_of_flag_id: Mapped[int | None] = mapped_column(ForeignKey("flags.id"), index=True)
    # Search crawls (issue #4): the case keyword whose site search first led to this media, and
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


# --- Review web app (issue #6): staff accounts, audit log, encrypted evidence -------------------
USER_ROLES = ("reviewer", "approver", "admin")


class User(Base):
    """A staff account of the review web app. Accounts are disabled, never deleted (the audit
    log refers to them)."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("username"),
        CheckConstraint(_in("role", USER_ROLES), name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(NAME_LENGTH))
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id, PHC string
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]


class AuditEntry(Base):
    """One line of the append-only audit log: who did what to which target, when, from where.

    The migration adds triggers that refuse UPDATE and DELETE on this table.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    username: Mapped[str | None] = mapped_column(String(NAME_LENGTH))  # as typed, for failures
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    details: Mapped[str | None] = mapped_column(Text)  # JSON object
    ip: Mapped[str | None] = mapped_column(String(64))


class Evidence(Base):
    """The found media of a flag, encrypted (Fernet, key from REPOSTWATCH_EVIDENCE_KEY).

    Kept only for matched media, only while the flag is open or confirmed: deleted when the flag
    is rejected or its case closes.
    """

    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("flag_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))  # of the plaintext media
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- Takedown notices (issue #6): notices, their items and screenshots -------------------------
NOTICE_STATUSES = ("draft", "approved", "sent", "resolved")


class Notice(Base):
    """A takedown notice to one site (or one host of it): drafted, approved by a person, sent.

    A notice never leaves the draft state without an approver (a check constraint says so as
    well as the code). ``sent_at`` is the first sending, which time-to-removal counts from;
    ``next_send_at`` is when an unresolved notice is due to be sent again.
    """

    __tablename__ = "notices"
    __table_args__ = (
        CheckConstraint(_in("status", NOTICE_STATUSES), name="status"),
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


# --- search by case keywords (issue #4) -------------------------------------------------------
class CaseKeyword(Base):
    """A word a case's media is searched for on sites: a name, a nickname, slang.

    A withdrawn keyword is no longer searched; the row stays (flags name the keyword that found
    them) and adding the keyword again re-activates it. Keywords are kept in Unicode NFC.
    """

    __tablename__ = "case_keywords"
    __table_args__ = (UniqueConstraint("case_id", "keyword"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    keyword: Mapped[str] = mapped_column(String(KEYWORD_LENGTH), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]


# --- Operations (issue #5): schedule state and crawl health per site ---------------------------
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
    __table_args__ = (CheckConstraint(_in("state", HEALTH_STATES), name="state"),)

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="healthy")
    reason: Mapped[str | None] = mapped_column(Text)
    since: Mapped[datetime]
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))


# --- Cases (issue #6): opt-in pixelated reference thumbnails -----------------------------------


class ReferenceThumbnail(Base):
    """A heavily pixelated PNG of one reference file, kept only for a case that opted in.

    At most 8x8 blocks of colour upscaled to at most 64 px: enough to tell a reviewer "this is
    the photo with the blue background", nothing a person could be recognised from.
    """

    __tablename__ = "reference_thumbnails"
    __table_args__ = (UniqueConstraint("case_id", "media_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    media_sha256: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))  # the reference file
    png: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
