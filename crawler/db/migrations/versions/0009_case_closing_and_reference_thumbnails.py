"""Cases can be closed, and can opt in to pixelated reference thumbnails.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25

``cases`` gets ``closed_at`` / ``closed_by`` (closing deletes the case's evidence and withdraws
its references) and ``pixelated_thumbnails`` (the case's opt-in). ``reference_thumbnails`` holds
one heavily pixelated PNG per reference file of a case that opted in.
Runs on SQLite and PostgreSQL (batch operations recreate the table on SQLite).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column(
                "pixelated_thumbnails",
                sa.Boolean(),
                server_default=sa.text("false"),
                nullable=False,
            )
        )
    op.create_table(
        "reference_thumbnails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("media_sha256", sa.String(length=64), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_reference_thumbnails_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_thumbnails")),
        sa.UniqueConstraint(
            "case_id", "media_sha256", name=op.f("uq_reference_thumbnails_case_id_media_sha256")
        ),
    )


def downgrade() -> None:
    op.drop_table("reference_thumbnails")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("pixelated_thumbnails")
        batch_op.drop_column("closed_by")
        batch_op.drop_column("closed_at")
