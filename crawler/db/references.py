"""Cases and their reference hashes: add, import, export, load for the matching index.

A reference is (case, algorithm, lowercase hex value); the database keeps each one once, so adding
or importing the same hash again changes nothing. Functions take a Session; the caller commits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.orm import Session

from crawler.db.models import (
    REFERENCE_SOURCES,
    Case,
    ReferenceHash,
    ReferenceVideo,
    ReferenceVideoFrame,
    ReferenceVideoMiddle,
    utcnow,
)
from crawler.db.models.base import NAME_LENGTH
from crawler.db.session import dialect_insert

_HEX = re.compile(r"[0-9a-f]+")
# Rows per INSERT: well under SQLite's limit on bound parameters (32,766).
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class NewHash:
    """A hash to add to a case. ``quality`` is PDQ's 0-100 score, ``None`` for other algorithms."""

    algorithm: str
    value: str
    quality: int | None = None


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One line of a hash list exchanged with another centre: no media, only the hash."""

    case: str
    algorithm: str
    value: str
    quality: int | None = None


@dataclass(frozen=True, slots=True)
class AddResult:
    """``added`` new hashes; ``existing`` were already there (or repeated in the input), of
    which ``filled`` gained the quality they were stored without."""

    added: int
    existing: int
    filled: int = 0


@dataclass(frozen=True, slots=True)
class ReferenceRow:
    """A reference hash as the matching index needs it."""

    id: int
    case_id: int
    case_name: str
    algorithm: str
    value: str
    quality: int | None


def get_or_create_case(session: Session, name: str) -> int:
    """The id of the case called ``name``, creating it if needed (safe under concurrency)."""
    name = _case_name(name)
    insert = dialect_insert(session, Case).values(name=name, created_at=utcnow())
    session.execute(insert.on_conflict_do_nothing(index_elements=[Case.name]))
    return session.execute(select(Case.id).where(Case.name == name)).scalar_one()


def add_reference_hashes(
    session: Session,
    case: str,
    hashes: Sequence[NewHash],
    *,
    source: str = "file",
    label: str | None = None,
    media_sha256: str | None = None,
) -> AddResult:
    """Add ``hashes`` to ``case`` (created if missing); hashes already there are left unchanged
    but for a quality they were stored without (pHash and crhash got one on 7 December 2026:
    adding the file again gives its older references the stricter rules for plain grounds).

    ``label`` (e.g. the file name) and ``media_sha256`` (the reference file's digest) group the
    hashes computed from one file. Raises ValueError for a hash that is not hex.
    """
    if source not in REFERENCE_SOURCES:
        raise ValueError(f"source must be one of {', '.join(REFERENCE_SOURCES)}, not {source!r}")
    if media_sha256 is not None:
        media_sha256 = _hex(media_sha256, "media_sha256")
    case_id = get_or_create_case(session, case)
    now = utcnow()
    rows = [
        {
            "case_id": case_id,
            "algorithm": _algorithm(new.algorithm),
            "value": _hex(new.value, f"{new.algorithm} hash"),
            "quality": new.quality,
            "source": source,
            "label": label,
            "media_sha256": media_sha256,
            "created_at": now,
        }
        for new in hashes
    ]
    result = _insert_new(session, rows)
    if not result.existing:
        return result
    return replace(result, filled=_fill_quality(session, rows))


def _fill_quality(session: Session, rows: list[dict[str, object]]) -> int:
    """Give stored hashes without a quality the one of ``rows``; how many gained one."""
    filled = 0
    for row in rows:
        if row["quality"] is None:
            continue
        missing = (
            update(ReferenceHash)
            .where(
                ReferenceHash.case_id == row["case_id"],
                ReferenceHash.algorithm == row["algorithm"],
                ReferenceHash.value == row["value"],
                ReferenceHash.quality.is_(None),
            )
            .values(quality=row["quality"], changed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        filled += session.execute(missing).rowcount
    return filled


def import_hashes(session: Session, rows: Sequence[ImportRow]) -> AddResult:
    """Import a hash list, creating missing cases; hashes already there are left unchanged.

    All or nothing: every row is checked before anything is written (ValueError names the row),
    and a row the database refuses (e.g. a quality outside 0-100) raises
    :class:`sqlalchemy.exc.IntegrityError`; the caller then rolls back and nothing was imported.
    """
    checked = []
    for number, row in enumerate(rows, start=1):
        try:
            checked.append(
                (_case_name(row.case), _algorithm(row.algorithm), _hex(row.value, "hash"), row)
            )
        except ValueError as exc:
            raise ValueError(f"row {number}: {exc}") from None
    case_ids = {name: get_or_create_case(session, name) for name in sorted({c[0] for c in checked})}
    now = utcnow()
    values = [
        {
            "case_id": case_ids[name],
            "algorithm": algorithm,
            "value": value,
            "quality": row.quality,
            "source": "import",
            "label": None,
            "media_sha256": None,
            "created_at": now,
        }
        for name, algorithm, value, row in checked
    ]
    return _insert_new(session, values)


def export_hashes(session: Session, case: str | None = None) -> list[ImportRow]:
    """Every active reference hash (or one case's), ordered by case, algorithm and value."""
    query = (
        select(Case.name, ReferenceHash.algorithm, ReferenceHash.value, ReferenceHash.quality)
        .join(Case, ReferenceHash.case_id == Case.id)
        .where(ReferenceHash.withdrawn_at.is_(None))
        .order_by(Case.name, ReferenceHash.algorithm, ReferenceHash.value)
    )
    if case is not None:
        query = query.where(Case.name == case)
    return [ImportRow(*row) for row in session.execute(query)]


def _reference_rows() -> Select:
    return (
        select(
            ReferenceHash.id,
            ReferenceHash.case_id,
            Case.name,
            ReferenceHash.algorithm,
            ReferenceHash.value,
            ReferenceHash.quality,
            ReferenceHash.withdrawn_at,
        )
        .join(Case, ReferenceHash.case_id == Case.id)
        .order_by(ReferenceHash.id)
    )


def load_references(session: Session) -> list[ReferenceRow]:
    """Every active (not withdrawn) reference hash with its case, in id order."""
    return list(iter_references(session))


def iter_references(session: Session, batch: int = 10_000) -> Iterator[ReferenceRow]:
    """Like `load_references`, but streamed: the database sends ``batch`` rows at a time (a
    server-side cursor on PostgreSQL), so that loading millions of references for the matching
    index never holds them all as rows. Consume it inside the session."""
    query = _reference_rows().where(ReferenceHash.withdrawn_at.is_(None))
    for row in session.execute(query.execution_options(yield_per=batch)):
        yield ReferenceRow(*row[:6])


def count_references(session: Session) -> dict[str, int]:
    """Reference hashes per case name, cases without hashes included as 0."""
    query = (
        select(Case.name, func.count(ReferenceHash.id))
        .outerjoin(ReferenceHash, ReferenceHash.case_id == Case.id)
        .group_by(Case.name)
        .order_by(Case.name)
    )
    return {name: count for name, count in session.execute(query)}


def _insert_new(session: Session, rows: list[dict[str, object]]) -> AddResult:
    """Insert new hashes; a withdrawn one added again is active again (and counts as added)."""
    added = 0
    now = utcnow()
    given = len(rows)
    # One row per (case, algorithm, value): PostgreSQL refuses to upsert a row twice in one
    # statement, and a repeated row is "existing" anyway.
    rows = list({(r["case_id"], r["algorithm"], r["value"]): r for r in reversed(rows)}.values())
    rows.reverse()
    for row in rows:
        row.setdefault("changed_at", now)
    for start in range(0, len(rows), _CHUNK):
        insert = dialect_insert(session, ReferenceHash).values(rows[start : start + _CHUNK])
        insert = insert.on_conflict_do_update(
            index_elements=[ReferenceHash.case_id, ReferenceHash.algorithm, ReferenceHash.value],
            set_={"withdrawn_at": None, "changed_at": now},
            where=ReferenceHash.withdrawn_at.is_not(None),
        )
        added += len(session.execute(insert.returning(ReferenceHash.id)).all())
    return AddResult(added=added, existing=given - added)


def withdraw_references(
    session: Session, case: str, *, media_sha256: Sequence[str] | None = None
) -> int:
    """Withdraw a case's references (all of them, or those of the given reference files).

    Withdrawn references stop matching in running crawls within seconds; their rows stay so that
    flags keep their evidence. Returns how many hashes were withdrawn.
    """
    case_id = session.execute(
        select(Case.id).where(Case.name == _case_name(case))
    ).scalar_one_or_none()
    if case_id is None:
        raise ValueError(f"no case named {case!r}")
    now = utcnow()
    hashes = update(ReferenceHash).where(
        ReferenceHash.case_id == case_id, ReferenceHash.withdrawn_at.is_(None)
    )
    videos = update(ReferenceVideo).where(
        ReferenceVideo.case_id == case_id, ReferenceVideo.withdrawn_at.is_(None)
    )
    if media_sha256 is not None:
        digests = [_hex(value, "media_sha256") for value in media_sha256]
        hashes = hashes.where(ReferenceHash.media_sha256.in_(digests))
        videos = videos.where(ReferenceVideo.media_sha256.in_(digests))
    result = session.execute(
        hashes.values(withdrawn_at=now, changed_at=now).execution_options(synchronize_session=False)
    )
    session.execute(
        videos.values(withdrawn_at=now, changed_at=now).execution_options(synchronize_session=False)
    )
    return result.rowcount


@dataclass(frozen=True, slots=True)
class ReferenceChanges:
    """What changed since a point in time: hashes to add, ids to drop (hashes and videos)."""

    active: list[ReferenceRow]
    withdrawn: list[int]
    videos: list[ReferenceVideoRow]
    withdrawn_videos: list[int]


def reference_changes(session: Session, since: datetime) -> ReferenceChanges:
    """References added, re-added or withdrawn at or after ``since`` (changed_at)."""
    changed = session.execute(_reference_rows().where(ReferenceHash.changed_at >= since)).all()
    active = [ReferenceRow(*row[:6]) for row in changed if row[6] is None]
    withdrawn = [row[0] for row in changed if row[6] is not None]
    video_rows = session.execute(
        select(ReferenceVideo.id, ReferenceVideo.withdrawn_at).where(
            ReferenceVideo.changed_at >= since
        )
    ).all()
    active_videos = {video_id for video_id, withdrawn_at in video_rows if withdrawn_at is None}
    return ReferenceChanges(
        active=active,
        withdrawn=withdrawn,
        videos=[v for v in load_reference_videos(session, ids=active_videos)]
        if active_videos
        else [],
        withdrawn_videos=[video_id for video_id, when in video_rows if when is not None],
    )


class BadText(ValueError):
    """A case name or a label that cannot be stored; ``reason`` ("empty", "too_long",
    "control") and ``limit`` let the web app say it in the user's language."""

    def __init__(self, message: str, reason: str, limit: int = 0) -> None:
        super().__init__(message)
        self.reason = reason
        self.limit = limit


def check_text(text: str, what: str, limit: int, empty: str) -> str:
    """``text`` if it can be stored as ``what``: not empty (``empty`` says so), at most
    ``limit`` characters, no control characters; :class:`BadText` otherwise."""
    if not text:
        raise BadText(empty, "empty")
    if len(text) > limit:
        raise BadText(f"{what} has at most {limit} characters, not {len(text)}", "too_long", limit)
    if any(unicodedata.category(c).startswith("C") for c in text):
        raise BadText(f"{what} cannot hold control characters (line breaks, tabs)", "control")
    return text


def check_case_name(name: str) -> str:
    """The case name as it is stored (trimmed); :class:`BadText` says what is wrong with it.
    Every way a case is made (`refs add`, `refs import`, keywords, the web app) checks it."""
    return check_text(name.strip(), "a case name", NAME_LENGTH, "a case needs a name")


_case_name = check_case_name


def _algorithm(algorithm: str) -> str:
    algorithm = algorithm.strip().lower()
    if not algorithm:
        raise ValueError("a hash needs an algorithm name, e.g. pdq")
    return algorithm


def _hex(value: str, what: str) -> str:
    value = value.strip().lower()
    if not _HEX.fullmatch(value):
        raise ValueError(f"{what} {value!r} is not hexadecimal")
    return value


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One sampled frame of a reference video: when, its PDQ hex and quality."""

    seconds: float
    value: str
    quality: int


@dataclass(frozen=True, slots=True)
class ReferenceVideoRow:
    id: int
    case_id: int
    reference_id: int  # the video's sha256 reference hash: what flags refer to
    frames: tuple[VideoFrame, ...]  # in time order
    duration: float | None = None  # seconds, as stored when it was registered
    middles: tuple[VideoFrame, ...] = ()  # in time order; none if stored before middles were


def add_reference_video(
    session: Session,
    case: str,
    *,
    media_sha256: str,
    duration: float,
    frames: Sequence[VideoFrame],
    label: str | None = None,
    middles: Sequence[VideoFrame] = (),
) -> bool:
    """Store a reference video's frame hashes and its ``middles`` (the hashes of its frames'
    middles, for cropped copies and copies under a banner); False if the case already has this
    video. A video stored without middles (registered before they were hashed, or whose middles
    migration 0017 deleted as of an older region) gets the ``middles`` given now, its frames
    staying as they are: running ``refs add`` on its file again fills them in.

    The video's sha256 must already be a reference hash of the case (add it with
    :func:`add_reference_hashes` first, in the same transaction).
    """
    case_id = get_or_create_case(session, case)
    media_sha256 = _hex(media_sha256, "media_sha256")
    reference_id = session.execute(
        select(ReferenceHash.id).where(
            ReferenceHash.case_id == case_id,
            ReferenceHash.algorithm == "sha256",
            ReferenceHash.value == media_sha256,
        )
    ).scalar_one_or_none()
    if reference_id is None:
        raise ValueError(
            f"video {media_sha256} is not a reference of case {case!r}: add its sha256 first"
        )
    existing = session.execute(
        select(ReferenceVideo.id, ReferenceVideo.withdrawn_at).where(
            ReferenceVideo.case_id == case_id, ReferenceVideo.media_sha256 == media_sha256
        )
    ).one_or_none()
    if existing is not None:
        has_middles = session.execute(
            select(ReferenceVideoMiddle.id)
            .where(ReferenceVideoMiddle.video_id == existing.id)
            .limit(1)
        ).first()
        if not has_middles:  # what an older `refs add` did not store
            _store_timed_hashes(session, ReferenceVideoMiddle, existing.id, middles)
        if existing.withdrawn_at is None:
            return False
        session.execute(
            update(ReferenceVideo)
            .where(ReferenceVideo.id == existing.id)
            .values(withdrawn_at=None, changed_at=utcnow())
        )
        return True  # added again after a withdrawal: its frames are still there
    video_id = session.execute(
        dialect_insert(session, ReferenceVideo)
        .values(
            case_id=case_id,
            reference_id=reference_id,
            media_sha256=media_sha256,
            label=label,
            duration=duration,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(
            index_elements=[ReferenceVideo.case_id, ReferenceVideo.media_sha256]
        )
        .returning(ReferenceVideo.id)
    ).scalar()
    if video_id is None:
        return False
    for table, rows in ((ReferenceVideoFrame, frames), (ReferenceVideoMiddle, middles)):
        _store_timed_hashes(session, table, video_id, rows)
    return True


def _store_timed_hashes(
    session: Session,
    table: type[ReferenceVideoFrame | ReferenceVideoMiddle],
    video_id: int,
    rows: Sequence[VideoFrame],
) -> None:
    """Insert a video's frames (or middles), one per time."""
    unique = {round(frame.seconds, 3): frame for frame in rows}
    if unique:
        session.execute(
            insert(table),
            [
                {
                    "video_id": video_id,
                    "seconds": seconds,
                    "value": _hex(frame.value, "frame hash"),
                    "quality": frame.quality,
                }
                for seconds, frame in sorted(unique.items())
            ],
        )


