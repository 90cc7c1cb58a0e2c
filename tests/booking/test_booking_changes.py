"""Cancelling, moving, listing and repeating bookings. "Today" is Monday 1 March 2027, 08:00 Paris."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from tests.booking.factories import (
    TODAY,
    TOMORROW,
    count_bookings,
    create_room,
    freeze,
    insert_booking,
    iso,
    paris,
    tick,
    url,
    utc,
)
from tests.fixtures.harness import mail_text


@pytest.fixture(autouse=True)
def _today():
    freeze()


async def _book(api, world, room, day=TOMORROW, start=9, end=10, role="member"):
    r = await api(world.a.tokens[role]).post(url(world, "bookings"), json={
        "resource_id": room.id, "starts_at": iso(day, start), "ends_at": iso(day, end)})
    assert r.status_code == 201, r.text
    return r.json()


# -- cancel ---------------------------------------------------------------------------------------


async def test_member_cancels_before_the_deadline_and_is_told(world, api, outbox):
    room = await create_room(world.a.space, cancel_deadline_hours=24)
    booking = await _book(api, world, room, day=TODAY + timedelta(days=3))
    tick()
    r = await api(world.a.tokens["member"]).post(url(world, f"bookings/{booking['id']}/cancel"), json={})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled" and r.json()["late_cancel_charged"] is False
    mails = await outbox()
    assert len(mails) == 2 and "Salle Lumière" in mails[1]["Subject"] and mails[1]["Subject"] != mails[0]["Subject"]
    cal = next(p for p in mails[1].iter_attachments() if p.get_content_type() == "text/calendar")
    assert "METHOD:CANCEL" in cal.get_content()


async def test_member_cannot_cancel_after_the_deadline(world, api):
    room = await create_room(world.a.space, cancel_deadline_hours=48)
    booking = await _book(api, world, room)  # tomorrow 9:00, 25 hours from now
    r = await api(world.a.tokens["member"]).post(url(world, f"bookings/{booking['id']}/cancel"), json={})
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "cancellation_deadline_passed" and "48" in err["message"]
    assert await count_bookings(world.a.space) == 1


async def test_a_late_cancellation_under_a_charge_policy_is_marked_charged(world, api):
    room = await create_room(world.a.space, cancel_deadline_hours=48, late_cancel="charge")
    booking = await _book(api, world, room)
    r = await api(world.a.tokens["member"]).post(url(world, f"bookings/{booking['id']}/cancel"), json={})
    assert r.status_code == 200 and r.json()["late_cancel_charged"] is True


async def test_a_started_booking_cannot_be_cancelled_by_the_member(world, api):
    room = await create_room(world.a.space, cancel_deadline_hours=0)
    booking = await _book(api, world, room)
    freeze(TOMORROW, 9, 30)
    r = await api(world.a.tokens["member"]).post(url(world, f"bookings/{booking['id']}/cancel"), json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "cancellation_deadline_passed"


async def test_staff_cancel_after_the_deadline_with_a_reason_the_member_reads(world, api, outbox):
    room = await create_room(world.a.space, cancel_deadline_hours=48)
    booking = await _book(api, world, room)
    tick()
    r = await api(world.a.tokens["manager"]).post(url(world, f"bookings/{booking['id']}/cancel"),
                                                  json={"reason": "Dégât des eaux dans la salle"})
    assert r.status_code == 200, r.text
    assert r.json()["cancel_reason"] == "Dégât des eaux dans la salle"
    mails = await outbox()
    assert len(mails) == 2
    mail = mails[-1]
    assert mail["To"] == world.a.member.email
    assert "Dégât des eaux dans la salle" in mail_text(mail)


async def test_a_cancelled_booking_cannot_be_cancelled_again(world, api):
    room = await create_room(world.a.space, cancel_deadline_hours=0)
    booking = await _book(api, world, room)
    client = api(world.a.tokens["member"])
    assert (await client.post(url(world, f"bookings/{booking['id']}/cancel"), json={})).status_code == 200
    r = await client.post(url(world, f"bookings/{booking['id']}/cancel"), json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "booking_not_active"


async def test_a_member_cannot_see_or_cancel_someone_elses_booking(world, api):
    room = await create_room(world.a.space)
    booking = await _book(api, world, room, role="animator")
    client = api(world.a.tokens["member"])
    assert (await client.get(url(world, f"bookings/{booking['id']}"))).status_code == 404
    assert (await client.post(url(world, f"bookings/{booking['id']}/cancel"), json={})).status_code == 404
    assert (await api(world.a.tokens["manager"]).get(url(world, f"bookings/{booking['id']}"))).status_code == 200


# -- move -----------------------------------------------------------------------------------------


async def test_staff_move_a_booking_and_the_member_is_told_why(world, api, outbox):
    room = await create_room(world.a.space)
    other = await create_room(world.a.space, name="Salle Jardin", price_member_cents=1000)
    booking = await _book(api, world, room)
    tick()
    r = await api(world.a.tokens["manager"]).post(url(world, f"bookings/{booking['id']}/move"), json={
        "starts_at": iso(TOMORROW, 14), "ends_at": iso(TOMORROW, 16), "resource_id": other.id,
        "reason": "La salle Lumière est repeinte"})
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["resource_id"] == other.id and utc(moved["starts_at"]) == paris(TOMORROW, 14)
    assert moved["price_cents"] == 2 * 1000
    mail = (await outbox())[-1]
    assert "La salle Lumière est repeinte" in mail_text(mail) and "Salle Jardin" in mail_text(mail)


async def test_a_move_onto_a_taken_slot_is_a_conflict_and_changes_nothing(world, api):
    room = await create_room(world.a.space)
    booking = await _book(api, world, room)
    await _book(api, world, room, start=11, end=12, role="animator")
    r = await api(world.a.tokens["manager"]).post(url(world, f"bookings/{booking['id']}/move"), json={
        "starts_at": iso(TOMORROW, 10), "ends_at": iso(TOMORROW, 12)})
    assert r.status_code == 409
    r = await api(world.a.tokens["manager"]).get(url(world, f"bookings/{booking['id']}"))
    assert utc(r.json()["starts_at"]) == paris(TOMORROW, 9)


async def test_a_booking_can_be_moved_onto_its_own_slot_extended(world, api):
    room = await create_room(world.a.space)
    booking = await _book(api, world, room)
    r = await api(world.a.tokens["manager"]).post(url(world, f"bookings/{booking['id']}/move"), json={
        "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 11)})
    assert r.status_code == 200, r.text


async def test_members_cannot_move_bookings(world, api):
    room = await create_room(world.a.space)
    booking = await _book(api, world, room)
    r = await api(world.a.tokens["member"]).post(url(world, f"bookings/{booking['id']}/move"), json={
        "starts_at": iso(TOMORROW, 14), "ends_at": iso(TOMORROW, 15)})
    assert r.status_code == 403


# -- listing --------------------------------------------------------------------------------------


async def test_members_list_their_own_bookings_and_staff_list_all(world, api):
    room = await create_room(world.a.space)
    await _book(api, world, room)
    await _book(api, world, room, start=10, end=11, role="animator")
    mine = await api(world.a.tokens["member"]).get(url(world, "bookings"))
    assert [b["account_id"] for b in mine.json()] == [world.a.member.id]
    everyone = await api(world.a.tokens["manager"]).get(url(world, "bookings"), params={"resource_id": room.id})
    assert {b["member_name"] for b in everyone.json()} == {world.a.member.name, world.a.animator.name}


async def test_the_list_takes_local_days(world, api):
    room = await create_room(world.a.space)
    await _book(api, world, room)
    await _book(api, world, room, day=TOMORROW + timedelta(days=1))
    r = await api(world.a.tokens["member"]).get(url(world, "bookings"),
                                                params={"start": TOMORROW.isoformat(), "end": TOMORROW.isoformat()})
    assert len(r.json()) == 1


# -- availability ---------------------------------------------------------------------------------


def cell_states(resource: dict, day: int = 0) -> dict[datetime, str]:
    """Every cell of a day, from the runs the API sends: start (UTC) -> state."""
    step = timedelta(minutes=resource["step_minutes"])
    cells = {}
    for run in resource["days"][day]["slots"]:
        at, end = utc(run["starts_at"]), utc(run["ends_at"])
        while at < end:
            cells[at] = run["state"]
            at += step
    return cells


async def test_availability_shows_free_places_and_my_bookings(world, api):
    from tests.booking.factories import create_desk

    desk = await create_desk(world.a.space, capacity=3)
    await insert_booking(world.a.space, desk, world.a.member, paris(TOMORROW, 9), paris(TOMORROW, 18))
    await insert_booking(world.a.space, desk, world.a.animator, paris(TOMORROW, 9), paris(TOMORROW, 18))
    r = await api(world.a.tokens["member"]).get(url(world, "availability"), params={
        "start": TOMORROW.isoformat(), "resource_id": desk.id})
    assert r.status_code == 200, r.text
    day = r.json()["resources"][0]["days"][0]
    assert day["open"] is True
    [slot] = day["slots"]
    assert slot["free"] == 1 and slot["state"] == "free"
    assert utc(slot["starts_at"]) == paris(TOMORROW, 9) and utc(slot["ends_at"]) == paris(TOMORROW, 18)
    [mine] = r.json()["mine"]
    assert mine["resource_id"] == desk.id and utc(mine["starts_at"]) == paris(TOMORROW, 9)


async def test_availability_hides_who_booked_from_members_but_not_from_staff(world, api):
    room = await create_room(world.a.space)
    await insert_booking(world.a.space, room, world.a.animator, paris(TOMORROW, 9), paris(TOMORROW, 10))
    params = {"start": TOMORROW.isoformat(), "resource_id": room.id}
    member_view = (await api(world.a.tokens["member"]).get(url(world, "availability"), params=params)).json()
    busy = member_view["resources"][0]["busy"][0]
    assert busy["member_name"] is None and busy["booking_id"] is None and member_view["mine"] == []
    staff_view = (await api(world.a.tokens["manager"]).get(url(world, "availability"), params=params)).json()
    assert staff_view["resources"][0]["busy"][0]["member_name"] == world.a.animator.name


async def test_availability_marks_taken_past_and_blocked_slots(world, api):
    from tests.booking.factories import add_block

    room = await create_room(world.a.space, granularity_minutes=60)
    await insert_booking(world.a.space, room, world.a.animator, paris(TODAY, 10), paris(TODAY, 11))
    await add_block(world.a.space, room, paris(TODAY, 14), paris(TODAY, 16))
    freeze(TODAY, 9, 30)
    r = await api(world.a.tokens["member"]).get(url(world, "availability"), params={"resource_id": room.id})
    states = {at.astimezone(paris(TODAY, 0).tzinfo).hour: state
              for at, state in cell_states(r.json()["resources"][0]).items()}
    assert states[9] == "past" and states[10] == "full" and states[11] == "free"
    assert states[14] == states[15] == "blocked" and states[17] == "free"
    # Sent as runs of cells in the same state: 9 past, 10 full, 11-14 free, 14-16 blocked, 16-18 free.
    runs = [(utc(s["starts_at"]).astimezone(paris(TODAY, 0).tzinfo).hour, s["state"])
            for s in r.json()["resources"][0]["days"][0]["slots"]]
    assert runs == [(9, "past"), (10, "full"), (11, "free"), (14, "blocked"), (16, "free")]


async def test_availability_shows_a_closure_and_a_closed_day(world, api):
    from tests.booking.factories import add_closure

    room = await create_room(world.a.space)
    await add_closure(world.a.space, TOMORROW, label="Mardi gras")
    r = await api(world.a.tokens["member"]).get(url(world, "availability"), params={
        "start": TOMORROW.isoformat(), "end": (TODAY + timedelta(days=6)).isoformat(), "resource_id": room.id})
    days = r.json()["resources"][0]["days"]
    assert days[0]["closure"] == "Mardi gras" and days[0]["open"] is False and days[0]["slots"] == []
    assert days[4]["open"] is False  # Saturday
    assert days[1]["open"] is True and len(cell_states(r.json()["resources"][0], day=1)) == 18


async def test_availability_body_is_the_documented_model_and_slots_can_be_left_out(world, api):
    from app.booking.schemas import AvailabilityRead
    from tests.booking.factories import add_block

    room = await create_room(world.a.space)
    await insert_booking(world.a.space, room, world.a.member, paris(TOMORROW, 9), paris(TOMORROW, 10))
    await add_block(world.a.space, room, paris(TOMORROW, 14), paris(TOMORROW, 16))
    params = {"start": TOMORROW.isoformat(), "end": (TOMORROW + timedelta(days=1)).isoformat(), "resource_id": room.id}
    for token in ("member", "manager"):
        full = await api(world.a.tokens[token]).get(url(world, "availability"), params=params)
        # Built from plain values, serialised once: byte for byte what the response model gives.
        assert AvailabilityRead.model_validate_json(full.content).model_dump_json().encode() == full.content
        lean = await api(world.a.tokens[token]).get(url(world, "availability"), params={**params, "slots": "false"})
        assert lean.status_code == 200, lean.text
        body, without = full.json(), lean.json()
        assert body["resources"][0]["days"][0]["slots"]
        assert all(d["slots"] == [] for d in without["resources"][0]["days"])
        for d in body["resources"][0]["days"]:
            d["slots"] = []
        assert without == body


async def test_availability_refuses_a_range_over_a_month(world, api):
    r = await api(world.a.tokens["member"]).get(url(world, "availability"), params={
        "start": "2027-03-01", "end": "2027-05-01"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_range"


# -- weekly series --------------------------------------------------------------------------------


def _series(room, **extra):
    return {"resource_id": room.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 11), **extra}


async def test_a_series_preview_lists_the_dates_that_conflict(world, api):
    room = await create_room(world.a.space, horizon_days=90)
    await insert_booking(world.a.space, room, world.a.animator, paris(TOMORROW + timedelta(weeks=2), 10),
                         paris(TOMORROW + timedelta(weeks=2), 12))
    r = await api(world.a.tokens["member"]).post(url(world, "booking-series/preview"), json=_series(room, count=4))
    assert r.status_code == 200, r.text
    preview = r.json()
    assert [o["status"] for o in preview["occurrences"]] == ["free", "free", "conflict", "free"]
    assert preview["free"] == 3 and preview["total_price_cents"] == 3 * 2 * 1500
    assert await count_bookings(world.a.space) == 1


async def test_a_series_with_a_conflict_books_nothing_when_asked_all_or_nothing(world, api):
    room = await create_room(world.a.space, horizon_days=90)
    await insert_booking(world.a.space, room, world.a.animator, paris(TOMORROW + timedelta(weeks=1), 9),
                         paris(TOMORROW + timedelta(weeks=1), 10))
    r = await api(world.a.tokens["member"]).post(url(world, "booking-series"), json=_series(room, count=3))
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "series_conflict" and len(err["occurrences"]) == 1
    assert await count_bookings(world.a.space) == 1


async def test_a_series_books_the_free_dates_when_asked_to_skip_conflicts(world, api, outbox):
    room = await create_room(world.a.space, horizon_days=90)
    await insert_booking(world.a.space, room, world.a.animator, paris(TOMORROW + timedelta(weeks=1), 9),
                         paris(TOMORROW + timedelta(weeks=1), 10))
    r = await api(world.a.tokens["member"]).post(url(world, "booking-series"),
                                                 json=_series(room, count=3, on_conflict="skip"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert len(body["bookings"]) == 2 and len(body["skipped"]) == 1
    assert {b["series_id"] for b in body["bookings"]} == {body["id"]}
    assert await count_bookings(world.a.space) == 3
    mails = await outbox()
    assert len(mails) == 1 and "Salle Lumière" in mails[0]["Subject"]
    assert mail_text(mails[0]).count("2027") >= 3  # the two booked dates and the skipped one


async def test_a_series_until_a_date_keeps_the_wall_clock_time_across_the_spring_change(world, api):
    room = await create_room(world.a.space, horizon_days=90)
    r = await api(world.a.tokens["member"]).post(url(world, "booking-series"),
                                                 json=_series(room, until="2027-04-06"))
    assert r.status_code == 201, r.text
    starts = [utc(b["starts_at"]).astimezone(paris(TODAY, 0).tzinfo) for b in r.json()["bookings"]]
    assert len(starts) == 6 and {s.hour for s in starts} == {9}
    assert starts[-1].date() == date(2027, 4, 6)
    assert {s.utcoffset() for s in starts} == {timedelta(hours=1), timedelta(hours=2)}


async def test_a_series_date_on_a_closure_is_listed_as_invalid(world, api):
    from tests.booking.factories import add_closure

    room = await create_room(world.a.space, horizon_days=90)
    await add_closure(world.a.space, TOMORROW + timedelta(weeks=1), label="Grève")
    r = await api(world.a.tokens["member"]).post(url(world, "booking-series/preview"), json=_series(room, count=2))
    second = r.json()["occurrences"][1]
    assert second["status"] == "invalid" and second["code"] == "space_closed" and "Grève" in second["message"]


async def test_a_series_needs_an_end(world, api):
    room = await create_room(world.a.space)
    r = await api(world.a.tokens["member"]).post(url(world, "booking-series/preview"), json=_series(room))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_recurrence"
    r = await api(world.a.tokens["member"]).post(url(world, "booking-series/preview"), json=_series(room, count=53))
    assert r.status_code == 422


async def test_availability_follows_bookings_made_and_cancelled_since_it_was_last_asked(world, api):
    """The answer is cached per process; every booking change must show at once, for everyone."""
    room = await create_room(world.a.space, granularity_minutes=60)
    params = {"start": TOMORROW.isoformat(), "resource_id": room.id}

    async def state_at_10(role: str) -> str:
        body = (await api(world.a.tokens[role]).get(url(world, "availability"), params=params)).json()
        return cell_states(body["resources"][0])[paris(TOMORROW, 10)]

    assert await state_at_10("member") == "free"
    assert await state_at_10("animator") == "free"
    made = await api(world.a.tokens["animator"]).post(url(world, "bookings"), json={
        "resource_id": room.id, "starts_at": paris(TOMORROW, 10).isoformat(), "ends_at": paris(TOMORROW, 11).isoformat()})
    assert made.status_code == 201, made.text
    assert await state_at_10("member") == "full"
    mine = (await api(world.a.tokens["animator"]).get(url(world, "availability"), params=params)).json()["mine"]
    assert [m["booking_id"] for m in mine] == [made.json()["id"]]

    cancelled = await api(world.a.tokens["animator"]).post(url(world, f"bookings/{made.json()['id']}/cancel"))
    assert cancelled.status_code == 200, cancelled.text
    assert await state_at_10("member") == "free"

    # Written outside the API (a service in a job, the demo): the commit bumps the counter too.
    await insert_booking(world.a.space, room, world.a.manager, paris(TOMORROW, 10), paris(TOMORROW, 11))
    assert await state_at_10("member") == "full"


async def test_a_cached_availability_turns_slots_past_as_time_goes_by(world, api):
    room = await create_room(world.a.space, granularity_minutes=60)
    params = {"resource_id": room.id}
    freeze(TODAY, 9, 30)

    async def states() -> dict[int, str]:
        body = (await api(world.a.tokens["member"]).get(url(world, "availability"), params=params)).json()
        return {at.astimezone(paris(TODAY, 0).tzinfo).hour: state
                for at, state in cell_states(body["resources"][0]).items()}

    assert (await states())[10] == "free"
    freeze(TODAY, 10, 5)
    assert (await states())[10] == "past"


async def test_a_half_day_resource_shows_its_morning_and_afternoon_even_when_both_are_free(world, api):
    from tests.booking.factories import create_desk

    desk = await create_desk(world.a.space, unit="half_day", capacity=4)
    r = await api(world.a.tokens["member"]).get(url(world, "availability"), params={
        "start": TOMORROW.isoformat(), "resource_id": desk.id})
    resource = r.json()["resources"][0]
    assert resource["step_minutes"] is None
    cells = [(utc(s["starts_at"]), utc(s["ends_at"]), s["free"]) for s in resource["days"][0]["slots"]]
    assert cells == [(paris(TOMORROW, 9), paris(TOMORROW, 13), 4), (paris(TOMORROW, 13), paris(TOMORROW, 18), 4)]
    await insert_booking(world.a.space, desk, world.a.animator, paris(TOMORROW, 13), paris(TOMORROW, 18))
    r = await api(world.a.tokens["member"]).get(url(world, "availability"), params={
        "start": TOMORROW.isoformat(), "resource_id": desk.id})
    assert [s["free"] for s in r.json()["resources"][0]["days"][0]["slots"]] == [4, 3]
