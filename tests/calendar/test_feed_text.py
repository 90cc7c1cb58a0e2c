"""Names stored before control characters were refused (or slipped in some other way) never break a feed."""

from __future__ import annotations

from sqlmodel import select

from app.calendar.models import FeedKind
from app.core import db
from app.space.models import Space
from tests.booking.factories import TOMORROW, create_room, freeze, insert_booking, paris
from tests.calendar.helpers import create_feed, events_by_uid, parse_everywhere

HOSTILE = "Salle\r\nVerte\x0b\x1b[31m\u2028X-INJECTED:1\x7f"  # no NUL: PostgreSQL never stores one


async def test_feeds_of_a_space_and_resource_with_control_characters_in_their_names_are_valid(world, client) -> None:
    freeze()
    async with db.transaction(space_id=world.a.space.id) as session:
        space = (await session.exec(select(Space).where(Space.id == world.a.space.id))).one()
        space.name = "La Ruche\nEND:VCALENDAR\r\n"
        session.add(space)
    room = await create_room(world.a.space, name=HOSTILE)
    await insert_booking(world.a.space, room, world.a.member, paris(TOMORROW, 9), paris(TOMORROW, 10))
    paths = [
        await create_feed(world.a.space, world.a.member, FeedKind.member, account_id=world.a.member.id),
        await create_feed(world.a.space, world.a.manager, FeedKind.resource_busy, resource_id=room.id),
        await create_feed(world.a.space, world.a.manager, FeedKind.resource, resource_id=room.id),
        await create_feed(world.a.space, world.a.manager, FeedKind.events),
    ]
    for path in paths:
        r = await client.get(path)
        assert r.status_code == 200, path
        assert "\nX-INJECTED" not in r.text and "\nEND:VCALENDAR\r\n\r\n" not in r.text
        calendars = parse_everywhere(r.content)
        for event in events_by_uid(calendars).values():
            assert "\n" not in str(event.get("SUMMARY", "")) and "\x1b" not in str(event.get("SUMMARY", ""))
