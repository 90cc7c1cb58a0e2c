"""Booking through the API: one test per behaviour. "Today" is Monday 1 March 2027, 08:00 in Paris."""

from __future__ import annotations

import pickle
from datetime import time, timedelta

import pytest

from tests.booking.factories import (
    TODAY,
    TOMORROW,
    add_block,
    add_closure,
    count_bookings,
    create_desk,
    create_room,
    every_day,
    freeze,
    insert_booking,
    iso,
    paris,
    post_booking,
    url,
    utc,
)
from tests.fixtures.harness import mail_text


@pytest.fixture(autouse=True)
def _today():
    freeze()


async def test_member_books_a_room_and_pays_the_member_price(world, api, outbox):
    room = await create_room(world.a.space)
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 9), ends_at=iso(TOMORROW, 11))
    assert r.status_code == 201, r.text
    body = r.json()
    assert utc(body["starts_at"]) == paris(TOMORROW, 9)
    assert utc(body["ends_at"]) == paris(TOMORROW, 11)
    assert body["price_cents"] == 2 * 1500 and body["price_kind"] == "member"
    assert body["status"] == "confirmed" and body["account_id"] == world.a.member.id
    mails = await outbox()
    assert [m["To"] for m in mails] == [world.a.member.email]
    assert "Salle Lumière" in mails[0]["Subject"]
    assert "9:00" in mail_text(mails[0]) and "11:00" in mail_text(mails[0])
    assert any(p.get_content_type() == "text/calendar" for p in mails[0].iter_attachments())


class RecordingQueue:
    """Passes jobs on to the real queue and keeps what was dispatched, as arq would receive it."""

    def __init__(self, inner) -> None:
        self.inner, self.jobs = inner, []

    async def enqueue_job(self, function, *args, **kwargs):
        self.jobs.append((function, args, kwargs))
        return await self.inner.enqueue_job(function, *args, **kwargs)


async def test_the_confirmation_is_rendered_by_the_job_in_the_members_language_with_its_invitation(
    world, api, outbox, monkeypatch
):
    from app.account.models import Account
    from app.core import db, jobs

    async with db.transaction() as session:
        member = await session.get(Account, world.a.member.id)
        member.locale = "en"  # the space and the request are French
        session.add(member)
    queue = RecordingQueue(jobs.get_queue())
    monkeypatch.setattr(jobs, "_queue", queue)
    room = await create_room(world.a.space)
    r = await api(world.a.tokens["member"], **{"Accept-Language": "fr"}).post(
        url(world, "bookings"), json={"resource_id": room.id, "starts_at": iso(TOMORROW, 9),
                                      "ends_at": iso(TOMORROW, 11)})
    assert r.status_code == 201, r.text

    [(args, kwargs)] = [(a, k) for name, a, k in queue.jobs if name == "email.send"]
    to, template, context, locale, attachments = args
    assert (to, template, locale, attachments) == (world.a.member.email, "booking_confirmed", "en", [])
    assert context["resource_name"] == "Salle Lumière" and context["starts_at"] == paris(TOMORROW, 9)
    assert not any("Booking confirmed" in repr(arg) for arg in args)  # nothing rendered in the request
    assert pickle.loads(pickle.dumps((args, kwargs))) == (args, kwargs)  # arq can carry it
    assert kwargs["invitation"]["method"] == "REQUEST"
    [mail] = await outbox()
    assert mail["Subject"].startswith("Booking confirmed: Salle Lumière")
    [cal] = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert f"UID:booking-{r.json()['id']}@{world.a.slug}.fabrique" in cal.get_content()


async def test_an_overlapping_booking_is_a_409_with_the_conflicting_interval(world, api):
    room = await create_room(world.a.space)
    await insert_booking(world.a.space, room, world.a.manager, paris(TOMORROW, 10), paris(TOMORROW, 12))
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 9), ends_at=iso(TOMORROW, 11))
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "booking_conflict"
    assert utc(err["conflict"]["starts_at"]) == paris(TOMORROW, 10)
    assert utc(err["conflict"]["ends_at"]) == paris(TOMORROW, 12)
    assert await count_bookings(world.a.space) == 1


