"""The booking snapshot (app.booking.snapshot): a space's rules cached per process, by version.

A manager's change must reach the very next booking: each test first lets a booking request
cache the snapshot, then changes the configuration the way the product does (API, service, bulk
statement), and books again.
"""

from __future__ import annotations

from datetime import time

import pytest
from sqlmodel import delete, select

from app.booking import snapshot
from app.core import db
from app.resource.models import Resource, ResourceBlock
from app.space.models import Space
from tests.booking.factories import (
    TOMORROW,
    add_block,
    count_bookings,
    create_desk,
    create_room,
    every_day,
    freeze,
    insert_booking,
    iso,
    paris,
    post_booking,
    set_hours,
    url,
    utc,
)


async def config_version(space) -> int:
    async with db.transaction(write=False) as session:
        return (await session.exec(select(Space.config_version).where(Space.id == space.id))).one()


@pytest.fixture(autouse=True)
def _today():
    freeze()


async def test_new_opening_hours_apply_to_the_next_booking(world, api):
    room = await create_room(world.a.space)
    await every_day(world.a.space, world.a.owner, time(9), time(18))
    evening = dict(resource_id=room.id, starts_at=iso(TOMORROW, 19), ends_at=iso(TOMORROW, 20))
    assert (await post_booking(api, world, **evening)).json()["error"]["code"] == "outside_opening_hours"

    r = await api(world.a.tokens["manager"]).put(url(world, "booking-hours"), json={"days": [
        {"weekday": d, "intervals": [{"opens": "09:00", "closes": "21:00"}]} for d in range(7)]})
    assert r.status_code == 200, r.text

    assert (await post_booking(api, world, **evening)).status_code == 201


async def test_a_new_price_is_quoted_and_charged_at_once(world, api):
    room = await create_room(world.a.space, price_member_cents=1500)
    slot = dict(resource_id=room.id, starts_at=iso(TOMORROW, 10), ends_at=iso(TOMORROW, 11))
    q = await api(world.a.tokens["member"]).post(url(world, "bookings/quote"), json=slot)
    assert q.json()["price_cents"] == 1500

    r = await api(world.a.tokens["manager"]).patch(url(world, f"resources/{room.id}"), json={"price_member_cents": 1800})
    assert r.status_code == 200, r.text

    q = await api(world.a.tokens["member"]).post(url(world, "bookings/quote"), json=slot)
    assert q.json()["price_cents"] == 1800
    booked = await post_booking(api, world, **slot)
    assert booked.json()["price_cents"] == 1800


async def test_an_archived_resource_is_refused_at_once(world, api):
    room = await create_room(world.a.space)
    slot = dict(resource_id=room.id, starts_at=iso(TOMORROW, 10), ends_at=iso(TOMORROW, 11))
    assert (await api(world.a.tokens["member"]).post(url(world, "bookings/quote"), json=slot)).status_code == 200
    r = await api(world.a.tokens["manager"]).post(url(world, f"resources/{room.id}/archive"))
    assert r.status_code == 200, r.text
    assert (await post_booking(api, world, **slot)).json()["error"]["code"] == "resource_archived"


async def test_a_block_added_then_deleted_in_bulk_is_seen_by_the_next_booking(world, api):
    room = await create_room(world.a.space)
    slot = dict(resource_id=room.id, starts_at=iso(TOMORROW, 10), ends_at=iso(TOMORROW, 11))
    assert (await api(world.a.tokens["member"]).post(url(world, "bookings/quote"), json=slot)).status_code == 200

    await add_block(world.a.space, room, paris(TOMORROW, 9), paris(TOMORROW, 12), reason="Maintenance")
    assert (await post_booking(api, world, **slot)).json()["error"]["code"] == "resource_blocked"

    # A bulk DELETE (what a calendar re-import does) bumps the version like the unit of work does.
    async with db.transaction(space_id=world.a.space.id) as session:
        await session.exec(delete(ResourceBlock).where(ResourceBlock.resource_id == room.id))  # type: ignore[call-overload]
    assert (await post_booking(api, world, **slot)).status_code == 201


async def test_configuration_writes_bump_the_version_and_bookings_do_not(world, api):
    room = await create_room(world.a.space)
    before = await config_version(world.a.space)
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 10), ends_at=iso(TOMORROW, 11))
    assert r.status_code == 201
    assert await config_version(world.a.space) == before
    await set_hours(world.a.space, world.a.owner, {d: [(time(8), time(20))] for d in range(7)})
    assert await config_version(world.a.space) > before
    other = await config_version(world.b.space)
    await create_room(world.a.space, name="Salle B")
    assert await config_version(world.b.space) == other


async def test_a_rolled_back_change_is_never_served_to_others(world, api):
    room = await create_room(world.a.space, price_member_cents=1500)
    space = world.a.space
    with pytest.raises(RuntimeError):
        async with db.transaction(space_id=space.id) as session:
            found = (await session.exec(select(Resource).where(Resource.id == room.id))).one()
            found.price_member_cents = 9900
            session.add(found)
            await session.flush()
            fresh = (await session.exec(select(Space).where(Space.id == space.id))).one()
            # This transaction sees its own change...
            assert (await snapshot.snapshot_of(session, fresh)).resource(room.id).price_member_cents == 9900
            raise RuntimeError("rolled back")
    # ...and nobody else ever does.
    q = await api(world.a.tokens["member"]).post(url(world, "bookings/quote"), json=dict(
        resource_id=room.id, starts_at=iso(TOMORROW, 10), ends_at=iso(TOMORROW, 11)))
    assert q.json()["price_cents"] == 1500


async def test_a_one_place_resource_that_had_shared_bookings_still_counts_them(world, api):
    """A table of 2 reduced to 1 place keeps its shared bookings, which the database guard does not
    see (it covers exclusive bookings): the API's check still refuses a second person."""
    desk = await create_desk(world.a.space, capacity=2, unit="hour", granularity_minutes=30)
    await every_day(world.a.space, world.a.owner)
    await insert_booking(world.a.space, desk, world.a.manager, paris(TOMORROW, 10), paris(TOMORROW, 11))
    r = await api(world.a.tokens["manager"]).patch(url(world, f"resources/{desk.id}"), json={"capacity": 1})
    assert r.status_code == 200, r.text

    r = await post_booking(api, world, resource_id=desk.id, starts_at=iso(TOMORROW, 10), ends_at=iso(TOMORROW, 11))
    assert r.status_code == 409, r.text
    assert utc(r.json()["error"]["conflict"]["starts_at"]) == paris(TOMORROW, 10)
    assert await count_bookings(world.a.space) == 1


async def test_a_conflict_found_by_the_database_guard_reports_the_interval_and_writes_nothing(world, api):
    room = await create_room(world.a.space)
    await insert_booking(world.a.space, room, world.a.manager, paris(TOMORROW, 10), paris(TOMORROW, 12))
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 11), ends_at=iso(TOMORROW, 13),
                           note="Réunion")
    assert r.status_code == 409
    assert utc(r.json()["error"]["conflict"]["starts_at"]) == paris(TOMORROW, 10)
    assert utc(r.json()["error"]["conflict"]["ends_at"]) == paris(TOMORROW, 12)
    assert await count_bookings(world.a.space) == 1
    # The same token books right after: the refused request left nothing behind.
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 12), ends_at=iso(TOMORROW, 13))
    assert r.status_code == 201, r.text
