"""The renewal job: each period once (unique key), rollovers, expiries, ends, pauses and resumes,
in the space's time zone."""

from __future__ import annotations

import asyncio
from datetime import date

from app.core import db
from app.membership import renewals, subscriptions
from app.membership.models import CreditBucket, Subscription
from tests.booking.factories import freeze
from tests.membership.factories_plans import (
    balance,
    buckets_of,
    create_plan,
    entries_of,
    orders_of,
    periods_of,
    read,
    start,
)

EIGHT_DAYS = {"resource_kinds": "hot_desk", "unit": "day", "quantity": 8}


async def _sub(space, sub_id) -> Subscription:
    (sub,) = await read(space, Subscription, Subscription.id == sub_id)
    return sub


async def test_a_due_subscription_is_renewed_once_however_often_the_job_runs(world):
    space, member = world.a.space, world.a.accounts["member"]
    freeze(date(2027, 1, 31))
    plan = await create_plan(space, allowances=[EIGHT_DAYS])
    sub = await start(space, member, plan, date(2027, 1, 31))
    freeze(date(2027, 2, 28), hour=1)  # just after the space's midnight
    first = await renewals.renew_space(space.id)
    assert (first.today, first.renewed, first.expired) == (date(2027, 2, 28), 1, 1)
    again = await renewals.renew_space(space.id)
    assert (again.renewed, again.expired) == (0, 0)
    rows = await periods_of(space, sub.id)
    assert [(p.starts_on, p.ends_on) for p in rows] == [(date(2027, 1, 31), date(2027, 2, 28)),
                                                        (date(2027, 2, 28), date(2027, 3, 31))]
    assert len(await orders_of(space, member.id)) == 2
    old, new = await buckets_of(space, member.id)
    assert old.expired_at is not None and await balance(space, old.id) == 0
    assert [e.kind for e in await entries_of(space, old.id)] == ["grant", "expiry"]
    assert new.expired_at is None and await balance(space, new.id) == 8
    assert (await _sub(space, sub.id)).current_period_end == date(2027, 3, 31)


async def test_a_subscription_behind_by_several_periods_catches_up_one_period_at_a_time(world):
    space, member = world.a.space, world.a.accounts["member"]
    freeze(date(2027, 1, 15))
    plan = await create_plan(space)
    sub = await start(space, member, plan, date(2027, 1, 15))
    freeze(date(2027, 4, 20))
    run = await renewals.renew_space(space.id)
    assert run.renewed == 3
    assert [p.starts_on for p in await periods_of(space, sub.id)] == [
        date(2027, 1, 15), date(2027, 2, 15), date(2027, 3, 15), date(2027, 4, 15)]


async def test_two_runs_at_once_renew_once(world):
    space = world.a.space
    freeze(date(2027, 1, 10))
    plan = await create_plan(space, allowances=[EIGHT_DAYS])
    subs = [await start(space, acc, plan, date(2027, 1, 10)) for acc in world.a.accounts.values()]
    freeze(date(2027, 2, 10))
    runs = await asyncio.gather(renewals.renew_space(space.id, batch=2), renewals.renew_space(space.id, batch=2))
    assert sum(r.renewed for r in runs) == len(subs)
    for sub in subs:
        assert len(await periods_of(space, sub.id)) == 2
    assert len(await read(space, CreditBucket)) == 2 * len(subs)


async def test_unused_allowance_rolls_over_for_the_periods_the_plan_allows(world):
    space, member = world.a.space, world.a.accounts["member"]
    freeze(date(2027, 1, 1))
    plan = await create_plan(space, allowances=[EIGHT_DAYS], rollover_periods=1)
    await start(space, member, plan, date(2027, 1, 1))
    freeze(date(2027, 2, 1))
    await renewals.renew_space(space.id)
    jan, feb, rolled = await buckets_of(space, member.id)
    assert [e.kind for e in await entries_of(space, jan.id)] == ["grant", "rollover"]
    assert await balance(space, jan.id) == 0 and jan.expired_at is not None
    assert rolled.rolled_from_id == jan.id and rolled.rollovers_left == 0 and await balance(space, rolled.id) == 8
    assert [e.kind for e in await entries_of(space, rolled.id)] == ["rollover"]
    assert await balance(space, feb.id) == 8 and feb.rollovers_left == 1
    freeze(date(2027, 3, 1))
    await renewals.renew_space(space.id)
    buckets = {b.id: b for b in await buckets_of(space, member.id)}
    # January's units rolled once and no more: they expire; February's roll into March.
    assert [e.kind for e in await entries_of(space, rolled.id)] == ["rollover", "expiry"]
    assert [e.kind for e in await entries_of(space, feb.id)] == ["grant", "rollover"]
    assert sorted([await balance(space, b) for b in buckets if buckets[b].expired_at is None]) == [8, 8]


async def test_an_end_at_a_date_is_carried_out_by_the_job_that_day(world):
    space, member = world.a.space, world.a.accounts["member"]
    freeze(date(2027, 1, 1))
    plan = await create_plan(space, allowances=[EIGHT_DAYS])
    sub = await start(space, member, plan, date(2027, 1, 1))
    async with db.transaction(space_id=space.id) as session:
        await subscriptions.end(session, space, sub, on=date(2027, 2, 1), actor_id=None)
    freeze(date(2027, 2, 1))
    run = await renewals.renew_space(space.id)
    assert (run.ended, run.renewed) == (1, 0)
    ended = await _sub(space, sub.id)
    assert ended.status == "ended" and ended.ends_on == date(2027, 2, 1)
    assert len(await periods_of(space, sub.id)) == 1 and len(await orders_of(space, member.id)) == 1
    (bucket,) = await buckets_of(space, member.id)
    assert bucket.expired_at is not None and await balance(space, bucket.id) == 0


async def test_the_hourly_fan_out_writes_one_job_per_space_and_local_date_which_the_worker_runs(world, run_jobs):
    from app.core import clock
    from app.membership import tasks

    space, member = world.a.space, world.a.accounts["member"]
    freeze(date(2027, 1, 31))
    plan = await create_plan(space, allowances=[EIGHT_DAYS])
    sub = await start(space, member, plan, date(2027, 1, 31))
    # 23:30 UTC on 27 February is already 28 February in Paris: the space's day has come.
    from datetime import UTC, datetime
    clock.freeze(datetime(2027, 2, 27, 23, 30, tzinfo=UTC))
    async with db.transaction() as session:
        assert await tasks.fan_out(session, clock.now()) == 2  # spaces a and b
    await run_jobs()
    assert [p.starts_on for p in await periods_of(space, sub.id)] == [date(2027, 1, 31), date(2027, 2, 28)]
    async with db.transaction() as session:
        assert await tasks.fan_out(session, clock.now()) == 0  # the same local date: nothing new
    await run_jobs()
    assert len(await periods_of(space, sub.id)) == 2
