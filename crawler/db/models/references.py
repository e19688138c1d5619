"""Cases and what identifies their media: reference hashes, reference videos and their frames,
search keywords, and the opt-in pixelated thumbnails. Victim media itself is never stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from crawler.db.models.base import (
    ALGORITHM_LENGTH,
    HASH_LENGTH,
    KEYWORD_LENGTH,
    NAME_LENGTH,
    SHA256_HEX_LENGTH,
    Base,
    check_in,
    utcnow,
)

REFERENCE_SOURCES = ("file", "import")
#: The longest note on a case, in characters (checked by ``crawler.db.case_notes`` with a clear
#: error, and by the database).
CASE_NOTE_LENGTH = 2000


class Case(Base):
    """One victim's case: the reference hashes belong to it, flags are raised against it."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Cases: a closed case's evidence is deleted and its references withdrawn; a case
    # may opt in to keep a heavily pixelated thumbnail of each reference file for reviewers.
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    pixelated_thumbnails: Mapped[bool] = mapped_column(default=False, server_default=text("false"))


class ReferenceHash(Base):
    """A hash of a victim's media. The media itself is never stored."""

    __tablename__ = "reference_hashes"
    __table_args__ = (
        UniqueConstraint("case_id", "algorithm", "value"),
        CheckConstraint(check_in("source", REFERENCE_SOURCES), name="source"),
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


class _TimedHash:
    """A PDQ hash of a reference video at a time: its frames' columns (and their middles')."""

    @declared_attr.directive
    def __table_args__(cls) -> tuple:  # new constraint objects for each table
        return (
            UniqueConstraint("video_id", "seconds"),
            CheckConstraint("quality >= 0 AND quality <= 100", name="quality"),
        )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("reference_videos.id"), index=True)
    seconds: Mapped[float] = mapped_column(Float)
    value: Mapped[str] = mapped_column(String(HASH_LENGTH))  # PDQ hex
    quality: Mapped[int] = mapped_column(Integer)


class ReferenceVideoFrame(_TimedHash, Base):
    """One sampled frame of a reference video: its time and PDQ hash."""

    __tablename__ = "reference_video_frames"


class ReferenceVideoMiddle(_TimedHash, Base):
    """The middle of a reference video's frame, once a second: its time and PDQ hash.

    The part of the picture (`crawler.hashing.crops.MIDDLE`: 10% off the left and the right,
    20% off the top and the bottom) that a crop of up to 10% leaves in a copy, and a banner or
    caption band up to a fifth tall over the top or the bottom leaves alone: what a crawled
    frame's crops are matched against. References stored before middles were hashed, or before
    migration 0017 (which deleted those of the older region), have none until ``refs add`` is
    run on their file again; until then only their uncropped, uncovered copies match.
    """

    __tablename__ = "reference_video_middles"


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


class KeywordVariantRejection(Base):
    """A spelling variant of a case keyword that staff rejected: it is not proposed again for
    that keyword of that case. Who rejected it and when stay as the record (the audit log has
    the rejection too, by counts only: variants spell the victim's names)."""

    __tablename__ = "keyword_variant_rejections"
    __table_args__ = (UniqueConstraint("case_id", "keyword", "variant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    keyword: Mapped[str] = mapped_column(String(KEYWORD_LENGTH))  # the case keyword
    variant: Mapped[str] = mapped_column(String(KEYWORD_LENGTH))
    rejected_by: Mapped[str] = mapped_column(String(NAME_LENGTH))  # staff account's username
    rejected_at: Mapped[datetime] = mapped_column(default=utcnow)


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


class CaseNote(Base):
    """A staff member's note on a case (what the victim asked for, who to call back): plain
    text, written once, never edited or deleted, like the rest of the case's record. Adding one
    is audited (``case_note``, by its length only: the text can name the victim)."""

    __tablename__ = "case_notes"
    __table_args__ = (
        CheckConstraint(f"length(body) BETWEEN 1 AND {CASE_NOTE_LENGTH}", name="body_length"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    author: Mapped[str] = mapped_column(String(NAME_LENGTH))  # the staff account's username
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
