"""VAT as data and charges: the space's pricing settings, rates that fall back to them, charge rows

- ``space.default_vat_rate_bp`` (2000; 0 for spaces marked exempt or under the franchise) and
  ``space.prices_include_vat`` (true);
- ``resource.vat_rate_bp`` and ``event.vat_rate_bp`` become nullable: null is the space's default.
  On SQLite this is done without rebuilding the tables (a rebuild drops ``resource``, which would
  cascade-delete its bookings): a new nullable column takes the values, the old one is dropped
  and the new one renamed;
- ``charge``: the immutable priced lines of bookings and registrations. No foreign key cascades
  onto it (accounting records), ``reverses_id`` is unique (a line is reversed once), and a trigger
  refuses any UPDATE of a charge on both databases (the ORM refuses updates and deletes too).

Revision ID: 9d4b2e7c1a60
Revises: 3c9e1f0a7b21
Create Date: 2026-12-02 04:10:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


# revision identifiers, used by Alembic.
revision: str = '9d4b2e7c1a60'
down_revision: Union[str, Sequence[str], None] = '9b7e4c2d1f60'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _nullable_rate(table: str, nullable: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(table, 'vat_rate_bp', existing_type=sa.Integer(), nullable=nullable)
        return
    # Plain ALTERs (SQLite ≥ 3.35): no batch rebuild of a table other rows point at.
    op.execute(f"ALTER TABLE {table} ADD COLUMN vat_rate_bp_new INTEGER" + ("" if nullable else " NOT NULL DEFAULT 0"))
    op.execute(f"UPDATE {table} SET vat_rate_bp_new = " + ("vat_rate_bp" if nullable else "COALESCE(vat_rate_bp, 0)"))
    op.execute(f"ALTER TABLE {table} DROP COLUMN vat_rate_bp")
    op.execute(f"ALTER TABLE {table} RENAME COLUMN vat_rate_bp_new TO vat_rate_bp")


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('space', sa.Column('default_vat_rate_bp', sa.Integer(), server_default='2000', nullable=False))
    op.add_column('space', sa.Column('prices_include_vat', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.execute("UPDATE space SET default_vat_rate_bp = 0 WHERE vat_regime IN ('association', 'franchise')")
    _nullable_rate('resource', True)
    _nullable_rate('event', True)
    op.create_table('charge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('space_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('source_type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('item', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('unit_price_cents', sa.Integer(), nullable=False),
    sa.Column('prices_include_vat', sa.Boolean(), nullable=False),
    sa.Column('vat_rate_bp', sa.Integer(), nullable=False),
    sa.Column('price_kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('amount_excl_cents', sa.Integer(), nullable=False),
    sa.Column('vat_cents', sa.Integer(), nullable=False),
    sa.Column('amount_incl_cents', sa.Integer(), nullable=False),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_charge_account_id_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['reverses_id'], ['charge.id'], name=op.f('fk_charge_reverses_id_charge')),
    # SQLite has no ALTER ... ADD CONSTRAINT: its composite key is declared here (checked on write);
    # PostgreSQL needs the unique index on (space_id, id) first, so it adds the key below.
    *([sa.ForeignKeyConstraint(['space_id', 'reverses_id'], ['charge.space_id', 'charge.id'],
                               name='fk_reverses_id_space_charge')] if op.get_bind().dialect.name == "sqlite" else []),
    sa.ForeignKeyConstraint(['space_id'], ['space.id'], name=op.f('fk_charge_space_id_space'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charge')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_charge_reverses_id'))
    )
    op.create_index(op.f('ix_charge_space_id'), 'charge', ['space_id'], unique=False)
    op.create_index('uq_charge_space_id', 'charge', ['space_id', 'id'], unique=True)
    if op.get_bind().dialect.name != "sqlite":
        op.create_foreign_key('fk_reverses_id_space_charge', 'charge', 'charge', ['space_id', 'reverses_id'],
                              ['space_id', 'id'])
    op.create_index('ix_charge_space_source', 'charge', ['space_id', 'source_type', 'source_id'], unique=False)
    op.create_index('ix_charge_space_account_created', 'charge', ['space_id', 'account_id', 'created_at'], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE TRIGGER charge_immutable BEFORE UPDATE ON charge "
                   "BEGIN SELECT RAISE(ABORT, 'charge_immutable'); END")
    else:
        op.execute("CREATE FUNCTION charge_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION 'charge_immutable' USING ERRCODE = 'integrity_constraint_violation'; END $$")
        op.execute("CREATE TRIGGER charge_immutable BEFORE UPDATE ON charge "
                   "FOR EACH ROW EXECUTE FUNCTION charge_immutable()")


def downgrade() -> None:
    """Downgrade schema."""
    op.execute("DROP TRIGGER IF EXISTS charge_immutable" + ("" if op.get_bind().dialect.name == "sqlite" else " ON charge"))
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS charge_immutable()")
    op.drop_index('ix_charge_space_account_created', table_name='charge')
    op.drop_index('ix_charge_space_source', table_name='charge')
    op.drop_index('uq_charge_space_id', table_name='charge')
    op.drop_index(op.f('ix_charge_space_id'), table_name='charge')
    op.drop_table('charge')
    op.execute("UPDATE event SET vat_rate_bp = 0 WHERE vat_rate_bp IS NULL")
    op.execute("UPDATE resource SET vat_rate_bp = (SELECT default_vat_rate_bp FROM space WHERE space.id = resource.space_id) "
               "WHERE vat_rate_bp IS NULL")
    _nullable_rate('event', False)
    _nullable_rate('resource', False)
    # Not a batch: rebuilding ``space`` on SQLite would cascade-delete every space's rows.
    op.execute("ALTER TABLE space DROP COLUMN prices_include_vat")
    op.execute("ALTER TABLE space DROP COLUMN default_vat_rate_bp")
