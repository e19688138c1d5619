"""Notice screenshots: stored (never replacing what was approved or sent), read, queued by the
web app for its background runner, and deleted when the flag is rejected or its case is closed
(taking them: ``crawler.takedown``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from crawler.db.models import Notice, NoticeItem, utcnow


def delete_screenshots(session: Session, flag_ids: Select | Sequence[int], reason: str) -> int:
    """Delete the screenshots of the notice items of ``flag_ids`` (a select of flag ids, or
    ids), whatever the notice's state, noting ``reason``; returns how many were deleted. A
    rejected flag or a closed case keeps no picture of the page."""
    return session.execute(
        update(NoticeItem)
        .where(NoticeItem.flag_id.in_(flag_ids), NoticeItem.screenshot_png.is_not(None))
        .values(screenshot_png=None, screenshot_error=f"deleted: {reason}", screenshot_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount


def request_screenshots(
    session: Session, notice_id: int, *, retake: bool = False, now: datetime | None = None
) -> int:
    """Queue the screenshots of a notice for the background runner: the items without one, or
    (``retake``, drafts only) every item. Returns how many items are now pending."""
    query = update(NoticeItem).where(NoticeItem.notice_id == notice_id)
    draft = session.execute(select(Notice.status).where(Notice.id == notice_id)).scalar()
    if not (retake and draft == "draft"):
        query = query.where(NoticeItem.screenshot_png.is_(None))
    session.execute(
        query.values(screenshot_requested_at=now or utcnow()).execution_options(
            synchronize_session=False
        )
    )
    return session.execute(
        select(func.count(NoticeItem.id)).where(
            NoticeItem.notice_id == notice_id, NoticeItem.screenshot_requested_at.is_not(None)
        )
    ).scalar_one()


def requested_screenshots(session: Session) -> dict[int, dict[int, datetime]]:
    """The queued screenshots: notice id -> {item id: when it was asked for}."""
    pending: dict[int, dict[int, datetime]] = {}
    for notice_id, item_id, at in session.execute(
        select(NoticeItem.notice_id, NoticeItem.id, NoticeItem.screenshot_requested_at)
        .where(NoticeItem.screenshot_requested_at.is_not(None))
        .order_by(NoticeItem.notice_id, NoticeItem.id)
    ):
        pending.setdefault(notice_id, {})[item_id] = at
    return pending


def clear_screenshot_request(session: Session, item_id: int, asked_at: datetime) -> None:
    """The runner is done with an item's request of ``asked_at`` (a newer one stays queued)."""
    session.execute(
        update(NoticeItem)
        .where(NoticeItem.id == item_id, NoticeItem.screenshot_requested_at <= asked_at)
        .values(screenshot_requested_at=None)
        .execution_options(synchronize_session=False)
    )


def set_screenshot(
    session: Session,
    item_id: int,
    png: bytes | None,
    *,
    error: str | None = None,
    at: datetime | None = None,
) -> bool:
    """Store an item's screenshot (PNG bytes), or why it could not be taken (``png`` None:
    the screenshot the item had, if any, stays). A notice that left the draft state keeps the
    screenshots it was approved with: they are what was (or will be) sent, so they are never
    replaced. Returns whether the item was updated."""
    in_draft = (
        select(Notice.id)
        .where(Notice.id == NoticeItem.notice_id, Notice.status == "draft")
        .exists()
    )
    values: dict[str, object] = {"screenshot_error": error, "screenshot_at": at or utcnow()}
    if png is not None:
        values["screenshot_png"] = png
    updated = session.execute(
        update(NoticeItem)
        .where(NoticeItem.id == item_id, or_(NoticeItem.screenshot_png.is_(None), in_draft))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return updated.rowcount > 0


def screenshots(session: Session, notice_id: int) -> dict[int, bytes]:
    """The screenshots of a notice's items, by item id (items without one are left out)."""
    rows = session.execute(
        select(NoticeItem.id, NoticeItem.screenshot_png).where(
            NoticeItem.notice_id == notice_id, NoticeItem.screenshot_png.is_not(None)
        )
    )
    return {item_id: png for item_id, png in rows}


def screenshot_png(session: Session, notice_id: int, item_id: int) -> bytes | None:
    """The screenshot of item ``item_id`` of notice ``notice_id``; None when it has none (or
    the item is not in that notice)."""
    return session.execute(
        select(NoticeItem.screenshot_png).where(
            NoticeItem.id == item_id, NoticeItem.notice_id == notice_id
        )
    ).scalar()
