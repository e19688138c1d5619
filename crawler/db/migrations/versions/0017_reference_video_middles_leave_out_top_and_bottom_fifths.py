"""Reference videos' middles leave out a fifth of the height at the top and the bottom.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

The middle of a reference video's frame (`crawler.hashing.crops.MIDDLE`) was 10% off each edge;
it is now 10% off the left and the right and 20% off the top and the bottom, so that a banner or
caption band over a fifth of a copy's height lies outside it. Middles stored before are of the
old region and would not match a crawled frame's crops: they are deleted. Run ``refs add`` on
each reference video's file again: it fills in the middles of a video already registered (its
frames stay as they are). Until then its cropped copies are not found; whole copies still are.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM reference_video_middles"))


def downgrade() -> None:
    # The old region cannot be computed from the new one: middles stored by this revision's
    # code are deleted too, and ``refs add`` of the older code fills them in again.
    op.execute(sa.text("DELETE FROM reference_video_middles"))
