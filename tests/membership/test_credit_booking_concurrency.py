"""Twenty bookings at once for a member with one unit left, through the real HTTP API (``live_server``:
uvicorn in its own process, each request its own connection and transaction on PostgreSQL).

The server runs on the real clock: the slots are taken a week or two ahead of today."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.booking.factories import create_room, paris
from tests.fixtures.concurrency import bearer, codes, fire, warm
from tests.membership.credit_factories import entries, left, open_allowance, set_settings


def _next_tuesday() -> date:
    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    return today + timedelta(days=7 + (1 - today.weekday()) % 7)


async def _twenty_bookings(world, live_server) -> list:
    rooms = [await create_room(world.a.space, name=f"Salle {i}", horizon_days=60) for i in range(4)]
    day = _next_tuesday()
    bodies = [{"resource_id": room.id, "starts_at": paris(day, hour).isoformat(),
               "ends_at": paris(day, hour + 1).isoformat()} for room in rooms for hour in range(10, 15)]
    token = world.a.tokens["member"]
    await warm(live_server, [token])
    return await fire(live_server, [("POST", f"/api/v1/spaces/{world.a.slug}/bookings", body, bearer(token))
                                    for body in bodies])


async def test_twenty_concurrent_bookings_for_the_last_unit_use_it_once_and_price_the_others(world, live_server):
    bucket = await open_allowance(world.a.space, world.a.member, quantity=1, valid_until=datetime.now(ZoneInfo("UTC"))
                                  + timedelta(days=60))
    responses = await _twenty_bookings(world, live_server)
    assert codes(responses) == {201: 20}, [r.text for r in responses if r.status_code != 201][:3]
    kinds = sorted(r.json()["price_kind"] for r in responses)
    assert kinds == ["member"] * 19 + ["plan"]
    assert await left(world.a.space, bucket) == 0
    assert [(e.kind, e.quantity) for e in await entries(world.a.space, bucket)] == [("grant", 1), ("debit", -1)]


async def test_twenty_concurrent_bookings_in_a_space_that_refuses_beyond_credits_book_exactly_one(world, live_server):
    await set_settings(world.a.space, when_credits_run_out="refuse")
    bucket = await open_allowance(world.a.space, world.a.member, quantity=1, valid_until=datetime.now(ZoneInfo("UTC"))
                                  + timedelta(days=60))
    responses = await _twenty_bookings(world, live_server)
    assert codes(responses) == {201: 1, 409: 19}, [r.text for r in responses if r.status_code not in (201, 409)][:3]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"credits_run_out"}
    assert await left(world.a.space, bucket) == 0
