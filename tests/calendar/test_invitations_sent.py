"""E-mails carry iTIP invitations whose SEQUENCE grows with every change, for bookings and events."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar

from tests.booking.factories import TOMORROW, create_room, every_day, freeze, iso, tick
from tests.event.factories import create_event, register


def invitation(msg) -> Calendar | None:
    for part in msg.iter_attachments():
        if part.get_content_type() == "text/calendar":
            return Calendar.from_ical(part.get_content())
    return None


def summary(cal: Calendar) -> tuple[str, str, int, str]:
    event = cal.walk("VEVENT")[0]
    return str(cal["METHOD"]), str(event["UID"]), int(event["SEQUENCE"]), str(event["STATUS"])


async def test_a_booking_is_invited_moved_and_cancelled_with_one_uid_and_a_growing_sequence(
    world, api, outbox
) -> None:
    freeze()
    room = await create_room(world.a.space, cancel_deadline_hours=0)
    await every_day(world.a.space, world.a.owner)
    base = f"/api/v1/spaces/{world.a.slug}/bookings"
    r = await api(world.a.tokens["member"]).post(base, json={
        "resource_id": room.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 10)})
    booking_id = r.json()["id"]
    tick()
    r = await api(world.a.tokens["manager"]).post(f"{base}/{booking_id}/move", json={
        "starts_at": iso(TOMORROW, 11), "ends_at": iso(TOMORROW, 12), "reason": "Heating repairs"})
    assert r.status_code == 200, r.text
    tick()
    r = await api(world.a.tokens["member"]).post(f"{base}/{booking_id}/cancel", json={})
    assert r.status_code == 200, r.text

    sent = [summary(invitation(m)) for m in await outbox() if m["To"] == world.a.member.email]

    uid = f"booking-{booking_id}@{world.a.slug}.fabrique"
    assert sent == [("REQUEST", uid, 0, "CONFIRMED"), ("REQUEST", uid, 1, "CONFIRMED"),
                    ("CANCEL", uid, 2, "CANCELLED")]


async def test_an_event_registration_is_invited_changed_and_cancelled_with_a_growing_sequence(
    world, api, outbox
) -> None:
    freeze()
    event = await create_event(world.a.space, world.a.animator, title="Repair café")
    await register(world.a.space, event, world.a.member)
    tick()
    base = f"/api/v1/spaces/{world.a.slug}/events/{event.id}"
    later = event.starts_at + timedelta(hours=1)
    r = await api(world.a.tokens["animator"]).patch(base, json={
        "starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=2)).isoformat()})
    assert r.status_code == 200, r.text
    tick()
    assert (await api(world.a.tokens["animator"]).post(f"{base}/cancel")).status_code == 200

    sent = [summary(cal) for m in await outbox() if m["To"] == world.a.member.email
            if (cal := invitation(m)) is not None]

    uid = f"event-{event.id}@{world.a.slug}.fabrique"
    assert [s[0] for s in sent] == ["REQUEST", "REQUEST", "CANCEL"]
    assert {s[1] for s in sent} == {uid}
    sequences = [s[2] for s in sent]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3


async def test_a_waitlisted_registrant_gets_no_invitation_until_promoted(world, api, outbox) -> None:
    freeze()
    event = await create_event(world.a.space, world.a.animator, title="Tiny workshop", capacity=1)
    first = await register(world.a.space, event, world.a.manager)
    await register(world.a.space, event, world.a.member)
    tick()
    r = await api(world.a.tokens["manager"]).post(f"/api/v1/spaces/{world.a.slug}/registrations/{first.id}/cancel")
    assert r.status_code == 200, r.text

    mails = [m for m in await outbox() if m["To"] == world.a.member.email]

    assert invitation(mails[0]) is None  # "you are on the waitlist"
    method, _uid, _seq, _status = summary(invitation(mails[-1]))  # "a seat is yours"
    assert method == "REQUEST"
