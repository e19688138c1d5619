"""Flags: media that matched a case, recorded once and kept until a person decides.

``record_match`` is what the crawler calls for every match, possibly from several processes at
once. The database's unique constraint decides which call creates a flag; every other call only
moves ``last_seen``/``last_run_id``, so a decision (a rejected flag stays rejected) and the
first-seen evidence are never overwritten. Functions take a Session; the caller commits.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Select, func, literal, select, update
from sqlalchemy.orm import Session, aliased

from crawler.db import withdrawals
from crawler.db.evidence import delete_flag_evidence
from crawler.db.keywords import keyword_case_id
from crawler.db.models import (
    FLAG_STATUSES,
    Case,
    Flag,
    MediaSighting,
    ReferenceHash,
    Site,
    UTCDateTime,
    utcnow,
)
from crawler.db.screenshots import delete_screenshots
from crawler.db.session import dialect_insert
from crawler.db.withdrawals import DecisionRefused
from crawler.problems import N_, Problem

#: Review decisions and the status each one sets.
DECISIONS = {"confirm": "confirmed", "reject": "rejected"}
#: The queue priority of a repost of removed media: above every ordinary flag (priority 0).
REPOST_PRIORITY = 100


class FlagNotFound(LookupError):
    """No flag has the id asked for."""

    def __init__(self, flag_id: int) -> None:
        super().__init__(
            Problem(
                N_("no flag with id %(flag)s; list them with `repostwatch flags list`"),
                {"flag": flag_id},
            )
        )
        self.flag_id = flag_id


#: Why :func:`record_match` refused a match: its case is closed (no new flags, no evidence).
REFUSED_CASE_CLOSED = "case_closed"


@dataclass(frozen=True, slots=True)
class RecordResult:
    flag_id: int | None  # None when the match was refused
    created: bool  # True for exactly one caller per flag, however many record it at once
    refused: str | None = None  # why nothing was recorded, e.g. REFUSED_CASE_CLOSED


@dataclass(frozen=True, slots=True)
class MatchRecord:
    """One match to record as a flag (:func:`record_match`): plain values that survive a round
    trip to JSON, as the crawl's spill file keeps the matches the database could not take."""

    run_id: int
    site_id: int
    page_url: str
    media_url: str
    media_sha256: str
    case_id: int
    reference_id: int
    algorithm: str
    distance: int
    seen_at: datetime | None = None  # timezone-aware; None: when it is recorded
    variant: str | None = None  # which variant of the found media matched, e.g. "mirror"
    evidence: str | None = None  # JSON details, e.g. frames matched for a video
    media_pdq: str | None = None  # the found media's PDQ hex (images), for notices and re-checks
    keyword: str | None = None  # the case keyword whose site search led to the page
    embedded_in: str | None = None  # the page embedding ``page_url`` (an embedded player's)

    def to_json(self) -> str:
        """One line of JSON (a spill file's line)."""
        data = asdict(self)
        data["seen_at"] = None if self.seen_at is None else self.seen_at.isoformat()
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> MatchRecord:
        """The record of a :meth:`to_json` line; ValueError, TypeError or KeyError when the
        line is not one (cut short, or not a match)."""
        data = json.loads(line)
        seen_at = data["seen_at"]
        data["seen_at"] = None if seen_at is None else datetime.fromisoformat(seen_at)
        return cls(**data)


@dataclass(frozen=True, slots=True)
class FlagView:
    id: int
    status: str
    case: str
    site: str
    page_url: str  # the first page the media was seen on
    media_url: str
    media_sha256: str
    algorithm: str
    distance: int
    reference_id: int
    first_seen: datetime
    last_seen: datetime
    first_run_id: int
    last_run_id: int
    decided_by: str | None
    decided_at: datetime | None
    pages_seen: int  # pages the media URL was seen on (media_sightings)
    variant: str | None = None  # which variant of the found media matched, e.g. "mirror"
    evidence: str | None = None  # JSON details, e.g. frames matched for a video
    keyword: str | None = None  # the case keyword whose site search first led to it
    keyword_case: str | None = None  # the case that keyword belongs to
    embedded_in: str | None = None  # the page that embeds the first page (an <iframe> player)


