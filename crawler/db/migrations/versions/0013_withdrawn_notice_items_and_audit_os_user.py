"""Withdrawn notice items and their corrections; the OS user of command-line audit entries.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

A flag that leaves "confirmed" after its notice was approved or sent stays in the notice as a
record, marked ``withdrawn_at``; when the notice had been sent, ``correction_due`` says a short
correction must go to the site, and ``correction_sent_at`` when it went. ``audit_log.os_user``
is the operating-system account that ran a command (the ``--by`` account is who it acted as).
PostgreSQL also refuses TRUNCATE on the audit log (a statement trigger; UPDATE and DELETE are
refused since 0007). Plain ADD COLUMN on both databases: a batch copy of ``audit_log`` would
drop its SQLite triggers.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("os_user", sa.String(length=200), nullable=True))
    op.add_column("notice_items", sa.Column("withdrawn_at", UTC, nullable=True))
    op.add_column(
        "notice_items",
        sa.Column("correction_due", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("notice_items", sa.Column("correction_sent_at", UTC, nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    with op.batch_alter_table("notice_items", schema=None) as batch_op:
        batch_op.drop_column("correction_sent_at")
        batch_op.drop_column("correction_due")
        batch_op.drop_column("withdrawn_at")
    op.drop_column("audit_log", "os_user")
