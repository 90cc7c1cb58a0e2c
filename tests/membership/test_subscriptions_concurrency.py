"""Racing requests through the real HTTP API (``live_server``: uvicorn in its own process, so on
PostgreSQL each request has its own transaction): the database decides, once."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.membership.models import Subscription, SubscriptionPause, SubscriptionPeriod
from tests.booking.factories import create_resource
from tests.fixtures.concurrency import bearer, fire, warm
from tests.membership.factories_plans import create_plan, orders_of, read, start


def _today():
    return datetime.now(ZoneInfo("Europe/Paris")).date()


def _codes(responses) -> Counter:
    return Counter(r.status_code for r in responses)


async def test_twenty_staff_assigning_one_fixed_desk_at_once_hold_it_once(world, live_server):
    desk = await create_resource(world.a.space, name="Bureau 7", kind="dedicated_desk", unit="day")
    plan = await create_plan(world.a.space, fixed_desk=True)
    people = [world.a.accounts[r].id for r in ("member", "animator", "manager", "owner")]
    tokens = [world.a.tokens[r] for r in ("manager", "owner")]
    await warm(live_server, tokens)
    path = f"/api/v1/spaces/{world.a.slug}/subscriptions"
    responses = await fire(live_server, [
        ("POST", path, {"account_id": people[i % 4], "plan_id": plan.id, "fixed_resource_id": desk.id},
         bearer(tokens[i % 2])) for i in range(20)])
    assert _codes(responses) == {201: 1, 409: 19}, [r.text for r in responses if r.status_code not in (201, 409)][:3]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"fixed_resource_taken"}
    assert len(await read(world.a.space, Subscription)) == 1


async def test_ten_identical_plan_changes_at_once_change_it_once(world, live_server):
    small = await create_plan(world.a.space, name="Mi-temps", price_cents=31000)
    large = await create_plan(world.a.space, name="Temps plein", price_cents=45000)
    member = world.a.accounts["member"]
    sub = await start(world.a.space, member, small, _today() - timedelta(days=10))
    token = world.a.tokens["manager"]
    await warm(live_server, [token])
    path = f"/api/v1/spaces/{world.a.slug}/subscriptions/{sub.id}/change"
    responses = await fire(live_server, [("POST", path, {"plan_id": large.id}, bearer(token))] * 10)
    assert _codes(responses) == {200: 1, 409: 9}, [r.text for r in responses if r.status_code not in (200, 409)][:3]
    assert len(await orders_of(world.a.space, member.id)) == 2
    assert len(await read(world.a.space, SubscriptionPeriod)) == 2


async def test_ten_overlapping_pauses_at_once_record_one(world, live_server):
    plan = await create_plan(world.a.space)
    sub = await start(world.a.space, world.a.accounts["member"], plan, _today())
    token = world.a.tokens["manager"]
    await warm(live_server, [token])
    path = f"/api/v1/spaces/{world.a.slug}/subscriptions/{sub.id}/pause"
    first = _today() + timedelta(days=40)
    responses = await fire(live_server, [
        ("POST", path, {"starts_on": (first + timedelta(days=i)).isoformat(),
                        "ends_on": (first + timedelta(days=i + 20)).isoformat()}, bearer(token)) for i in range(10)])
    assert _codes(responses) == {200: 1, 409: 9}, [r.text for r in responses if r.status_code not in (200, 409)][:3]
    assert len(await read(world.a.space, SubscriptionPause)) == 1
