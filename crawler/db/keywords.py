"""Case keywords: the names, nicknames and slang a case's media is searched for on sites.

Search crawls (``repostwatch crawl SITE --search``) run every active keyword of every case
through the site's search. A keyword is kept once per case, in Unicode NFC (Hangul typed on
macOS arrives decomposed and would otherwise be a different keyword, encoded differently);
withdrawing one keeps the row, marked, because flags name the keyword that found them. The
spelling is :func:`crawler.keywords.normalize_keyword`, the one the search spider uses too.
Staff accept a proposed spelling variant of a keyword (:mod:`crawler.keyword_variants`) by
adding it as a keyword, or reject it (:func:`reject_variants`): a rejected variant is kept, with
who rejected it and when, and is not proposed again for that keyword of that case.
Functions take a Session; the caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crawler.db.models import Case, CaseKeyword, KeywordVariantRejection, utcnow
from crawler.db.references import get_or_create_case
from crawler.db.session import dialect_insert
from crawler.keywords import normalize_keyword
from crawler.problems import N_, Problem


class UnknownCase(LookupError):
    """No case has the name asked for."""

    def __init__(self, case: str) -> None:
        super().__init__(
            Problem(
                N_(
                    "no case named %(case)s; list the cases' keywords with "
                    "`repostwatch cases keywords list`"
                ),
                {"case": repr(case)},
            )
        )
        self.case = case


@dataclass(frozen=True, slots=True)
class KeywordChange:
    """What ``add_keywords`` / ``withdraw_keywords`` did, keyword by keyword."""

    changed: tuple[str, ...]  # added (or re-activated), or withdrawn
    unchanged: tuple[str, ...]  # already active, or not an active keyword of the case


@dataclass(frozen=True, slots=True)
class KeywordView:
    id: int
    case: str
    keyword: str
    created_at: datetime
    withdrawn_at: datetime | None

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


def _normalized(keywords: Sequence[str]) -> list[str]:
    unique: list[str] = []
    for keyword in keywords:
        text = normalize_keyword(keyword)
        if text not in unique:
            unique.append(text)
    return unique


def add_keywords(session: Session, case: str, keywords: Sequence[str]) -> KeywordChange:
    """Add ``keywords`` to ``case`` (created if missing, as ``refs add`` does); a withdrawn
    keyword added again is active again. Raises ValueError for an unusable keyword (nothing is
    added then)."""
    wanted = _normalized(keywords)
    case_id = get_or_create_case(session, case)
    existing = {
        row.keyword: row
        for row in session.execute(
            select(CaseKeyword.keyword, CaseKeyword.withdrawn_at).where(
                CaseKeyword.case_id == case_id, CaseKeyword.keyword.in_(wanted)
            )
        )
    }
    now = utcnow()
    changed: list[str] = []
    unchanged: list[str] = []
    for keyword in wanted:
        row = existing.get(keyword)
        if row is not None and row.withdrawn_at is None:
            unchanged.append(keyword)
            continue
        if row is None:
            inserted = session.execute(
                dialect_insert(session, CaseKeyword)
                .values(case_id=case_id, keyword=keyword, created_at=now)
                .on_conflict_do_nothing(index_elements=[CaseKeyword.case_id, CaseKeyword.keyword])
                .returning(CaseKeyword.id)
            ).scalar()
            (changed if inserted is not None else unchanged).append(keyword)
        else:
            session.execute(
                update(CaseKeyword)
                .where(CaseKeyword.case_id == case_id, CaseKeyword.keyword == keyword)
                .values(withdrawn_at=None)
                .execution_options(synchronize_session=False)
            )
            changed.append(keyword)
    return KeywordChange(changed=tuple(changed), unchanged=tuple(unchanged))


def withdraw_keywords(session: Session, case: str, keywords: Sequence[str]) -> KeywordChange:
    """Stop searching for ``keywords`` of ``case``; the rows stay, marked withdrawn.

    Raises :class:`UnknownCase` when no case has that name.
    """
    wanted = _normalized(keywords)
    case_id = _case_id(session, case)
    withdrawn = set(
        session.execute(
            update(CaseKeyword)
            .where(
                CaseKeyword.case_id == case_id,
                CaseKeyword.keyword.in_(wanted),
                CaseKeyword.withdrawn_at.is_(None),
            )
            .values(withdrawn_at=utcnow())
            .returning(CaseKeyword.keyword)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    return KeywordChange(
        changed=tuple(k for k in wanted if k in withdrawn),
        unchanged=tuple(k for k in wanted if k not in withdrawn),
    )


def list_keywords(
    session: Session, *, case: str | None = None, include_withdrawn: bool = False
) -> list[KeywordView]:
    """Keywords by case name, then in the order they were added."""
    query = (
        select(
            CaseKeyword.id,
            Case.name,
            CaseKeyword.keyword,
            CaseKeyword.created_at,
            CaseKeyword.withdrawn_at,
        )
        .join(Case, CaseKeyword.case_id == Case.id)
        .order_by(Case.name, CaseKeyword.id)
    )
    if case is not None:
        query = query.where(CaseKeyword.case_id == _case_id(session, case))
    if not include_withdrawn:
        query = query.where(CaseKeyword.withdrawn_at.is_(None))
    return [KeywordView(*row) for row in session.execute(query)]


def search_keywords(session: Session) -> list[str]:
    """Every active keyword of every case, each once (two cases may share one), sorted: what
    a search crawl searches for."""
    query = (
        select(CaseKeyword.keyword)
        .where(CaseKeyword.withdrawn_at.is_(None))
        .distinct()
        .order_by(CaseKeyword.keyword)
    )
    return list(session.execute(query).scalars())


def keyword_case_id(session: Session, keyword: str, case_id: int) -> int | None:
    """The case a keyword that led to a flag of ``case_id`` belongs to: that case when it has
    the keyword (active or withdrawn since), else the first other case that has it, else None."""
    owners = list(
        session.execute(
            select(CaseKeyword.case_id)
            .where(CaseKeyword.keyword == keyword)
            .order_by(CaseKeyword.case_id)
        ).scalars()
    )
    if case_id in owners:
        return case_id
    return owners[0] if owners else None


@dataclass(frozen=True, slots=True)
class RejectionView:
    keyword: str
    variant: str
    rejected_by: str
    rejected_at: datetime


def reject_variants(
    session: Session, case: str, keyword: str, variants: Sequence[str], *, by: str
) -> KeywordChange:
    """Record that ``by`` rejected ``variants`` of ``case``'s ``keyword``: they are not proposed
    again for it. ``changed``: newly rejected; ``unchanged``: rejected before (the first
    rejection's who and when stay). Raises :class:`UnknownCase`, and ValueError for an unusable
    keyword or variant, or a keyword the case never had (nothing is recorded then)."""
    keyword = normalize_keyword(keyword)
    wanted = _normalized(variants)
    case_id = _case_id(session, case)
    known = session.execute(
        select(CaseKeyword.id).where(CaseKeyword.case_id == case_id, CaseKeyword.keyword == keyword)
    ).scalar_one_or_none()
    if known is None:
        raise ValueError(f"{keyword!r} is not a keyword of {case.strip()!r}")
    now = utcnow()
    changed: list[str] = []
    unchanged: list[str] = []
    for variant in wanted:
        inserted = session.execute(
            dialect_insert(session, KeywordVariantRejection)
            .values(
                case_id=case_id, keyword=keyword, variant=variant, rejected_by=by, rejected_at=now
            )
            .on_conflict_do_nothing(
                index_elements=[
                    KeywordVariantRejection.case_id,
                    KeywordVariantRejection.keyword,
                    KeywordVariantRejection.variant,
                ]
            )
            .returning(KeywordVariantRejection.id)
        ).scalar()
        (changed if inserted is not None else unchanged).append(variant)
    return KeywordChange(changed=tuple(changed), unchanged=tuple(unchanged))


def rejected_variants(session: Session, case: str) -> list[RejectionView]:
    """The variants rejected for ``case``'s keywords, by keyword, then in the order rejected.
    Raises :class:`UnknownCase`."""
    query = (
        select(
            KeywordVariantRejection.keyword,
            KeywordVariantRejection.variant,
            KeywordVariantRejection.rejected_by,
            KeywordVariantRejection.rejected_at,
        )
        .where(KeywordVariantRejection.case_id == _case_id(session, case))
        .order_by(KeywordVariantRejection.keyword, KeywordVariantRejection.id)
    )
    return [RejectionView(*row) for row in session.execute(query)]


def _case_id(session: Session, case: str) -> int:
    found = session.execute(select(Case.id).where(Case.name == case.strip())).scalar_one_or_none()
    if found is None:
        raise UnknownCase(case)
    return found
