"""Membership jobs: the daily renewal, per space, in the space's time zone.

``membership.renew_all`` runs every hour and fans out over the spaces: one ``membership.renew``
outbox row per space and *local date* (``jobs.enqueue_once`` key ``membership.renew:<space>:<date>``),
so each space is renewed once a day, soon after its own midnight, whatever the server's zone. The
renewal itself (``app.membership.renewals``) commits batch by batch and is idempotent (a unique
key per period): a run killed half-way is handed over again by the outbox relay once its claim
lapses, and finishes what is left.

Reminders before a pass or an adhésion expires belong to the orders/adhésion area, which may add
its own per-space step to this fan-out (``register_daily``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import jobs
from app.core.tenancy import all_spaces
from app.membership import renewals
from app.membership.subscriptions import local_today
from app.space.models import Space
from workers.task import cron_task, task

DailyStep = Callable[[int, date], Awaitable[Any]]
_DAILY: list[DailyStep] = []


def register_daily(step: DailyStep) -> DailyStep:
    """Another membership step run once a day per space after the renewals (``step(space_id, today)``)."""
    _DAILY.append(step)
    return step


async def fan_out(session: AsyncSession, now: datetime) -> int:
    """One ``membership.renew`` row per live space for its local date (written once per key)."""
    written = 0
    with all_spaces(session):
        spaces = (await session.exec(select(Space).where(col(Space.suspended_at).is_(None)))).all()
    for space in spaces:
        today = local_today(space, now)
        written += await jobs.enqueue_once(session, f"membership.renew:{space.id}:{today.isoformat()}",
                                           "membership.renew", space.id, today.isoformat())
    return written


@cron_task("membership.renew_all", minute=10)
async def renew_all(session: AsyncSession, period: datetime) -> int:
    return await fan_out(session, period)


@task("membership.renew", session=False)
async def renew(ctx: dict[str, Any], space_id: int, day: str) -> dict[str, int]:
    """Renew one space for one local date (commits batch by batch: ``renewals.renew_space``)."""
    run = await renewals.renew_space(space_id, date.fromisoformat(day))
    for step in _DAILY:
        await step(space_id, run.today)
    return {"ended": run.ended, "paused": run.paused, "resumed": run.resumed, "renewed": run.renewed,
            "expired": run.expired}


from app.membership import reminder_tasks  # noqa: E402,F401  (registers membership.send_reminders, membership.remind)
