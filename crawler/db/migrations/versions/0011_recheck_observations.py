"""Re-check observations: a flag is removed only when its media was seen gone twice.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

``recheck_observations`` keeps every re-check of a flag (when, present / gone / unknown, the
media URL's HTTP status, why). A flag becomes "removed" only after two "gone" observations at
least REPOSTWATCH_RECHECK_GONE_HOURS apart with no "present" one in between.
Runs on SQLite and PostgreSQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recheck_observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('present', 'gone', 'unknown')",
            name=op.f("ck_recheck_observations_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["flag_id"], ["flags.id"], name=op.f("fk_recheck_observations_flag_id_flags")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recheck_observations")),
    )
    op.create_index(op.f("ix_recheck_observations_flag_id"), "recheck_observations", ["flag_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_recheck_observations_flag_id"), table_name="recheck_observations")
    op.drop_table("recheck_observations")
