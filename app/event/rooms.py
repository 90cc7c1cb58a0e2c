"""An event's room: one of the space's rooms, held by a booking while the event is published.

The bookings domain owns the rules (conflicts, buffers, blocks, the database no-overlap guard):
``app.booking.service.book_for_event`` holds the room, ``release_event_bookings`` frees it. A
draft holds nothing; ``room_conflict`` tells the animator before publishing that the room is taken,
and publishing then refuses with the same error.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.booking import repository as bookings_repo
from app.booking import service as bookings
from app.core.errors import FabriqueError, NotFound, ValidationFailed
from app.event.errors import N_, RoomConflict
from app.event.models import Event
from app.resource import service as resources
from app.resource.models import Resource
from app.space.models import Space


async def rooms_of(session: AsyncSession) -> list[Resource]:
    """Rooms an event can take place in: the space's resources that are not desks."""
    return [r for r in await resources.list_resources(session) if not r.is_desk]


async def get_room(session: AsyncSession, resource_id: int) -> Resource:
    try:
        room = await resources.get_resource(session, resource_id)
    except NotFound as exc:
        raise ValidationFailed(fields={"resource_id": N_("Choose one of the space's rooms.")}) from exc
    if room.is_desk or room.is_archived:
        raise ValidationFailed(fields={"resource_id": N_("Choose one of the space's rooms.")})
    return room


async def check_room(
    session: AsyncSession, resource_id: int | None, starts_at: datetime, ends_at: datetime,
    *, exclude_booking_id: int | None = None,
) -> None:
    """Raise RoomConflict when the room is taken (or out of service) during the event."""
    if resource_id is None:
        return
    room = await get_room(session, resource_id)
    if await resources.blocks_between(session, [room.id], starts_at, ends_at):
        raise RoomConflict(fields={"resource_id": N_("The room is unavailable at that time.")})
    held = await bookings_repo.overlapping(session, room.id, starts_at, bookings.held_until(room, ends_at),
                                           exclude_id=exclude_booking_id)
    window = bookings.full_window(starts_at, bookings.held_until(room, ends_at), held, room.capacity)
    if window is not None:
        raise RoomConflict(fields={"resource_id": N_("The room is already booked at that time.")},
                           extra={"conflict": {"starts_at": window[0].isoformat(), "ends_at": window[1].isoformat()}})


async def room_conflict(session: AsyncSession, event: Event) -> FabriqueError | None:
    """The reason the event's room cannot be held (for a draft, before publishing), or None."""
    if event.resource_id is None or event.booking_id is not None:
        return None
    try:
        await check_room(session, event.resource_id, event.starts_at, event.ends_at)
    except FabriqueError as exc:
        return exc
    return None


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
