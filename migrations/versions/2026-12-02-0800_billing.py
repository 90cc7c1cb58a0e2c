"""Billing: invoices and credit notes, their lines, payments, period closures, per-series counters

- ``billing_counter``: one row per space and series (``F2026``, ``FAV2026``) holding the last number
  given, incremented by ``UPDATE … RETURNING`` in the issuing transaction (gapless); the series
  ``chain`` holds the head of the space's hash chain;
- ``invoice`` (kind invoice / credit_note, draft then issued), ``invoice_line`` (``charge_id`` unique:
  a charge is invoiced once; ``credits_line_id`` unique: a line is credited once), ``payment`` (a
  refund is a negative payment naming the one it refunds), ``period_closure``;
- kept records: every foreign key RESTRICT, composite space keys, and triggers on both databases:
  an issued invoice's row can be neither updated nor deleted; lines, payments and closures can be
  neither updated nor deleted. The DELETE triggers are named ``*_undeletable``.

Revision ID: 9f04d0d129df
Revises: 60538530a43b
Create Date: 2026-12-02 08:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '9f04d0d129df'
down_revision: str | Sequence[str] | None = '60538530a43b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _self_key(table: str, column: str) -> list[sa.ForeignKeyConstraint]:
    """A composite key onto the table itself: SQLite has no ALTER ... ADD CONSTRAINT, so it is
    declared with the table; PostgreSQL needs the unique (space_id, id) index first (below)."""
    return [sa.ForeignKeyConstraint(['space_id', column], [f'{table}.space_id', f'{table}.id'],
                                    name=f'fk_{column}_space_{table}')] if _is_sqlite() else []


def _self_key_after(table: str, column: str) -> None:
    if not _is_sqlite():
        op.create_foreign_key(f'fk_{column}_space_{table}', table, table, ['space_id', column], ['space_id', 'id'])


# (trigger name, table, event, condition on OLD or None)
TRIGGERS = [
    ("invoice_immutable", "invoice", "UPDATE", "OLD.status = 'issued'"),
    ("invoice_undeletable", "invoice", "DELETE", "OLD.status = 'issued'"),
    ("invoice_line_immutable", "invoice_line", "UPDATE", None),
    ("invoice_line_undeletable", "invoice_line", "DELETE", None),
    ("payment_immutable", "payment", "UPDATE", None),
    ("payment_undeletable", "payment", "DELETE", None),
    ("period_closure_immutable", "period_closure", "UPDATE", None),
    ("period_closure_undeletable", "period_closure", "DELETE", None),
]


def _create_triggers() -> None:
    if not _is_sqlite():
        op.execute("CREATE FUNCTION billing_record_kept() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation'; END $$")
    for name, table, event, condition in TRIGGERS:
        if _is_sqlite():
            when = f" WHEN {condition}" if condition else ""
            op.execute(f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW{when} "
                       f"BEGIN SELECT RAISE(ABORT, '{name}'); END")
        else:
            when = f" WHEN ({condition})" if condition else ""
            op.execute(f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW{when} "
                       f"EXECUTE FUNCTION billing_record_kept('{name}')")


def _drop_triggers() -> None:
    for name, table, _event, _condition in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + ("" if _is_sqlite() else f" ON {table}"))
    if not _is_sqlite():
        op.execute("DROP FUNCTION IF EXISTS billing_record_kept()")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('billing_counter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('space_id', sa.Integer(), nullable=False),
    sa.Column('series', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.Column('head_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['space_id'], ['space.id'], name=op.f('fk_billing_counter_space_id_space'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_counter')),
    sa.UniqueConstraint('space_id', 'series', name='uq_billing_counter_series')
    )
    with op.batch_alter_table('billing_counter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_counter_space_id'), ['space_id'], unique=False)

    op.create_table('invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('space_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('series', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('seq', sa.Integer(), nullable=True),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('buyer_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('buyer_address', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('buyer_siren', sqlmodel.sql.sqltypes.AutoString(length=14), nullable=True),
    sa.Column('buyer_vat_number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('buyer_is_business', sa.Boolean(), nullable=False),
    sa.Column('seller_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('seller_siret', sqlmodel.sql.sqltypes.AutoString(length=14), nullable=True),
    sa.Column('seller_address', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True),
    sa.Column('seller_vat_number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('vat_regime', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('total_excl_cents', sa.Integer(), nullable=False),
    sa.Column('total_vat_cents', sa.Integer(), nullable=False),
    sa.Column('total_incl_cents', sa.Integer(), nullable=False),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('mentions', sa.Text(), nullable=False),
    sa.Column('chain_seq', sa.Integer(), nullable=True),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('issued_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_invoice_account_id_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['corrects_id'], ['invoice.id'], name=op.f('fk_invoice_corrects_id_invoice')),
    sa.ForeignKeyConstraint(['created_by_id'], ['account.id'], name=op.f('fk_invoice_created_by_id_account'), ondelete='RESTRICT'),
    *_self_key('invoice', 'corrects_id'),
    sa.ForeignKeyConstraint(['space_id'], ['space.id'], name=op.f('fk_invoice_space_id_space'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice')),
    sa.UniqueConstraint('space_id', 'chain_seq', name='uq_invoice_chain_seq'),
    sa.UniqueConstraint('space_id', 'series', 'seq', name='uq_invoice_series_seq')
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_space_account', ['space_id', 'account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_space_id'), ['space_id'], unique=False)
        batch_op.create_index('ix_invoice_space_status_issued', ['space_id', 'status', 'issued_on'], unique=False)
        batch_op.create_index('uq_invoice_space_id', ['space_id', 'id'], unique=True)
    _self_key_after('invoice', 'corrects_id')

    op.create_table('period_closure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('space_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('invoiced_excl_cents', sa.Integer(), nullable=False),
    sa.Column('invoiced_vat_cents', sa.Integer(), nullable=False),
    sa.Column('invoiced_incl_cents', sa.Integer(), nullable=False),
    sa.Column('credited_incl_cents', sa.Integer(), nullable=False),
    sa.Column('payments_cents', sa.Integer(), nullable=False),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('chain_seq', sa.Integer(), nullable=False),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['closed_by_id'], ['account.id'], name=op.f('fk_period_closure_closed_by_id_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['space_id'], ['space.id'], name=op.f('fk_period_closure_space_id_space'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_period_closure')),
    sa.UniqueConstraint('space_id', 'chain_seq', name='uq_period_closure_chain_seq'),
    sa.UniqueConstraint('space_id', 'kind', 'starts_on', name='uq_period_closure_period')
    )
    with op.batch_alter_table('period_closure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_period_closure_space_id'), ['space_id'], unique=False)
        batch_op.create_index('uq_period_closure_space_id', ['space_id', 'id'], unique=True)

    op.create_table('invoice_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('space_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('charge_id', sa.Integer(), nullable=True),
    sa.Column('credits_line_id', sa.Integer(), nullable=True),
    sa.Column('item', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('unit_price_cents', sa.Integer(), nullable=False),
    sa.Column('prices_include_vat', sa.Boolean(), nullable=False),
    sa.Column('vat_rate_bp', sa.Integer(), nullable=False),
    sa.Column('amount_excl_cents', sa.Integer(), nullable=False),
    sa.Column('vat_cents', sa.Integer(), nullable=False),
    sa.Column('amount_incl_cents', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['charge_id'], ['charge.id'], name=op.f('fk_invoice_line_charge_id_charge'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['credits_line_id'], ['invoice_line.id'], name=op.f('fk_invoice_line_credits_line_id_invoice_line')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_invoice_line_invoice_id_invoice'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['space_id', 'charge_id'], ['charge.space_id', 'charge.id'], name='fk_charge_id_space_charge'),
    *_self_key('invoice_line', 'credits_line_id'),
    sa.ForeignKeyConstraint(['space_id', 'invoice_id'], ['invoice.space_id', 'invoice.id'], name='fk_invoice_id_space_invoice'),
    sa.ForeignKeyConstraint(['space_id'], ['space.id'], name=op.f('fk_invoice_line_space_id_space'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_line')),
    sa.UniqueConstraint('charge_id', name=op.f('uq_invoice_line_charge_id')),
    sa.UniqueConstraint('credits_line_id', name=op.f('uq_invoice_line_credits_line_id'))
    )
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_line_invoice', ['space_id', 'invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_line_space_id'), ['space_id'], unique=False)
        batch_op.create_index('uq_invoice_line_space_id', ['space_id', 'id'], unique=True)
    _self_key_after('invoice_line', 'credits_line_id')

    op.create_table('payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('space_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('cheque_bank', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('refunds_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('chain_seq', sa.Integer(), nullable=False),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_payment_invoice_id_invoice'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['account.id'], name=op.f('fk_payment_recorded_by_id_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['refunds_id'], ['payment.id'], name=op.f('fk_payment_refunds_id_payment')),
    sa.ForeignKeyConstraint(['space_id', 'invoice_id'], ['invoice.space_id', 'invoice.id'], name='fk_invoice_id_space_invoice'),
    *_self_key('payment', 'refunds_id'),
    sa.ForeignKeyConstraint(['space_id'], ['space.id'], name=op.f('fk_payment_space_id_space'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment')),
    sa.UniqueConstraint('space_id', 'chain_seq', name='uq_payment_chain_seq')
    )
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_index('ix_payment_invoice', ['space_id', 'invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_space_id'), ['space_id'], unique=False)
        batch_op.create_index('uq_payment_space_id', ['space_id', 'id'], unique=True)
    _self_key_after('payment', 'refunds_id')

    _create_triggers()


def downgrade() -> None:
    """Downgrade schema (a table's indexes and keys go with it)."""
    _drop_triggers()
    for table in ('payment', 'invoice_line', 'period_closure', 'invoice', 'billing_counter'):
        op.drop_table(table)