def load_reference_videos(
    session: Session, ids: Collection[int] | None = None
) -> list[ReferenceVideoRow]:
    """Active reference videos (or those of ``ids``) with their frames and middles, each with
    its time, by video then time."""
    query = select(
        ReferenceVideo.id,
        ReferenceVideo.case_id,
        ReferenceVideo.reference_id,
        ReferenceVideo.duration,
    ).where(ReferenceVideo.withdrawn_at.is_(None))
    if ids is not None:
        query = query.where(ReferenceVideo.id.in_(list(ids)))
    videos = {row.id: row for row in session.execute(query)}
    frames = _timed_hashes(session, ReferenceVideoFrame, ids)
    middles = _timed_hashes(session, ReferenceVideoMiddle, ids)
    return [
        ReferenceVideoRow(
            video_id,
            row.case_id,
            row.reference_id,
            tuple(frames[video_id]),
            row.duration,
            tuple(middles.get(video_id, ())),
        )
        for video_id, row in sorted(videos.items())
        if video_id in frames  # a video without one frame stored has nothing to match
    ]


def _timed_hashes(
    session: Session,
    table: type[ReferenceVideoFrame] | type[ReferenceVideoMiddle],
    ids: Collection[int] | None,
) -> dict[int, list[VideoFrame]]:
    """The frames (or middles) of the active reference videos (or of ``ids``), by video."""
    query = (
        select(table.video_id, table.seconds, table.value, table.quality)
        .join(ReferenceVideo, table.video_id == ReferenceVideo.id)
        .where(ReferenceVideo.withdrawn_at.is_(None))
        .order_by(table.video_id, table.seconds)
    )
    if ids is not None:
        query = query.where(ReferenceVideo.id.in_(list(ids)))
    found: dict[int, list[VideoFrame]] = {}
    for video_id, seconds, value, quality in session.execute(query):
        found.setdefault(video_id, []).append(VideoFrame(float(seconds), value, quality))
    return found
