"""Resources, blocks, opening hours and closures through the API; event room holds through the service."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.booking import service
from app.core import db
from tests.booking.factories import TOMORROW, create_room, freeze, insert_booking, iso, paris


@pytest.fixture(autouse=True)
def _today():
    freeze()


def url(world, path: str) -> str:
    return f"/api/v1/spaces/{world.a.slug}/{path}"


ROOM = {"name": "Salle Verte", "kind": "meeting_room", "unit": "hour", "capacity": 1, "granularity_minutes": 30,
        "min_minutes": 60, "max_minutes": 240, "buffer_minutes": 15, "cancel_deadline_hours": 24,
        "price_member_cents": 1500, "price_public_cents": 2500, "required_tags": ["laser"]}


async def test_manager_creates_a_resource_and_members_list_it(world, api):
    r = await api(world.a.tokens["manager"]).post(url(world, "resources"), json=ROOM)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["required_tags"] == ["laser"] and created["archived"] is False
    listed = (await api(world.a.tokens["member"]).get(url(world, "resources"))).json()
    assert [x["id"] for x in listed] == [created["id"]]


async def test_members_cannot_create_or_change_resources(world, api):
    room = await create_room(world.a.space)
    client = api(world.a.tokens["member"])
    assert (await client.post(url(world, "resources"), json=ROOM)).status_code == 403
    assert (await client.patch(url(world, f"resources/{room.id}"), json={"name": "X"})).status_code == 403
    assert (await client.post(url(world, f"resources/{room.id}/archive"))).status_code == 403


@pytest.mark.parametrize(("change", "field"), [
    ({"min_minutes": 300, "max_minutes": 60}, "max_minutes"),
    ({"capacity": 0}, "capacity"),
    ({"capacity": "6"}, "capacity"),
    ({"price_member_cents": 12.5}, "price_member_cents"),
    ({"unit": "week"}, "unit"),
    ({"allowed_roles": ["admin"]}, "allowed_roles.0"),
])
async def test_invalid_resources_are_refused_on_the_field_at_fault(world, api, change, field):
    r = await api(world.a.tokens["manager"]).post(url(world, "resources"), json={**ROOM, **change})
    assert r.status_code == 422, r.text
    assert field in r.json()["error"]["fields"]


async def test_a_resource_is_updated_and_a_limit_removed_with_null(world, api):
    room = await create_room(world.a.space, max_minutes=120)
    r = await api(world.a.tokens["manager"]).patch(url(world, f"resources/{room.id}"),
                                                   json={"max_minutes": None, "price_member_cents": 900})
    assert r.status_code == 200, r.text
    assert r.json()["max_minutes"] is None and r.json()["price_member_cents"] == 900


async def test_an_archived_resource_keeps_its_bookings_and_can_be_restored(world, api):
    room = await create_room(world.a.space)
    booking = await insert_booking(world.a.space, room, world.a.member, paris(TOMORROW, 9), paris(TOMORROW, 10))
    manager = api(world.a.tokens["manager"])
    await manager.post(url(world, f"resources/{room.id}/archive"))
    assert (await manager.get(url(world, f"bookings/{booking.id}"))).status_code == 200
    assert (await manager.get(url(world, "resources"), params={"include_archived": True})).json()[0]["archived"]
    r = await manager.post(url(world, f"resources/{room.id}/restore"))
    assert r.json()["archived"] is False


async def test_a_block_lists_the_bookings_it_overlaps_and_can_be_removed(world, api):
    room = await create_room(world.a.space)
    booking = await insert_booking(world.a.space, room, world.a.member, paris(TOMORROW, 9), paris(TOMORROW, 10))
    manager = api(world.a.tokens["manager"])
    r = await manager.post(url(world, f"resources/{room.id}/blocks"), json={
        "starts_at": iso(TOMORROW, 8), "ends_at": iso(TOMORROW, 12), "reason": "Plombier"})
    assert r.status_code == 201, r.text
    assert r.json()["overlapping_booking_ids"] == [booking.id] and r.json()["source"] == "manual"
    block_id = r.json()["id"]
    assert [b["id"] for b in (await manager.get(url(world, f"resources/{room.id}/blocks"))).json()] == [block_id]
    assert (await manager.delete(url(world, f"resources/{room.id}/blocks/{block_id}"))).status_code == 204


async def test_a_block_that_ends_before_it_starts_is_refused(world, api):
    room = await create_room(world.a.space)
    r = await api(world.a.tokens["manager"]).post(url(world, f"resources/{room.id}/blocks"), json={
        "starts_at": iso(TOMORROW, 12), "ends_at": iso(TOMORROW, 8)})
    assert r.status_code == 422


async def test_opening_hours_are_replaced_and_read_back(world, api):
    manager = api(world.a.tokens["manager"])
    r = await manager.put(url(world, "booking-hours"), json={
        "days": [{"weekday": 0, "intervals": [{"opens": "08:00", "closes": "12:00"},
                                              {"opens": "13:00", "closes": "17:30"}]},
                 {"weekday": 6, "intervals": [{"opens": "10:00", "closes": "00:00"}]}],
        "half_day_boundary": "12:30"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["half_day_boundary"] == "12:30" and body["timezone"] == "Europe/Paris"
    assert len(body["days"][0]["intervals"]) == 2 and body["days"][1]["intervals"] == []
    assert body["days"][6]["intervals"] == [{"opens": "10:00", "closes": "00:00"}]


async def test_a_space_that_never_saved_hours_opens_monday_to_friday_nine_to_six(world, api):
    body = (await api(world.a.tokens["member"]).get(url(world, "booking-hours"))).json()
    assert [len(d["intervals"]) for d in body["days"]] == [1, 1, 1, 1, 1, 0, 0]
    assert body["days"][0]["intervals"] == [{"opens": "09:00", "closes": "18:00"}]


@pytest.mark.parametrize("days", [
    [{"weekday": 0, "intervals": [{"opens": "12:00", "closes": "09:00"}]}],
    [{"weekday": 0, "intervals": [{"opens": "09:00", "closes": "13:00"}, {"opens": "12:00", "closes": "18:00"}]}],
    [{"weekday": 7, "intervals": []}],
    [{"weekday": 0, "intervals": [{"opens": "9h", "closes": "18:00"}]}],
])
async def test_invalid_opening_hours_are_refused(world, api, days):
    r = await api(world.a.tokens["manager"]).put(url(world, "booking-hours"), json={"days": days})
    assert r.status_code == 422


async def test_closures_are_added_listed_and_removed(world, api):
    manager = api(world.a.tokens["manager"])
    r = await manager.post(url(world, "closures"), json={"start_date": "2027-08-02", "end_date": "2027-08-20",
                                                         "label": "Fermeture estivale"})
    assert r.status_code == 201, r.text
    closure_id = r.json()["id"]
    assert (await api(world.a.tokens["member"]).get(url(world, "closures"))).json()[0]["label"] == "Fermeture estivale"
    r = await manager.post(url(world, "closures"), json={"start_date": "2027-08-20", "end_date": "2027-08-02"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_closure"
    assert (await manager.delete(url(world, f"closures/{closure_id}"))).status_code == 204
    assert (await manager.get(url(world, "closures"))).json() == []


async def test_members_cannot_change_hours_or_closures(world, api):
    client = api(world.a.tokens["member"])
    assert (await client.put(url(world, "booking-hours"), json={"days": []})).status_code == 403
    assert (await client.post(url(world, "closures"), json={"start_date": "2027-08-02"})).status_code == 403


# -- rooms held for events (the service other domains call) ------------------------------------


async def test_an_event_holds_a_room_in_the_evening_and_members_then_meet_a_conflict(world, api):
    room = await create_room(world.a.space)
    async with db.transaction(space_id=world.a.space.id) as session:
        booking = await service.book_for_event(session, space=world.a.space, resource=room,
                                               starts_at=paris(TOMORROW, 17), ends_at=paris(TOMORROW, 21),
                                               actor=world.a.animator, event_id=42, title="Repair café")
    assert booking.source == "event" and booking.source_ref == "event:42" and booking.price_cents == 0
    r = await api(world.a.tokens["member"]).post(url(world, "bookings"), json={
        "resource_id": room.id, "starts_at": iso(TOMORROW, 16), "ends_at": iso(TOMORROW, 18)})
    assert r.status_code == 409
    async with db.transaction(space_id=world.a.space.id) as session:
        released = await service.release_event_bookings(session, space=world.a.space, event_id=42,
                                                        actor=world.a.animator, reason="Event cancelled")
    assert released == 1
    r = await api(world.a.tokens["member"]).post(url(world, "bookings"), json={
        "resource_id": room.id, "starts_at": iso(TOMORROW, 16), "ends_at": iso(TOMORROW, 18)})
    assert r.status_code == 201


async def test_an_event_cannot_take_a_room_already_booked(world):
    from app.booking.errors import BookingConflict

    room = await create_room(world.a.space)
    await insert_booking(world.a.space, room, world.a.member, paris(TOMORROW, 10), paris(TOMORROW, 11))
    with pytest.raises(BookingConflict):
        async with db.transaction(space_id=world.a.space.id) as session:
            await service.book_for_event(session, space=world.a.space, resource=room,
                                         starts_at=paris(TOMORROW, 9), ends_at=paris(TOMORROW, 12),
                                         actor=None, event_id=7, title="AG")


async def test_every_mutation_is_in_the_audit_log(world, api):
    from sqlmodel import select

    from app.audit.models import AuditEntry
    from app.audit.service import action_label

    manager = api(world.a.tokens["manager"])
    room = (await manager.post(url(world, "resources"), json={**ROOM, "required_tags": []})).json()
    booking = (await manager.post(url(world, "bookings"), json={
        "resource_id": room["id"], "starts_at": iso(TOMORROW + timedelta(days=2), 9),
        "ends_at": iso(TOMORROW + timedelta(days=2), 10)})).json()
    await manager.post(url(world, f"bookings/{booking['id']}/cancel"), json={"reason": "test"})
    await manager.post(url(world, "closures"), json={"start_date": date(2027, 5, 13).isoformat()})
    await manager.put(url(world, "booking-hours"), json={"days": [], "half_day_boundary": "13:00"})
    async with db.transaction(space_id=world.a.space.id, write=False) as session:
        actions = {e.action for e in (await session.exec(select(AuditEntry))).all()}
    expected = {"resource.created", "booking.created", "booking.cancelled", "booking.closure_added",
                "booking.hours_changed"}
    assert expected <= actions
    assert all(action_label(a) != a for a in expected)
