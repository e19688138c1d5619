"""Digest subscriptions of reviewer groups, and which new flags each group was told about.

A group's digest counts the flags first seen since the group was set up that none of its
delivered digests counted yet (:func:`new_flags`). The flags a digest counted are recorded
(:func:`record_delivered`) in the transaction that follows the delivery; when the delivery
fails nothing is recorded but the error (:func:`record_failure`), so the same flags, and any
newer ones, go into the next try. Functions take a Session; the caller commits, with the audit
line in the same transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from crawler.db.models import (
    DIGEST_CHANNELS,
    DIGEST_MIN_MINUTES,
    NAME_LENGTH,
    STAFF_LOCALES,
    DigestDelivery,
    DigestSubscription,
    Flag,
    utcnow,
)
from crawler.problems import N_, Problem

#: After a failed try, the next comes after the group's interval or this, whichever is shorter.
RETRY_AFTER = timedelta(minutes=15)
_NAME = re.compile(r"^[\w][\w .\-]*$")


class DigestError(ValueError):
    """A subscription cannot be stored as given; the message says what to write instead."""


class DigestNotFound(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(
            Problem(
                N_("no digest group named %(name)s: `repostwatch digests list` shows them"),
                {"name": repr(name)},
            )
        )


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    id: int
    name: str
    channel: str
    target: str
    locale: str | None
    interval_minutes: int
    created_at: datetime
    disabled_at: datetime | None
    last_sent_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @property
    def recipients(self) -> list[str]:
        """The e-mail addresses of an e-mail group."""
        return split_addresses(self.target) if self.channel == "email" else []

    def due_at(self) -> datetime | None:
        """When the next digest may go (None: now, never tried)."""
        interval = timedelta(minutes=self.interval_minutes)
        if self.last_error is not None and self.last_attempt_at is not None:
            return self.last_attempt_at + min(interval, RETRY_AFTER)
        if self.last_sent_at is None:
            return None
        return self.last_sent_at + interval

    def is_due(self, now: datetime) -> bool:
        due = self.due_at()
        return self.active and (due is None or due <= now)


def _view(row: DigestSubscription) -> SubscriptionView:
    return SubscriptionView(
        row.id,
        row.name,
        row.channel,
        row.target,
        row.locale,
        row.interval_minutes,
        row.created_at,
        row.disabled_at,
        row.last_sent_at,
        row.last_attempt_at,
        row.last_error,
    )


def split_addresses(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,\s;]+", text) if part.strip()]


def check_target(channel: str, target: str) -> str:
    """The target as stored: addresses comma-separated, or the webhook URL. The webhook's host
    is checked against REPOSTWATCH_DIGEST_WEBHOOK_HOSTS when the digest is sent."""
    if channel not in DIGEST_CHANNELS:
        raise DigestError(
            Problem(
                N_("channel %(channel)s: write one of %(channels)s"),
                {"channel": repr(channel), "channels": ", ".join(DIGEST_CHANNELS)},
            )
        )
    if channel == "email":
        addresses = split_addresses(target)
        if not addresses:
            raise DigestError(Problem(N_("an e-mail group needs at least one address")))
        for address in addresses:
            name, mail = parseaddr(address)
            if name or mail != address or "@" not in mail or mail.startswith("@"):
                raise DigestError(
                    Problem(
                        N_("%(address)s is not an e-mail address such as kim@centre.example"),
                        {"address": repr(address)},
                    )
                )
        return ", ".join(addresses)
    parts = urlsplit(target.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise DigestError(
            Problem(
                N_("%(target)s is not a webhook URL such as https://chat.centre.example/hook"),
                {"target": repr(target)},
            )
        )
    return target.strip()


def _check(name: str, locale: str | None, interval_minutes: int) -> None:
    if not _NAME.match(name) or len(name) > NAME_LENGTH:
        raise DigestError(
            Problem(
                N_(
                    "group name %(name)s: letters, digits, spaces, '.', '-' and '_', at most "
                    "%(length)s characters"
                ),
                {"name": repr(name), "length": NAME_LENGTH},
            )
        )
    if locale is not None and locale not in STAFF_LOCALES:
        raise DigestError(
            Problem(
                N_("language %(locale)s: write one of %(locales)s"),
                {"locale": repr(locale), "locales": ", ".join(STAFF_LOCALES)},
            )
        )
    if interval_minutes < DIGEST_MIN_MINUTES:
        raise DigestError(
            Problem(N_("interval: at least %(minutes)s minutes"), {"minutes": DIGEST_MIN_MINUTES})
        )


def add_subscription(
    session: Session,
    name: str,
    channel: str,
    target: str,
    *,
    interval_minutes: int,
    locale: str | None = None,
    created_by: str | None = None,
    now: datetime | None = None,
) -> SubscriptionView:
    """A new group's digest. It counts flags first seen from now on (not the whole history).
    Raises :class:`DigestError`."""
    name = name.strip()
    _check(name, locale, interval_minutes)
    target = check_target(channel, target)
    if session.execute(
        select(DigestSubscription.id).where(DigestSubscription.name == name)
    ).first():
        raise DigestError(
            Problem(
                N_("a digest group named %(name)s exists: choose another name"),
                {"name": repr(name)},
            )
        )
    row = DigestSubscription(
        name=name,
        channel=channel,
        target=target,
        locale=locale,
        interval_minutes=interval_minutes,
        created_at=now or utcnow(),
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    return _view(row)


def _row(session: Session, name: str) -> DigestSubscription:
    row = session.execute(
        select(DigestSubscription).where(DigestSubscription.name == name)
    ).scalar_one_or_none()
    if row is None:
        raise DigestNotFound(name)
    return row


def get_subscription(session: Session, name: str) -> SubscriptionView:
    return _view(_row(session, name))


def set_disabled(
    session: Session, name: str, disabled: bool, *, now: datetime | None = None
) -> SubscriptionView:
    """Stop (or resume) a group's digests. A resumed group gets the flags it missed meanwhile."""
    row = _row(session, name)
    row.disabled_at = (row.disabled_at or now or utcnow()) if disabled else None
    session.flush()
    return _view(row)


