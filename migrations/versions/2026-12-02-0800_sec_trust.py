"""sec: one live calendar feed URL per feed (partial unique index)

Revision ID: 8a1f0c2d3e4b
Revises: 60538530a43b
Create Date: 2026-12-02 08:00:00

Concurrent "regenerate feed address" could leave two live URLs for one feed: older duplicates are
revoked first, then a partial unique index admits one unrevoked row per (space, kind, account,
resource).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = '8a1f0c2d3e4b'
down_revision: Union[str, Sequence[str], None] = '60538530a43b'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Keep the newest live row of each feed, revoke the others.
    op.execute(
        "UPDATE calendar_feed SET revoked_at = created_at WHERE revoked_at IS NULL AND id < ("
        " SELECT max(f.id) FROM calendar_feed f WHERE f.revoked_at IS NULL"
        " AND f.space_id = calendar_feed.space_id AND f.kind = calendar_feed.kind"
        " AND coalesce(f.account_id, 0) = coalesce(calendar_feed.account_id, 0)"
        " AND coalesce(f.resource_id, 0) = coalesce(calendar_feed.resource_id, 0))"
    )
    op.create_index(
        "uq_calendar_feed_live", "calendar_feed",
        ["space_id", "kind", sa.text("coalesce(account_id, 0)"), sa.text("coalesce(resource_id, 0)")],
        unique=True, postgresql_where=sa.text("revoked_at IS NULL"), sqlite_where=sa.text("revoked_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_calendar_feed_live", table_name="calendar_feed")