async def test_touching_bookings_do_not_conflict(world, api):
    room = await create_room(world.a.space)
    await insert_booking(world.a.space, room, world.a.manager, paris(TOMORROW, 9), paris(TOMORROW, 10))
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 10), ends_at=iso(TOMORROW, 11))
    assert r.status_code == 201, r.text


async def test_the_buffer_between_bookings_is_honoured(world, api):
    room = await create_room(world.a.space, buffer_minutes=30)
    await insert_booking(world.a.space, room, world.a.manager, paris(TOMORROW, 9), paris(TOMORROW, 10))
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 10), ends_at=iso(TOMORROW, 11))
    assert r.status_code == 409 and r.json()["error"]["code"] == "booking_conflict"
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 8), ends_at=iso(TOMORROW, 9))
    assert r.status_code == 422  # before opening; the buffer check is not what refuses it
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 10, 30),
                           ends_at=iso(TOMORROW, 11, 30))
    assert r.status_code == 201, r.text


async def test_a_cancelled_booking_frees_its_slot(world, api):
    room = await create_room(world.a.space)
    await insert_booking(world.a.space, room, world.a.manager, paris(TOMORROW, 9), paris(TOMORROW, 10),
                         status="cancelled")
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 9), ends_at=iso(TOMORROW, 10))
    assert r.status_code == 201, r.text


async def test_a_six_seat_table_takes_six_bookings_and_refuses_the_seventh(world, api):
    desk = await create_desk(world.a.space, capacity=6)
    for _ in range(6):
        r = await post_booking(api, world, role="manager", resource_id=desk.id, starts_at=iso(TOMORROW, 9),
                               ends_at=iso(TOMORROW, 18))
        assert r.status_code == 201, r.text
    r = await post_booking(api, world, resource_id=desk.id, starts_at=iso(TOMORROW, 9), ends_at=iso(TOMORROW, 18))
    assert r.status_code == 409 and r.json()["error"]["code"] == "booking_conflict"
    assert await count_bookings(world.a.space) == 6


async def test_capacity_counts_places_held_at_the_same_time_not_every_overlap(world, api):
    desk = await create_desk(world.a.space, capacity=2, unit="half_day")
    await insert_booking(world.a.space, desk, world.a.owner, paris(TOMORROW, 9), paris(TOMORROW, 13))
    await insert_booking(world.a.space, desk, world.a.manager, paris(TOMORROW, 13), paris(TOMORROW, 18))
    r = await post_booking(api, world, resource_id=desk.id, starts_at=iso(TOMORROW, 9), ends_at=iso(TOMORROW, 18))
    assert r.status_code == 201, r.text
    r = await post_booking(api, world, role="animator", resource_id=desk.id, starts_at=iso(TOMORROW, 13),
                           ends_at=iso(TOMORROW, 18))
    assert r.status_code == 409


@pytest.mark.parametrize(("starts", "ends", "code", "field"), [
    ((TOMORROW, 11), (TOMORROW, 9), "invalid_interval", "starts_at"),
    ((TOMORROW, 9), (TOMORROW, 9), "empty_interval", "ends_at"),
    ((TODAY - timedelta(days=1), 9), (TODAY - timedelta(days=1), 10), "in_the_past", "starts_at"),
    ((TODAY + timedelta(days=70), 9), (TODAY + timedelta(days=70), 10), "beyond_horizon", "starts_at"),
    ((TOMORROW, 7), (TOMORROW, 9), "outside_opening_hours", "starts_at"),
    ((TOMORROW, 17), (TOMORROW, 19), "outside_opening_hours", "starts_at"),
    ((TODAY + timedelta(days=5), 9), (TODAY + timedelta(days=5), 10), "outside_opening_hours", "starts_at"),
    ((TOMORROW, 9, 15), (TOMORROW, 10), "off_granularity", "starts_at"),
])
async def test_bad_intervals_get_their_own_code_and_write_nothing(world, api, outbox, starts, ends, code, field):
    room = await create_room(world.a.space)
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(*starts), ends_at=iso(*ends))
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == code
    assert field in err["fields"] and err["message"]
    assert await count_bookings(world.a.space, status=None) == 0
    assert await outbox() == []


