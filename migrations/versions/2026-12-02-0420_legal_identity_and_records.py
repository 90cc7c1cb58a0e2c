"""The space's legal identity; records kept (no cascade deletes them)

- ``space``: ``vat_status`` becomes ``vat_regime`` (subject → vat, exempt → association,
  franchise → franchise); new ``rna``, ``vat_number``, ``postcode``, ``town``, ``invoice_prefix``,
  ``payment_terms_days`` (30 by default). Plain ALTERs: no batch rebuild of ``space`` (on SQLite
  that would cascade-delete every space's rows).
- ``booking``, ``registration``, ``audit_entry`` are kept records (``app.core.records``): their
  foreign keys to ``space``, ``resource`` and ``event`` become ON DELETE RESTRICT. On PostgreSQL the
  constraints are dropped and created again. On SQLite they are changed in the stored schema
  (``PRAGMA writable_schema``, the procedure SQLite documents for changes that leave the stored
  rows as they are, such as a foreign key action): a batch rebuild would drop and re-create
  ``booking``, and dropping it runs its ON DELETE actions (the CalDAV objects of every booking)
  and its overlap triggers.

Revision ID: 9d4b2e61c0a7
Revises: 3c9e1f0a7b21
Create Date: 2026-12-02 04:20:00

"""
import re
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '9d4b2e61c0a7'
down_revision: Union[str, Sequence[str], None] = '3c9e1f0a7b21'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# (table, column, referred table): the kept records' foreign keys that lose their CASCADE.
KEPT_FOREIGN_KEYS = [
    ("booking", "space_id", "space"),
    ("booking", "resource_id", "resource"),
    ("registration", "space_id", "space"),
    ("registration", "event_id", "event"),
    ("audit_entry", "space_id", "space"),
]
VAT_STATUS_TO_REGIME = [("subject", "vat"), ("exempt", "association"), ("franchise", "franchise")]


def _set_on_delete(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _sqlite_set_on_delete(bind, old, new)
        return
    for table, column, referred in KEPT_FOREIGN_KEYS:
        name = f"fk_{table}_{column}_{referred}"
        op.drop_constraint(name, table, type_="foreignkey")
        op.create_foreign_key(name, table, referred, [column], ["id"], ondelete=new)


def _sqlite_set_on_delete(bind, old: str, new: str) -> None:
    tables = sorted({t for t, _c, _r in KEPT_FOREIGN_KEYS})
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    try:
        for table in tables:
            sql = bind.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar()
            for t, column, referred in KEPT_FOREIGN_KEYS:
                if t != table:
                    continue
                pattern = re.compile(
                    rf"(CONSTRAINT fk_{table}_{column}_{referred} FOREIGN KEY\s*\({column}\)\s*"
                    rf"REFERENCES {referred}\s*\(id\)\s*ON DELETE) {old}")
                sql, count = pattern.subn(rf"\1 {new}", sql)
                if count != 1:
                    raise RuntimeError(f"foreign key {table}.{column} not found as expected in: {sql}")
            bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql, table))
        bind.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema=OFF")
    if bind.exec_driver_sql("PRAGMA integrity_check").scalar() != "ok":
        raise RuntimeError("the schema change left the database inconsistent")


def upgrade() -> None:
    """Upgrade schema."""
    op.execute("ALTER TABLE space RENAME COLUMN vat_status TO vat_regime")
    for old, new in VAT_STATUS_TO_REGIME:
        op.execute(sa.text("UPDATE space SET vat_regime = :new WHERE vat_regime = :old").bindparams(old=old, new=new))
    op.add_column('space', sa.Column('rna', sa.String(length=10), nullable=True))
    op.add_column('space', sa.Column('vat_number', sa.String(length=20), nullable=True))
    op.add_column('space', sa.Column('postcode', sa.String(length=10), nullable=True))
    op.add_column('space', sa.Column('town', sa.String(length=100), nullable=True))
    op.add_column('space', sa.Column('invoice_prefix', sa.String(length=10), nullable=True))
    op.add_column('space', sa.Column('payment_terms_days', sa.Integer(), server_default='30', nullable=False))
    _set_on_delete("CASCADE", "RESTRICT")


def downgrade() -> None:
    """Downgrade schema."""
    _set_on_delete("RESTRICT", "CASCADE")
    for column in ("payment_terms_days", "invoice_prefix", "town", "postcode", "vat_number", "rna"):
        op.execute(f"ALTER TABLE space DROP COLUMN {column}")
    for old, new in VAT_STATUS_TO_REGIME:
        op.execute(sa.text("UPDATE space SET vat_regime = :old WHERE vat_regime = :new").bindparams(old=old, new=new))
    op.execute("ALTER TABLE space RENAME COLUMN vat_regime TO vat_status")
