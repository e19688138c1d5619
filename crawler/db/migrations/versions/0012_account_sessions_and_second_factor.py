"""Staff accounts get a session version and a second factor (TOTP).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

``users.session_version`` is carried in every session cookie; logging out, changing the password,
the role or disabling the account raise it, so that a copied cookie stops working.
``totp_secret`` is the account's TOTP secret, encrypted with a key derived from
REPOSTWATCH_SECRET_KEY; ``totp_enrolled_at`` is set once the first code was accepted (until then
the secret is an enrolment in progress); ``totp_last_step`` is the time step of the last accepted
code, so that a code is accepted once only.
Runs on SQLite and PostgreSQL (batch operations recreate the table on SQLite).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(sa.Column("totp_secret", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("totp_enrolled_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_enrolled_at")
        batch_op.drop_column("totp_secret")
        batch_op.drop_column("session_version")
