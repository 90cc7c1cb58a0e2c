"""What other domains call when something that calendars show has changed.

Feeds need no call: they are built from the database on each request, with ETags that follow the
rows. CalDAV copies do: ``booking_changed`` queues the push of a booking (sent after the commit)
when the space writes any resource to a CalDAV server. Whether the space has any
CalDAV target is part of its booking snapshot (``app.booking.snapshot``): no query.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from app.booking.models import Booking
from app.space.models import Space


async def booking_changed(session: AsyncSession, space: Space, booking: Booking) -> None:
    """Call after a booking was created, moved (to another resource too) or cancelled, once flushed."""
    from app.booking.snapshot import snapshot_of
    from app.calendar import caldav

    if booking.id is not None and (await snapshot_of(session, space)).pushes_to_caldav:
        caldav.enqueue_push(session, space.id, booking.id)  # type: ignore[arg-type]
