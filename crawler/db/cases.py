"""A victim's case as support staff follow it: its references (counts and hashes only), keywords,
flags by state, notices, removals and median time-to-removal; closing a case.

Time-to-removal comes from :func:`crawler.db.rechecks.removals` (the same figures as
`repostwatch notices removals`), so the case page, the victim's report and the dashboard agree.
Closing a case deletes its encrypted evidence and pixelated thumbnails, withdraws its references
(they stop matching) and its search keywords, and takes its flags out of draft notices; flags,
notices and hashes stay as the record.
Functions take a Session; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from crawler.db import evidence, keywords, notices, rechecks, references, withdrawals
from crawler.db import screenshots as db_screenshots
from crawler.db.models import (
    FLAG_STATUSES,
    Case,
    CaseKeyword,
    Flag,
    ReferenceHash,
    ReferenceThumbnail,
    ReferenceVideo,
    Site,
    utcnow,
)
from crawler.db.session import dialect_insert
from crawler.problems import N_, Problem

#: Reference kinds: an image file's hashes, a video file's hashes (its frames are matched too).
REFERENCE_KINDS = ("image", "video")


class CaseNotFound(LookupError):
    """No case has the name asked for."""

    def __init__(self, case: str) -> None:
        super().__init__(
            Problem(
                N_("no case named %(case)s; list the cases with `repostwatch cases list`"),
                {"case": repr(case)},
            )
        )
        self.case = case


class CaseClosed(ValueError):
    """The case is closed already: its evidence is gone and its references withdrawn. Raised
    with a :class:`~crawler.problems.Problem`, which the web app says in the user's language."""


def _closed(row) -> dict[str, object]:
    """The values of a closed case's message: its name, when and by whom it was closed."""
    return {"case": repr(row.name), "at": f"{row.closed_at:%Y-%m-%d %H:%M}", "by": row.closed_by}


@dataclass(frozen=True, slots=True)
class CaseSummary:
    id: int
    name: str
    created_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    pixelated_thumbnails: bool
    references: int  # active reference hashes
    flags: dict[str, int]  # by status, every status present

    @property
    def open_flags(self) -> int:
        return self.flags["pending"] + self.flags["confirmed"]


@dataclass(frozen=True, slots=True)
class ReferenceCount:
    algorithm: str
    kind: str  # "image" or "video"
    active: int
    withdrawn: int


@dataclass(frozen=True, slots=True)
class ReferenceHashView:
    """One reference hash: an algorithm and hex digits, never media or a file name."""

    algorithm: str
    kind: str
    value: str
    media_sha256: str | None
    withdrawn: bool


@dataclass(frozen=True, slots=True)
class SiteFlags:
    """A case's flags on one site: how many distinct media URLs, by state."""

    site: str
    flags: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.flags.values())


@dataclass(frozen=True, slots=True)
class CaseDetail:
    summary: CaseSummary
    reference_counts: tuple[ReferenceCount, ...]
    hashes: tuple[ReferenceHashView, ...]
    keywords: tuple[keywords.KeywordView, ...]
    sites: tuple[SiteFlags, ...]
    notices: tuple[notices.NoticeView, ...]
    removals: tuple[rechecks.Removal, ...]
    thumbnails: int

    @property
    def median_time_to_removal(self) -> timedelta | None:
        return median_time_to_removal(self.removals)


@dataclass(frozen=True, slots=True)
class CloseResult:
    case_id: int
    case: str
    closed_at: datetime
    evidence_deleted: int
    references_withdrawn: int
    keywords_withdrawn: int
    thumbnails_deleted: int
    screenshots_deleted: int = 0


def median_time_to_removal(found: tuple[rechecks.Removal, ...] | list[rechecks.Removal]):
    """The median of the removals' time-to-removal, or None without removals."""
    times = [removal.time_to_removal for removal in found]
    return median(times) if times else None


def _case(session: Session, name: str) -> Case:
    found = session.execute(select(Case).where(Case.name == name.strip())).scalar_one_or_none()
    if found is None:
        raise CaseNotFound(name)
    return found