async def test_a_booking_on_a_closure_is_refused_with_the_closure_label(world, api):
    room = await create_room(world.a.space)
    await add_closure(world.a.space, TOMORROW, label="Fermeture exceptionnelle")
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 9), ends_at=iso(TOMORROW, 10))
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "space_closed" and "Fermeture exceptionnelle" in err["message"]


async def test_too_short_and_too_long_bookings_are_refused(world, api):
    room = await create_room(world.a.space, min_minutes=60, max_minutes=120)
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 9), ends_at=iso(TOMORROW, 9, 30))
    assert r.json()["error"]["code"] == "too_short"
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 9), ends_at=iso(TOMORROW, 12))
    assert r.json()["error"]["code"] == "too_long"


async def test_an_archived_resource_cannot_be_booked(world, api):
    room = await create_room(world.a.space)
    r = await api(world.a.tokens["manager"]).post(url(world, f"resources/{room.id}/archive"))
    assert r.status_code == 200 and r.json()["archived"] is True
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 9), ends_at=iso(TOMORROW, 10))
    assert r.status_code == 422 and r.json()["error"]["code"] == "resource_archived"


async def test_a_blocked_resource_cannot_be_booked_during_the_block(world, api):
    room = await create_room(world.a.space)
    await add_block(world.a.space, room, paris(TOMORROW, 8), paris(TOMORROW, 12), "maintenance")
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 11), ends_at=iso(TOMORROW, 13))
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "resource_blocked" and utc(err["blocked"]["ends_at"]) == paris(TOMORROW, 12)
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 12), ends_at=iso(TOMORROW, 13))
    assert r.status_code == 201


async def test_a_resource_reserved_to_a_tag_refuses_members_without_it(world, api):
    from app.core import db
    from app.space.models import SpaceMember

    laser = await create_room(world.a.space, name="Découpe laser", kind="equipment", required_tags="laser")
    r = await post_booking(api, world, resource_id=laser.id, starts_at=iso(TOMORROW, 9), ends_at=iso(TOMORROW, 10))
    assert r.status_code == 403
    err = r.json()["error"]
    assert err["code"] == "not_allowed" and err["missing_tags"] == ["laser"]
    async with db.transaction(space_id=world.a.space.id) as session:
        member = await session.get(SpaceMember, world.a.members["member"].id)
        member.tags = "laser"
    r = await post_booking(api, world, resource_id=laser.id, starts_at=iso(TOMORROW, 9), ends_at=iso(TOMORROW, 10))
    assert r.status_code == 201, r.text


async def test_a_resource_reserved_to_some_roles_refuses_the_others(world, api):
    office = await create_room(world.a.space, kind="private_office", allowed_roles="manager,owner")
    r = await post_booking(api, world, resource_id=office.id, starts_at=iso(TOMORROW, 9), ends_at=iso(TOMORROW, 10))
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_allowed"
    r = await post_booking(api, world, role="manager", resource_id=office.id, starts_at=iso(TOMORROW, 9),
                           ends_at=iso(TOMORROW, 10))
    assert r.status_code == 201


@pytest.mark.parametrize("value", [0, "0", 1700000000, "tomorrow", None, True])
async def test_a_datetime_must_be_an_iso_string(world, api, value):
    room = await create_room(world.a.space)
    r = await post_booking(api, world, resource_id=room.id, starts_at=value, ends_at=iso(TOMORROW, 10))
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"
    assert "starts_at" in r.json()["error"]["fields"]


