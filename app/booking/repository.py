"""Every SQL statement of the booking domain. The session's space scope filters each one."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import ARRAY, ColumnElement, DateTime, Integer, any_, func, literal, literal_column
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.booking.models import Booking, BookingStatus
from app.core.errors import NotFound
from app.core.tenancy import require_scope
from app.resource.models import Resource
from app.space.models import SpaceMember


async def get_booking(session: AsyncSession, booking_id: int) -> Booking:
    require_scope(session)
    booking = (await session.exec(select(Booking).where(Booking.id == booking_id))).first()
    if booking is None:
        raise NotFound()
    return booking


async def overlapping(
    session: AsyncSession, resource_id: int, starts_at: datetime, blocked_until: datetime,
    *, exclude_id: int | None = None,
) -> list[tuple[datetime, datetime, datetime]]:
    """(starts_at, ends_at, blocked_until) of confirmed bookings whose held interval meets ours.

    The one round-trip of a conflict check, the same predicate as the database guard.
    """
    stmt = select(Booking.starts_at, Booking.ends_at, Booking.blocked_until).where(
        Booking.resource_id == resource_id,
        Booking.status == BookingStatus.confirmed,
        Booking.starts_at < blocked_until,
        Booking.blocked_until > starts_at,
    )
    if exclude_id is not None:
        stmt = stmt.where(Booking.id != exclude_id)
    return [tuple(row) for row in (await session.exec(stmt)).all()]  # type: ignore[misc]


async def holds_place(
    session: AsyncSession, resource_id: int, account_id: int, starts_at: datetime, ends_at: datetime,
    *, exclude_id: int | None = None,
) -> bool:
    """Whether the account holds a confirmed booking of the resource overlapping [starts_at, ends_at)."""
    stmt = select(Booking.id).where(
        Booking.resource_id == resource_id, Booking.account_id == account_id,
        Booking.status == BookingStatus.confirmed, Booking.starts_at < ends_at, Booking.ends_at > starts_at,
    )
    if exclude_id is not None:
        stmt = stmt.where(Booking.id != exclude_id)
    return (await session.exec(stmt.limit(1))).first() is not None


async def lock_resource(session: AsyncSession, resource_id: int) -> None:
    """Serialise bookings of one resource (capacity > 1: count then insert). A no-op on SQLite,
    where BEGIN IMMEDIATE already serialises every write transaction."""
    if session.bind.dialect.name == "postgresql":
        await session.exec(select(Resource.id).where(Resource.id == resource_id).with_for_update())


def is_overlap_violation(exc: IntegrityError) -> bool:
    """The database guard refused an overlapping booking (exclusion constraint or trigger)."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) == "23P01":
        return True
    return "booking_overlap" in str(orig) or "ex_booking_no_overlap" in str(orig)


