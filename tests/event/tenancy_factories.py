"""Space A objects for the cross-tenant matrix: a members-only event (so that even the public
routes must 404 it) and a registration to it."""

from __future__ import annotations

from app.core import db
from app.event import registration as registrations
from tests.event.factories import create_event
from tests.tenancy.registry import EXEMPT, object_factory

EXEMPT.update({
    "/p/{slug}/events": "a space's public agenda: public by design, it lists only public published events "
                        "(tests/event/test_visibility.py checks that members-only ones never appear)",
    "/r/{token}": "the signed registration link is the capability (visitors have no account)",
    "/r/{token}/confirm": "the signed registration link is the capability",
    "/r/{token}/cancel": "the signed registration link is the capability",
})


async def _members_only_event(world):
    cache = world.__dict__.setdefault("_event_cache", {})
    if "event" not in cache:
        cache["event"] = await create_event(world.a.space, world.a.animator, visibility="members",
                                            title="Members only talk")
    return cache["event"]


@object_factory("event_id")
async def _event(world) -> int:
    return (await _members_only_event(world)).id


@object_factory("registration_id")
async def _registration(world) -> int:
    event = await _members_only_event(world)
    async with db.transaction(space_id=world.a.space.id) as session:
        reg = await registrations.register_member(session, world.a.space, event, world.a.member)
    return reg.id