def url_key(url: str) -> str:
    """The sha256 hex digest indexed in place of a URL (URLs can outgrow an index entry)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def record_match(session: Session, record: MatchRecord) -> RecordResult:
    """Record that ``record.media_url`` (content ``media_sha256``) on ``page_url`` matched a
    reference.

    The first call for a (case, media URL, content) creates a pending flag; later calls move its
    ``last_seen`` and ``last_run_id`` forward and change nothing else. Every page is recorded as
    a sighting of the flag. ``seen_at`` defaults to now and must be timezone-aware.

    A removed flag is not seen again: media found after its flag was removed (same content, or
    a match of the same reference file, at any URL) becomes a new flag pointing at the removed
    one (``repost_of_flag_id``) with :data:`REPOST_PRIORITY`, so it tops the review queue.

    ``keyword`` is the case keyword whose site search led to the page (search crawls). A flag
    keeps the first keyword that led to it: a flag without one gets it, one with a keyword is
    never changed. ``keyword_case_id`` is set to the case the keyword belongs to (see
    :func:`~crawler.db.keywords.keyword_case_id`).

    A closed case gets no new flags: its matches (a crawl that started before it closed) are
    refused, ``refused`` says why and nothing is written.
    """
    run_id, case_id, keyword = record.run_id, record.case_id, record.keyword
    if session.execute(select(Case.closed_at).where(Case.id == case_id)).scalar() is not None:
        return RecordResult(flag_id=None, created=False, refused=REFUSED_CASE_CLOSED)
    media_url, page_url, reference_id = record.media_url, record.page_url, record.reference_id
    keyword_case = keyword_case_id(session, keyword, case_id) if keyword else None
    seen_at = _aware(record.seen_at or utcnow(), "seen_at")
    media_sha256 = record.media_sha256.strip().lower()
    media_url_key = url_key(media_url)
    flag_id: int | None = None
    created = False
    # Insert-or-nothing, then update: the unique constraint makes exactly one insert win, and a
    # loser's update sees the winner's row once it commits. Flags are never deleted, so the
    # second round is only a safeguard.
    for _ in range(2):
        flag_id = session.execute(
            dialect_insert(session, Flag)
            .values(
                case_id=case_id,
                reference_id=reference_id,
                site_id=record.site_id,
                media_url=media_url,
                media_url_key=media_url_key,
                media_sha256=media_sha256,
                page_url=page_url,
                embedded_in=record.embedded_in,
                algorithm=record.algorithm.strip().lower(),
                distance=record.distance,
                variant=record.variant,
                evidence=record.evidence,
                media_pdq=record.media_pdq,
                keyword=keyword,
                keyword_case_id=keyword_case,
                status="pending",
                first_seen=seen_at,
                last_seen=seen_at,
                first_run_id=run_id,
                last_run_id=run_id,
            )
            .on_conflict_do_nothing(
                index_elements=[Flag.case_id, Flag.media_url_key, Flag.media_sha256],
                index_where=Flag.removed_at.is_(None),
            )
            .returning(Flag.id)
        ).scalar()
        if flag_id is not None:
            created = True
            break
        seen = literal(seen_at, UTCDateTime())
        newer = Flag.last_seen <= seen
        flag_id = session.execute(
            update(Flag)
            .where(
                Flag.case_id == case_id,
                Flag.media_url_key == media_url_key,
                Flag.media_sha256 == media_sha256,
                Flag.removed_at.is_(None),
            )
            .values(
                last_seen=sa.case((newer, seen), else_=Flag.last_seen),
                last_run_id=sa.case((newer, run_id), else_=Flag.last_run_id),
                **_first_keyword(keyword, keyword_case),
            )
            .returning(Flag.id)
            .execution_options(synchronize_session=False)
        ).scalar()
        if flag_id is not None:
            break
    if flag_id is None:
        raise RuntimeError(f"flag for {media_url} vanished while being recorded; retry")
    if created:
        _mark_repost(session, flag_id, case_id, media_sha256, reference_id, seen_at)
    _record_sighting(session, flag_id, page_url, seen_at, run_id)
    return RecordResult(flag_id=flag_id, created=created)


def _mark_repost(
    session: Session,
    flag_id: int,
    case_id: int,
    media_sha256: str,
    reference_id: int,
    seen_at: datetime,
) -> None:
    """Point a new flag at the latest removed flag of the same media, and raise its priority.

    The same media is the same content (SHA-256), or a match of the same reference hash or of
    another hash of the same reference file (an edited copy of a removed photo).
    """
    same_file = select(ReferenceHash.media_sha256).where(ReferenceHash.id == reference_id)
    file_refs = select(ReferenceHash.id).where(
        ReferenceHash.media_sha256.is_not(None),
        ReferenceHash.media_sha256 == same_file.scalar_subquery(),
    )
    removed = session.execute(
        select(Flag.id)
        .where(
            Flag.case_id == case_id,
            Flag.id != flag_id,
            Flag.removed_at.is_not(None),
            Flag.removed_at <= literal(seen_at, UTCDateTime()),
            sa.or_(
                Flag.media_sha256 == media_sha256,
                Flag.reference_id == reference_id,
                Flag.reference_id.in_(file_refs),
            ),
        )
        .order_by(Flag.removed_at.desc(), Flag.id.desc())
        .limit(1)
    ).scalar()
    if removed is not None:
        session.execute(
            update(Flag)
            .where(Flag.id == flag_id)
            .values(repost_of_flag_id=removed, priority=REPOST_PRIORITY)
            .execution_options(synchronize_session=False)
        )


def _record_sighting(
    session: Session, flag_id: int, page_url: str, seen_at: datetime, run_id: int
) -> None:
    insert = dialect_insert(session, MediaSighting).values(
        flag_id=flag_id,
        page_url=page_url,
        page_url_key=url_key(page_url),
        first_seen=seen_at,
        last_seen=seen_at,
        first_run_id=run_id,
        last_run_id=run_id,
    )
    newer = MediaSighting.last_seen <= insert.excluded.last_seen
    session.execute(
        insert.on_conflict_do_update(
            index_elements=[MediaSighting.flag_id, MediaSighting.page_url_key],
            set_={
                "last_seen": sa.case(
                    (newer, insert.excluded.last_seen), else_=MediaSighting.last_seen
                ),
                "last_run_id": sa.case(
                    (newer, insert.excluded.last_run_id), else_=MediaSighting.last_run_id
                ),
            },
        )
    )


def get_flag(session: Session, flag_id: int) -> FlagView:
    """One flag; raises :class:`FlagNotFound`."""
    row = session.execute(_flags().where(Flag.id == flag_id)).one_or_none()
    if row is None:
        raise FlagNotFound(flag_id)
    return FlagView(*row)


def list_flags(
    session: Session,
    *,
    status: str | None = None,
    case: str | None = None,
    site: str | None = None,
    limit: int | None = None,
) -> list[FlagView]:
    """Flags, oldest first seen first, optionally of one status, case (name) or site (name)."""
    query = _flags().order_by(Flag.first_seen, Flag.id).limit(limit)
    if status is not None:
        query = query.where(Flag.status == _status(status))
    if case is not None:
        query = query.where(Case.name == case)
    if site is not None:
        query = query.where(Site.name == site)
    return [FlagView(*row) for row in session.execute(query)]


def decide(
    session: Session, flag_id: int, decision: str, *, by: str, role: str | None = None
) -> FlagView:
    """Record a reviewer's decision, "confirm" or "reject"; a later decision replaces it.

    ``role`` is the deciding account's: a flag an approved or sent notice asks for needs an
    approver, and a closed case's flag is not confirmed (:class:`DecisionRefused`). A flag that
    leaves "confirmed" is withdrawn from its notices (:mod:`crawler.db.withdrawals`); rejecting
    deletes its evidence, unless a sent notice named it. Raises :class:`FlagNotFound` for an
    unknown id and ValueError for another decision, or for a flag whose media a re-check found
    removed (its record of the removal stays as it is).
    """
    if decision not in DECISIONS:
        raise ValueError(f"decision must be 'confirm' or 'reject', not {decision!r}")
    by = by.strip()
    if not by:
        raise ValueError("a decision needs the reviewer's name (by=...)")
    before = session.execute(
        select(Flag.status, Case.name, Case.closed_at)
        .join(Case, Flag.case_id == Case.id)
        .where(Flag.id == flag_id)
    ).first()
    if before is None:
        raise FlagNotFound(flag_id)
    if decision == "confirm" and before.closed_at is not None:
        raise DecisionRefused(
            Problem(
                N_(
                    "flag %(flag)s belongs to case %(case)s, closed at %(at)s UTC: a closed "
                    "case's flags are not confirmed (reject it, or register the media under a "
                    "new case)"
                ),
                {
                    "flag": flag_id,
                    "case": repr(before.name),
                    "at": f"{before.closed_at:%Y-%m-%d %H:%M}",
                },
            )
        )
    withdrawals.check_decision(session, flag_id, role)
    decided = session.execute(
        update(Flag)
        .where(Flag.id == flag_id, Flag.removed_at.is_(None))
        .values(status=DECISIONS[decision], decided_by=by, decided_at=utcnow())
        .returning(Flag.id)
        .execution_options(synchronize_session=False)
    ).first()
    if decided is None:
        removed_at = session.execute(select(Flag.removed_at).where(Flag.id == flag_id)).scalar()
        raise ValueError(
            f"flag {flag_id} was found removed from its site at {removed_at:%Y-%m-%d %H:%M} "
            "UTC; a removed flag is not decided again"
        )
    if before.status == "confirmed" and decision != "confirm":
        withdrawals.withdraw_flag(session, flag_id)
    # A rejected flag keeps no evidence, unless a sent notice named it (the record of what
    # was asked for, and why).
    if decision == "reject" and not withdrawals.in_sent_notice(session, flag_id):
        delete_flag_evidence(session, flag_id)
        delete_screenshots(session, [flag_id], "the flag was rejected")
    return get_flag(session, flag_id)


def count_flags(session: Session, run_id: int | None = None, *, status: str | None = None) -> int:
    """Number of flags; with ``run_id``, those that run raised first (its new flags)."""
    query = select(func.count(Flag.id))
    if run_id is not None:
        query = query.where(Flag.first_run_id == run_id)
    if status is not None:
        query = query.where(Flag.status == _status(status))
    return session.execute(query).scalar_one()


def _flags() -> Select:
    sighting = aliased(MediaSighting)
    keyword_case = aliased(Case)
    pages_seen = (
        select(func.count(sighting.id))
        .where(sighting.flag_id == Flag.id)
        .correlate(Flag)
        .scalar_subquery()
    )
    return (
        select(
            Flag.id,
            Flag.status,
            Case.name,
            Site.name,
            Flag.page_url,
            Flag.media_url,
            Flag.media_sha256,
            Flag.algorithm,
            Flag.distance,
            Flag.reference_id,
            Flag.first_seen,
            Flag.last_seen,
            Flag.first_run_id,
            Flag.last_run_id,
            Flag.decided_by,
            Flag.decided_at,
            pages_seen,
            Flag.variant,
            Flag.evidence,
            Flag.keyword,
            keyword_case.name,
            Flag.embedded_in,
        )
        .join(Case, Flag.case_id == Case.id)
        .join(Site, Flag.site_id == Site.id)
        .outerjoin(keyword_case, Flag.keyword_case_id == keyword_case.id)
    )


def _first_keyword(keyword: str | None, keyword_case: int | None) -> dict[str, object]:
    """Update values that give a flag without a keyword this one, and leave others alone."""
    if not keyword:
        return {}
    unset = Flag.keyword.is_(None)
    return {
        "keyword": sa.case((unset, literal(keyword, sa.String())), else_=Flag.keyword),
        "keyword_case_id": sa.case(
            (unset, literal(keyword_case, sa.Integer())), else_=Flag.keyword_case_id
        ),
    }


def _status(status: str) -> str:
    if status not in FLAG_STATUSES:
        raise ValueError(f"status must be one of {', '.join(FLAG_STATUSES)}, not {status!r}")
    return status


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, e.g. datetime.now(UTC)")
    return value
