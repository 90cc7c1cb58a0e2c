"""booking held range index (PostgreSQL): GiST on (space_id, tstzrange(starts_at, blocked_until))

Availability asks for every booking of a space whose held interval meets a range of days. The
B-tree on (space_id, resource_id, blocked_until) bounds that scan by its start only (it reads the
space's future up to the horizon), and with many spaces the planner preferred reading the space's
whole history through ix_booking_space_id. A GiST index on the held range answers ``&&`` directly,
reading only the bookings that meet the range. PostgreSQL only (``btree_gist`` is already there for
the exclusion constraint); SQLite keeps the B-tree. Not declared on the model: migrations/env.py
lists it in POSTGRESQL_ONLY_INDEXES so that autogenerate does not drop it.

Revision ID: 5c1e0a7f3b21
Revises: d71ac7295e26
Create Date: 2026-11-26 05:00:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '5c1e0a7f3b21'
down_revision: Union[str, Sequence[str], None] = 'd71ac7295e26'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute("CREATE INDEX ix_booking_held_range ON booking USING gist "
               "(space_id, tstzrange(starts_at, blocked_until, '[)')) WHERE status = 'confirmed'")


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_booking_held_range")
