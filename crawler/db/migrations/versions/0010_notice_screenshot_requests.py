"""Notice items remember that a screenshot was asked for and is not taken yet.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

The web app never runs Chromium in a request: a request sets ``screenshot_requested_at`` and
a background runner takes the screenshots in the screenshot worker, then clears it. The notice
page shows such items as pending. Runs on SQLite and PostgreSQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notice_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("screenshot_requested_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("notice_items", schema=None) as batch_op:
        batch_op.drop_column("screenshot_requested_at")
