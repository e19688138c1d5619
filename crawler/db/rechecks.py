"""Removal re-checks and time-to-removal: which confirmed flags to check, what each re-check
saw (:func:`observe`: a flag is removed only when seen gone twice, far enough apart), marking
media removed (and resolving notices whose items are all removed), removal times per flag, and
a flag's whole takedown story (repost, removal, notices) for the review app.

Time-to-removal counts from the first sending of the flag's notice, or, for media removed before
any notice was sent, from the flag's confirmation. Functions take a Session; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from crawler.db.models import Case, Flag, Notice, NoticeItem, RecheckObservation, Site


def _case_flags(case: str):
    return select(Flag.id).join(Case, Flag.case_id == Case.id).where(Case.name == case)


@dataclass(frozen=True, slots=True)
class CheckTarget:
    """A confirmed flag whose media is re-checked on its site."""

    flag_id: int
    site: str
    page_url: str
    media_url: str
    media_sha256: str
    media_pdq: str | None


@dataclass(frozen=True, slots=True)
class Removal:
    """A removed flag and how long removal took, counted from ``counted_from``."""

    flag_id: int
    site: str
    removed_at: datetime
    reason: str | None
    time_to_removal: timedelta
    counted_from: str  # "notice" (first sending of its notice) or "confirmation"


def check_targets(
    session: Session, site: str | None = None, *, checked_before: datetime | None = None
) -> list[CheckTarget]:
    """Confirmed flags whose media was not found removed yet: what a re-check visits. With
    ``checked_before``, only those never checked or last seen (present or gone) before then,
    the longest unchecked first (what a scheduled re-check is due to visit)."""
    query = (
        select(
            Flag.id,
            Site.name,
            Flag.page_url,
            Flag.media_url,
            Flag.media_sha256,
            Flag.media_pdq,
        )
        .join(Site, Flag.site_id == Site.id)
        .where(Flag.status == "confirmed", Flag.removed_at.is_(None))
        .order_by(Site.name, Flag.id)
    )
    if site is not None:
        query = query.where(Site.name == site)
    if checked_before is not None:
        query = (
            query.where(or_(Flag.last_checked_at.is_(None), Flag.last_checked_at < checked_before))
            .order_by(None)
            .order_by(Flag.last_checked_at.nulls_first(), Flag.id)
        )
    return [CheckTarget(*row) for row in session.execute(query)]


@dataclass(frozen=True, slots=True)
class Observation:
    """What one re-check saw of a flag's media."""

    outcome: str  # "present", "gone" or "unknown" (RECHECK_OUTCOMES)
    http_status: int | None = None  # the media URL's answer (or the page's, when it failed)
    reason: str | None = None  # media_http_404, media_changed, page_http_404, an error, ...


@dataclass(frozen=True, slots=True)
class Verdict:
    """What an observation made of the flag: removed (with the notices that this resolved), or
    seen gone since ``gone_since`` and removed if still gone at ``removable_at``."""

    removed: bool = False
    resolved_notices: tuple[int, ...] = ()
    gone_since: datetime | None = None
    removable_at: datetime | None = None


def observe(
    session: Session,
    flag_id: int,
    observation: Observation,
    *,
    now: datetime,
    gone_after: timedelta,
) -> Verdict:
    """Record a re-check of ``flag_id`` and act on it. Media seen present or gone moves
    ``last_checked_at`` on. The flag becomes "removed" (:func:`mark_removed`) only when this and
    an earlier observation both saw it gone, at least ``gone_after``
    (REPOSTWATCH_RECHECK_GONE_HOURS) apart, with no sighting of the media in between: one 404,
    a maintenance page or an answer meant for one user agent is never enough."""
    session.add(
        RecheckObservation(
            flag_id=flag_id,
            observed_at=now,
            outcome=observation.outcome,
            http_status=observation.http_status,
            reason=(observation.reason or "")[:1000] or None,
        )
    )
    session.flush()
    if observation.outcome == "unknown":
        return Verdict()
    session.execute(update(Flag).where(Flag.id == flag_id).values(last_checked_at=now))
    if observation.outcome != "gone":
        return Verdict()
    last_present = (
        select(func.max(RecheckObservation.observed_at))
        .where(RecheckObservation.flag_id == flag_id, RecheckObservation.outcome == "present")
        .scalar_subquery()
    )
    first_gone, times_gone = session.execute(
        select(func.min(RecheckObservation.observed_at), func.count(RecheckObservation.id)).where(
            RecheckObservation.flag_id == flag_id,
            RecheckObservation.outcome == "gone",
            or_(last_present.is_(None), RecheckObservation.observed_at > last_present),
        )
    ).one()
    if times_gone >= 2 and now - first_gone >= gone_after:
        resolved = mark_removed(session, flag_id, now=now, reason=observation.reason or "gone")
        return Verdict(True, tuple(resolved), first_gone, first_gone + gone_after)
    return Verdict(False, (), first_gone, first_gone + gone_after)


