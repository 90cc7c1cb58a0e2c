"""Tenant scoping, enforced by the ORM itself.

Every tenant table inherits ``SpaceScoped`` (a ``space_id`` column). A session carries the space it
works for in ``session.info``; every ORM statement touching a space-scoped model is filtered to
that space, and one issued with no scope active *raises* (the idea of pretix's django-scopes): a
forgotten filter is a crash in tests, never a silent cross-tenant read. Platform code that must
see all spaces says so explicitly with ``all_spaces(session)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Table, event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql import visitors
from sqlmodel import Field, SQLModel

from app.core import jobs
from app.core.errors import TenantScopeMissing

SCOPE_KEY = "space_id"
ALL_SPACES_KEY = "all_spaces"


class SpaceScoped(SQLModel):
    space_id: int = Field(foreign_key="space.id", index=True, ondelete="CASCADE")


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


def _info(session: Any) -> dict:
    # AsyncSession and Session share the same info dict.
    return session.info


def _is_scoped(mapper: Any) -> bool:
    return isinstance(mapper.class_, type) and issubclass(mapper.class_, SpaceScoped)


def _scoped_classes(state: ORMExecuteState) -> set[type]:
    """Every space-scoped model the statement touches: its entities, but also tables reached only
    through ``select_from``, joins or subqueries (``all_mappers`` does not see those)."""
    classes = {m.class_ for m in state.all_mappers if _is_scoped(m)}
    tables = _scoped_tables()
    for element in visitors.iterate(state.statement):
        if isinstance(element, Table) and element.name in tables:
            classes.add(tables[element.name])
    return classes


_SCOPED_TABLES: dict[str, type] = {}


def _scoped_tables() -> dict[str, type]:
    if not _SCOPED_TABLES:
        for mapper in SQLModel._sa_registry.mappers:  # type: ignore[attr-defined]
            if _is_scoped(mapper):
                _SCOPED_TABLES[mapper.local_table.name] = mapper.class_
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
    classes = _scoped_classes(state)
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
        if any(c.__tablename__ in _CONFIG_TABLES for c in classes):
            _bump_config(state.session, {space_id})
        for cls in classes:
            if cls.__tablename__ in _COUNTED_TABLES:
                jobs.touch(state.session, _COUNTED_TABLES[cls.__tablename__], space_id)


@event.listens_for(Session, "before_flush")
def _stamp_new_rows(session: Session, _ctx: Any, _instances: Any) -> None:
    space_id = session.info.get(SCOPE_KEY)
    lifted = session.info.get(ALL_SPACES_KEY)
    touched = [o for o in list(session.new) + list(session.dirty) + list(session.deleted) if isinstance(o, SpaceScoped)]
    changed = [o for o in touched if type(o).__tablename__ in _CONFIG_TABLES]
    for obj in touched:
        counter = _COUNTED_TABLES.get(type(obj).__tablename__)
        if counter is not None and (obj.space_id or space_id) is not None:
            jobs.touch(session, counter, obj.space_id or space_id)  # type: ignore[arg-type]
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, SpaceScoped):
            continue
        if obj.space_id is None:
            if space_id is None:
                raise TenantScopeMissing(f"new {type(obj).__name__} with no space scope active")
            obj.space_id = space_id
        elif space_id is not None and obj.space_id != space_id and not lifted:
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
_M = TypeVar("_M")


def space_config(cls: _M) -> _M:
    """Mark a space-scoped model as part of the space's configuration (see above)."""
    _CONFIG_TABLES.add(cls.__tablename__)  # type: ignore[attr-defined]
    return cls


_COUNTED_TABLES: dict[str, str] = {}


def space_counter(name: str) -> Callable[[_M], _M]:
    """Mark a space-scoped model whose changes bump the space's ``name`` change counter after the
    commit (``app.core.jobs.touch``): for caches of what changes often (bookings), where bumping a
    row in the transaction would serialise every writer of the space."""
    def mark(cls: _M) -> _M:
        _COUNTED_TABLES[cls.__tablename__] = name  # type: ignore[attr-defined]
        return cls
    return mark


def _bump_config(session: Session, space_ids: set[int]) -> None:
    if not space_ids:
        return
    from sqlalchemy import text

    session.info[CONFIG_DIRTY_KEY] = session.info.get(CONFIG_DIRTY_KEY, 0) + 1
    connection = session.connection()
    for space_id in sorted(space_ids):
        connection.execute(text("UPDATE space SET config_version = config_version + 1 WHERE id = :id"),
                           {"id": space_id})


@event.listens_for(Session, "after_transaction_end")
def _config_settled(session: Session, transaction: Any) -> None:
    if transaction.parent is not None:  # a savepoint: the outer transaction's changes still stand
        return
    session.info.pop(CONFIG_DIRTY_KEY, None)
    session.info.pop(CONFIG_LOCAL_KEY, None)
