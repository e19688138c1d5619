"""A match named by what it is, not by database ids: for the crawl's spill file.

A match that could not be written waits in a file, possibly until after the database was
restored from a backup, where the same ids may name another victim's case. So the file names
the case by its name, the reference by its case, algorithm and hash value, the site by its name
and the crawl run by its site and start time; :func:`resolve` finds the rows again and refuses a
match whose case or reference is no longer there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.db.models import Case, CrawlRun, ReferenceHash, Site
from crawler.db.runs import ensure_site


@dataclass(frozen=True, slots=True)
class ReferenceKey:
    """A reference hash as its case and hash: unique per database, and the same after a restore."""

    case: str
    algorithm: str
    value: str


@dataclass(frozen=True, slots=True)
class MatchNames:
    """What a spilled match says in place of ids: its reference (None when it could not be
    learnt: the database was down from the moment the match was found), site and run."""

    reference: ReferenceKey | None
    site: str
    run_started_at: datetime


@dataclass(frozen=True, slots=True)
class Resolved:
    """The database ids a spilled match's keys name in this database."""

    case_id: int
    reference_id: int
    site_id: int
    run_id: int


class UnresolvableMatch(LookupError):
    """A spilled match names a case or reference this database does not have: it never will."""


def reference_keys(session: Session, reference_ids: Iterable[int]) -> dict[int, ReferenceKey]:
    """The natural keys of reference hashes by id (withdrawn ones too)."""
    ids = sorted(set(reference_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(ReferenceHash.id, Case.name, ReferenceHash.algorithm, ReferenceHash.value)
        .join(Case, ReferenceHash.case_id == Case.id)
        .where(ReferenceHash.id.in_(ids))
    )
    return {row[0]: ReferenceKey(row[1], row[2], row[3]) for row in rows}


def case_names(session: Session) -> dict[int, str]:
    """Every case's name by id (a few rows: kept in memory by a crawl)."""
    return {case_id: name for case_id, name in session.execute(select(Case.id, Case.name))}


def resolve(session: Session, names: MatchNames) -> Resolved:
    """The ids of a spilled match's case, reference, site and run.

    Raises :class:`UnresolvableMatch` when the reference (or its case) is not in this database.
    The site is created if missing; a run missing from this database (restored from a backup
    taken before it started) is recreated as a failed run of that site with its start time.
    """
    reference, site, run_started_at = names.reference, names.site, names.run_started_at
    if reference is None:
        raise UnresolvableMatch(
            "the match does not say which reference it matched (the database was already down "
            "when it was found); crawl the page again to flag it"
        )
    row = session.execute(
        select(ReferenceHash.id, Case.id)
        .join(Case, ReferenceHash.case_id == Case.id)
        .where(
            Case.name == reference.case,
            ReferenceHash.algorithm == reference.algorithm,
            ReferenceHash.value == reference.value,
        )
    ).one_or_none()
    if row is None:
        case = session.execute(select(Case.id).where(Case.name == reference.case)).first()
        raise UnresolvableMatch(
            f"case {reference.case!r} is not in this database"
            if case is None
            else f"case {reference.case!r} has no {reference.algorithm} reference "
            f"{reference.value[:16]}... in this database"
        )
    reference_id, case_id = row
    site_id = ensure_site(session, site)
    run_id = session.execute(
        select(CrawlRun.id)
        .join(Site, CrawlRun.site_id == Site.id)
        .where(Site.id == site_id, CrawlRun.started_at == run_started_at)
        .order_by(CrawlRun.id)
        .limit(1)
    ).scalar()
    if run_id is None:
        run = CrawlRun(
            site_id=site_id,
            status="failed",
            started_at=run_started_at,
            finished_at=run_started_at,
            finish_reason="recreated for matches replayed from the spill file",
        )
        session.add(run)
        session.flush()
        run_id = run.id
    return Resolved(case_id=case_id, reference_id=reference_id, site_id=site_id, run_id=run_id)
