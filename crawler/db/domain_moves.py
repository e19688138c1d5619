"""Domain moves: a site seen at another registrable domain, waiting for staff to adopt or
dismiss it.

The crawl records what it saw (:func:`record_move`): one row per site, old and new domain, seen
again on later crawls (its evidence and time updated, never a second row, and a dismissed move
stays dismissed). The scheduler alerts each proposed move once (:func:`unalerted`,
:func:`mark_alerted`). Adopting rewrites the site's definition, which ``crawler.site_store``
validates and saves (:func:`crawler.site_store.adopt_move`); this module only marks the row.

Functions take a Session; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.db import audit
from crawler.db.models import DomainMove, Site, utcnow
from crawler.db.models.crawl import DOMAIN_LENGTH
from crawler.db.runs import ensure_site
from crawler.problems import N_, Problem

#: What the audit log calls staff's decisions on a move.
MOVE_ADOPTED = "domain_move_adopted"
MOVE_DISMISSED = "domain_move_dismissed"


class MoveNotOpen(ValueError):
    """The move does not exist, or was adopted or dismissed already."""


#: Why a move cannot be decided again, by the state it is in.
_DECIDED = {
    "adopted": N_("domain move %(id)s was adopted already by %(by)s"),
    "dismissed": N_("domain move %(id)s was dismissed already by %(by)s"),
}


@dataclass(frozen=True, slots=True)
class MoveView:
    id: int
    site: str
    old_domain: str
    new_domain: str
    kind: str  # "redirect" or "successor"
    new_url: str
    evidence: str
    run_id: int | None
    first_seen_at: datetime
    seen_at: datetime
    times_seen: int
    state: str
    decided_at: datetime | None
    decided_by: str | None


def _view(row: DomainMove, site: str) -> MoveView:
    return MoveView(
        row.id,
        site,
        row.old_domain,
        row.new_domain,
        row.kind,
        row.new_url,
        row.evidence,
        row.run_id,
        row.first_seen_at,
        row.seen_at,
        row.times_seen,
        row.state,
        row.decided_at,
        row.decided_by,
    )


def record_move(
    session: Session,
    site: str,
    *,
    old_domain: str,
    new_domain: str,
    kind: str,
    new_url: str,
    evidence: str,
    run_id: int | None = None,
) -> tuple[int, bool]:
    """Record that ``site`` was seen moving from ``old_domain`` to ``new_domain``; returns the
    move's id and whether it is new. A move seen before is updated (last seen, evidence), its
    state kept: a dismissed move is not proposed again."""
    site_id = ensure_site(session, site)
    old_domain, new_domain = old_domain[:DOMAIN_LENGTH], new_domain[:DOMAIN_LENGTH]
    now = utcnow()
    row = session.execute(
        select(DomainMove)
        .where(
            DomainMove.site_id == site_id,
            DomainMove.old_domain == old_domain,
            DomainMove.new_domain == new_domain,
        )
        .with_for_update()
    ).scalar_one_or_none()
    if row is not None:
        row.seen_at = now
        row.times_seen += 1
        row.evidence = evidence
        row.new_url = new_url
        row.run_id = run_id if run_id is not None else row.run_id
        session.flush()
        return row.id, False
    row = DomainMove(
        site_id=site_id,
        old_domain=old_domain,
        new_domain=new_domain,
        kind=kind,
        new_url=new_url,
        evidence=evidence,
        run_id=run_id,
        first_seen_at=now,
        seen_at=now,
        times_seen=1,
        state="proposed",
    )
    session.add(row)
    session.flush()
    return row.id, True


def moves(session: Session, *, state: str | None = None, site: str | None = None) -> list[MoveView]:
    """Moves, newest seen first; only those in ``state`` / of ``site`` when given."""
    query = select(DomainMove, Site.name).join(Site, Site.id == DomainMove.site_id)
    if state is not None:
        query = query.where(DomainMove.state == state)
    if site is not None:
        query = query.where(Site.name == site)
    rows = session.execute(query.order_by(DomainMove.seen_at.desc(), DomainMove.id.desc()))
    return [_view(row, name) for row, name in rows]


def get_move(session: Session, move_id: int, *, lock: bool = False) -> MoveView | None:
    query = (
        select(DomainMove, Site.name)
        .join(Site, Site.id == DomainMove.site_id)
        .where(DomainMove.id == move_id)
    )
    found = session.execute(query.with_for_update() if lock else query).first()
    return None if found is None else _view(*found)


def open_move(session: Session, move_id: int) -> MoveView:
    """The proposed move ``move_id``, locked; MoveNotOpen if there is none."""
    move = get_move(session, move_id, lock=True)
    if move is None:
        raise MoveNotOpen(
            Problem(
                N_("no domain move %(id)s; `repostwatch sites moves` lists them"), {"id": move_id}
            )
        )
    if move.state != "proposed":
        template = _DECIDED.get(
            move.state, N_("domain move %(id)s was %(state)s already by %(by)s")
        )
        params = {"id": move_id, "state": move.state, "by": move.decided_by or "-"}
        raise MoveNotOpen(Problem(template, params))
    return move


def decide(
    session: Session,
    move_id: int,
    state: str,
    *,
    by: str,
    user_id: int | None = None,
    os_user: str | None = None,
    ip: str | None = None,
    via: str,
    details: dict | None = None,
) -> MoveView:
    """Mark the proposed move ``move_id`` adopted or dismissed, audited."""
    move = open_move(session, move_id)
    row = session.get(DomainMove, move_id)
    assert row is not None
    row.state = state
    row.decided_at = utcnow()
    row.decided_by = by[:200]
    audit.record(
        session,
        MOVE_ADOPTED if state == "adopted" else MOVE_DISMISSED,
        user_id=user_id,
        username=by,
        target_type="site",
        target_id=move.site,
        details={
            "move": move_id,
            "old_domain": move.old_domain,
            "new_domain": move.new_domain,
            "via": via,
            **(details or {}),
        },
        ip=ip,
        os_user=os_user,
    )
    session.flush()
    return _view(row, move.site)


def unalerted(session: Session) -> list[MoveView]:
    """Proposed moves not alerted yet, oldest first."""
    rows = session.execute(
        select(DomainMove, Site.name)
        .join(Site, Site.id == DomainMove.site_id)
        .where(DomainMove.state == "proposed", DomainMove.alerted_at.is_(None))
        .order_by(DomainMove.id)
    )
    return [_view(row, name) for row, name in rows]


def mark_alerted(session: Session, move_ids: list[int]) -> None:
    now = utcnow()
    for move_id in move_ids:
        row = session.get(DomainMove, move_id)
        if row is not None:
            row.alerted_at = now
    session.flush()
