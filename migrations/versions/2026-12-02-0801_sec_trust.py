"""sec: one live calendar feed URL per feed (partial unique index); login_attempt dropped; space_member.note

Revision ID: 8a1f0c2d3e4b
Revises: 9f04d0d129df
Create Date: 2026-12-02 08:00:00

Concurrent "regenerate feed address" could leave two live URLs for one feed: older duplicates are
revoked first, then a partial unique index admits one unrevoked row per (space, kind, account,
resource).

``login_attempt`` was written on every login and read by nothing (the throttle has its own
counters in ``login_throttle``): the table goes.

``space_member.note``: the team's private note on a person (plain ADD COLUMN: the table is pointed
at by others, so it is never rebuilt on SQLite).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = '8a1f0c2d3e4b'
down_revision: Union[str, Sequence[str], None] = '9f04d0d129df'
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


    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_attempt_ip"))
        batch_op.drop_index(batch_op.f("ix_login_attempt_email"))
        batch_op.drop_index(batch_op.f("ix_login_attempt_created_at"))
    op.drop_table("login_attempt")
    op.add_column("space_member", sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False,
                                            server_default=""))


def downgrade() -> None:
    op.drop_column("space_member", "note")
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("ip", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempt")),
    )
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_attempt_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_attempt_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_attempt_ip"), ["ip"], unique=False)
    op.drop_index("uq_calendar_feed_live", table_name="calendar_feed")
