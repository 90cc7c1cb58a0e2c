"""An event's room: one of the space's rooms, held by a booking while the event is published.

The bookings domain owns the rules (conflicts, buffers, blocks, the database no-overlap guard):
``app.booking.service.book_for_event`` holds the room, ``release_event_bookings`` frees it. A
draft holds nothing; ``room_conflict`` tells the animator before publishing that the room is taken,
and publishing then refuses with the same error.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.booking import repository as bookings_repo
from app.booking import service as bookings
from app.booking.models import Booking, BookingStatus
from app.core.errors import FabriqueError, NotFound, ValidationFailed
from app.event.errors import N_, RoomConflict
from app.event.models import Event
from app.resource import service as resources
from app.resource.models import Resource
from app.space.models import Space


async def rooms_of(session: AsyncSession) -> list[Resource]:
    """Rooms an event can take place in: the space's resources that are not desks."""
    return [r for r in await resources.list_resources(session) if not r.is_desk]


def _not_a_room() -> ValidationFailed:
    return ValidationFailed(fields={"resource_id": N_("Choose one of the space's rooms.")})


async def get_room(session: AsyncSession, resource_id: int) -> Resource:
    try:
        room = await resources.get_resource(session, resource_id)
    except NotFound as exc:
        raise _not_a_room() from exc
    if room.is_desk or room.is_archived:
        raise _not_a_room()
    return room


def _conflict(room: Resource, starts_at: datetime, ends_at: datetime, *, blocked: bool,
              held: list[tuple[datetime, datetime, datetime]]) -> RoomConflict | None:
    """Why ``room`` cannot be held from ``starts_at`` to ``ends_at``, given whether a block meets that
    time and the bookings that hold the room meanwhile (as ``bookings_repo.overlapping`` gives them)."""
    if blocked:
        return RoomConflict(fields={"resource_id": N_("The room is unavailable at that time.")})
    window = bookings.full_window(starts_at, bookings.held_until(room, ends_at), held, room.capacity)
    if window is not None:
        return RoomConflict(fields={"resource_id": N_("The room is already booked at that time.")},
                            extra={"conflict": {"starts_at": window[0].isoformat(), "ends_at": window[1].isoformat()}})
    return None


async def check_room(
    session: AsyncSession, resource_id: int | None, starts_at: datetime, ends_at: datetime,
    *, exclude_booking_id: int | None = None,
) -> None:
    """Raise RoomConflict when the room is taken (or out of service) during the event."""
    if resource_id is None:
        return
    room = await get_room(session, resource_id)
    blocked = bool(await resources.blocks_between(session, [room.id], starts_at, ends_at))
    held = [] if blocked else await bookings_repo.overlapping(
        session, room.id, starts_at, bookings.held_until(room, ends_at), exclude_id=exclude_booking_id)
    problem = _conflict(room, starts_at, ends_at, blocked=blocked, held=held)
    if problem is not None:
        raise problem


async def room_conflict(session: AsyncSession, event: Event) -> FabriqueError | None:
    """The reason the event's room cannot be held (for a draft, before publishing), or None."""
    if event.resource_id is None or event.booking_id is not None:
        return None
    try:
        await check_room(session, event.resource_id, event.starts_at, event.ends_at)
    except FabriqueError as exc:
        return exc
    return None


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def room_conflicts(session: AsyncSession, events: list[Event]) -> dict[int, FabriqueError]:
    """``room_conflict`` of many events (a list page) in three queries instead of three per event.

    Events whose room can be held are left out of the answer."""
    waiting = [e for e in events if e.resource_id is not None and e.booking_id is None]
    if not waiting:
        return {}
    rooms = {r.id: r for r in await resources.list_resources(session, include_archived=True)}
    out: dict[int, FabriqueError] = {}
    checked: list[tuple[Event, Resource]] = []
    for event in waiting:
        room = rooms.get(event.resource_id)
        if room is None or room.is_desk or room.is_archived:
            out[event.id] = _not_a_room()
        else:
            checked.append((event, room))
    if not checked:
        return out
    ids = {room.id for _e, room in checked}
    start = min(_utc(e.starts_at) for e, _r in checked)
    blocks = await resources.blocks_between(session, ids, start, max(_utc(e.ends_at) for e, _r in checked))
    # bookings_repo.overlapping's predicate, for every room and the whole span at once; each event
    # then keeps the rows that meet its own interval.
    held_rows = (await session.exec(
        select(Booking.resource_id, Booking.starts_at, Booking.ends_at, Booking.blocked_until).where(
            col(Booking.resource_id).in_(ids), Booking.status == BookingStatus.confirmed,
            col(Booking.starts_at) < max(_utc(bookings.held_until(r, e.ends_at)) for e, r in checked),
            col(Booking.blocked_until) > start,
        ))).all()
    for event, room in checked:
        starts_at, ends_at = _utc(event.starts_at), _utc(event.ends_at)
        until = bookings.held_until(room, ends_at)
        blocked = any(b.resource_id == room.id and _utc(b.starts_at) < ends_at and _utc(b.ends_at) > starts_at
                      for b in blocks)
        held = [(s, e, bu) for rid, s, e, bu in held_rows
                if rid == room.id and _utc(s) < until and _utc(bu) > starts_at]
        problem = _conflict(room, event.starts_at, event.ends_at, blocked=blocked, held=held)
        if problem is not None:
            out[event.id] = problem
    return out


async def book_room(session: AsyncSession, space: Space, event: Event, actor: Account | None) -> None:
    """Hold the event's room (on publishing). Refused with RoomConflict when it is taken."""
    if event.resource_id is None:
        return
    await check_room(session, event.resource_id, event.starts_at, event.ends_at)
    room = await get_room(session, event.resource_id)
    try:
        booking = await bookings.book_for_event(
            session, space=space, resource=room, starts_at=event.starts_at, ends_at=event.ends_at, actor=actor,
            event_id=event.id, title=event.title,
        )
    except FabriqueError as exc:
        if exc.error_code == "booking_conflict":  # lost a race the check could not see
            raise RoomConflict(fields={"resource_id": N_("The room is already booked at that time.")}) from exc
        raise
    event.booking_id = booking.id


async def release_room(session: AsyncSession, space: Space, event: Event, actor: Account | None) -> None:
    if event.booking_id is None:
        return
    await bookings.release_event_bookings(session, space=space, event_id=event.id, actor=actor,
                                          reason="event cancelled or moved")
    event.booking_id = None


async def move_room(session: AsyncSession, space: Space, event: Event, actor: Account | None) -> None:
    """The event moved (time or room): free the old booking and hold the new one, atomically with
    the request (a conflict rolls everything back)."""
    await release_room(session, space, event, actor)
    await book_room(session, space, event, actor)