def ensure_open(session: Session, name: str) -> None:
    """Raise :class:`CaseClosed` when case ``name`` exists and is closed (a case not created
    yet is fine): a closed case's references stay withdrawn."""
    row = session.execute(
        select(Case.name, Case.closed_at, Case.closed_by).where(Case.name == name.strip())
    ).first()
    if row is not None and row.closed_at is not None:
        raise CaseClosed(
            Problem(
                N_(
                    "case %(case)s was closed at %(at)s UTC by %(by)s; register the files under "
                    "a new case"
                ),
                _closed(row),
            )
        )


def _flag_counts(session: Session, case_ids: list[int]) -> dict[int, dict[str, int]]:
    counts = {case_id: dict.fromkeys(FLAG_STATUSES, 0) for case_id in case_ids}
    for case_id, status, n in session.execute(
        select(Flag.case_id, Flag.status, func.count(Flag.id))
        .where(Flag.case_id.in_(case_ids))
        .group_by(Flag.case_id, Flag.status)
    ):
        counts[case_id][status] = n
    return counts


def closed_case_names(session: Session) -> list[str]:
    """The names of every closed case."""
    return list(session.scalars(select(Case.name).where(Case.closed_at.is_not(None))))


def list_cases(session: Session, *, include_closed: bool = True) -> list[CaseSummary]:
    """Every case by name, with its active reference count and flags by state."""
    query = select(Case).order_by(Case.name)
    if not include_closed:
        query = query.where(Case.closed_at.is_(None))
    rows = list(session.execute(query).scalars())
    ids = [row.id for row in rows]
    active = dict(
        session.execute(
            select(ReferenceHash.case_id, func.count(ReferenceHash.id))
            .where(ReferenceHash.case_id.in_(ids), ReferenceHash.withdrawn_at.is_(None))
            .group_by(ReferenceHash.case_id)
        ).all()
    )
    flags = _flag_counts(session, ids)
    return [_summary(row, active.get(row.id, 0), flags[row.id]) for row in rows]


def _summary(row: Case, active: int, flags: dict[str, int]) -> CaseSummary:
    return CaseSummary(
        row.id,
        row.name,
        row.created_at,
        row.closed_at,
        row.closed_by,
        bool(row.pixelated_thumbnails),
        active,
        flags,
    )


def get_case(session: Session, name: str) -> CaseDetail:
    """Everything the case page and the victim's report show; raises :class:`CaseNotFound`."""
    row = _case(session, name)
    video_ids = select(ReferenceVideo.reference_id)
    hashes = tuple(
        ReferenceHashView(
            algorithm, "video" if is_video else "image", value, media_sha256, withdrawn
        )
        for algorithm, value, media_sha256, withdrawn, is_video in session.execute(
            select(
                ReferenceHash.algorithm,
                ReferenceHash.value,
                ReferenceHash.media_sha256,
                ReferenceHash.withdrawn_at.is_not(None),
                ReferenceHash.id.in_(video_ids),
            )
            .where(ReferenceHash.case_id == row.id)
            .order_by(ReferenceHash.algorithm, ReferenceHash.id)
        )
    )
    tally: dict[tuple[str, str], list[int]] = {}
    for view in hashes:
        counts = tally.setdefault((view.algorithm, view.kind), [0, 0])
        counts[1 if view.withdrawn else 0] += 1
    reference_counts = tuple(
        ReferenceCount(algorithm, kind_name, active, withdrawn)
        for (algorithm, kind_name), (active, withdrawn) in sorted(tally.items())
    )
    per_site: dict[str, dict[str, int]] = {}
    for site, status, n in session.execute(
        select(Site.name, Flag.status, func.count(Flag.id))
        .join(Site, Flag.site_id == Site.id)
        .where(Flag.case_id == row.id)
        .group_by(Site.name, Flag.status)
        .order_by(Site.name)
    ):
        per_site.setdefault(site, dict.fromkeys(FLAG_STATUSES, 0))[status] = n
    active = sum(1 for view in hashes if not view.withdrawn)
    return CaseDetail(
        summary=_summary(row, active, _flag_counts(session, [row.id])[row.id]),
        reference_counts=reference_counts,
        hashes=hashes,
        keywords=tuple(keywords.list_keywords(session, case=row.name, include_withdrawn=True)),
        sites=tuple(SiteFlags(site, flags) for site, flags in per_site.items()),
        notices=tuple(notices.list_notices(session, case=row.name)),
        removals=tuple(rechecks.removals(session, case=row.name)),
        thumbnails=session.execute(
            select(func.count(ReferenceThumbnail.id)).where(ReferenceThumbnail.case_id == row.id)
        ).scalar_one(),
    )


