"""Reminders, e-mailed the day before an event.

``event.send_reminders`` runs every hour and fans out over the spaces: once it is past
REMINDER_HOUR in a space's timezone, every confirmed registrant of the events starting the next
local day who has not been reminded yet gets one, through ``event.remind`` (one job per event).
Both run from the job outbox (``app.core.jobs``): the hourly run is one row per period, and it
writes one ``event.remind`` row per space, event and period, so a run that died half-way is
resumed by the relay. ``reminded_at`` makes both idempotent: a job run twice, or an hourly run
after a late registration, sends each reminder once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, jobs
from app.core.tenancy import all_spaces
from app.event import notify
from app.event.models import Event, EventStatus, Registration, RegistrationStatus
from app.space.models import Space
from workers.task import cron_task, task

REMINDER_HOUR = 9


def tomorrow_bounds(now: datetime, tz: str) -> tuple[datetime, datetime]:
    """The next local day in ``tz``, as a half-open UTC interval (23 or 25 hours around DST)."""
    zone = ZoneInfo(tz)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    start = datetime.combine(tomorrow, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(tomorrow + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return start.astimezone(now.tzinfo), end.astimezone(now.tzinfo)


async def due_reminders(session: AsyncSession, now: datetime) -> list[tuple[int, int]]:
    """(space id, event id) of every event whose reminders are due, across spaces."""
    due: list[tuple[int, int]] = []
    with all_spaces(session):
        spaces = (await session.exec(select(Space).where(col(Space.suspended_at).is_(None)))).all()
        for space in spaces:
            if now.astimezone(ZoneInfo(space.timezone)).hour < REMINDER_HOUR:
                continue
            start, end = tomorrow_bounds(now, space.timezone)
            rows = await session.exec(
                select(Event.id).join(Registration, col(Registration.event_id) == Event.id).where(
                    Event.space_id == space.id, Event.status == EventStatus.published,
                    col(Event.starts_at) >= start, col(Event.starts_at) < end,
                    Registration.status == RegistrationStatus.confirmed, col(Registration.reminded_at).is_(None),
                ).distinct()
            )
            due.extend((space.id, event_id) for event_id in rows.all())  # type: ignore[misc]
    return due


@cron_task("event.send_reminders", minute=5)
async def send_reminders(session: AsyncSession, period: datetime) -> int:
    """Fan out: one ``event.remind`` outbox row per space, event and period (written once)."""
    due = await due_reminders(session, clock.now())
    for space_id, event_id in due:
        await jobs.enqueue_once(session, f"event.remind:{space_id}:{event_id}:{period:%Y-%m-%dT%H:%MZ}",
                                "event.remind", event_id, space_id=space_id)
    return len(due)


@task("event.remind")
async def remind(session: AsyncSession, event_id: int) -> int:
    """E-mail the confirmed registrants of one event who have not been reminded. Scoped to its space."""
    event = (await session.exec(select(Event).where(Event.id == event_id))).first()
    if event is None or event.status != EventStatus.published or event.starts_at <= clock.now():
        return 0
    space = await session.get(Space, event.space_id)
    regs = (await session.exec(select(Registration).where(
        Registration.event_id == event.id, Registration.status == RegistrationStatus.confirmed,
        col(Registration.reminded_at).is_(None),
    ).with_for_update())).all()
    for reg in regs:
        reg.reminded_at = clock.now()
        session.add(reg)
        await notify.tell_registrant(session, space, event, reg, "event_reminder")
    return len(regs)
