"""Booking a room of the space for an event.

The resources and bookings domains are being built in parallel; until ``app.booking.service``
offers a way to book a room for an event (and to check a conflict), an event stores the room as
a plain ``resource_id`` and these hooks do nothing. See docs/events.md, "Rooms".
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from app.event.models import Event
from app.space.models import Space


async def check_room(session: AsyncSession, space: Space, event: Event) -> None:
    """Raise RoomConflict when the event's room is taken at its time. TODO: bookings integration."""
    return None


async def book_room(session: AsyncSession, space: Space, event: Event) -> None:
    """Book the event's room when it is published. TODO: bookings integration."""
    if event.resource_id is None:
        return
    await check_room(session, space, event)


async def move_booking(session: AsyncSession, space: Space, event: Event, new: object) -> None:
    """Move the room booking along with the event. TODO: bookings integration."""
    return None


async def release_room(session: AsyncSession, space: Space, event: Event) -> None:
    """Cancel the room booking of a cancelled event. TODO: bookings integration."""
    return None
