"""The append-only audit log: logins, views, unblurs, decisions, claims, user changes.

Rows are only ever inserted: the migrations make the database refuse UPDATE and DELETE on the
table (and TRUNCATE on PostgreSQL), and in production the application's role may only INSERT and
SELECT there (``crawler.db.roles``), so it cannot drop those triggers either. ``details`` is a
JSON object of plain values, never media. The caller commits, usually in the same transaction as
the change it records, so a change and its log line land together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.db.models import AuditEntry, utcnow


@dataclass(frozen=True, slots=True)
class AuditView:
    id: int
    at: datetime
    user_id: int | None
    username: str | None
    action: str
    target_type: str | None
    target_id: str | None
    details: dict[str, Any]
    ip: str | None
    os_user: str | None = None  # who ran the command, for command-line entries


def record(
    session: Session,
    action: str,
    *,
    user_id: int | None = None,
    username: str | None = None,
    target_type: str | None = None,
    target_id: object = None,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
    os_user: str | None = None,
) -> int:
    """Append one entry; returns its id. ``os_user``: the operating-system account that ran a
    command (``username`` is then the staff account it acted as)."""
    entry = AuditEntry(
        at=utcnow(),
        user_id=user_id,
        username=username[:200] if username else username,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id)[:200],
        details=json.dumps(details, ensure_ascii=False, sort_keys=True) if details else None,
        ip=ip[:64] if ip else ip,
        os_user=os_user[:200] if os_user else os_user,
    )
    session.add(entry)
    session.flush()
    return entry.id


def list_entries(
    session: Session,
    *,
    action: str | None = None,
    username: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[AuditView], int]:
    """One page of entries, newest first, and how many entries match in all."""
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    if username:
        query = query.where(AuditEntry.username == username)
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id:
        query = query.where(AuditEntry.target_id == str(target_id))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(
        query.order_by(AuditEntry.id.desc()).limit(per_page).offset(max(0, page - 1) * per_page)
    ).scalars()
    return [_view(row) for row in rows], total


def actions(session: Session) -> list[str]:
    """Every action that appears in the log, for the filter menu."""
    return list(
        session.execute(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).scalars()
    )


def _view(row: AuditEntry) -> AuditView:
    return AuditView(
        id=row.id,
        at=row.at,
        user_id=row.user_id,
        username=row.username,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        details=json.loads(row.details) if row.details else {},
        ip=row.ip,
        os_user=row.os_user,
    )
