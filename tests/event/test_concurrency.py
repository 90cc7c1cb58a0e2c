"""Seats under concurrency: capacity is never exceeded and the waitlist keeps arrival order.

"Arrival order" is the order in which the database serialised the registrations: each one takes
the next ``seq`` while the event row is locked, and gets its id from the same insert, so ``seq``,
id and ``created_at`` must all agree. Runs on SQLite and on PostgreSQL (FABRIQUE_TEST_DATABASE_URL).
"""

from __future__ import annotations

import asyncio

from sqlmodel import col, select

from app.core import db
from app.event.models import Registration
from tests.event.factories import create_event, many_members


async def _rows(space_id: int, event_id: int) -> list[Registration]:
    async with db.transaction(space_id=space_id, write=False) as session:
        rows = await session.exec(select(Registration).where(Registration.event_id == event_id)
                                  .order_by(col(Registration.id)))
        return list(rows.all())


async def test_100_concurrent_registrations_for_10_seats_confirm_10_and_queue_90_in_order(world, api):
    event = await create_event(world.a.space, world.a.animator, capacity=10)
    crowd = await many_members(world.a.space, 100)
    url = f"/api/v1/spaces/{world.a.slug}/events/{event.id}/registrations"
    responses = await asyncio.gather(*(api(token).post(url) for _account, token in crowd))

    assert [r.status_code for r in responses] == [201] * 100, {r.text for r in responses if r.status_code != 201}
    rows = await _rows(world.a.space.id, event.id)
    confirmed = [r for r in rows if r.status == "confirmed"]
    waitlisted = [r for r in rows if r.status == "waitlisted"]
    assert (len(confirmed), len(waitlisted)) == (10, 90)
    # One serial order: seq is gapless and follows the ids and the creation times.
    assert [r.seq for r in rows] == list(range(1, 101))
    assert [r.created_at for r in rows] == sorted(r.created_at for r in rows)
    # The first ten to arrive got the seats; everyone else waits in arrival order.
    assert {r.seq for r in confirmed} == set(range(1, 11))
    for response in responses:
        body = response.json()
        assert body["position"] == (None if body["status"] == "confirmed" else body["seq"] - 10)
    listing = (await api(world.a.tokens["animator"]).get(url)).json()
    queue = [x for x in listing if x["status"] == "waitlisted"]
    assert [x["position"] for x in queue] == list(range(1, 91))
    assert [x["seq"] for x in queue] == list(range(11, 101))


async def test_concurrent_cancellations_promote_exactly_one_each_first_in_line_first(world, api):
    event = await create_event(world.a.space, world.a.animator, capacity=10)
    crowd = await many_members(world.a.space, 30)
    url = f"/api/v1/spaces/{world.a.slug}/events/{event.id}/registrations"
    regs = []
    for _account, token in crowd:  # one after the other: seq i+1 for crowd[i]
        regs.append((await api(token).post(url)).json())
    leaving = [(crowd[i][1], regs[i]["id"]) for i in (0, 2, 4, 6, 8)]
    cancels = await asyncio.gather(*(
        api(token).post(f"/api/v1/spaces/{world.a.slug}/registrations/{reg_id}/cancel") for token, reg_id in leaving))
    assert [r.status_code for r in cancels] == [200] * 5

    rows = await _rows(world.a.space.id, event.id)
    by_seq = {r.seq: r for r in rows}
    assert sum(r.status == "confirmed" for r in rows) == 10
    assert sorted(s for s, r in by_seq.items() if r.promoted_at is not None) == [11, 12, 13, 14, 15]
    assert sorted(s for s, r in by_seq.items() if r.status == "waitlisted") == list(range(16, 31))
    listing = (await api(world.a.tokens["animator"]).get(url)).json()
    assert [x["position"] for x in listing if x["status"] == "waitlisted"] == list(range(1, 16))


async def test_concurrent_double_submits_of_one_member_register_once(world, api):
    event = await create_event(world.a.space, world.a.animator, capacity=10)
    member = api(world.a.tokens["member"])
    url = f"/api/v1/spaces/{world.a.slug}/events/{event.id}/registrations"
    responses = await asyncio.gather(*(member.post(url) for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
    assert len(await _rows(world.a.space.id, event.id)) == 1
