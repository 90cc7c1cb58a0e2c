"""booking overlap index: (space_id, resource_id, blocked_until)

Overlap queries (``starts_at < end AND blocked_until > start``) were bounded only by ``starts_at``
and read every past booking of a resource. With this index the scan starts at ``start``.
Plain ``create_index`` (no batch): on SQLite a batch would copy ``booking`` and drop its overlap
triggers.

Revision ID: d71ac7295e26
Revises: 7af0287fc996
Create Date: 2026-11-26 04:32:27.148275

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = 'd71ac7295e26'
down_revision: Union[str, Sequence[str], None] = '7af0287fc996'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index('ix_booking_space_resource_blocked_until', 'booking',
                    ['space_id', 'resource_id', 'blocked_until'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_booking_space_resource_blocked_until', table_name='booking')
