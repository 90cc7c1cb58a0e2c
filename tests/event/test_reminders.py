"""Reminders go out the day before, once, after 09:00 in the space's timezone."""

from __future__ import annotations

from datetime import UTC, datetime

from app.core import clock, db
from app.event.tasks import remind, send_reminders, tomorrow_bounds
from tests.event.factories import create_event, register


async def _run_cron(run_jobs):
    async with db.transaction() as session:
        due = await send_reminders(session, clock.now())
    await run_jobs()
    return due


async def test_registrants_are_reminded_once_the_day_before(world, run_jobs, outbox):
    clock.freeze(datetime(2031, 3, 10, 12, 0, tzinfo=UTC))
    event = await create_event(world.a.space, world.a.animator, title="Repair café",
                               starts_at=datetime(2031, 3, 12, 17, 0, tzinfo=UTC))
    await register(world.a.space, event, world.a.member)
    await register(world.a.space, event, world.a.manager)
    await outbox()
    before = len(await outbox())
    clock.freeze(datetime(2031, 3, 11, 7, 30, tzinfo=UTC))  # 08:30 in Paris: too early
    assert await _run_cron(run_jobs) == 0
    clock.freeze(datetime(2031, 3, 11, 8, 5, tzinfo=UTC))  # 09:05 in Paris
    assert await _run_cron(run_jobs) == 1
    reminders = [m for m in (await outbox())[before:] if m["Subject"] == "Tomorrow: Repair café"]
    assert sorted(m["To"] for m in reminders) == sorted([world.a.member.email, world.a.manager.email])
    clock.freeze(datetime(2031, 3, 11, 9, 5, tzinfo=UTC))
    assert await _run_cron(run_jobs) == 0
    # A job run twice (arq may) sends nothing more.
    async with db.transaction(space_id=world.a.space.id) as session:
        assert await remind(session, event.id) == 0


def test_tomorrow_is_a_local_day_even_when_the_clocks_change():
    start, end = tomorrow_bounds(datetime(2031, 3, 29, 12, 0, tzinfo=UTC), "Europe/Paris")
    assert (start, end) == (datetime(2031, 3, 29, 23, 0, tzinfo=UTC), datetime(2031, 3, 30, 22, 0, tzinfo=UTC))
