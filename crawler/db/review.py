"""The review queue: pending flags, filtered and ordered, claimed in batches, decided.

A reviewer *claims* a batch of pending flags (``flags.claimed_by`` + a lease in
``flags.claimed_until``); two reviewers never get the same flag. On PostgreSQL the candidates are
locked with ``SELECT ... FOR UPDATE SKIP LOCKED`` so concurrent claims pass each other by; on
SQLite the claim runs inside ``BEGIN IMMEDIATE`` (one writer at a time) and the ``UPDATE`` only
takes flags that are still unclaimed or whose lease ran out, returning what it got. A lease that
runs out puts the flag back in the queue. Functions take a Session; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from crawler.db.flags import DECISIONS, FlagNotFound, decide
from crawler.db.models import Case, Flag, MediaSighting, Site, User, utcnow
from crawler.problems import N_, Problem

#: Queue orders. "priority" (the default): higher ``flags.priority`` first (reposts of removed
#: media have 100), then oldest first seen; "oldest": first seen only.
QUEUE_ORDERS = ("priority", "oldest")
DEFAULT_ORDER = "priority"
DEFAULT_BATCH = 20
DEFAULT_LEASE = timedelta(minutes=30)


class ClaimedByOther(RuntimeError):
    """The flag is claimed by another reviewer whose lease has not run out."""

    def __init__(self, flag_id: int, by: str | None) -> None:
        if by:
            template = N_("flag %(flag)s is claimed by %(by)s; take another one from the queue")
        else:
            template = N_(
                "flag %(flag)s is claimed by another reviewer; take another one from the queue"
            )
        super().__init__(Problem(template, {"flag": flag_id, "by": by}))
        self.flag_id = flag_id


@dataclass(frozen=True, slots=True)
class QueueFilters:
    site: str | None = None
    case: str | None = None
    algorithm: str | None = None
    max_distance: int | None = None


@dataclass(frozen=True, slots=True)
class ReviewFlag:
    id: int
    status: str
    case: str
    site: str
    page_url: str
    media_url: str
    media_sha256: str
    algorithm: str
    variant: str | None
    distance: int
    priority: int
    first_seen: datetime
    last_seen: datetime
    decided_by: str | None
    decided_at: datetime | None
    claimed_by_id: int | None
    claimed_by: str | None  # username
    claimed_until: datetime | None
    pages_seen: int
    evidence: str | None  # JSON match details (video frames), not the media
    repost_of: int | None = None  # the removed flag whose media this one found again
    embedded_in: str | None = None  # the page that embeds page_url (an <iframe> player)

    def claimed_by_other(self, user_id: int, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return (
            self.claimed_by_id is not None
            and self.claimed_by_id != user_id
            and self.claimed_until is not None
            and self.claimed_until > now
        )


@dataclass(frozen=True, slots=True)
class Sighting:
    page_url: str
    first_seen: datetime
    last_seen: datetime


def _select() -> Select:
    sighting = aliased(MediaSighting)
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
            Flag.variant,
            Flag.distance,
            Flag.priority,
            Flag.first_seen,
            Flag.last_seen,
            Flag.decided_by,
            Flag.decided_at,
            Flag.claimed_by,
            User.username,
            Flag.claimed_until,
            pages_seen,
            Flag.evidence,
            Flag.repost_of_flag_id,
            Flag.embedded_in,
        )
        .join(Case, Flag.case_id == Case.id)
        .join(Site, Flag.site_id == Site.id)
        .outerjoin(User, Flag.claimed_by == User.id)
    )


def _filtered(query: Select, filters: QueueFilters) -> Select:
    if filters.site:
        query = query.where(Flag.site_id.in_(select(Site.id).where(Site.name == filters.site)))
    if filters.case:
        query = query.where(Flag.case_id.in_(select(Case.id).where(Case.name == filters.case)))
    if filters.algorithm:
        query = query.where(Flag.algorithm == filters.algorithm)
    if filters.max_distance is not None:
        query = query.where(Flag.distance <= filters.max_distance)
    return query


def _ordered(query: Select, order: str) -> Select:
    if order not in QUEUE_ORDERS:
        raise ValueError(f"order must be one of {', '.join(QUEUE_ORDERS)}, not {order!r}")
    if order == "priority":
        return query.order_by(Flag.priority.desc(), Flag.first_seen, Flag.id)
    return query.order_by(Flag.first_seen, Flag.id)


def _free(user_id: int, now: datetime):
    """Flags this user may claim: unclaimed, lease run out, or already theirs."""
    return or_(Flag.claimed_by.is_(None), Flag.claimed_until < now, Flag.claimed_by == user_id)


def list_queue(
    session: Session,
    filters: QueueFilters = QueueFilters(),
    *,
    order: str = DEFAULT_ORDER,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ReviewFlag], int]:
    """One page of pending flags (claimed or not) and how many pending flags match in all."""
    base = _filtered(select(Flag.id).where(Flag.status == "pending"), filters)
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    query = _ordered(_filtered(_select().where(Flag.status == "pending"), filters), order)
    rows = session.execute(query.limit(limit).offset(offset))
    return [ReviewFlag(*row) for row in rows], total


def newest_flag_id(session: Session) -> int:
    """The highest flag id there is (0 when there is none): the queue page remembers it, and
    :func:`count_newer` counts what came after it."""
    return session.execute(select(func.max(Flag.id))).scalar() or 0


def count_newer(session: Session, after_id: int, filters: QueueFilters = QueueFilters()) -> int:
    """How many pending flags matching ``filters`` have an id above ``after_id``: the flags
    recorded since a queue page that saw :func:`newest_flag_id` ``after_id`` was made."""
    query = _filtered(select(Flag.id).where(Flag.status == "pending", Flag.id > after_id), filters)
    return session.execute(select(func.count()).select_from(query.subquery())).scalar_one()


def get_review_flag(session: Session, flag_id: int) -> ReviewFlag:
    row = session.execute(_select().where(Flag.id == flag_id)).one_or_none()
    if row is None:
        raise FlagNotFound(flag_id)
    return ReviewFlag(*row)


def sightings(session: Session, flag_id: int) -> list[Sighting]:
    query = (
        select(MediaSighting.page_url, MediaSighting.first_seen, MediaSighting.last_seen)
        .where(MediaSighting.flag_id == flag_id)
        .order_by(MediaSighting.first_seen, MediaSighting.id)
    )
    return [Sighting(*row) for row in session.execute(query)]


def claim_batch(
    session: Session,
    user_id: int,
    *,
    size: int = DEFAULT_BATCH,
    filters: QueueFilters = QueueFilters(),
    order: str = DEFAULT_ORDER,
    lease: timedelta = DEFAULT_LEASE,
    now: datetime | None = None,
) -> list[int]:
    """Claim up to ``size`` pending flags for ``user_id`` (counting the ones already theirs).

    Returns the ids of every flag the user now holds, in queue order; their leases are renewed.
    Call it at the start of a transaction and commit soon after: on SQLite it holds the write
    lock until then.
    """
    now = now or utcnow()
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        _begin_immediate(session)
    candidates = _ordered(
        _filtered(select(Flag.id).where(Flag.status == "pending", _free(user_id, now)), filters),
        order,
    ).limit(size)
    if dialect == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True, of=Flag)
    # Already-held flags first, so that a top-up never drops one the reviewer is working on.
    held = list(
        session.execute(
            select(Flag.id).where(
                Flag.status == "pending", Flag.claimed_by == user_id, Flag.claimed_until >= now
            )
        ).scalars()
    )
    wanted = list(dict.fromkeys([*held, *session.execute(candidates).scalars()]))[:size]
    if not wanted:
        return []
    got = set(
        session.execute(
            update(Flag)
            .where(Flag.id.in_(wanted), Flag.status == "pending", _free(user_id, now))
            .values(claimed_by=user_id, claimed_until=now + lease)
            .returning(Flag.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    if not got:
        return []
    return list(session.execute(_ordered(select(Flag.id).where(Flag.id.in_(got)), order)).scalars())


def _begin_immediate(session: Session) -> None:
    """Take SQLite's write lock now, so the read and the update below see one state."""
    connection = session.connection()
    driver = connection.connection.driver_connection
    if not driver.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def my_claims(
    session: Session, user_id: int, *, order: str = DEFAULT_ORDER, now: datetime | None = None
) -> list[ReviewFlag]:
    """The pending flags ``user_id`` holds with a lease that has not run out."""
    now = now or utcnow()
    query = _select().where(
        Flag.status == "pending", Flag.claimed_by == user_id, Flag.claimed_until >= now
    )
    return [ReviewFlag(*row) for row in session.execute(_ordered(query, order))]


