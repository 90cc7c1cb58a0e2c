"""Calendar jobs: importing external calendars (one job per source) and pushing to CalDAV.

These jobs talk to remote servers, so they open their own short transactions around the network
calls instead of holding one for the whole job (``session=False``); the space id comes first in
their arguments for that reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.calendar import caldav, sources
from app.core import clock, db, jobs
from workers.task import cron_task, task


@cron_task("calendar.import_due", minute={0, 15, 30, 45})
async def import_due(session: AsyncSession, period: datetime) -> int:
    """Fan out: queue an import for every source whose turn has come, in every space (one outbox
    row per source and period, written once)."""
    due = await sources.due_sources(session, clock.now())
    for space_id, source_id in due:
        await jobs.enqueue_once(session, f"calendar.import_source:{space_id}:{source_id}:{period:%Y-%m-%dT%H:%MZ}",
                                "calendar.import_source", space_id, source_id)
    return len(due)


@task("calendar.import_source", session=False)
async def import_source(ctx: Any, space_id: int, source_id: int) -> str | None:
    return await sources.import_source(space_id, source_id)


@task("calendar.caldav_push", session=False)
async def caldav_push(ctx: Any, space_id: int, booking_id: int) -> int:
    return await caldav.push_booking(space_id, booking_id)


@task("calendar.caldav_sync_resource", session=False)
async def caldav_sync_resource(ctx: Any, space_id: int, resource_id: int) -> int:
    """Queue a push for every booking to come on the resource (after its CalDAV settings change)."""
    async with db.transaction(space_id=space_id) as session:
        ids = await caldav.bookings_to_sync(session, resource_id, clock.now())
        for booking_id in ids:
            caldav.enqueue_push(session, space_id, booking_id)
    return len(ids)
