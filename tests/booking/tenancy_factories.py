"""Objects of space A for the cross-tenant matrix: resources, blocks, bookings, closures."""

from __future__ import annotations

from datetime import date, timedelta

from tests.booking.factories import add_block, add_closure, create_room, insert_booking, paris
from tests.tenancy.registry import object_factory

_FAR = date(2030, 6, 4)


async def _room(world):
    cache = world.__dict__.setdefault("_booking_objects", {})
    if "room" not in cache:
        cache["room"] = await create_room(world.a.space, name="A's room")
    return cache["room"]


@object_factory("resource_id")
async def _resource(world) -> int:
    return (await _room(world)).id


@object_factory("block_id")
async def _block(world) -> int:
    room = await _room(world)
    block = await add_block(world.a.space, room, paris(_FAR, 9), paris(_FAR, 12), "maintenance")
    return block.id


@object_factory("booking_id")
async def _booking(world) -> int:
    room = await _room(world)
    day = _FAR + timedelta(days=1)
    booking = await insert_booking(world.a.space, room, world.a.member, paris(day, 9), paris(day, 10))
    return booking.id


@object_factory("closure_id")
async def _closure(world) -> int:
    return (await add_closure(world.a.space, _FAR + timedelta(days=30), label="A's holiday")).id
