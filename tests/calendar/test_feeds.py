"""Secret feed URLs: what each feed shows (and never shows), RFC 5545 validity, ETag/304, revocation."""

from __future__ import annotations

from datetime import timedelta

from app.calendar.models import FeedKind
from tests.booking.factories import TOMORROW, create_room, every_day, freeze, insert_booking, iso, paris, tick
from tests.calendar.helpers import create_feed, events_by_uid, feed_path_in, parse_everywhere
from tests.event.factories import create_event, register


def uid(kind: str, obj, space) -> str:
    return f"{kind}-{obj.id}@{space.slug}.fabrique"


async def test_a_member_feed_holds_their_bookings_and_nobody_elses(world, client) -> None:
    freeze()
    room = await create_room(world.a.space)
    mine = await insert_booking(world.a.space, room, world.a.member, paris(TOMORROW, 9), paris(TOMORROW, 10))
    other = await insert_booking(world.a.space, room, world.a.manager, paris(TOMORROW, 11), paris(TOMORROW, 12))
    room_b = await create_room(world.b.space)
    await insert_booking(world.b.space, room_b, world.b.member, paris(TOMORROW, 9), paris(TOMORROW, 10))
    path = await create_feed(world.a.space, world.a.member, FeedKind.member, account_id=world.a.member.id)

    r = await client.get(path)

    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    assert "private" in r.headers["cache-control"]
    events = events_by_uid(parse_everywhere(r.content))
    assert set(events) == {uid("booking", mine, world.a.space)}
    assert uid("booking", other, world.a.space) not in r.text and "b Member" not in r.text
    event = events[uid("booking", mine, world.a.space)]
    assert event["DTSTART"].params["TZID"] == "Europe/Paris" and event["DTSTART"].dt.hour == 9
    assert "X-WR-TIMEZONE:Europe/Paris" in r.text


async def test_the_feed_page_shows_a_working_address_and_regenerating_kills_the_old_one(world, web) -> None:
    browser = await web(world.a.member)
    r = await browser.post(f"/s/{world.a.slug}/calendar-feed", {"action": "regenerate"})
    assert r.status_code == 303
    page = await browser.get(f"/s/{world.a.slug}/calendar-feed")
    first = feed_path_in(page.text)
    assert (await browser.get(first)).status_code == 200

    await browser.post(f"/s/{world.a.slug}/calendar-feed", {"action": "regenerate"})
    second = feed_path_in((await browser.get(f"/s/{world.a.slug}/calendar-feed")).text)

    assert second != first
    assert (await browser.get(first)).status_code == 404
    assert (await browser.get(second)).status_code == 200


async def test_a_revoked_feed_answers_404_at_once(world, web, client) -> None:
    path = await create_feed(world.a.space, world.a.member, FeedKind.member, account_id=world.a.member.id)
    assert (await client.get(path)).status_code == 200
    browser = await web(world.a.member)

    await browser.post(f"/s/{world.a.slug}/calendar-feed", {"action": "revoke"})

    assert (await client.get(path)).status_code == 404
    assert (await client.head(path)).status_code == 404


async def test_unknown_and_malformed_tokens_are_404(world, client) -> None:
    for token in ("x" * 43, "short", "../../etc/passwd", "A" * 200):
        assert (await client.get(f"/feeds/{token}.ics")).status_code == 404


async def test_a_member_who_left_the_space_has_no_feed_any_more(world, client) -> None:
    from app.core import db
    from app.space import service as spaces

    path = await create_feed(world.a.space, world.a.member, FeedKind.member, account_id=world.a.member.id)
    async with db.transaction(space_id=world.a.space.id) as session:
        member = await spaces.membership(session, world.a.member.id)
        await session.delete(member)
    assert (await client.get(path)).status_code == 404


async def test_etag_and_last_modified_give_304_until_something_changes(world, api, client) -> None:
    freeze()
    room = await create_room(world.a.space, cancel_deadline_hours=0)
    await every_day(world.a.space, world.a.owner)
    r = await api(world.a.tokens["member"]).post(f"/api/v1/spaces/{world.a.slug}/bookings", json={
        "resource_id": room.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 10)})
    assert r.status_code == 201, r.text
    booking_id = r.json()["id"]
    path = await create_feed(world.a.space, world.a.member, FeedKind.member, account_id=world.a.member.id)

    first = await client.get(path)
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    assert (await client.get(path, headers={"If-None-Match": etag})).status_code == 304
    assert (await client.get(path, headers={"If-None-Match": f'"other", W/{etag}'})).status_code == 304
    assert (await client.get(path, headers={"If-Modified-Since": last_modified})).status_code == 304
    not_modified = await client.get(path, headers={"If-None-Match": etag})
    assert not_modified.content == b"" and not_modified.headers["etag"] == etag

    tick(60)
    r = await api(world.a.tokens["member"]).post(f"/api/v1/spaces/{world.a.slug}/bookings/{booking_id}/cancel", json={})
    assert r.status_code == 200, r.text
    after = await client.get(path, headers={"If-None-Match": etag})

    assert after.status_code == 200 and after.headers["etag"] != etag
    event = next(iter(events_by_uid(parse_everywhere(after.content)).values()))
    assert event["STATUS"] == "CANCELLED" and int(event["SEQUENCE"]) == 1
    assert (await client.get(path, headers={"If-Modified-Since": last_modified})).status_code == 200


