"""Engine, sessions and the transaction edge.

One transaction per request or job: services only ``flush()``; the edge (``transaction()``)
commits once, or rolls back, then hands the jobs written during the transaction (``app.core.jobs``:
outbox rows, committed with it) to the queue.
SQLite writes open with ``BEGIN IMMEDIATE`` so that check-then-insert sequences are serialised
(see STACK.md); reads stay deferred so they never wait for a writer.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings, get_settings
from app.core import discovery

T = TypeVar("T")

_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("fabrique_write_intent", default=True)

_engine: AsyncEngine | None = None
_sessionmaker: async_sessionmaker[AsyncSession] | None = None


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _on_checkin(dbapi_conn: Any, _record: Any) -> None:
        # A COMMIT refused by a deferred foreign key (app.core.tenancy.space_ref) leaves SQLite's
        # transaction open, and SQLAlchemy, which called commit, does not roll it back: the next
        # BEGIN on this connection would fail. (PostgreSQL ends the transaction itself.)
        if dbapi_conn is not None and dbapi_conn.driver_connection.in_transaction:
            dbapi_conn.rollback()


def make_engine(settings: Settings | None = None, url: str | None = None) -> AsyncEngine:
    settings = settings or get_settings()
    url = url or settings.database_url
    kwargs: dict[str, Any] = {"echo": settings.db_echo}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs.update(pool_size=settings.db_pool_size, max_overflow=20, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        _configure_sqlite(engine)
    return engine


def init_engine(settings: Settings | None = None, url: str | None = None) -> AsyncEngine:
    global _engine, _sessionmaker
    discovery.load_models()  # every mapper configured before the first query
    discovery.load_hooks()  # and every domain's listeners registered before the first change
    from app.core.tenancy import GuardedSession

    _engine = make_engine(settings, url)
    _sessionmaker = async_sessionmaker(_engine, class_=AsyncSession, sync_session_class=GuardedSession,
                                       expire_on_commit=False)
    return _engine


def get_engine() -> AsyncEngine:
    if _engine is None:
        init_engine()
    assert _engine is not None
    return _engine


def sessionmaker() -> async_sessionmaker[AsyncSession]:
    if _sessionmaker is None:
        init_engine()
    assert _sessionmaker is not None
    return _sessionmaker


async def dispose_engine() -> None:
    global _engine, _sessionmaker
    if _engine is not None:
        await _engine.dispose()
    _engine = None
    _sessionmaker = None


async def insert_or_existing(session: AsyncSession, row: T, existing: Callable[[], Awaitable[Any]]) -> T:
    """Insert a "first time" row (one per key, under a unique constraint), or — when a concurrent
    transaction inserted it first — return that one, from ``existing()``. The INSERT runs in a
    savepoint so that losing the race spoils nothing else of the transaction. On PostgreSQL the
    losing INSERT waits on the unique index until the winner commits, and the next statement (READ
    COMMITTED) sees the winner's row; on SQLite writers are serialised and the race never happens.
    """
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        winner = await existing()
        if not isinstance(winner, type(row)):  # None: another constraint failed, a real error
            raise
        return winner
    return row


def set_write_intent(value: bool) -> contextvars.Token[bool]:
    return _write_intent.set(value)


@asynccontextmanager
async def transaction(*, write: bool = True, space_id: int | None = None) -> AsyncIterator[AsyncSession]:
    """Open a session, yield it, commit on success, then hand its jobs over (``jobs.dispatch``).

    Used by the request edge, jobs and the CLI alike.
    """
    from app.core import jobs, tenancy

    token = _write_intent.set(write)
    try:
        async with sessionmaker()() as session:
            if space_id is not None:
                tenancy.set_scope(session, space_id)
            try:
                yield session
            except BaseException:
                jobs.discard(session)
                await session.rollback()
                raise
            await session.commit()
            await jobs.dispatch(session)
    finally:
        _write_intent.reset(token)