def close_case(session: Session, name: str, *, by: str) -> CloseResult:
    """Close the case: delete its encrypted evidence, pixelated thumbnails and the notice
    screenshots of its flags' pages, withdraw its
    references (they stop matching in running crawls) and search keywords. Raises
    :class:`CaseNotFound`, or :class:`CaseClosed` when it is closed already."""
    row = _case(session, name)
    if row.closed_at is not None:
        raise CaseClosed(
            Problem(N_("case %(case)s was closed at %(at)s UTC by %(by)s"), _closed(row))
        )
    by = by.strip()
    if not by:
        raise ValueError("say who closes the case")
    now = utcnow()
    deleted = evidence.delete_case_evidence(session, row.name)
    withdrawals.drop_case_from_drafts(session, row.id)  # no new notice goes out for it
    withdrawn = references.withdraw_references(session, row.name)
    keywords_withdrawn = session.execute(
        update(CaseKeyword)
        .where(CaseKeyword.case_id == row.id, CaseKeyword.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    thumbnails = session.execute(
        delete(ReferenceThumbnail)
        .where(ReferenceThumbnail.case_id == row.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    screenshots = db_screenshots.delete_screenshots(
        session, select(Flag.id).where(Flag.case_id == row.id), "the case was closed"
    )
    session.execute(
        update(Case)
        .where(Case.id == row.id)
        .values(closed_at=now, closed_by=by[:200])
        .execution_options(synchronize_session=False)
    )
    return CloseResult(
        row.id, row.name, now, deleted, withdrawn, keywords_withdrawn, thumbnails, screenshots
    )


# --- opt-in pixelated reference thumbnails -------------------------------------------------
def set_pixelated_thumbnails(session: Session, name: str, keep: bool) -> int:
    """Opt a case in to (or out of) pixelated reference thumbnails; opting out deletes the
    ones kept. Returns how many thumbnails were deleted. Raises :class:`CaseNotFound`, or
    :class:`CaseClosed` when opting a closed case in."""
    row = _case(session, name)
    if keep and row.closed_at is not None:
        raise CaseClosed(
            Problem(N_("case %(case)s is closed: it keeps no thumbnails"), {"case": repr(row.name)})
        )
    session.execute(
        update(Case)
        .where(Case.id == row.id)
        .values(pixelated_thumbnails=keep)
        .execution_options(synchronize_session=False)
    )
    if keep:
        return 0
    return session.execute(
        delete(ReferenceThumbnail)
        .where(ReferenceThumbnail.case_id == row.id)
        .execution_options(synchronize_session=False)
    ).rowcount


def wants_thumbnails(session: Session, name: str) -> bool:
    """Whether the case (by name) opted in; False for a case that does not exist yet."""
    return bool(
        session.execute(
            select(Case.pixelated_thumbnails).where(
                Case.name == name.strip(), Case.closed_at.is_(None)
            )
        ).scalar()
    )


def store_thumbnail(session: Session, name: str, media_sha256: str, png: bytes) -> bool:
    """Keep the pixelated thumbnail of one reference file, only if the case opted in and has no
    thumbnail of that file yet. True when it was stored."""
    if not wants_thumbnails(session, name):
        return False
    case_id = _case(session, name).id
    inserted = session.execute(
        dialect_insert(session, ReferenceThumbnail)
        .values(case_id=case_id, media_sha256=media_sha256, png=png, created_at=utcnow())
        .on_conflict_do_nothing(
            index_elements=[ReferenceThumbnail.case_id, ReferenceThumbnail.media_sha256]
        )
        .returning(ReferenceThumbnail.id)
    ).scalar()
    return inserted is not None


def flag_thumbnail(session: Session, flag_id: int) -> bytes | None:
    """The pixelated thumbnail of the reference file a flag matched, if its case keeps one."""
    return session.execute(
        select(ReferenceThumbnail.png)
        .join(Flag, Flag.case_id == ReferenceThumbnail.case_id)
        .join(ReferenceHash, Flag.reference_id == ReferenceHash.id)
        .join(Case, Case.id == Flag.case_id)
        .where(
            Flag.id == flag_id,
            ReferenceThumbnail.media_sha256 == ReferenceHash.media_sha256,
            Case.pixelated_thumbnails.is_(True),
        )
    ).scalar()
