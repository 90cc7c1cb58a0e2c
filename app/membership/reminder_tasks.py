"""Memberships' scheduled work.

``membership.send_reminders`` runs every hour and fans out over the spaces: once it is past
REMINDER_HOUR in a space's time zone, one ``membership.remind`` job per space and local day
(``jobs.enqueue_once``: written once, resumed by the relay if it dies). That job e-mails the
members whose adhésion or pass expires within the space's ``reminder_days``, once per item
(``app.membership.adhesion.send_reminders``: a unique row per item reminded).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, jobs
from app.core.tenancy import all_spaces, require_scope
from app.membership import adhesion
from app.space.models import Space
from workers.task import cron_task, task

REMINDER_HOUR = 9


@cron_task("membership.send_reminders", minute=20)
async def send_reminders(session: AsyncSession, period: datetime) -> int:
    """Fan out: one ``membership.remind`` outbox row per space and local day (written once)."""
    now = clock.now()
    written = 0
    with all_spaces(session):
        spaces = (await session.exec(select(Space).where(col(Space.suspended_at).is_(None)))).all()
    for space in spaces:
        local = now.astimezone(ZoneInfo(space.timezone))
        if local.hour < REMINDER_HOUR:
            continue
        if await jobs.enqueue_once(session, f"membership.remind:{space.id}:{local.date().isoformat()}",
                                   "membership.remind", space_id=space.id):
            written += 1
    return written


@task("membership.remind")
async def remind(session: AsyncSession) -> int:
    """E-mail this space's reminders due today (scoped to the space by ``space_id``)."""
    space = await session.get(Space, require_scope(session))
    if space is None or space.suspended_at is not None:
        return 0
    return await adhesion.send_reminders(session, space)
