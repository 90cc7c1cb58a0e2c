"""Subscriptions through the service: a start writes its period, order and allowance once."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tests.booking.factories import freeze
from tests.membership.factories_plans import (
    balance,
    buckets_of,
    charges_of,
    create_plan,
    orders_of,
    periods_of,
    start,
)

DESK_DAYS = {"resource_kinds": "hot_desk", "unit": "day", "quantity": 8}


async def test_a_start_writes_its_period_its_order_and_its_allowance(world):
    freeze(date(2027, 1, 31))
    member = world.a.accounts["member"]
    plan = await create_plan(world.a.space, allowances=[DESK_DAYS, {"unit": "hour", "quantity": None}])
    sub = await start(world.a.space, member, plan, date(2027, 1, 31))
    assert (sub.current_period_start, sub.current_period_end, sub.anchor_day) == (
        date(2027, 1, 31), date(2027, 2, 28), 31)
    (period,) = await periods_of(world.a.space, sub.id)
    assert (period.starts_on, period.ends_on) == (date(2027, 1, 31), date(2027, 2, 28))
    (order,) = await orders_of(world.a.space, member.id)
    assert period.order_id == order.id and order.total_incl_cents == 31000 and order.purpose == "plan"
    (line,) = await charges_of(world.a.space, order.id)
    assert line.item == "plan" and line.amount_incl_cents == 31000 and line.vat_rate_bp == 2000
    days, unlimited = await buckets_of(world.a.space, member.id)
    assert await balance(world.a.space, days.id) == 8 and days.unit == "day" and days.resource_kinds == "hot_desk"
    assert unlimited.unlimited and await balance(world.a.space, unlimited.id) == 0
    # Valid from local midnight (Paris, UTC+1 in winter) to the period's end.
    assert days.valid_from == datetime(2027, 1, 30, 23, 0, tzinfo=UTC)
    assert days.valid_until == datetime(2027, 2, 27, 23, 0, tzinfo=UTC)
