"""Each staff member's language and time zone for the web app.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

``users.locale`` (``ko`` or ``en``, checked by `crawler.db.users.set_preferences`) and
``users.timezone`` (an IANA name such as ``Asia/Seoul``): the web app speaks and shows times to
each user in them. Null, as every account has after this revision, means the installation's
(REPOSTWATCH_LOCALE, REPOSTWATCH_TIMEZONE). Plain ADD COLUMN on both databases.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("locale", sa.String(length=8), nullable=True))
    op.add_column("users", sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("timezone")
        batch_op.drop_column("locale")
