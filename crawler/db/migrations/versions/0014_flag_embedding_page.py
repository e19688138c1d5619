"""The page that embeds a flagged media's player page.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

A player reached through an ``<iframe>`` (followed one level, `spiders/embeds.py`) is its own
page, often on an embed host; ``flags.embedded_in`` keeps the page that embeds it, where a
visitor (and a takedown notice) finds the video. Null for media found on the page itself.
Plain ADD COLUMN on both databases.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("flags", sa.Column("embedded_in", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.drop_column("embedded_in")