async def test_a_datetime_without_timezone_is_refused_with_its_own_message(world, api):
    room = await create_room(world.a.space)
    r = await api(world.a.tokens["member"], **{"Accept-Language": "en"}).post(url(world, "bookings"), json={
        "resource_id": room.id, "starts_at": "2027-03-02T09:00:00", "ends_at": "2027-03-02T10:00:00"})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "invalid_interval" and "timezone" in err["message"]


async def test_a_resource_id_as_a_string_or_an_unknown_field_is_refused(world, api):
    room = await create_room(world.a.space)
    r = await post_booking(api, world, resource_id=str(room.id), starts_at=iso(TOMORROW, 9), ends_at=iso(TOMORROW, 10))
    assert r.status_code == 422
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 9), ends_at=iso(TOMORROW, 10),
                           price_cents=0)
    assert r.status_code == 422


async def test_another_spaces_resource_is_a_404_in_the_body_too(world, api):
    room_b = await create_room(world.b.space)
    r = await post_booking(api, world, resource_id=room_b.id, starts_at=iso(TOMORROW, 9), ends_at=iso(TOMORROW, 10))
    assert r.status_code == 404


async def test_errors_are_in_the_callers_language(world, api):
    room = await create_room(world.a.space)
    client = api(world.a.tokens["member"], **{"Accept-Language": "fr-FR"})
    r = await client.post(url(world, "bookings"), json={"resource_id": room.id, "starts_at": iso(TOMORROW, 9),
                                                        "ends_at": iso(TOMORROW, 9)})
    assert r.headers["content-language"] == "fr"
    assert r.json()["error"]["code"] == "empty_interval"


# -- idempotency --------------------------------------------------------------------------------


async def test_a_retried_request_with_the_same_idempotency_key_books_once(world, api, outbox):
    room = await create_room(world.a.space)
    client = api(world.a.tokens["member"], **{"Idempotency-Key": "abc-123"})
    body = {"resource_id": room.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 10)}
    first = await client.post(url(world, "bookings"), json=body)
    again = await client.post(url(world, "bookings"), json=body)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert await count_bookings(world.a.space) == 1
    assert len(await outbox()) == 1


async def test_an_idempotency_key_reused_for_another_request_is_refused(world, api):
    room = await create_room(world.a.space)
    client = api(world.a.tokens["member"], **{"Idempotency-Key": "abc-123"})
    await client.post(url(world, "bookings"), json={"resource_id": room.id, "starts_at": iso(TOMORROW, 9),
                                                    "ends_at": iso(TOMORROW, 10)})
    r = await client.post(url(world, "bookings"), json={"resource_id": room.id, "starts_at": iso(TOMORROW, 10),
                                                        "ends_at": iso(TOMORROW, 11)})
    assert r.status_code == 422 and r.json()["error"]["code"] == "idempotency_key_reused"
    assert await count_bookings(world.a.space) == 1


async def test_a_failed_request_does_not_burn_its_idempotency_key(world, api):
    room = await create_room(world.a.space)
    blocker = await insert_booking(world.a.space, room, world.a.manager, paris(TOMORROW, 9), paris(TOMORROW, 10))
    client = api(world.a.tokens["member"], **{"Idempotency-Key": "k1"})
    body = {"resource_id": room.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 10)}
    assert (await client.post(url(world, "bookings"), json=body)).status_code == 409
    r = await api(world.a.tokens["manager"]).post(url(world, f"bookings/{blocker.id}/cancel"), json={})
    assert r.status_code == 200
    assert (await client.post(url(world, "bookings"), json=body)).status_code == 201


async def test_idempotency_keys_belong_to_one_account(world, api):
    room = await create_room(world.a.space)
    body = {"resource_id": room.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 10)}
    r1 = await api(world.a.tokens["member"], **{"Idempotency-Key": "same"}).post(url(world, "bookings"), json=body)
    r2 = await api(world.a.tokens["animator"], **{"Idempotency-Key": "same"}).post(url(world, "bookings"), json=body)
    assert r1.status_code == 201 and r2.status_code == 409


