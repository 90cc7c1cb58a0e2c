"""Tenant scoping, enforced by the ORM itself.

Every tenant table inherits ``SpaceScoped`` (a ``space_id`` column). A session carries the space it
works for in ``session.info``; every ORM statement touching a space-scoped model is filtered to
that space, and one issued with no scope active *raises* (the idea of pretix's django-scopes): a
forgotten filter is a crash in tests, never a silent cross-tenant read. Platform code that must
see all spaces says so explicitly with ``all_spaces(session)``.

Writes are held to the same rule whichever way they are issued: the unit of work (``before_flush``)
and bulk ``insert()``/``update()`` statements alike may only carry the scope's ``space_id``, and a
bulk update may never set ``space_id``. What the guard cannot read is refused outright unless the
scope is lifted: raw SQL (``text()``) run through a session, Core statements on a tenant table,
``session.connection()`` (a connection runs statements the session never sees) and the legacy
``bulk_*`` methods. Raw SQL elsewhere is kept to a commented
allow-list by ``.ci/check_raw_sql.py``; the database itself refuses a row pointing to another
space's row (composite foreign keys, see ``space_ref`` below and docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, TypeVar, cast

from sqlalchemy import ForeignKeyConstraint, Index, Table, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter, ClauseElement, TextClause
from sqlalchemy.sql.selectable import TableClause
from sqlmodel import Field, SQLModel
from sqlmodel import Session as SQLModelSession

from app.core import jobs
from app.core.errors import TenantScopeMissing

SCOPE_KEY = "space_id"
ALL_SPACES_KEY = "all_spaces"


class SpaceScoped(SQLModel):
    space_id: int = Field(foreign_key="space.id", index=True, ondelete="CASCADE")
    # A table whose rows may also belong to no space (the audit log's account-level entries):
    # such a row is written only with the scope lifted (``all_spaces``) when it was added.
    platform_rows: ClassVar[bool] = False


def space_key(table: str) -> Index:
    """The unique key ``(space_id, id)`` a ``space_ref`` points to."""
    return Index(f"uq_{table}_space_id", "space_id", "id", unique=True)


def space_ref(column: str, target: str, *, ondelete: str | None = None) -> ForeignKeyConstraint:
    """A reference to another tenant row that the database keeps inside the space: a composite
    foreign key ``(space_id, column)`` → ``target(space_id, id)`` (beside the plain one on
    ``column``, which keeps its own ``ondelete``). ``tests/core/test_space_keys.py`` fails for any
    reference between tenant tables without one.

    ``ON DELETE SET NULL`` cannot be composite: it would null ``space_id`` too (PostgreSQL 15's
    ``SET NULL (column)`` has no SQLite equivalent). For such references the plain key does the
    nulling and the composite one is checked at commit (``DEFERRABLE INITIALLY DEFERRED``), when
    the nulling has happened, whatever order the database fires its actions in.
    """
    set_null = ondelete == "SET NULL"
    return ForeignKeyConstraint(
        ["space_id", column], [f"{target}.space_id", f"{target}.id"], name=f"fk_{column}_space_{target}",
        ondelete=None if set_null else ondelete,
        deferrable=True if set_null else None, initially="DEFERRED" if set_null else None,
    )


def set_scope(session: Any, space_id: int) -> None:
    _info(session)[SCOPE_KEY] = space_id


def current_scope(session: Any) -> int | None:
    return _info(session).get(SCOPE_KEY)


def require_scope(session: Any) -> int:
    space_id = current_scope(session)
    if space_id is None:
        raise TenantScopeMissing("no space scope is active on this session")
    return space_id


@contextmanager
def all_spaces(session: Any) -> Iterator[None]:
    """Explicitly lift the scope check, for platform-level code (operators, cron fan-out)."""
    info = _info(session)
    previous = info.get(ALL_SPACES_KEY, False)
    info[ALL_SPACES_KEY] = True
    try:
        yield
    finally:
        info[ALL_SPACES_KEY] = previous


def _info(session: Any) -> dict[str, Any]:
    # AsyncSession and Session share the same info dict.
    info: dict[str, Any] = session.info
    return info


def _is_scoped(mapper: Any) -> bool:
    return isinstance(mapper.class_, type) and issubclass(mapper.class_, SpaceScoped)


class GuardedSession(SQLModelSession):
    """The sessions' sync class (``app.core.db``): ``connection()`` hands out a connection whose
    statements the guard never sees, so it is refused unless the scope is lifted knowingly."""

    def connection(self, *args: Any, **kwargs: Any) -> Any:
        if not self.info.get(ALL_SPACES_KEY):
            raise TenantScopeMissing("session.connection() bypasses the tenant guard: lift it with all_spaces()")
        return super().connection(*args, **kwargs)

    # The legacy bulk methods write through neither the unit of work nor an executed statement:
    # the guard would see nothing. ``insert()``/``update()`` with rows do the same, checked.
    def bulk_save_objects(self, *args: Any, **kwargs: Any) -> None:
        self._refuse_legacy_bulk("bulk_save_objects")
        super().bulk_save_objects(*args, **kwargs)

    def bulk_insert_mappings(self, *args: Any, **kwargs: Any) -> None:
        self._refuse_legacy_bulk("bulk_insert_mappings")
        super().bulk_insert_mappings(*args, **kwargs)

    def bulk_update_mappings(self, *args: Any, **kwargs: Any) -> None:
        self._refuse_legacy_bulk("bulk_update_mappings")
        super().bulk_update_mappings(*args, **kwargs)

    def _refuse_legacy_bulk(self, name: str) -> None:
        if not self.info.get(ALL_SPACES_KEY):
            raise TenantScopeMissing(f"session.{name}() bypasses the tenant guard: use insert()/update() with rows")


def _statement_parts(state: ORMExecuteState) -> tuple[set[type[SpaceScoped]], bool, set[str]]:
    """What the statement touches: every space-scoped model — its entities, but also tables reached
    only through ``select_from``, joins or subqueries (``all_mappers`` does not see those) — whether
    it holds raw SQL text, and which tenant tables it names as plain Core tables (``Model.__table__``,
    ``table("name")``): loader criteria filter mapped entities only, so those would go unfiltered."""
    classes: set[type[SpaceScoped]] = {m.class_ for m in state.all_mappers if _is_scoped(m)}
    tables = _scoped_tables()
    raw = False
    core: set[str] = set()
    orm = state.statement._propagate_attrs.get("compile_state_plugin") == "orm"
    # Typed ``Executable``, a statement is always a ClauseElement (text(), select(), insert()...).
    for element in visitors.iterate(cast(ClauseElement, state.statement)):
        if isinstance(element, TableClause) and element.name in tables:
            classes.add(tables[element.name])
            # An ORM statement's tables are reached by the loader criteria; a table("name") or a
            # Core statement's tables are not.
            if not (orm and isinstance(element, Table)):
                core.add(element.name)
        elif isinstance(element, TextClause):
            raw = True
    return classes, raw, core


_SCOPED_TABLES: dict[str, type[SpaceScoped]] = {}


def _scoped_tables() -> dict[str, type[SpaceScoped]]:
    if not _SCOPED_TABLES:
        for mapper in SQLModel._sa_registry.mappers:
            if _is_scoped(mapper):
                # Typed ``FromClause``: a model declared with ``table=True`` is mapped to its Table.
                _SCOPED_TABLES[cast(Table, mapper.local_table).name] = mapper.class_
    return _SCOPED_TABLES


@event.listens_for(Session, "do_orm_execute")
def _scope_orm_statements(state: ORMExecuteState) -> None:
    if state.is_column_load or state.is_relationship_load:
        return
    info = state.session.info
    if info.get(ALL_SPACES_KEY) or state.execution_options.get(ALL_SPACES_KEY):
        # Lifted knowingly. (A bulk UPDATE/DELETE of configuration across spaces would not bump
        # their versions: there is none; write configuration in a space's scope.)
        return
    classes, raw, core = _statement_parts(state)
    if raw:
        raise TenantScopeMissing("raw SQL (text()) cannot be scoped to a space: lift the guard with all_spaces()")
    if core and not (state.is_insert and getattr(state.statement, "select", None) is None):
        # (A plain INSERT ... VALUES is checked value by value below; nothing else can be.)
        raise TenantScopeMissing(
            f"Core statement on {', '.join(sorted(core))}: use the model so the guard can scope it, or lift it"
        )
    if not classes:
        return
    space_id = info.get(SCOPE_KEY)
    if space_id is None:
        names = ", ".join(sorted(c.__name__ for c in classes))
        raise TenantScopeMissing(f"query on {names} with no space scope active")
    state.statement = state.statement.options(*(
        with_loader_criteria(cls, lambda c: c.space_id == space_id, include_aliases=True)
        for cls in sorted(classes, key=lambda c: c.__name__)
    ))
    if state.is_insert or state.is_update or state.is_delete:  # bulk statements: no unit of work to watch
        _check_bulk_write(state, space_id)
        target = _scoped_tables().get(getattr(state.statement.table, "name", ""))  # type: ignore[attr-defined]
        if target is not None and state.is_update and isinstance(state.parameters, (list, tuple)):
            # Loader criteria do not reach an ORM bulk UPDATE by primary key (rows given as
            # parameters): a WHERE on the target does. SQLAlchemy cannot then synchronise the
            # objects already loaded: they keep their values until refreshed.
            state.statement = state.statement.where(target.space_id == space_id)  # type: ignore[attr-defined]
            state.update_execution_options(synchronize_session=None)
        if any(_tablename(c) in _CONFIG_TABLES for c in classes):
            _bump_config(state.session, {space_id})
        for cls in classes:
            if _tablename(cls) in _COUNTED_TABLES:
                jobs.touch(state.session, _COUNTED_TABLES[_tablename(cls)], space_id)


_UNKNOWN = object()


def _column_name(key: Any) -> str | None:
    return key if isinstance(key, str) else getattr(key, "key", None)


def _literal(value: Any) -> Any:
    if isinstance(value, BindParameter):
        return value.effective_value
    if isinstance(value, (int, type(None))):
        return value
    return _UNKNOWN  # an SQL expression: nothing the guard can vouch for


def _value_sets(state: ORMExecuteState) -> list[dict[str, Any]]:
    """What a bulk INSERT/UPDATE writes, row by row: the statement's ``values()`` and the
    parameters it is executed with (ORM bulk writes pass their rows there)."""
    stmt: Any = state.statement
    sets: list[dict[str, Any]] = []
    inline: dict[str, Any] = {}
    for key, value in list((getattr(stmt, "_values", None) or {}).items()) + list(
        getattr(stmt, "_ordered_values", None) or []
    ):
        name = _column_name(key)
        if name is not None:
            inline[name] = _literal(value)
    for rows in getattr(stmt, "_multi_values", None) or ():
        for row in rows:
            if isinstance(row, dict):
                sets.append({**inline, **{_column_name(k) or "": _literal(v) for k, v in row.items()}})
            else:  # positional rows: the guard cannot tell which value is space_id
                sets.append({**inline, "space_id": _UNKNOWN})
    params = state.parameters
    rows = params if isinstance(params, (list, tuple)) else [params] if params else []
    for row in rows:
        sets.append({**inline, **{str(k): v for k, v in row.items()}})
    if not sets:
        sets.append(inline)
    return sets


def _check_bulk_write(state: ORMExecuteState, space_id: int) -> None:
    """Bulk writes are held to the unit of work's rule: only this space's ``space_id`` goes in, and
    no update moves a row to another space."""
    stmt: Any = state.statement
    target = getattr(getattr(stmt, "table", None), "name", "?")
    if state.is_insert:
        if getattr(stmt, "select", None) is not None:
            raise TenantScopeMissing(f"INSERT ... SELECT into {target} cannot be checked: lift the guard knowingly")
        for values in _value_sets(state):
            value = values.get("space_id")
            if value != space_id:
                shown = "an SQL expression" if value is _UNKNOWN else f"space {value}"
                raise TenantScopeMissing(f"bulk insert into {target} carries {shown} in the scope of space {space_id}")
    elif state.is_update:
        if any("space_id" in values for values in _value_sets(state)):
            raise TenantScopeMissing(f"bulk update of {target} sets space_id: a row never changes space")


@event.listens_for(Session, "transient_to_pending")
def _remember_lifted_adds(session: Session, instance: Any) -> None:
    # A row added inside ``all_spaces`` keeps that permission until it is flushed.
    if session.info.get(ALL_SPACES_KEY) and isinstance(instance, SpaceScoped):
        sa_inspect(instance).info[ALL_SPACES_KEY] = True


@event.listens_for(Session, "before_flush")
def _stamp_new_rows(session: Session, _ctx: Any, _instances: Any) -> None:
    space_id = session.info.get(SCOPE_KEY)
    lifted = session.info.get(ALL_SPACES_KEY)
    touched = [o for o in list(session.new) + list(session.dirty) + list(session.deleted) if isinstance(o, SpaceScoped)]
    changed = [o for o in touched if _tablename(type(o)) in _CONFIG_TABLES]
    for obj in touched:
        counter = _COUNTED_TABLES.get(_tablename(type(obj)))
        if counter is None:
            continue
        owner = obj.space_id or space_id
        if owner is not None:
            jobs.touch(session, counter, owner)
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, SpaceScoped):
            continue
        obj_lifted = lifted or sa_inspect(obj).info.get(ALL_SPACES_KEY, False)
        if obj.space_id is None:
            if obj.platform_rows and obj_lifted:
                continue
            if space_id is None:
                raise TenantScopeMissing(f"new {type(obj).__name__} with no space scope active")
            obj.space_id = space_id
        elif space_id is not None and obj.space_id != space_id and not obj_lifted:
            raise TenantScopeMissing(
                f"{type(obj).__name__} of space {obj.space_id} written in the scope of space {space_id}"
            )
    if changed:
        _bump_config(session, {o.space_id for o in changed if o.space_id is not None})


# -- configuration version -----------------------------------------------------------------------
# What a space is configured with (resources and their rules, opening hours, closures, blocks,
# calendar pushes) changes rarely and is read on every booking. ``space.config_version`` grows in
# the same transaction as any write to a model marked ``@space_config``, whether by the unit of work
# or by a bulk UPDATE/DELETE, so a per-process cache keyed by the version can never serve what a
# committed write replaced (``app.booking.snapshot``).

CONFIG_DIRTY_KEY = "config_dirty"    # session.info: how many times this transaction changed it
CONFIG_LOCAL_KEY = "config_local"    # session.info: what a cache keeps for this transaction only
_CONFIG_TABLES: set[str] = set()
_M = TypeVar("_M", bound=type[SQLModel])


def _tablename(cls: type[SQLModel]) -> str:
    # SQLModel types ``__tablename__`` as a string or the function declaring it (``declared_attr``);
    # read on a model class, it is the string.
    return cast(str, cls.__tablename__)


def space_config(cls: _M) -> _M:
    """Mark a space-scoped model as part of the space's configuration (see above)."""
    _CONFIG_TABLES.add(_tablename(cls))
    return cls


