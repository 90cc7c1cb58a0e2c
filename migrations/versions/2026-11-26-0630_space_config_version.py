"""space.config_version: the version of a space's booking configuration

Grows in the same transaction as any change to the space's resources, opening hours, closures,
blocks or CalDAV targets (``app.core.tenancy.space_config``); the per-process booking snapshot
(``app.booking.snapshot``) is keyed by it. Plain ``add_column`` (no batch rebuild of ``space``).

Revision ID: 3c9e1f0a7b21
Revises: 5c1e0a7f3b21
Create Date: 2026-11-26 06:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '3c9e1f0a7b21'
down_revision: Union[str, Sequence[str], None] = '5c1e0a7f3b21'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('space', sa.Column('config_version', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    """Downgrade schema."""
    # Not a batch: rebuilding ``space`` on SQLite would cascade-delete every space's rows.
    op.execute("ALTER TABLE space DROP COLUMN config_version")
