"""Digests of new flags for reviewer groups.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07

``digest_subscriptions``: a reviewer group's digest (name, e-mail addresses or webhook URL,
language, interval, the last delivery and the last error). ``digest_deliveries``: which flags
each group's delivered digests counted, so that a flag is counted once per group and a failed
digest counts nothing. Runs on SQLite and PostgreSQL; after upgrading PostgreSQL, run
``repostwatch db grant-app-role`` again so that the application's role may use the new tables.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "digest_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=True),
        sa.Column("interval_minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "channel IN ('email', 'webhook')", name=op.f("ck_digest_subscriptions_channel")
        ),
        sa.CheckConstraint("interval_minutes >= 5", name=op.f("ck_digest_subscriptions_interval")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_subscriptions")),
        sa.UniqueConstraint("name", name=op.f("uq_digest_subscriptions_name")),
    )
    op.create_table(
        "digest_deliveries",
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["digest_subscriptions.id"],
            name=op.f("fk_digest_deliveries_subscription_id_digest_subscriptions"),
        ),
        sa.ForeignKeyConstraint(
            ["flag_id"], ["flags.id"], name=op.f("fk_digest_deliveries_flag_id_flags")
        ),
        sa.PrimaryKeyConstraint("subscription_id", "flag_id", name=op.f("pk_digest_deliveries")),
    )
    op.create_index(op.f("ix_digest_deliveries_flag_id"), "digest_deliveries", ["flag_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_digest_deliveries_flag_id"), table_name="digest_deliveries")
    op.drop_table("digest_deliveries")
    op.drop_table("digest_subscriptions")
