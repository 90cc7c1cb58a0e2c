"""public_page: what a space publishes for visitors at /s/{slug} (app.public)

Three columns on ``space``, added in place (never a batch rebuild: on SQLite that would cascade
onto every row pointing at the space).

Revision ID: 7b2f4e9a1c58
Revises: 7b2f4c1d9e05
Create Date: 2026-12-02 08:10:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


# revision identifiers, used by Alembic.
revision: str = '7b2f4e9a1c58'
down_revision: Union[str, Sequence[str], None] = '7b2f4c1d9e05'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('space', sa.Column('public_page', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('space', sa.Column('public_blocks', sqlmodel.sql.sqltypes.AutoString(length=200),
                                     server_default='', nullable=False))
    op.add_column('space', sa.Column('public_text', sqlmodel.sql.sqltypes.AutoString(length=5000),
                                     server_default='', nullable=False))


def downgrade() -> None:
    """Downgrade schema."""
    # SQLite (3.35+) drops a column in place; PostgreSQL too.
    op.drop_column('space', 'public_text')
    op.drop_column('space', 'public_blocks')
    op.drop_column('space', 'public_page')
