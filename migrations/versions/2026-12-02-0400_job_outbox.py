"""job_outbox: jobs written in the transaction that causes them (app.core.jobs)

A platform table (``space_id`` without a foreign key: a space's deletion must neither wait on nor
erase its jobs). ``key`` is unique for scheduled work (one row per cron job and period); the
``(done_at, created_at)`` index serves the relay (pending rows, oldest first), /readyz and the purge.

Revision ID: 8a4d2c6e0f13
Revises: 3c9e1f0a7b21
Create Date: 2026-12-02 04:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


# revision identifiers, used by Alembic.
revision: str = '8a4d2c6e0f13'
down_revision: Union[str, Sequence[str], None] = '9d4b2e7c1a60'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'job_outbox',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('space_id', sa.Integer(), nullable=True),
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column('payload', sa.LargeBinary(), nullable=False),
        sa.Column('run_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('relayed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('claimed_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('done_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key', name='uq_job_outbox_key'),
    )
    op.create_index('ix_job_outbox_pending', 'job_outbox', ['done_at', 'created_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_job_outbox_pending', table_name='job_outbox')
    op.drop_table('job_outbox')
