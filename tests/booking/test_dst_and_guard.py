"""Daylight-saving days through the API, and the database guard on its own (no service code).

Paris 2027: clocks go forward on Sunday 28 March (02:00 → 03:00) and back on Sunday 31 October
(03:00 → 02:00).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from app.core import db
from app.core.i18n import format_hour
from tests.booking.factories import (
    create_desk,
    create_room,
    every_day,
    freeze,
    insert_booking,
    iso,
    paris,
    set_hours,
    url,
    utc,
)

SPRING_FORWARD = date(2027, 3, 28)
FALL_BACK = date(2027, 10, 31)



@pytest.mark.parametrize(("day", "offset"), [(SPRING_FORWARD, 2), (FALL_BACK, 1)])
async def test_a_day_booking_on_a_dst_day_is_nine_to_six_on_the_wall(world, api, web, day, offset):
    freeze(day - timedelta(days=2))
    await every_day(world.a.space, world.a.owner)
    desk = await create_desk(world.a.space, horizon_days=30)
    r = await api(world.a.tokens["member"]).get(url(world, "availability"), params={
        "start": day.isoformat(), "resource_id": desk.id})
    [slot] = r.json()["resources"][0]["days"][0]["slots"]
    assert utc(slot["starts_at"]) == datetime(day.year, day.month, day.day, 9 - offset, tzinfo=UTC)
    r = await api(world.a.tokens["member"]).post(url(world, "bookings"), json={
        "resource_id": desk.id, "starts_at": slot["starts_at"], "ends_at": slot["ends_at"]})
    assert r.status_code == 201, r.text
    booking = r.json()
    assert utc(booking["starts_at"]) == datetime(day.year, day.month, day.day, 9 - offset, tzinfo=UTC)
    assert utc(booking["ends_at"]) == datetime(day.year, day.month, day.day, 18 - offset, tzinfo=UTC)
    assert booking["price_cents"] == 1200
    # And the member's page shows the wall-clock hours.
    browser = await web(world.a.member)
    page = await browser.get(f"/s/{world.a.slug}/bookings/mine")
    assert page.status_code == 200
    lang = page.headers["content-language"]
    for hour in (9, 18):
        assert format_hour(paris(day, hour), "Europe/Paris", locale=lang) in page.text


async def test_an_hourly_booking_across_the_spring_change_is_an_hour_shorter_and_priced_so(world, api):
    freeze(SPRING_FORWARD - timedelta(days=1))
    await set_hours(world.a.space, world.a.owner, {d: [(time(0), time(0))] for d in range(7)})
    room = await create_room(world.a.space, granularity_minutes=60)
    r = await api(world.a.tokens["member"]).post(url(world, "bookings"), json={
        "resource_id": room.id, "starts_at": iso(SPRING_FORWARD, 1), "ends_at": iso(SPRING_FORWARD, 4)})
    assert r.status_code == 201, r.text
    assert utc(r.json()["ends_at"]) - utc(r.json()["starts_at"]) == timedelta(hours=2)
    assert r.json()["price_cents"] == 2 * 1500


async def test_utc_offsets_in_the_request_are_respected(world, api):
    freeze()
    room = await create_room(world.a.space)
    r = await api(world.a.tokens["member"]).post(url(world, "bookings"), json={
        "resource_id": room.id, "starts_at": "2027-03-02T08:00:00Z", "ends_at": "2027-03-02T09:00:00+00:00"})
    assert r.status_code == 201, r.text
    assert utc(r.json()["starts_at"]) == paris(date(2027, 3, 2), 9)


# -- the database guard, without the service --------------------------------------------------


async def test_the_database_refuses_an_overlapping_booking_written_directly(world):
    room = await create_room(world.a.space)
    day = date(2030, 1, 8)
    await insert_booking(world.a.space, room, world.a.member, paris(day, 9), paris(day, 11))
    with pytest.raises(IntegrityError):
        await insert_booking(world.a.space, room, world.a.manager, paris(day, 10), paris(day, 12))
    await insert_booking(world.a.space, room, world.a.manager, paris(day, 11), paris(day, 12))


async def test_the_database_applies_the_buffer(world):
    room = await create_room(world.a.space, buffer_minutes=15)
    day = date(2030, 1, 8)
    await insert_booking(world.a.space, room, world.a.member, paris(day, 9), paris(day, 10))
    with pytest.raises(IntegrityError):
        await insert_booking(world.a.space, room, world.a.manager, paris(day, 10, 10), paris(day, 11))
    with pytest.raises(IntegrityError):
        await insert_booking(world.a.space, room, world.a.manager, paris(day, 8), paris(day, 8, 50))
    await insert_booking(world.a.space, room, world.a.manager, paris(day, 10, 15), paris(day, 11))


async def test_the_database_ignores_cancelled_bookings_and_other_resources(world):
    room = await create_room(world.a.space)
    other = await create_room(world.a.space, name="Other")
    day = date(2030, 1, 8)
    await insert_booking(world.a.space, room, world.a.member, paris(day, 9), paris(day, 11), status="cancelled")
    await insert_booking(world.a.space, room, world.a.member, paris(day, 9), paris(day, 11))
    await insert_booking(world.a.space, other, world.a.member, paris(day, 9), paris(day, 11))


async def test_the_database_refuses_a_move_onto_a_taken_slot(world):
    from app.booking.models import Booking

    room = await create_room(world.a.space)
    day = date(2030, 1, 8)
    await insert_booking(world.a.space, room, world.a.member, paris(day, 9), paris(day, 10))
    second = await insert_booking(world.a.space, room, world.a.member, paris(day, 11), paris(day, 12))
    with pytest.raises(IntegrityError):
        async with db.transaction(space_id=world.a.space.id) as session:
            row = await session.get(Booking, second.id)
            row.starts_at, row.ends_at, row.blocked_until = paris(day, 9, 30), paris(day, 12), paris(day, 12)
    with pytest.raises(IntegrityError):
        async with db.transaction(space_id=world.a.space.id) as session:
            cancelled = await insert_booking(world.a.space, room, world.a.member, paris(day, 9), paris(day, 10),
                                             status="cancelled")
            row = await session.get(Booking, cancelled.id)
            row.status = "confirmed"


async def test_the_database_guard_leaves_shared_tables_to_the_counting_service(world):
    desk = await create_desk(world.a.space, capacity=2)
    day = date(2030, 1, 8)
    await insert_booking(world.a.space, desk, world.a.member, paris(day, 9), paris(day, 18))
    await insert_booking(world.a.space, desk, world.a.manager, paris(day, 9), paris(day, 18))
