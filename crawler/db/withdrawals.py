"""Withdrawing a flag from the notices that hold it, when it leaves "confirmed" (rejected).

A draft simply loses the item. An approved or sent notice keeps it as a record, marked
withdrawn: it is no longer asked for, re-sent or waited on before the notice is resolved, and a
notice that was already sent owes the site a short correction, which goes out with its next
sending (``crawler.takedown.sending``). Functions take a Session; the caller commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from crawler.db.models import Flag, Notice, NoticeItem, utcnow
from crawler.db.notices import NoticeView, get_notice
from crawler.db.users import ROLE_RANK
from crawler.problems import N_, Problem

#: The role that may decide a flag an approved or sent notice asks for.
NOTICED_FLAG_ROLE = "approver"


class DecisionRefused(ValueError):
    """This decision is not for this account (or this flag) to make; the message says who can."""


def check_decision(session: Session, flag_id: int, role: str | None) -> None:
    """Refuse a decision on a flag that an approved or sent notice asks for, unless ``role`` is
    approver or above: it changes what was sent to a site in the centre's name."""
    noticed = [(i, status) for i, status in holding_notices(session, flag_id) if status != "draft"]
    if not noticed or (role is not None and ROLE_RANK[role] >= ROLE_RANK[NOTICED_FLAG_ROLE]):
        return
    notice_id, status = noticed[0]
    raise DecisionRefused(
        Problem(
            N_(
                "flag %(flag)s is in notice %(notice)s, which is %(status)s: only an approver may "
                "decide it now (a withdrawal sends the site a correction); ask an approver"
            ),
            {"flag": flag_id, "notice": notice_id, "status": Problem(status)},
        )
    )


def withdraw_flag(session: Session, flag_id: int, *, now: datetime | None = None) -> list[int]:
    """The flag left "confirmed": take it out of the notices that hold it; returns their ids.

    A draft loses the item (and a draft left empty is deleted). An approved or sent notice keeps
    it as a record, withdrawn: it is no longer asked for, re-sent or waited on; a notice that
    was sent owes the site a correction, sent with its next sending (:func:`corrections_sent`).
    """
    now = now or utcnow()
    touched = []
    rows = session.execute(
        select(NoticeItem.id, Notice.id, Notice.status, Notice.send_count)
        .join(Notice, NoticeItem.notice_id == Notice.id)
        .where(NoticeItem.flag_id == flag_id, NoticeItem.withdrawn_at.is_(None))
    ).all()
    for item_id, notice_id, status, send_count in rows:
        touched.append(notice_id)
        if status == "draft":
            session.execute(delete(NoticeItem).where(NoticeItem.id == item_id))
            left = session.execute(
                select(func.count(NoticeItem.id)).where(NoticeItem.notice_id == notice_id)
            ).scalar_one()
            if not left:
                session.execute(delete(Notice).where(Notice.id == notice_id))
            continue
        session.execute(
            update(NoticeItem)
            .where(NoticeItem.id == item_id)
            .values(withdrawn_at=now, correction_due=send_count > 0)
        )
        _settle(session, notice_id, now)
    return touched


def in_sent_notice(session: Session, flag_id: int) -> bool:
    """Whether a notice that holds the flag has been sent (its evidence must then be kept)."""
    return (
        session.execute(
            select(NoticeItem.id)
            .join(Notice, NoticeItem.notice_id == Notice.id)
            .where(NoticeItem.flag_id == flag_id, Notice.sent_at.is_not(None))
        ).first()
        is not None
    )


def holding_notices(session: Session, flag_id: int) -> list[tuple[int, str]]:
    """(id, status) of the notices that still ask for the flag (it is not withdrawn there)."""
    return [
        (notice_id, status)
        for notice_id, status in session.execute(
            select(Notice.id, Notice.status)
            .join(NoticeItem, NoticeItem.notice_id == Notice.id)
            .where(NoticeItem.flag_id == flag_id, NoticeItem.withdrawn_at.is_(None))
            .order_by(Notice.id)
        )
    ]


def corrections_sent(session: Session, notice_id: int, *, now: datetime) -> NoticeView:
    """Record that the corrections a notice owed went out."""
    session.execute(
        update(NoticeItem)
        .where(
            NoticeItem.notice_id == notice_id,
            NoticeItem.correction_due.is_(True),
            NoticeItem.correction_sent_at.is_(None),
        )
        .values(correction_sent_at=now)
    )
    _settle(session, notice_id, now)
    return get_notice(session, notice_id)


def _settle(session: Session, notice_id: int, now: datetime) -> None:
    """A sent notice that asks for nothing more and owes no correction: no more reminders, and
    resolved when what was asked for was removed (withdrawn items do not hold it open)."""
    notice = get_notice(session, notice_id)
    if notice.status != "sent" or notice.open_items or notice.corrections:
        return
    values: dict[str, object] = {"next_send_at": None}
    if any(item.removed_at is not None for item in notice.items):
        values.update(status="resolved", resolved_at=now)
    session.execute(update(Notice).where(Notice.id == notice_id).values(**values))


def drop_case_from_drafts(session: Session, case_id: int) -> list[int]:
    """A case closes: its flags leave the drafts that hold them (a draft left empty is deleted),
    so no new notice goes out for it. Returns the drafts touched."""
    rows = session.execute(
        select(NoticeItem.id, Notice.id)
        .join(Notice, NoticeItem.notice_id == Notice.id)
        .join(Flag, NoticeItem.flag_id == Flag.id)
        .where(Flag.case_id == case_id, Notice.status == "draft")
    ).all()
    for item_id, _ in rows:
        session.execute(delete(NoticeItem).where(NoticeItem.id == item_id))
    drafts = sorted({notice_id for _, notice_id in rows})
    for notice_id in drafts:
        left = session.execute(
            select(func.count(NoticeItem.id)).where(NoticeItem.notice_id == notice_id)
        ).scalar_one()
        if not left:
            session.execute(delete(Notice).where(Notice.id == notice_id))
    return drafts
