"""What the calendar domain does when something that calendars show has changed.

Feeds need nothing: they are built from the database on each request, with ETags that follow the
rows. CalDAV copies do: ``booking_changed`` (registered with the booking service) queues the push
of a booking (sent after the commit) when the space writes any resource to a CalDAV server.
Whether the space has any CalDAV target is a fact of its booking snapshot (``app.booking.snapshot``):
no query on the booking path. Loaded with every domain's ``hooks.py`` (``app.core.discovery``).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.account.privacy import Deletion, Stage, export_section, iso, on_account_deletion
from app.booking.models import Booking
from app.booking.service import on_booking_changed
from app.booking.snapshot import snapshot_fact, snapshot_of
from app.calendar import caldav
from app.calendar.models import CaldavTarget, CalendarFeed
from app.core.tenancy import all_spaces
from app.space.models import Space

PUSHES_TO_CALDAV = "pushes_to_caldav"


@snapshot_fact(PUSHES_TO_CALDAV)
async def pushes_to_caldav(session: AsyncSession) -> bool:
    return (await session.exec(select(col(CaldavTarget.id)).limit(1))).first() is not None


@on_booking_changed
async def booking_changed(session: AsyncSession, space: Space, booking: Booking) -> None:
    if booking.id is not None and space.id is not None and (await snapshot_of(session, space)).facts[PUSHES_TO_CALDAV]:
        caldav.enqueue_push(session, space.id, booking.id)


@on_account_deletion(Stage.erase)
async def erase_feeds(session: AsyncSession, account: Account, deletion: Deletion) -> None:
    """The person's secret feed addresses stop working (their rows go)."""
    with all_spaces(session):
        await session.exec(delete(CalendarFeed).where(col(CalendarFeed.account_id) == account.id))


@export_section("calendar_feeds", tables={"calendar_feed"})
async def export_feeds(session: AsyncSession, account: Account) -> list[dict[str, Any]]:
    """Which feeds exist, never their secret addresses."""
    rows = (await session.exec(select(CalendarFeed).where(CalendarFeed.account_id == account.id)
                               .order_by(col(CalendarFeed.id)))).all()
    return [{"space_id": f.space_id, "kind": f.kind, "created_at": iso(f.created_at),
             "revoked_at": iso(f.revoked_at)} for f in rows]
