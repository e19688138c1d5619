"""Digests of new flags for reviewer groups: who gets one, how often, and which flags each group
was already told about."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crawler.db.models.base import NAME_LENGTH, Base, check_in, utcnow

#: How a digest travels: an e-mail to the group's addresses, or a JSON POST to a webhook.
DIGEST_CHANNELS = ("email", "webhook")
#: The shortest interval between two digests of one group, in minutes.
DIGEST_MIN_MINUTES = 5


class DigestSubscription(Base):
    """A reviewer group's digest: its name, channel, addresses (comma-separated) or webhook
    URL, language (None: the installation's, REPOSTWATCH_LOCALE) and interval. Disabled, never
    deleted: the deliveries and the audit log refer to it."""

    __tablename__ = "digest_subscriptions"
    __table_args__ = (
        UniqueConstraint("name"),
        CheckConstraint(check_in("channel", DIGEST_CHANNELS), name="channel"),
        CheckConstraint(f"interval_minutes >= {DIGEST_MIN_MINUTES}", name="interval"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(Text)
    locale: Mapped[str | None] = mapped_column(String(8))
    interval_minutes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    disabled_at: Mapped[datetime | None]
    #: The last digest that was delivered, and the last try (failed when ``last_error`` is set).
    last_sent_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class DigestDelivery(Base):
    """A flag a group's digest counted, written in the transaction that records the digest as
    delivered: a flag is counted once per group, and a digest that failed counts nothing."""

    __tablename__ = "digest_deliveries"

    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("digest_subscriptions.id"), primary_key=True
    )
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"), primary_key=True, index=True)
    sent_at: Mapped[datetime]