def release(session: Session, user_id: int, flag_id: int | None = None) -> int:
    """Give back one claimed flag (or all of them) to the queue; returns how many."""
    query = update(Flag).where(Flag.claimed_by == user_id)
    if flag_id is not None:
        query = query.where(Flag.id == flag_id)
    return session.execute(
        query.values(claimed_by=None, claimed_until=None).execution_options(
            synchronize_session=False
        )
    ).rowcount


def decide_flag(
    session: Session,
    flag_id: int,
    decision: str,
    *,
    user_id: int,
    username: str,
    role: str,
    now: datetime | None = None,
) -> ReviewFlag:
    """Decide one flag as ``username`` (whose role is ``role``) and release its claim; see
    :func:`crawler.db.flags.decide` for what a decision does and who may make it.

    Raises :class:`ClaimedByOther` when another reviewer holds the flag, and
    :class:`~crawler.db.withdrawals.DecisionRefused` when this account may not decide it.
    """
    current = session.execute(
        select(Flag.claimed_by, Flag.claimed_until, User.username)
        .outerjoin(User, Flag.claimed_by == User.id)
        .where(Flag.id == flag_id)
    ).one_or_none()
    if current is None:
        raise FlagNotFound(flag_id)
    now = now or utcnow()
    claimed_by, claimed_until, holder = current
    if claimed_by not in (None, user_id) and claimed_until is not None and claimed_until > now:
        raise ClaimedByOther(flag_id, holder)
    decide(session, flag_id, decision, by=username, role=role)
    release(session, user_id, flag_id)
    return get_review_flag(session, flag_id)


