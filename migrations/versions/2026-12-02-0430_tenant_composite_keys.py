"""tenant composite keys: a row never points to another space's row

Every reference from a tenant row to another tenant row gets a composite foreign key
``(space_id, x_id)`` → ``x(space_id, id)`` beside its plain one (``app.core.tenancy.space_ref``),
and each referenced table a unique index on ``(space_id, id)``. References whose plain key is
``ON DELETE SET NULL`` get a composite key checked at commit (``DEFERRABLE INITIALLY DEFERRED``):
a composite SET NULL would null ``space_id`` too, and PostgreSQL fires the two keys' actions in an
order of its own. Adding the keys checks the rows already there: a cross-space reference in the
data stops the migration (PostgreSQL refuses the constraint; on SQLite ``foreign_key_check``).

SQLite cannot add a foreign key to a table: the referencing tables are rebuilt
(``batch_alter_table(recreate="always")``) with foreign keys off (``migrations/env.py``), so that
dropping the old copy cascades nowhere; their triggers (the booking overlap guard) are re-created.

Revision ID: 9b7e4c2d1f60
Revises: 3c9e1f0a7b21
Create Date: 2026-12-02 04:30:00

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '9b7e4c2d1f60'
down_revision: Union[str, Sequence[str], None] = '9d4b2e61c0a7'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Tables referenced by another tenant table: unique (space_id, id).
KEYED = ('resource', 'booking_series', 'booking', 'caldav_target', 'event_series', 'event')

# (table, column, referenced table, the plain key's ON DELETE), in rebuild order.
REFS = (
    ('booking_series', 'resource_id', 'resource', 'CASCADE'),
    ('booking', 'resource_id', 'resource', 'RESTRICT'),
    ('booking', 'series_id', 'booking_series', 'SET NULL'),
    ('calendar_feed', 'resource_id', 'resource', 'CASCADE'),
    ('calendar_source', 'resource_id', 'resource', 'CASCADE'),
    ('caldav_target', 'resource_id', 'resource', 'CASCADE'),
    ('caldav_object', 'target_id', 'caldav_target', 'CASCADE'),
    ('caldav_object', 'booking_id', 'booking', 'CASCADE'),
    ('event', 'series_id', 'event_series', 'SET NULL'),
    ('event', 'resource_id', 'resource', 'SET NULL'),
    ('event', 'booking_id', 'booking', 'SET NULL'),
    ('registration', 'event_id', 'event', 'RESTRICT'),
    ('resource_block', 'resource_id', 'resource', 'CASCADE'),
)


def _fk_name(column: str, target: str) -> str:
    return f'fk_{column}_space_{target}'


def _fk_options(ondelete: str) -> dict:
    if ondelete == 'SET NULL':
        return {'deferrable': True, 'initially': 'DEFERRED'}
    return {'ondelete': ondelete}


def _tables() -> list[str]:
    return list(dict.fromkeys(table for table, *_rest in REFS))


def upgrade() -> None:
    """Upgrade schema."""
    bind = op.get_bind()
    for table in KEYED:
        op.create_index(f'uq_{table}_space_id', table, ['space_id', 'id'], unique=True)
    if bind.dialect.name != 'sqlite':
        for table, column, target, ondelete in REFS:
            op.create_foreign_key(_fk_name(column, target), table, target, ['space_id', column], ['space_id', 'id'],
                                  **_fk_options(ondelete))
        return
    triggers = _sqlite_triggers(bind, _tables())
    for table in _tables():
        with op.batch_alter_table(table, recreate='always') as batch_op:
            for source, column, target, ondelete in REFS:
                if source == table:
                    batch_op.create_foreign_key(_fk_name(column, target), target, ['space_id', column],
                                                ['space_id', 'id'], **_fk_options(ondelete))
    for sql in triggers:
        op.execute(sql)
    _sqlite_foreign_key_check(bind)


def downgrade() -> None:
    """Downgrade schema."""
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        for table, column, target, _ondelete in reversed(REFS):
            op.drop_constraint(_fk_name(column, target), table, type_='foreignkey')
    else:
        triggers = _sqlite_triggers(bind, _tables())
        for table in _tables():
            with op.batch_alter_table(table, recreate='always') as batch_op:
                for source, column, target, _ondelete in REFS:
                    if source == table:
                        batch_op.drop_constraint(_fk_name(column, target), type_='foreignkey')
        for sql in triggers:
            op.execute(sql)
    for table in reversed(KEYED):
        op.drop_index(f'uq_{table}_space_id', table_name=table)


def _sqlite_triggers(bind, tables: list[str]) -> list[str]:
    """The triggers a rebuild would drop with their tables, to create them again after it."""
    marks = ', '.join(f"'{t}'" for t in tables)
    rows = bind.exec_driver_sql(
        f"SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({marks}) ORDER BY name"
    ).fetchall()
    return [row[0] for row in rows]


def _sqlite_foreign_key_check(bind) -> None:
    problems = bind.exec_driver_sql('PRAGMA foreign_key_check').fetchall()
    if problems:
        raise RuntimeError(
            'rows point to a row that is missing or belongs to another space '
            f'(table, rowid, referenced table, key): {problems[:20]}'
        )