async def bookings_between(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    resource_ids: Iterable[int] | None = None,
    account_id: int | None = None,
    include_cancelled: bool = False,
    held: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[Booking]:
    """Bookings meeting ``[start, end)``, by start time (``limit``/``offset``: a page of them).
    ``held`` compares the buffered interval."""
    require_scope(session)
    stmt = select(Booking).where(*_between(start, end, resource_ids, account_id, include_cancelled, held))
    stmt = stmt.order_by(Booking.starts_at, Booking.id).offset(offset)
    return list((await session.exec(stmt if limit is None else stmt.limit(limit))).all())


async def count_bookings_between(session: AsyncSession, start: datetime, end: datetime, *,
                                 resource_ids: Iterable[int] | None = None, include_cancelled: bool = False) -> int:
    require_scope(session)
    stmt = select(func.count(col(Booking.id))).where(*_between(start, end, resource_ids, None, include_cancelled,
                                                               False))
    return int((await session.exec(stmt)).one())


def _between(start: datetime, end: datetime, resource_ids: Iterable[int] | None, account_id: int | None,
             include_cancelled: bool, held: bool) -> list[ColumnElement[bool]]:
    # ``blocked_until >= ends_at`` always (the buffer is added to the end): the redundant bound lets
    # ix_booking_space_resource_blocked_until start at ``start`` instead of reading the past.
    where = [col(Booking.starts_at) < end, col(Booking.blocked_until) > start]
    if not held:
        where.append(col(Booking.ends_at) > start)
    if resource_ids is not None:
        where.append(col(Booking.resource_id).in_(list(resource_ids)))
    if account_id is not None:
        where.append(col(Booking.account_id) == account_id)
    if not include_cancelled:
        where.append(col(Booking.status) == BookingStatus.confirmed)
    return where


async def held_rows_between(
    session: AsyncSession, start: datetime, end: datetime, *, resource_ids: Iterable[int],
) -> list[tuple[int, int, int | None, datetime, datetime, datetime, str]]:
    """(id, resource_id, account_id, starts_at, ends_at, blocked_until, title) of the confirmed
    bookings whose held interval meets ``[start, end)``, by start time: plain rows for availability,
    which reads each value once (ORM objects cost more than the answer for a week of 50 resources)."""
    require_scope(session)
    ids = list(resource_ids)
    stmt = select(Booking.id, Booking.resource_id, Booking.account_id, Booking.starts_at, Booking.ends_at,  # type: ignore[call-overload]
                  Booking.blocked_until, Booking.title).where(
        Booking.status == BookingStatus.confirmed, Booking.starts_at < end, Booking.blocked_until > start,
    ).order_by(Booking.starts_at, Booking.id)
    if session.bind.dialect.name == "postgresql":
        # The same condition as a range overlap, which the GiST index ix_booking_held_range answers
        # exactly (the B-tree bounds the scan by ``start`` only). Bookings are never empty intervals.
        # PostgreSQL switches to a generic plan after five executions of a prepared statement; if that
        # plan cannot use the index it reads the space's whole history (43 ms instead of 2 ms on the
        # bench database). The ids travel as one array, and the index's predicate and expression are
        # written as constants: a generic plan cannot match them through parameters.
        bounds: ColumnElement[str] = literal_column("'[)'")
        stmt = stmt.where(
            Booking.resource_id == any_(literal(ids, ARRAY(Integer))),
            col(Booking.status) == literal_column("'confirmed'"),
            func.tstzrange(Booking.starts_at, Booking.blocked_until, bounds).op("&&")(
                func.tstzrange(literal(start, DateTime(timezone=True)), literal(end, DateTime(timezone=True)), bounds)),
        )
    else:
        stmt = stmt.where(col(Booking.resource_id).in_(ids))
    return [tuple(row) for row in (await session.exec(stmt)).all()]


async def bookings_of(
    session: AsyncSession, account_id: int, *, upcoming_from: datetime | None = None,
    before: datetime | None = None, limit: int = 100,
) -> list[Booking]:
    require_scope(session)
    stmt = select(Booking).where(Booking.account_id == account_id)
    if upcoming_from is not None:
        stmt = stmt.where(Booking.ends_at > upcoming_from).order_by(Booking.starts_at)
    if before is not None:
        stmt = stmt.where(Booking.ends_at <= before).order_by(col(Booking.starts_at).desc())
    return list((await session.exec(stmt.limit(limit))).all())


async def bookings_with_source(session: AsyncSession, source_ref: str) -> list[Booking]:
    require_scope(session)
    stmt = select(Booking).where(Booking.source_ref == source_ref, Booking.status == BookingStatus.confirmed)
    return list((await session.exec(stmt)).all())


async def accounts_by_id(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, Account]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = await session.exec(select(Account).where(col(Account.id).in_(wanted)))
    return {a.id: a for a in rows.all() if a.id is not None}


async def member_count(session: AsyncSession) -> int:
    require_scope(session)
    return int((await session.exec(select(func.count(col(SpaceMember.id))))).one())


async def find_members(session: AsyncSession, text: str | None, *, limit: int) -> list[tuple[int, str, str]]:
    """``(member id, name, e-mail)`` of the space's members whose name or e-mail contains ``text``
    (any case; all of them without it), by name, at most ``limit``: plain rows, no ORM objects."""
    require_scope(session)
    stmt = select(SpaceMember.id, Account.name, Account.email).join(
        Account, col(Account.id) == SpaceMember.account_id)
    if text and text.strip():
        needle = text.strip().lower()
        stmt = stmt.where(func.lower(Account.name).contains(needle, autoescape=True)
                          | func.lower(Account.email).contains(needle, autoescape=True))
    rows = await session.exec(stmt.order_by(func.lower(Account.name), col(SpaceMember.id)).limit(limit))
    return [(int(member_id or 0), name, email) for member_id, name, email in rows.all()]


async def resources_by_id(session: AsyncSession, ids: Sequence[int]) -> dict[int, Resource]:
    require_scope(session)
    if not ids:
        return {}
    rows = await session.exec(select(Resource).where(col(Resource.id).in_(list(set(ids)))))
    return {r.id: r for r in rows.all() if r.id is not None}


async def conflict_after_refusal(session: AsyncSession, resource_id: int, starts_at: datetime,
                                 blocked_until: datetime) -> tuple[datetime, datetime] | None:
    """Find the booking the database guard saw, after it refused ours; the request fails anyway.

    The refused flush left the transaction unusable (aborted on PostgreSQL), so it is rolled back
    here — nothing of the request is kept — after detaching the loaded objects, which stay
    readable for the error response. The lookup then runs in the same session and connection,
    read-only: a second connection per refused request would exhaust the pool when many race for
    one slot. Inside a savepoint only the savepoint is lost, and the caller's ``begin_nested``
    rolls it back: the interval is then not looked up (None).
    """
    from app.core import db

    if session.in_nested_transaction():
        return None
    session.expunge_all()
    await session.rollback()
    token = db.set_write_intent(False)
    try:
        rows = await overlapping(session, resource_id, starts_at, blocked_until)
        await session.rollback()
    finally:
        db._write_intent.reset(token)  # noqa: SLF001
    if not rows:
        return None
    first = min(rows)
    return first[0], first[1]


