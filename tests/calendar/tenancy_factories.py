"""Objects of space A for the cross-tenant matrix: an external calendar source of a resource."""

from __future__ import annotations

from app.calendar.models import CalendarSource
from app.core import db
from tests.booking.tenancy_factories import _room
from tests.tenancy.registry import object_factory


@object_factory("source_id")
async def _source(world) -> int:
    room = await _room(world)
    async with db.transaction(space_id=world.a.space.id) as session:
        source = CalendarSource(resource_id=room.id, url="https://calendar.example.org/a.ics", label="A's")
        session.add(source)
    return source.id
