"""subscriptions: a fixed desk is held by one live subscription at a time

Revision ID: 7b2f4c1d9e05
Revises: 8a1f0c2d3e4b
Create Date: 2026-12-02 08:00:00

A partial unique index on ``subscription.fixed_resource_id`` for subscriptions not ended: the
database decides between two staff assigning the same desk at once.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401


revision: str = '7b2f4c1d9e05'
down_revision: Union[str, Sequence[str], None] = '8a1f0c2d3e4b'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_LIVE = sa.text("fixed_resource_id IS NOT NULL AND status <> 'ended'")


def upgrade() -> None:
    op.create_index("uq_subscription_fixed_resource_live", "subscription", ["fixed_resource_id"], unique=True,
                    postgresql_where=_LIVE, sqlite_where=_LIVE)


def downgrade() -> None:
    op.drop_index("uq_subscription_fixed_resource_live", table_name="subscription")
