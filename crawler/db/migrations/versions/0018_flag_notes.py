"""Reviewers' notes on flags.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

``flag_notes``: plain-text notes staff add on a flag's page (author, time, at most 2,000
characters, checked by the database too). Notes are only ever added: the app neither edits nor
deletes them. Runs on SQLite and PostgreSQL; after upgrading PostgreSQL, run
``repostwatch db grant-app-role`` again so that the application's role may use the new table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flag_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "length(body) BETWEEN 1 AND 2000", name=op.f("ck_flag_notes_body_length")
        ),
        sa.ForeignKeyConstraint(
            ["flag_id"], ["flags.id"], name=op.f("fk_flag_notes_flag_id_flags")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_flag_notes_author_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag_notes")),
    )
    op.create_index(op.f("ix_flag_notes_flag_id"), "flag_notes", ["flag_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_flag_notes_flag_id"), table_name="flag_notes")
    op.drop_table("flag_notes")
