"""The daily billing run, per space, in the space's time zone.

``billing.run_due`` runs every hour and fans out: once it is past RUN_HOUR in a space's time zone,
it writes one ``billing.invoice_due`` job for the space and its local date (``jobs.enqueue_once``:
one outbox row per space and day, however often the hourly run fires or is resumed). The job
itself runs in one transaction scoped to the space (``app.billing.run``): killed half-way, it has
written nothing, and the relay runs it again; run twice, the second finds nothing left to invoice.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.billing import run
from app.core import clock, jobs
from app.core.tenancy import all_spaces, require_scope
from app.space.models import Space
from workers.task import cron_task, task

RUN_HOUR = 1  # local time: after midnight, so that a day's charges are billed the next morning


@cron_task("billing.run_due", minute=10)
async def run_due(session: AsyncSession, period: datetime) -> int:
    """Fan out: one ``billing.invoice_due`` job per active space whose local day has begun its run."""
    now = clock.now()
    written = 0
    with all_spaces(session):
        spaces = (await session.exec(select(Space).where(col(Space.suspended_at).is_(None)))).all()
    for space in spaces:
        local = now.astimezone(ZoneInfo(space.timezone))
        if local.hour < RUN_HOUR:
            continue
        day = local.date().isoformat()
        written += await jobs.enqueue_once(session, f"billing.invoice_due:{space.id}:{day}", "billing.invoice_due",
                                           day, space_id=space.id)
    return written


@task("billing.invoice_due")
async def invoice_due(session: AsyncSession, day: str) -> int:
    """Invoice a space's due charges, dated its local ``day`` (scoped to the space by ``space_id=``)."""
    space = await session.get(Space, require_scope(session))
    if space is None or space.suspended_at is not None:
        return 0
    result = await run.invoice_due(session, space, date.fromisoformat(day))
    return len(result.invoices) + len(result.credit_notes)
