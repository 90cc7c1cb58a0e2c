"""auth_throttle: login_throttle counters (app.account.throttle)

One row per bucket (account and address, account, address, known browser), keyed by a SHA-256
digest so no address is stored in clear. The login claims an attempt with a conditional UPDATE on
the row, which is what makes the throttle hold under concurrent attempts.

Revision ID: 5e7a1c3b9d24
Revises: 8a4d2c6e0f13
Create Date: 2026-12-02 05:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


# revision identifiers, used by Alembic.
revision: str = '5e7a1c3b9d24'
down_revision: Union[str, Sequence[str], None] = '8a4d2c6e0f13'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'login_throttle',
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('locked_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle')),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('login_throttle')
