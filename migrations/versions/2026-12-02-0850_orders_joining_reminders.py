"""Orders and joining: the pass an order buys; one pending join request per address and space; expiry reminders sent once.

Revision ID: fb5d8c3154c6
Revises: 7b2f4e9a1c58
Create Date: 2026-12-02 06:45:49.753735

"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision: str = "fb5d8c3154c6"
down_revision: str | Sequence[str] | None = "7b2f4e9a1c58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_table(
        "expiry_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_expiry_reminder_account_id_account"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["space_id"], ["space.id"], name=op.f("fk_expiry_reminder_space_id_space"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expiry_reminder")),
        sa.UniqueConstraint("space_id", "kind", "item_id", name="uq_expiry_reminder_item"),
    )
    op.create_index(op.f("ix_expiry_reminder_space_id"), "expiry_reminder", ["space_id"], unique=False)
    # Plain ALTER TABLE / CREATE INDEX on both databases: no table rebuild.
    op.add_column("member_order", sa.Column("pass_product_id", sa.Integer(), nullable=True))
    op.create_index("uq_join_request_pending_email", "join_request", ["space_id", "email"], unique=True,
                    sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade() -> None:
    op.drop_index("uq_join_request_pending_email", table_name="join_request")
    # Native DROP COLUMN (SQLite ≥ 3.35): a batch rebuild of a table others point at is not safe.
    op.execute("ALTER TABLE member_order DROP COLUMN pass_product_id")
    op.drop_index(op.f("ix_expiry_reminder_space_id"), table_name="expiry_reminder")
    op.drop_table("expiry_reminder")