def observations(session: Session, flag_id: int) -> list[RecheckObservation]:
    """Every re-check of ``flag_id``, oldest first."""
    return list(
        session.scalars(
            select(RecheckObservation)
            .where(RecheckObservation.flag_id == flag_id)
            .order_by(RecheckObservation.observed_at, RecheckObservation.id)
        )
    )


def mark_removed(session: Session, flag_id: int, *, now: datetime, reason: str) -> list[int]:
    """The flag's media is gone (:func:`observe` decides when): the flag becomes "removed".
    Its encrypted evidence is kept until its case closes (a takedown can be disputed, and the
    media can come back); a repost of it is a new flag. Notices whose every item is now removed
    are resolved; their ids are returned."""
    session.execute(
        update(Flag)
        .where(Flag.id == flag_id, Flag.status == "confirmed")
        .values(status="removed", removed_at=now, removed_reason=reason, last_checked_at=now)
    )
    notice_ids = session.execute(
        select(NoticeItem.notice_id).where(NoticeItem.flag_id == flag_id)
    ).scalars()
    resolved = []
    for notice_id in notice_ids:
        open_items = session.execute(
            select(func.count(NoticeItem.id))
            .join(Flag, NoticeItem.flag_id == Flag.id)
            .where(
                NoticeItem.notice_id == notice_id,
                # A withdrawn item holds the notice open only until its correction is sent.
                or_(
                    and_(Flag.removed_at.is_(None), NoticeItem.withdrawn_at.is_(None)),
                    and_(NoticeItem.correction_due, NoticeItem.correction_sent_at.is_(None)),
                ),
            )
        ).scalar_one()
        if open_items == 0:
            session.execute(
                update(Notice)
                .where(Notice.id == notice_id, Notice.status == "sent")
                .values(status="resolved", resolved_at=now, next_send_at=None)
            )
            resolved.append(notice_id)
    return resolved


def removals(
    session: Session, site: str | None = None, *, case: str | None = None
) -> list[Removal]:
    """Removed flags (of one site, or one case) with their time-to-removal: from the first
    sending of the flag's notice, or, for media removed before any notice was sent, from the
    flag's confirmation."""
    first_sent = (
        select(func.min(Notice.sent_at))
        .join(NoticeItem, NoticeItem.notice_id == Notice.id)
        .where(NoticeItem.flag_id == Flag.id)
        .correlate(Flag)
        .scalar_subquery()
    )
    query = (
        select(
            Flag.id,
            Site.name,
            Flag.removed_at,
            Flag.removed_reason,
            first_sent,
            Flag.decided_at,
            Flag.first_seen,
        )
        .join(Site, Flag.site_id == Site.id)
        .where(Flag.removed_at.is_not(None))
        .order_by(Flag.removed_at, Flag.id)
    )
    if site is not None:
        query = query.where(Site.name == site)
    if case is not None:
        query = query.where(Flag.id.in_(_case_flags(case)))
    found = []
    for flag_id, site_name, removed_at, reason, sent_at, decided_at, first_seen in session.execute(
        query
    ):
        if sent_at is not None:
            start, counted_from = sent_at, "notice"
        else:
            start, counted_from = decided_at or first_seen, "confirmation"
        found.append(
            Removal(flag_id, site_name, removed_at, reason, removed_at - start, counted_from)
        )
    return found


@dataclass(frozen=True)
class FlagTakedown:
    """A flag's takedown story: the removed flag it reposts, its removal, its notice(s)."""

    repost_of: int | None
    repost_of_removed_at: datetime | None
    removed_at: datetime | None
    removed_reason: str | None
    time_to_removal: timedelta | None
    counted_from: str | None
    notices: tuple[tuple[int, str], ...]  # (notice id, status)


def flag_takedown(session: Session, flag_id: int) -> FlagTakedown:
    """What the flag page shows about takedown. Raises LookupError for an unknown flag."""
    flag = session.get(Flag, flag_id)
    if flag is None:
        raise LookupError(flag_id)
    original = session.get(Flag, flag.repost_of_flag_id) if flag.repost_of_flag_id else None
    removal = None
    if flag.removed_at is not None:
        site = session.execute(select(Site.name).where(Site.id == flag.site_id)).scalar_one()
        removal = next((r for r in removals(session, site) if r.flag_id == flag_id), None)
    notices = session.execute(
        select(Notice.id, Notice.status)
        .join(NoticeItem, NoticeItem.notice_id == Notice.id)
        .where(NoticeItem.flag_id == flag_id)
        .order_by(Notice.id)
    )
    return FlagTakedown(
        repost_of=flag.repost_of_flag_id,
        repost_of_removed_at=original.removed_at if original is not None else None,
        removed_at=flag.removed_at,
        removed_reason=flag.removed_reason,
        time_to_removal=removal.time_to_removal if removal else None,
        counted_from=removal.counted_from if removal else None,
        notices=tuple((notice_id, status) for notice_id, status in notices),
    )
