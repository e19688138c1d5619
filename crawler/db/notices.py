"""Takedown notices: drafted, approved, sent and re-sent (the queries behind crawler.takedown).

A notice groups confirmed flags of one site (or host); it is drafted, approved by a named person
(not one who confirmed its flags), sent, re-sent while some item is still asked for, and resolved
when every item not withdrawn (``crawler.db.withdrawals``) is removed. The database refuses to
record a sending nobody approved (``record_sent``). Re-checks live in ``crawler.db.rechecks``.
Functions take a Session and return frozen dataclasses; the caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, literal, select, update
from sqlalchemy.orm import Session

from crawler.db.models import (
    NOTICE_STATUSES,
    Case,
    Flag,
    Notice,
    NoticeItem,
    Site,
    UTCDateTime,
    utcnow,
)
from crawler.db.screenshots import screenshot_png as screenshot_png  # where they are kept
from crawler.db.screenshots import screenshots as screenshots
from crawler.db.screenshots import set_screenshot as set_screenshot
from crawler.problems import N_, Problem


class NoticeNotFound(LookupError):
    """No notice has the id asked for."""

    def __init__(self, notice_id: int) -> None:
        super().__init__(
            Problem(
                N_("no notice with id %(notice)s; list them with `repostwatch notices list`"),
                {"notice": notice_id},
            )
        )
        self.notice_id = notice_id


class NoticeStateError(ValueError):
    """The notice is not in a state that allows this (e.g. sending a draft nobody approved)."""


class SeparationOfDuties(NoticeStateError):
    """The would-be approver confirmed a flag the notice holds: someone else must approve."""


@dataclass(frozen=True, slots=True)
class NoticeItemView:
    id: int
    flag_id: int
    flag_status: str
    page_url: str
    media_url: str
    media_sha256: str
    media_pdq: str | None
    first_seen: datetime
    last_seen: datetime
    removed_at: datetime | None
    has_screenshot: bool
    screenshot_error: str | None
    screenshot_pending: bool = False
    #: The flag left "confirmed" after the notice was approved or sent: no longer asked for.
    withdrawn_at: datetime | None = None
    #: The notice had been sent: the site is owed a correction (sent at ``correction_sent_at``).
    correction_due: bool = False
    correction_sent_at: datetime | None = None

    @property
    def open(self) -> bool:
        """Still asked for: neither withdrawn nor found removed."""
        return self.withdrawn_at is None and self.removed_at is None

    @property
    def correction_pending(self) -> bool:
        return self.correction_due and self.correction_sent_at is None


@dataclass(frozen=True, slots=True)
class NoticeView:
    id: int
    site: str
    host: str | None
    language: str
    status: str
    recipient: str | None
    subject: str
    created_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    sent_at: datetime | None
    last_sent_at: datetime | None
    send_count: int
    next_send_at: datetime | None
    resolved_at: datetime | None
    items: tuple[NoticeItemView, ...]

    @property
    def removed(self) -> int:
        return sum(1 for item in self.items if item.removed_at is not None)

    @property
    def open_items(self) -> tuple[NoticeItemView, ...]:
        """The items still asked for (not withdrawn, not found removed)."""
        return tuple(item for item in self.items if item.open)

    @property
    def corrections(self) -> tuple[NoticeItemView, ...]:
        """Withdrawn items whose correction has not been sent yet."""
        return tuple(item for item in self.items if item.correction_pending)


@dataclass(frozen=True, slots=True)
class UnnoticedFlag:
    """A confirmed flag in no notice yet: what drafting groups."""

    flag_id: int
    site: str
    page_url: str


# --- drafting --------------------------------------------------------------------------------
def unnoticed_flags(session: Session, site: str | None = None) -> list[UnnoticedFlag]:
    """Confirmed, not removed flags of open cases that are in no notice yet, oldest first."""
    in_notice = select(NoticeItem.flag_id)
    query = (
        select(Flag.id, Site.name, Flag.page_url)
        .join(Site, Flag.site_id == Site.id)
        .join(Case, Flag.case_id == Case.id)
        .where(
            Flag.status == "confirmed",
            Flag.removed_at.is_(None),
            Flag.id.not_in(in_notice),
            Case.closed_at.is_(None),  # a closed case gets no new notices
        )
        .order_by(Site.name, Flag.first_seen, Flag.id)
    )
    if site is not None:
        query = query.where(Site.name == site)
    return [UnnoticedFlag(*row) for row in session.execute(query)]


def create_notice(
    session: Session,
    *,
    site: str,
    language: str,
    subject: str,
    flag_ids: Sequence[int],
    recipient: str | None = None,
    host: str | None = None,
    now: datetime | None = None,
) -> int:
    """A draft notice holding ``flag_ids`` (each must be in no other notice: the unique
    constraint on the item's flag refuses a second one)."""
    if not flag_ids:
        raise ValueError("a notice needs at least one flag")
    site_id = session.execute(select(Site.id).where(Site.name == site)).scalar_one()
    notice = Notice(
        site_id=site_id,
        host=host,
        language=language,
        status="draft",
        recipient=recipient,
        subject=subject,
        created_at=now or utcnow(),
    )
    session.add(notice)
    session.flush()
    session.add_all(NoticeItem(notice_id=notice.id, flag_id=flag_id) for flag_id in flag_ids)
    session.flush()
    return notice.id


def open_draft(session: Session, *, site: str, host: str | None) -> int | None:
    """The newest draft notice to ``site`` (and ``host``), which new flags can join."""
    query = (
        select(Notice.id)
        .join(Site, Notice.site_id == Site.id)
        .where(Site.name == site, Notice.status == "draft")
        .order_by(Notice.id.desc())
        .limit(1)
    )
    query = query.where(Notice.host.is_(None) if host is None else Notice.host == host)
    return session.execute(query).scalar()


def add_to_draft(session: Session, notice_id: int, flag_ids: Sequence[int], subject: str) -> None:
    """Add flags to a draft notice (and give it the subject that counts them)."""
    done = session.execute(
        update(Notice)
        .where(Notice.id == notice_id, Notice.status == "draft")
        .values(subject=subject)
        .returning(Notice.id)
        .execution_options(synchronize_session=False)
    ).first()
    if done is None:
        raise NoticeStateError(
            Problem(
                N_("notice %(notice)s is no longer a draft; draft a new one"), {"notice": notice_id}
            )
        )
    session.add_all(NoticeItem(notice_id=notice_id, flag_id=flag_id) for flag_id in flag_ids)
    session.flush()


# --- reading ---------------------------------------------------------------------------------
def get_notice(session: Session, notice_id: int) -> NoticeView:
    """One notice with its items; raises :class:`NoticeNotFound`."""
    found = _notices(session, [Notice.id == notice_id])
    if not found:
        raise NoticeNotFound(notice_id)
    return found[0]


def list_notices(
    session: Session,
    *,
    status: str | None = None,
    site: str | None = None,
    case: str | None = None,
) -> list[NoticeView]:
    """Notices, newest first, optionally of one status, site (name) or case (name: notices
    holding at least one of the case's flags)."""
    conditions = []
    if status is not None:
        if status not in NOTICE_STATUSES:
            raise ValueError(f"status must be one of {', '.join(NOTICE_STATUSES)}, not {status!r}")
        conditions.append(Notice.status == status)
    if site is not None:
        conditions.append(Site.name == site)
    if case is not None:
        conditions.append(Notice.id.in_(_case_notices(case)))
    return _notices(session, conditions)


def _case_flags(case: str):
    return select(Flag.id).join(Case, Flag.case_id == Case.id).where(Case.name == case)


def _case_notices(case: str):
    return select(NoticeItem.notice_id).where(NoticeItem.flag_id.in_(_case_flags(case)))


def _notices(session: Session, conditions: list) -> list[NoticeView]:
    rows = session.execute(
        select(
            Notice.id,
            Site.name,
            Notice.host,
            Notice.language,
            Notice.status,
            Notice.recipient,
            Notice.subject,
            Notice.created_at,
            Notice.approved_by,
            Notice.approved_at,
            Notice.sent_at,
            Notice.last_sent_at,
            Notice.send_count,
            Notice.next_send_at,
            Notice.resolved_at,
        )
        .join(Site, Notice.site_id == Site.id)
        .where(*conditions)
        .order_by(Notice.created_at.desc(), Notice.id.desc())
    ).all()
    ids = [row[0] for row in rows]
    items: dict[int, list[NoticeItemView]] = {notice_id: [] for notice_id in ids}
    if ids:
        for notice_id, *item in session.execute(
            select(
                NoticeItem.notice_id,
                NoticeItem.id,
                Flag.id,
                Flag.status,
                Flag.page_url,
                Flag.media_url,
                Flag.media_sha256,
                Flag.media_pdq,
                Flag.first_seen,
                Flag.last_seen,
                Flag.removed_at,
                NoticeItem.screenshot_png.is_not(None),
                NoticeItem.screenshot_error,
                NoticeItem.screenshot_requested_at.is_not(None),
                NoticeItem.withdrawn_at,
                NoticeItem.correction_due,
                NoticeItem.correction_sent_at,
            )
            .join(Flag, NoticeItem.flag_id == Flag.id)
            .where(NoticeItem.notice_id.in_(ids))
            .order_by(NoticeItem.id)
        ):
            items[notice_id].append(NoticeItemView(*item))
    return [NoticeView(*row, items=tuple(items[row[0]])) for row in rows]


# --- approval and sending --------------------------------------------------------------------
def approve_notice(
    session: Session, notice_id: int, *, by: str, now: datetime | None = None
) -> NoticeView:
    """An approver's go-ahead for a draft; only an approved notice can be sent or exported
    for sending. Raises :class:`NoticeStateError` for a notice that is not a draft."""
    by = by.strip()
    if not by:
        raise ValueError("an approval needs the approver's name (by=...)")
    notice = get_notice(session, notice_id)
    if notice.status != "draft":
        raise NoticeStateError(
            Problem(
                N_("notice %(notice)s is %(status)s, not a draft"),
                {"notice": notice_id, "status": Problem(notice.status)},  # the state's own msgid
            )
        )
    # Separation of duties: a second person checks what the first one confirmed.
    own = (
        session.execute(
            select(Flag.id)
            .join(NoticeItem, NoticeItem.flag_id == Flag.id)
            .where(NoticeItem.notice_id == notice_id, Flag.decided_by == by)
            .order_by(Flag.id)
        )
        .scalars()
        .all()
    )
    if own:
        raise SeparationOfDuties(
            Problem(
                N_(
                    "%(by)s confirmed flag(s) %(flags)s of notice %(notice)s, so cannot approve "
                    "it: another approver must read and approve it"
                ),
                {"by": by, "flags": ", ".join(map(str, own)), "notice": notice_id},
            )
        )
    session.execute(
        update(Notice)
        .where(Notice.id == notice_id, Notice.status == "draft")
        .values(status="approved", approved_by=by, approved_at=now or utcnow())
    )
    return get_notice(session, notice_id)


def require_sendable(session: Session, notice_id: int) -> NoticeView:
    """The notice, if a person approved it and it is not resolved; else NoticeStateError."""
    # Locks the row on PostgreSQL, so two senders at once send it once (SQLite: one writer).
    session.execute(select(Notice.id).where(Notice.id == notice_id).with_for_update())
    notice = get_notice(session, notice_id)
    if notice.status == "draft" or notice.approved_at is None:
        raise NoticeStateError(
            Problem(
                N_(
                    "notice %(notice)s has not been approved; an approver must run "
                    "`repostwatch notices approve %(notice)s --by NAME` first"
                ),
                {"notice": notice_id},
            )
        )
    if notice.status == "resolved":
        raise NoticeStateError(
            Problem(
                N_("notice %(notice)s is resolved: every item was removed"), {"notice": notice_id}
            )
        )
    if not notice.open_items and not notice.corrections:
        raise NoticeStateError(
            Problem(
                N_(
                    "notice %(notice)s has no open items (every item was withdrawn or found "
                    "removed): there is nothing to ask the site for, so it is not sent"
                ),
                {"notice": notice_id},
            )
        )
    return notice


def record_sent(
    session: Session, notice_id: int, *, now: datetime, resend_after: timedelta
) -> NoticeView:
    """Record a sending: the first sets ``sent_at``; every one moves ``next_send_at``."""
    done = session.execute(
        update(Notice)
        .where(
            Notice.id == notice_id,
            Notice.status.in_(("approved", "sent")),
            Notice.approved_at.is_not(None),
        )
        .values(
            status="sent",
            sent_at=func.coalesce(Notice.sent_at, literal(now, UTCDateTime())),
            last_sent_at=now,
            send_count=Notice.send_count + 1,
            next_send_at=now + resend_after,
        )
        .returning(Notice.id)
        .execution_options(synchronize_session=False)
    ).first()
    if done is None:
        require_sendable(session, notice_id)  # raises with the reason
        raise NoticeStateError(
            Problem(N_("notice %(notice)s could not be marked sent"), {"notice": notice_id})
        )
    return get_notice(session, notice_id)


def _open_item(notice_id):
    """SQL: the notice has an item still asked for (not withdrawn, its flag not removed)."""
    return exists(
        select(NoticeItem.id)
        .join(Flag, NoticeItem.flag_id == Flag.id)
        .where(
            NoticeItem.notice_id == notice_id,
            NoticeItem.withdrawn_at.is_(None),
            Flag.removed_at.is_(None),
        )
    )


def _correction_pending(notice_id):
    return exists(
        select(NoticeItem.id).where(
            NoticeItem.notice_id == notice_id,
            NoticeItem.correction_due.is_(True),
            NoticeItem.correction_sent_at.is_(None),
        )
    )


def resend_due(session: Session, now: datetime) -> list[int]:
    """Sent notices whose next sending is due at ``now`` and that still ask for something (or
    owe the site a correction): one whose items were all withdrawn or removed is skipped."""
    return list(
        session.execute(
            select(Notice.id)
            .where(
                Notice.status == "sent",
                Notice.next_send_at <= literal(now, UTCDateTime()),
                _open_item(Notice.id) | _correction_pending(Notice.id),
            )
            .order_by(Notice.next_send_at, Notice.id)
        ).scalars()
    )