async def test_a_cancelled_booking_leaves_the_feed_after_thirty_days(world, client) -> None:
    now = freeze()
    room = await create_room(world.a.space)
    day = TOMORROW + timedelta(days=40)
    await insert_booking(world.a.space, room, world.a.member, paris(day, 9), paris(day, 10), status="cancelled",
                         cancelled_at=now - timedelta(days=31))
    recent = await insert_booking(world.a.space, room, world.a.member, paris(day, 11), paris(day, 12),
                                  status="cancelled", cancelled_at=now - timedelta(days=2))
    path = await create_feed(world.a.space, world.a.member, FeedKind.member, account_id=world.a.member.id)

    events = events_by_uid(parse_everywhere((await client.get(path)).content))

    assert set(events) == {uid("booking", recent, world.a.space)}


async def test_the_busy_feed_of_a_resource_names_nobody_and_the_staff_feed_does(world, client) -> None:
    freeze()
    room = await create_room(world.a.space, name="Salle Verte")
    await insert_booking(world.a.space, room, world.a.member, paris(TOMORROW, 9), paris(TOMORROW, 10),
                         note="Entretien confidentiel")
    busy = await create_feed(world.a.space, world.a.manager, FeedKind.resource_busy, resource_id=room.id)
    staff = await create_feed(world.a.space, world.a.manager, FeedKind.resource, resource_id=room.id)

    busy_text = (await client.get(busy)).text
    staff_cal = parse_everywhere((await client.get(staff)).content)

    assert "a Member" not in busy_text and "confidentiel" not in busy_text and "SUMMARY:Busy" in busy_text
    parse_everywhere(busy_text.encode())
    summary = str(next(iter(events_by_uid(staff_cal).values()))["SUMMARY"])
    assert summary == "a Member · Salle Verte"


async def test_the_events_feed_holds_public_events_only(world, client) -> None:
    freeze()
    public = await create_event(world.a.space, world.a.animator, title="Repair café")
    members_only = await create_event(world.a.space, world.a.animator, title="Members' talk", visibility="members")
    draft = await create_event(world.a.space, world.a.animator, title="Draft", publish=False)
    other_space = await create_event(world.b.space, world.b.animator, title="B's party")
    path = await create_feed(world.a.space, world.a.manager, FeedKind.events)

    r = await client.get(path)

    assert "public" in r.headers["cache-control"]
    events = events_by_uid(parse_everywhere(r.content))
    assert set(events) == {uid("event", public, world.a.space)}
    for absent in (members_only, draft, other_space):
        assert absent.title not in r.text


async def test_a_cancelled_registration_stays_in_the_member_feed_as_cancelled_with_a_higher_sequence(
    world, api, client
) -> None:
    freeze()
    event = await create_event(world.a.space, world.a.animator, title="Soldering 101")
    reg = await register(world.a.space, event, world.a.member)
    path = await create_feed(world.a.space, world.a.member, FeedKind.member, account_id=world.a.member.id)
    before = events_by_uid(parse_everywhere((await client.get(path)).content))[uid("event", event, world.a.space)]
    tick(60)

    r = await api(world.a.tokens["member"]).post(f"/api/v1/spaces/{world.a.slug}/registrations/{reg.id}/cancel")
    assert r.status_code in (200, 204), r.text
    after = events_by_uid(parse_everywhere((await client.get(path)).content))[uid("event", event, world.a.space)]

    assert before["STATUS"] == "CONFIRMED" and after["STATUS"] == "CANCELLED"
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])


async def test_head_answers_like_get_without_a_body(world, client) -> None:
    path = await create_feed(world.a.space, world.a.member, FeedKind.member, account_id=world.a.member.id)
    get, head = await client.get(path), await client.head(path)
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == get.headers["etag"]


async def test_a_suspended_space_serves_no_feed(world, client) -> None:
    from app.core import clock, db
    from app.space.models import Space

    path = await create_feed(world.a.space, world.a.member, FeedKind.member, account_id=world.a.member.id)
    async with db.transaction() as session:
        space = await session.get(Space, world.a.space.id)
        space.suspended_at = clock.now()
        session.add(space)
    assert (await client.get(path)).status_code == 404