def pending_same_media(session: Session, media_sha256: str) -> list[ReviewFlag]:
    """Every pending flag of the same media content (the same file at many URLs)."""
    query = _select().where(Flag.status == "pending", Flag.media_sha256 == media_sha256)
    return [ReviewFlag(*row) for row in session.execute(_ordered(query, "oldest"))]


def decide_same_media(
    session: Session,
    media_sha256: str,
    decision: str,
    *,
    user_id: int,
    username: str,
    role: str,
    now: datetime | None = None,
) -> list[int]:
    """Decide every pending flag with this media SHA-256 at once (flags another reviewer holds
    are left alone); returns the ids decided."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be 'confirm' or 'reject', not {decision!r}")
    now = now or utcnow()
    ids = list(
        session.execute(
            select(Flag.id)
            .where(
                Flag.status == "pending",
                Flag.media_sha256 == media_sha256,
                _free(user_id, now),
            )
            .order_by(Flag.id)
        ).scalars()
    )
    for flag_id in ids:
        decide(session, flag_id, decision, by=username, role=role)
    if ids:
        session.execute(
            update(Flag)
            .where(Flag.id.in_(ids))
            .values(claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
    return ids


def filter_choices(session: Session) -> dict[str, list[str]]:
    """Sites, cases and algorithms that have pending flags, for the queue's filter menus."""
    pending = Flag.status == "pending"
    return {
        "site": list(
            session.execute(
                select(Site.name)
                .join(Flag, and_(Flag.site_id == Site.id, pending))
                .distinct()
                .order_by(Site.name)
            ).scalars()
        ),
        "case": list(
            session.execute(
                select(Case.name)
                .join(Flag, and_(Flag.case_id == Case.id, pending))
                .distinct()
                .order_by(Case.name)
            ).scalars()
        ),
        "algorithm": list(
            session.execute(
                select(Flag.algorithm).where(pending).distinct().order_by(Flag.algorithm)
            ).scalars()
        ),
    }


def counts_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(Flag.status, func.count(Flag.id)).group_by(Flag.status))
    return {status: count for status, count in rows}
