"""Sites are defined in the database: each site's TOML text, its version and who saved it.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

``sites`` gains ``toml`` (the site's TOML document, validated by ``crawler.sites`` before it is
saved), ``version`` (0 until the first save), ``updated_at`` and ``updated_by``;
``site_versions`` keeps the text of every save. Sites crawled before this revision keep their
rows (runs, flags and notices stay theirs) with no text: `repostwatch db upgrade` imports the
site files of REPOSTWATCH_SITES_DIR the database has no text for, and `repostwatch sites
import` the others. Plain ADD COLUMN and CREATE TABLE on both databases.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sites", sa.Column("toml", sa.Text(), nullable=True))
    op.add_column(
        "sites", sa.Column("version", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column("sites", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("sites", sa.Column("updated_by", sa.String(length=200), nullable=True))
    op.create_table(
        "site_versions",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("toml", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("saved_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_site_versions_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("site_id", "version", name=op.f("pk_site_versions")),
    )


def downgrade() -> None:
    op.drop_table("site_versions")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("updated_by")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("version")
        batch_op.drop_column("toml")
