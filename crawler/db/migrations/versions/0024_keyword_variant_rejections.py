"""Rejected spelling variants of case keywords.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07

``keyword_variant_rejections``: a variant staff rejected for one keyword of one case (who and
when), so that it is not proposed again for that keyword (accepting a variant makes it a
keyword, which case_keywords keeps already). Runs on SQLite and PostgreSQL; after upgrading
PostgreSQL, run ``repostwatch db grant-app-role`` again so that the application's role may use
the new table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "keyword_variant_rejections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("keyword", sa.String(length=200), nullable=False),
        sa.Column("variant", sa.String(length=200), nullable=False),
        sa.Column("rejected_by", sa.String(length=200), nullable=False),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_keyword_variant_rejections_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_keyword_variant_rejections")),
        sa.UniqueConstraint(
            "case_id",
            "keyword",
            "variant",
            name=op.f("uq_keyword_variant_rejections_case_id_keyword_variant"),
        ),
    )


def downgrade() -> None:
    op.drop_table("keyword_variant_rejections")