def list_subscriptions(session: Session) -> list[SubscriptionView]:
    rows = session.execute(select(DigestSubscription).order_by(DigestSubscription.name)).scalars()
    return [_view(row) for row in rows]


def due_subscriptions(session: Session, now: datetime) -> list[SubscriptionView]:
    """Enabled groups whose next digest may go at ``now`` (new flags or not)."""
    return [view for view in list_subscriptions(session) if view.is_due(now)]


def lock_subscription(session: Session, subscription_id: int) -> SubscriptionView | None:
    """The group's row, locked until the transaction ends (PostgreSQL), so that the scheduler
    and `repostwatch digests send` never send the same digest twice at once; None when another
    transaction holds it (it is sending)."""
    row = session.execute(
        select(DigestSubscription)
        .where(DigestSubscription.id == subscription_id)
        .with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    return None if row is None else _view(row)


def new_flags(session: Session, subscription: SubscriptionView) -> list[tuple[int, str]]:
    """(flag id, status) of the flags first seen since the group was set up that no delivered
    digest of the group counted, oldest first."""
    counted = exists().where(
        DigestDelivery.subscription_id == subscription.id, DigestDelivery.flag_id == Flag.id
    )
    query = (
        select(Flag.id, Flag.status)
        .where(Flag.first_seen >= subscription.created_at, ~counted)
        .order_by(Flag.id)
    )
    return [(flag_id, status) for flag_id, status in session.execute(query)]


def pending_count(session: Session) -> int:
    """Flags waiting for a decision (the whole queue)."""
    query = select(func.count()).select_from(Flag).where(Flag.status == "pending")
    return session.execute(query).scalar_one()


def record_delivered(
    session: Session, subscription_id: int, flag_ids: list[int], *, now: datetime
) -> None:
    """The digest counting ``flag_ids`` was delivered: they are never counted again."""
    session.add_all(
        DigestDelivery(subscription_id=subscription_id, flag_id=flag_id, sent_at=now)
        for flag_id in flag_ids
    )
    row = session.get(DigestSubscription, subscription_id)
    assert row is not None
    row.last_sent_at = row.last_attempt_at = now
    row.last_error = None
    session.flush()


def record_failure(session: Session, subscription_id: int, error: str, *, now: datetime) -> None:
    """The digest was not delivered: its flags stay new and are tried again after
    min(interval, :data:`RETRY_AFTER`)."""
    row = session.get(DigestSubscription, subscription_id)
    if row is None:
        return
    row.last_attempt_at = now
    row.last_error = error[:1000]
    session.flush()
