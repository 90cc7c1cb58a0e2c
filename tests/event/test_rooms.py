"""An event in one of the space's rooms holds it with a booking while it is published."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import select

from app.booking.models import Booking
from app.core import clock, db
from app.resource import service as resources
from tests.event.factories import create_event, register, soon


async def _room(space, actor, name="Salle Ada", **values):
    async with db.transaction(space_id=space.id) as session:
        return await resources.create_resource(session, space, actor, **({"name": name, "kind": "meeting_room"} | values))


async def _bookings(space):
    async with db.transaction(space_id=space.id, write=False) as session:
        return list((await session.exec(select(Booking).order_by(Booking.id))).all())


async def test_publishing_an_event_books_its_room_and_cancelling_frees_it(world, api):
    room = await _room(world.a.space, world.a.manager)
    event = await create_event(world.a.space, world.a.animator, resource_id=room.id, place="")
    assert event.place == "Salle Ada"
    [booking] = await _bookings(world.a.space)
    assert (booking.resource_id, booking.source_ref, booking.status) == (room.id, f"event:{event.id}", "confirmed")
    assert (booking.starts_at, booking.ends_at) == (event.starts_at, event.ends_at)
    r = await api(world.a.tokens["animator"]).post(f"/api/v1/spaces/{world.a.slug}/events/{event.id}/cancel")
    assert r.status_code == 200
    assert [b.status for b in await _bookings(world.a.space)] == ["cancelled"]


async def test_a_room_conflict_is_shown_on_the_draft_and_refuses_publishing(world, api, web):
    room = await _room(world.a.space, world.a.manager)
    start = soon(days=5)
    await create_event(world.a.space, world.a.animator, resource_id=room.id, starts_at=start)
    draft = await create_event(world.a.space, world.a.animator, resource_id=room.id, publish=False,
                               starts_at=start + timedelta(hours=1), title="Overlapping talk")
    page = await (await web(world.a.animator)).get(f"/s/{world.a.slug}/events/{draft.id}")
    assert 'data-testid="room-conflict"' in page.text
    body = (await api(world.a.tokens["animator"]).get(f"/api/v1/spaces/{world.a.slug}/events/{draft.id}")).json()
    assert body["room_conflict"] == "The room is already booked at that time."
    r = await api(world.a.tokens["animator"]).post(f"/api/v1/spaces/{world.a.slug}/events/{draft.id}/publish")
    assert r.status_code == 409 and r.json()["error"]["code"] == "room_conflict"
    assert "resource_id" in r.json()["error"]["fields"]
    # Moved to a free slot, it publishes.
    r = await api(world.a.tokens["animator"]).patch(f"/api/v1/spaces/{world.a.slug}/events/{draft.id}", json={
        "starts_at": (start + timedelta(days=1)).isoformat(), "ends_at": (start + timedelta(days=1, hours=2)).isoformat()})
    assert r.status_code == 200
    r = await api(world.a.tokens["animator"]).post(f"/api/v1/spaces/{world.a.slug}/events/{draft.id}/publish")
    assert r.status_code == 200


async def test_moving_a_published_event_moves_its_booking(world, api, outbox):
    room = await _room(world.a.space, world.a.manager)
    event = await create_event(world.a.space, world.a.animator, resource_id=room.id)
    await register(world.a.space, event, world.a.member)
    later = event.starts_at + timedelta(days=2)
    r = await api(world.a.tokens["animator"]).patch(f"/api/v1/spaces/{world.a.slug}/events/{event.id}", json={
        "starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=2)).isoformat()})
    assert r.status_code == 200
    bookings = await _bookings(world.a.space)
    assert [(b.status, b.starts_at) for b in bookings] == [("cancelled", event.starts_at), ("confirmed", later)]


async def test_an_event_cannot_take_another_spaces_room(world, api):
    room = await _room(world.b.space, world.b.manager)
    start = soon()
    r = await api(world.a.tokens["animator"]).post(f"/api/v1/spaces/{world.a.slug}/events", json={
        "title": "X", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
        "resource_id": room.id})
    assert r.status_code == 422 and "resource_id" in r.json()["error"]["fields"]


async def test_the_event_form_offers_the_spaces_rooms(world, web):
    await _room(world.a.space, world.a.manager, name="Salle Ada")
    await _room(world.a.space, world.a.manager, name="Poste nomade 1", kind="hot_desk")
    page = await (await web(world.a.animator)).get(f"/s/{world.a.slug}/events/new")
    assert "Salle Ada" in page.text and "Poste nomade 1" not in page.text


async def test_the_lists_tell_each_drafts_room_conflict_with_a_fixed_number_of_queries(world, api):
    from app.resource.models import Resource
    from tests.booking.factories import add_block
    from tests.event.factories import statements

    busy, blocked, archived, free = [await _room(world.a.space, world.a.manager, name=n)
                                     for n in ("Salle Ada", "Salle Bell", "Salle Curie", "Salle Darwin")]
    start = soon(days=5)
    await create_event(world.a.space, world.a.animator, resource_id=busy.id, starts_at=start, title="Held")
    await add_block(world.a.space, blocked, start, start + timedelta(days=1), reason="works")
    drafts = {name: await create_event(world.a.space, world.a.animator, resource_id=room.id, publish=False,
                                       starts_at=start + timedelta(hours=1), title=name)
              for name, room in (("busy", busy), ("blocked", blocked), ("archived", archived), ("free", free))}
    drafts["later"] = await create_event(world.a.space, world.a.animator, resource_id=busy.id, publish=False,
                                         starts_at=start + timedelta(days=2), title="later")
    async with db.transaction(space_id=world.a.space.id) as session:
        row = await session.get(Resource, archived.id)
        row.archived_at = clock.now()
        session.add(row)
    base = f"/api/v1/spaces/{world.a.slug}"
    proposed = (await api(world.a.tokens["member"]).post(f"{base}/event-proposals", json={
        "title": "proposed", "starts_at": (start + timedelta(minutes=30)).isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(), "resource_id": busy.id})).json()
    animator = api(world.a.tokens["animator"])

    def count(seen: list[str], table: str) -> int:
        return sum(1 for s in seen if re.search(rf"FROM {table}\s", s))

    with statements() as seen:
        listed = (await animator.get(f"{base}/events", params={"status": "draft"})).json()
    assert count(seen, "booking") == 1 and count(seen, "resource_block") == 1
    with statements() as seen:
        waiting = (await animator.get(f"{base}/event-proposals")).json()
    assert count(seen, "registration") == 1 and count(seen, "booking") == 1
    conflicts = {e["title"]: e["room_conflict"] for e in listed + waiting}
    assert conflicts == {
        "busy": "The room is already booked at that time.", "blocked": "The room is already booked at that time.",
        "archived": "Some fields are not valid.", "free": None, "later": None,
        "proposed": "The room is already booked at that time.",
    }
    for e in listed + [proposed]:  # the same answer as the event alone
        alone = (await animator.get(f"{base}/events/{e['id']}")).json()
        assert alone["room_conflict"] == conflicts[e["title"]]