# -- quote ----------------------------------------------------------------------------------------


async def test_a_quote_shows_the_price_and_writes_nothing(world, api):
    room = await create_room(world.a.space)
    r = await api(world.a.tokens["member"]).post(url(world, "bookings/quote"), json={
        "resource_id": room.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 10, 30)})
    assert r.status_code == 200, r.text
    q = r.json()
    assert q["price_cents"] == 2 * 1500 and q["public_price_cents"] == 2 * 2500 and q["price_kind"] == "member"
    assert utc(q["cancel_deadline"]) == paris(TODAY, 9)
    assert await count_bookings(world.a.space, status=None) == 0


async def test_a_day_desk_is_priced_by_the_day(world, api):
    desk = await create_desk(world.a.space)
    r = await api(world.a.tokens["member"]).post(url(world, "bookings/quote"), json={
        "resource_id": desk.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW + timedelta(days=1), 18)})
    assert r.status_code == 200, r.text
    assert r.json()["price_cents"] == 2 * 1200


# -- booking on behalf ----------------------------------------------------------------------------


async def test_staff_book_on_behalf_of_a_member_who_is_told(world, api, outbox):
    room = await create_room(world.a.space)
    r = await post_booking(api, world, role="manager", resource_id=room.id, starts_at=iso(TOMORROW, 9),
                           ends_at=iso(TOMORROW, 10), member_id=world.a.members["member"].id)
    assert r.status_code == 201, r.text
    assert r.json()["account_id"] == world.a.member.id and r.json()["source"] == "staff"
    assert r.json()["member_name"] == world.a.member.name
    assert [m["To"] for m in await outbox()] == [world.a.member.email]


async def test_a_member_cannot_book_on_behalf_of_another(world, api):
    room = await create_room(world.a.space)
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 9), ends_at=iso(TOMORROW, 10),
                           member_id=world.a.members["animator"].id)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_for_others"


async def test_staff_may_book_beyond_the_horizon_but_members_may_not(world, api):
    room = await create_room(world.a.space, horizon_days=7)
    day = TODAY + timedelta(days=14)
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(day, 9), ends_at=iso(day, 10))
    assert r.json()["error"]["code"] == "beyond_horizon"
    r = await post_booking(api, world, role="manager", resource_id=room.id, starts_at=iso(day, 9),
                           ends_at=iso(day, 10), member_id=world.a.members["member"].id)
    assert r.status_code == 201, r.text


async def test_a_visitor_without_a_token_gets_a_401(world, client):
    r = await client.get(url(world, "bookings"))
    assert r.status_code == 401


async def test_opening_hours_with_a_lunch_break_refuse_a_booking_across_it(world, api):
    from tests.booking.factories import set_hours

    await set_hours(world.a.space, world.a.owner, {1: [(time(9), time(12)), (time(14), time(18))]})
    room = await create_room(world.a.space)
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 11), ends_at=iso(TOMORROW, 15))
    assert r.json()["error"]["code"] == "outside_opening_hours"
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 14), ends_at=iso(TOMORROW, 15))
    assert r.status_code == 201


async def test_a_space_open_on_sunday_takes_sunday_bookings(world, api):
    await every_day(world.a.space, world.a.owner)
    room = await create_room(world.a.space)
    sunday = TODAY + timedelta(days=6)
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(sunday, 9), ends_at=iso(sunday, 10))
    assert r.status_code == 201, r.text


async def test_control_characters_in_a_note_are_dropped_not_sent_to_the_database(world, api):
    room = await create_room(world.a.space)
    r = await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 9), ends_at=iso(TOMORROW, 10),
                           note="Projecteur\x00 svp\x07")
    assert r.status_code == 201, r.text
    assert r.json()["note"] == "Projecteur svp"
