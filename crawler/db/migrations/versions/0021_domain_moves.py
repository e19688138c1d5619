"""Domain moves: a site seen at another registrable domain, proposed to staff.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07

``domain_moves`` holds one row per site, old domain and new domain: how it was seen (a
redirect of the site's pages, or a successor URL answering when every start URL died), the
evidence in words, when it was first and last seen, and what staff decided (proposed, adopted,
dismissed). Adopting rewrites the site's definition in a new version of the same site row, so
its runs, flags and notices stay its own. A plain CREATE TABLE on both databases.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "domain_moves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("old_domain", sa.String(length=253), nullable=False),
        sa.Column("new_domain", sa.String(length=253), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("new_url", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("times_seen", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('proposed', 'adopted', 'dismissed')", name=op.f("ck_domain_moves_state")
        ),
        sa.CheckConstraint("kind IN ('redirect', 'successor')", name=op.f("ck_domain_moves_kind")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["crawl_runs.id"], name=op.f("fk_domain_moves_run_id_crawl_runs")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_domain_moves_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domain_moves")),
        sa.UniqueConstraint(
            "site_id",
            "old_domain",
            "new_domain",
            name=op.f("uq_domain_moves_site_id_old_domain_new_domain"),
        ),
    )
    op.create_index(op.f("ix_domain_moves_site_id"), "domain_moves", ["site_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_domain_moves_site_id"), table_name="domain_moves")
    op.drop_table("domain_moves")
