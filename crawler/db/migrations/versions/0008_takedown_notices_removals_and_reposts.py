"""Takedown notices with their items and screenshots; flags can be removed and be reposts.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25

Flags get the found media's PDQ, the time and reason of a removal, the last re-check and the
removed flag a repost repeats; the status "removed" joins the check constraint. The unique rule
"one flag per case, media URL and content" becomes a partial unique index over flags that are
not removed, so that media put back where it was removed becomes a new flag (a repost).
Runs on SQLite and PostgreSQL (batch operations recreate the table on SQLite).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "status IN ('pending', 'confirmed', 'rejected')"
NEW_STATUSES = "status IN ('pending', 'confirmed', 'rejected', 'removed')"
FLAG_KEY = ["case_id", "media_url_key", "media_sha256"]
NOT_REMOVED = sa.text("removed_at IS NULL")
OLD_UNIQUE = "uq_flags_case_id_media_url_key_media_sha256"
OPEN_UNIQUE = "uq_flags_open_media"


def upgrade() -> None:
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.add_column(sa.Column("media_pdq", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("removed_reason", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("repost_of_flag_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_flags_repost_of_flag_id_flags"), "flags", ["repost_of_flag_id"], ["id"]
        )
        batch_op.create_index(op.f("ix_flags_repost_of_flag_id"), ["repost_of_flag_id"])
        batch_op.drop_constraint(op.f(OLD_UNIQUE), type_="unique")
        batch_op.drop_constraint(op.f("ck_flags_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_flags_status"), NEW_STATUSES)
    op.create_index(
        op.f(OPEN_UNIQUE),
        "flags",
        FLAG_KEY,
        unique=True,
        sqlite_where=NOT_REMOVED,
        postgresql_where=NOT_REMOVED,
    )

    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("send_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_send_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'approved', 'sent', 'resolved')",
            name=op.f("ck_notices_status"),
        ),
        sa.CheckConstraint(
            "status = 'draft' OR (approved_by IS NOT NULL AND approved_at IS NOT NULL)",
            name=op.f("ck_notices_approved"),
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_notices_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    op.create_index(op.f("ix_notices_site_id"), "notices", ["site_id"])
    op.create_index(op.f("ix_notices_status"), "notices", ["status"])
    op.create_index(op.f("ix_notices_next_send_at"), "notices", ["next_send_at"])

    op.create_table(
        "notice_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("screenshot_png", sa.LargeBinary(), nullable=True),
        sa.Column("screenshot_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("screenshot_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notices.id"], name=op.f("fk_notice_items_notice_id_notices")
        ),
        sa.ForeignKeyConstraint(
            ["flag_id"], ["flags.id"], name=op.f("fk_notice_items_flag_id_flags")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_items")),
        sa.UniqueConstraint("flag_id", name=op.f("uq_notice_items_flag_id")),
    )
    op.create_index(op.f("ix_notice_items_notice_id"), "notice_items", ["notice_id"])


def downgrade() -> None:
    op.drop_table("notice_items")
    op.drop_table("notices")
    # Removed flags go back to confirmed: the older schema knows no "removed".
    op.execute("UPDATE flags SET status = 'confirmed' WHERE status = 'removed'")
    op.drop_index(op.f(OPEN_UNIQUE), table_name="flags")
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_flags_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_flags_status"), OLD_STATUSES)
        batch_op.create_unique_constraint(op.f(OLD_UNIQUE), FLAG_KEY)
        batch_op.drop_index(op.f("ix_flags_repost_of_flag_id"))
        batch_op.drop_constraint(op.f("fk_flags_repost_of_flag_id_flags"), type_="foreignkey")
        batch_op.drop_column("repost_of_flag_id")
        batch_op.drop_column("removed_reason")
        batch_op.drop_column("removed_at")
        batch_op.drop_column("last_checked_at")
        batch_op.drop_column("media_pdq")