_COUNTED_TABLES: dict[str, str] = {}


def space_counter(name: str) -> Callable[[_M], _M]:
    """Mark a space-scoped model whose changes bump the space's ``name`` change counter after the
    commit (``app.core.jobs.touch``): for caches of what changes often (bookings), where bumping a
    row in the transaction would serialise every writer of the space."""
    def mark(cls: _M) -> _M:
        _COUNTED_TABLES[_tablename(cls)] = name
        return cls
    return mark


def _bump_config(session: Session, space_ids: set[int]) -> None:
    if not space_ids:
        return
    from sqlalchemy import text

    session.info[CONFIG_DIRTY_KEY] = session.info.get(CONFIG_DIRTY_KEY, 0) + 1
    # The version row is the platform's ``space`` table, written for the space being changed:
    # the one statement of the guard itself that does not go through the guard.
    connection = Session.connection(session)  # allow-listed in .ci/check_raw_sql.py
    for space_id in sorted(space_ids):
        connection.execute(text("UPDATE space SET config_version = config_version + 1 WHERE id = :id"),
                           {"id": space_id})


@event.listens_for(Session, "after_transaction_end")
def _config_settled(session: Session, transaction: Any) -> None:
    if transaction.parent is not None:  # a savepoint: the outer transaction's changes still stand
        return
    session.info.pop(CONFIG_DIRTY_KEY, None)
    session.info.pop(CONFIG_LOCAL_KEY, None)
