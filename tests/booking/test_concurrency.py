"""Concurrent requests through the real HTTP API: a uvicorn server in its own process (the
``live_server`` fixture) against the test database, hit by many clients at once.

The server runs on the real clock, so the slots are taken a week or two ahead of today.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from tests.booking.factories import count_bookings, create_desk, create_room, insert_booking, paris
from tests.fixtures.concurrency import bearer, fire, warm


def _next_tuesday() -> date:
    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    return today + timedelta(days=7 + (1 - today.weekday()) % 7)


async def _fire(base_url: str, path: str, requests: list[tuple[dict, dict]]) -> list[httpx.Response]:
    return await fire(base_url, [("POST", path, body, headers) for body, headers in requests])


async def test_fifty_concurrent_requests_for_one_slot_book_it_exactly_once(world, live_server):
    room = await create_room(world.a.space, horizon_days=60)
    day = _next_tuesday()
    body = {"resource_id": room.id, "starts_at": paris(day, 10).isoformat(), "ends_at": paris(day, 11).isoformat()}
    tokens = [world.a.tokens[role] for role in ("member", "animator", "manager", "owner")]
    responses = await _fire(live_server, f"/api/v1/spaces/{world.a.slug}/bookings",
                            [(body, bearer(tokens[i % 4])) for i in range(50)])
    codes = Counter(r.status_code for r in responses)
    assert codes == {201: 1, 409: 49}, [r.text for r in responses if r.status_code not in (201, 409)][:3]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"booking_conflict"}
    assert await count_bookings(world.a.space) == 1


async def test_twenty_concurrent_requests_for_a_six_seat_table_book_exactly_six(world, live_server):
    desk = await create_desk(world.a.space, capacity=6, horizon_days=60)
    day = _next_tuesday()
    body = {"resource_id": desk.id, "starts_at": paris(day, 9).isoformat(), "ends_at": paris(day, 18).isoformat()}
    responses = await _fire(live_server, f"/api/v1/spaces/{world.a.slug}/bookings",  # staff may book several
                            [(body, bearer(world.a.tokens["manager"])) for _ in range(20)])
    codes = Counter(r.status_code for r in responses)
    assert codes == {201: 6, 409: 14}, [r.text for r in responses if r.status_code not in (201, 409)][:3]
    assert await count_bookings(world.a.space) == 6


async def test_a_member_firing_twenty_requests_for_a_shared_table_holds_one_place(world, live_server):
    desk = await create_desk(world.a.space, capacity=6, horizon_days=60)
    day = _next_tuesday()
    body = {"resource_id": desk.id, "starts_at": paris(day, 9).isoformat(), "ends_at": paris(day, 18).isoformat()}
    await warm(live_server, [world.a.tokens["member"]])
    responses = await _fire(live_server, f"/api/v1/spaces/{world.a.slug}/bookings",
                            [(body, bearer(world.a.tokens["member"])) for _ in range(20)])
    codes = Counter(r.status_code for r in responses)
    assert codes == {201: 1, 409: 19}, [r.text for r in responses if r.status_code not in (201, 409)][:3]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"place_already_held"}
    assert await count_bookings(world.a.space) == 1


async def test_twenty_concurrent_retries_with_one_idempotency_key_book_once_and_replay_the_first_answer(
        world, live_server):
    room = await create_room(world.a.space, horizon_days=60)
    day = _next_tuesday()
    body = {"resource_id": room.id, "starts_at": paris(day, 14).isoformat(), "ends_at": paris(day, 15).isoformat()}
    headers = bearer(world.a.tokens["member"], **{"Idempotency-Key": "retry-me"})
    await warm(live_server, [world.a.tokens["member"]])
    responses = await _fire(live_server, f"/api/v1/spaces/{world.a.slug}/bookings", [(body, headers)] * 20)
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses if r.status_code != 201][:3]
    assert len({r.content for r in responses}) == 1  # the same body, byte for byte
    assert [r.headers.get("Idempotent-Replayed") for r in responses].count(None) == 1  # one did the work
    assert await count_bookings(world.a.space) == 1


async def test_concurrent_retries_of_a_refused_booking_are_all_refused_alike(world, live_server):
    room = await create_room(world.a.space, horizon_days=60)
    day = _next_tuesday()
    await insert_booking(world.a.space, room, world.a.manager, paris(day, 14), paris(day, 15))
    body = {"resource_id": room.id, "starts_at": paris(day, 14).isoformat(), "ends_at": paris(day, 15).isoformat()}
    headers = bearer(world.a.tokens["member"], **{"Idempotency-Key": "too-late"})
    await warm(live_server, [world.a.tokens["member"]])
    responses = await _fire(live_server, f"/api/v1/spaces/{world.a.slug}/bookings", [(body, headers)] * 10)
    # A refusal is not remembered (it wrote nothing): each retry runs again, and is refused again.
    assert {r.status_code for r in responses} == {409}, [r.text for r in responses if r.status_code != 409][:3]
    assert {r.json()["error"]["code"] for r in responses} == {"booking_conflict"}
    assert await count_bookings(world.a.space) == 1


async def test_concurrent_bookings_honour_the_buffer(world, live_server):
    room = await create_room(world.a.space, horizon_days=60, buffer_minutes=30)
    day = _next_tuesday()
    slots = [(10, 0, 11, 0), (11, 0, 12, 0), (11, 30, 12, 30)]  # the first and the third fit together
    requests = []
    for i in range(30):
        h1, m1, h2, m2 = slots[i % 3]
        requests.append(({"resource_id": room.id, "starts_at": paris(day, h1, m1).isoformat(),
                          "ends_at": paris(day, h2, m2).isoformat()}, bearer(world.a.tokens["member"])))
    responses = await _fire(live_server, f"/api/v1/spaces/{world.a.slug}/bookings", requests)
    created = [r.json() for r in responses if r.status_code == 201]
    assert {r.status_code for r in responses} <= {201, 409}
    assert 1 <= len(created) <= 2
    intervals = sorted((b["starts_at"], b["ends_at"]) for b in created)
    for (_s1, e1), (s2, _e2) in zip(intervals, intervals[1:], strict=False):
        gap = datetime.fromisoformat(s2) - datetime.fromisoformat(e1)
        assert gap >= timedelta(minutes=30)


async def test_a_move_and_a_cancellation_at_once_never_move_a_cancelled_booking(world, live_server):
    room = await create_room(world.a.space, horizon_days=60)
    day = _next_tuesday()
    booking = await insert_booking(world.a.space, room, world.a.member, paris(day, 10), paris(day, 11))
    moved_to = {"starts_at": paris(day, 16).isoformat(), "ends_at": paris(day, 17).isoformat()}
    await warm(live_server, [world.a.tokens["manager"], world.a.tokens["owner"]])
    path = f"/api/v1/spaces/{world.a.slug}/bookings/{booking.id}"
    move, cancel = await fire(live_server, [
        ("POST", f"{path}/move", {**moved_to, "reason": "Room swap"}, bearer(world.a.tokens["manager"])),
        ("POST", f"{path}/cancel", {"reason": "Closed"}, bearer(world.a.tokens["owner"])),
    ])
    assert cancel.status_code == 200, cancel.text
    assert move.status_code in (200, 409), move.text
    if move.status_code == 200:  # then the move came first, and the cancellation saw the new slot
        assert move.json()["status"] == "confirmed"
        assert datetime.fromisoformat(cancel.json()["starts_at"]) == paris(day, 16)
    else:
        assert move.json()["error"]["code"] == "booking_not_active"
        assert datetime.fromisoformat(cancel.json()["starts_at"]) == paris(day, 10)


async def test_managers_saving_the_opening_hours_at_once_leave_one_of_their_weeks(world, live_server):
    weeks = [[{"weekday": d, "intervals": [{"opens": "08:00", "closes": "12:00"}]} for d in range(5)],
             [{"weekday": d, "intervals": [{"opens": "13:00", "closes": "19:00"}]} for d in range(3)]]
    await warm(live_server, [world.a.tokens["manager"], world.a.tokens["owner"]])
    responses = await fire(live_server, [
        ("PUT", f"/api/v1/spaces/{world.a.slug}/booking-hours", {"days": week}, bearer(world.a.tokens[role]))
        for week, role in [(weeks[0], "manager"), (weeks[1], "owner")] * 4
    ])
    assert {r.status_code for r in responses} == {200}, [r.text for r in responses if r.status_code != 200]
    async with httpx.AsyncClient(base_url=live_server) as client:
        saved = (await client.get(f"/api/v1/spaces/{world.a.slug}/booking-hours",
                                  headers=bearer(world.a.tokens["member"]))).json()["days"]
    kept = [d for d in saved if d["intervals"]]
    assert kept in weeks, kept
