"""The middles of reference videos' frames, for cropped copies.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

Once a second, the PDQ hash of the middle of a reference video's frame (10% off each edge:
`crawler.hashing.crops.MIDDLE`), which a crop of up to 10% leaves in a copy. A crawled frame's
crops are matched against these. Videos registered before this revision have none: their
uncropped copies match as before; register them again from the file to find cropped copies.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reference_video_middles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "quality >= 0 AND quality <= 100", name=op.f("ck_reference_video_middles_quality")
        ),
        sa.ForeignKeyConstraint(
            ["video_id"],
            ["reference_videos.id"],
            name=op.f("fk_reference_video_middles_video_id_reference_videos"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_video_middles")),
        sa.UniqueConstraint(
            "video_id", "seconds", name=op.f("uq_reference_video_middles_video_id_seconds")
        ),
    )
    with op.batch_alter_table("reference_video_middles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reference_video_middles_video_id"), ["video_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("reference_video_middles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reference_video_middles_video_id"))
    op.drop_table("reference_video_middles")
