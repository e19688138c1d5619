"""The ``monitor`` staff role: the monitoring team's accounts (crawls, manual URL checks).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07

The role joins the check constraint of ``users.role`` (roles are ranked, lowest first:
monitor, reviewer, approver, admin; crawler/db/models/review.py). Downgrading refuses while an
account has the role: change it first (the web app's Users page), so no account is lost.
Runs on SQLite and PostgreSQL (batch operations recreate the table on SQLite).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ROLES = "role IN ('reviewer', 'approver', 'admin')"
NEW_ROLES = "role IN ('monitor', 'reviewer', 'approver', 'admin')"


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_role"), NEW_ROLES)


def downgrade() -> None:
    monitors = op.get_bind().execute(sa.text("SELECT count(*) FROM users WHERE role = 'monitor'"))
    if monitors.scalar_one():
        raise RuntimeError(
            "accounts have the monitor role: give them another role first "
            "(the web app's Users page), then downgrade"
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_role"), OLD_ROLES)
