"""Bookings and credits through the API: what a quote shows, what a booking takes, what a
cancellation, a move and a staff override give back. "Today" is Monday 1 March 2027, 08:00 Paris."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from app.audit.models import AuditEntry
from app.core import db
from app.membership.models import BucketSource
from tests.booking.factories import (
    TODAY,
    TOMORROW,
    create_desk,
    create_room,
    every_day,
    freeze,
    iso,
    paris,
    url,
)
from tests.membership.credit_factories import entries, expire, left, open_allowance, open_pass, set_settings

SATURDAY = TODAY + timedelta(days=5)


@pytest.fixture(autouse=True)
def _today():
    freeze()


async def _book(api, world, room, day=TOMORROW, start=9, end=10, role="member", **extra):
    return await api(world.a.tokens[role]).post(url(world, "bookings"), json={
        "resource_id": room.id, "starts_at": iso(day, start), "ends_at": iso(day, end), **extra})


async def _quote(api, world, room, day=TOMORROW, start=9, end=10, role="member", **extra):
    r = await api(world.a.tokens[role]).post(url(world, "bookings/quote"), json={
        "resource_id": room.id, "starts_at": iso(day, start), "ends_at": iso(day, end), **extra})
    assert r.status_code == 200, r.text
    return r.json()


def _lines(body) -> list[tuple[str, int, int]]:
    return [(c["price_kind"], c["quantity"], c["amount_incl_cents"]) for c in body["charges"] if c["reverses_id"] is None]


# -- quote: what will be used, nothing debited ----------------------------------------------------


async def test_the_quote_shows_the_allowance_used_and_what_is_left_and_debits_nothing(world, api):
    room = await create_room(world.a.space)
    bucket = await open_allowance(world.a.space, world.a.member, quantity=8, kinds="meeting_room")
    q = await _quote(api, world, room, start=9, end=11)
    assert q["price_cents"] == 0 and q["price_kind"] == "plan"
    assert [(x["price_kind"], x["quantity"], x["amount_incl_cents"]) for x in q["lines"]] == [("plan", 2, 0)]
    assert [(c["bucket_id"], c["credits"], c["left_before"], c["left_after"]) for c in q["credits"]] == [
        (bucket.id, 2, 8, 6)]
    assert await left(world.a.space, bucket) == 8


async def test_a_booking_beyond_the_allowance_is_split_and_the_rest_priced(world, api):
    room = await create_room(world.a.space)
    bucket = await open_allowance(world.a.space, world.a.member, quantity=1)
    q = await _quote(api, world, room, start=9, end=12)
    assert [(x["price_kind"], x["quantity"]) for x in q["lines"]] == [("plan", 1), ("member", 2)]
    assert q["price_cents"] == 2 * 1500 and q["price_kind"] == "member"
    r = await _book(api, world, room, start=9, end=12)
    assert r.status_code == 201, r.text
    assert _lines(r.json()) == [("plan", 1, 0), ("member", 2, 3000)]
    assert r.json()["price_cents"] == 3000
    assert await left(world.a.space, bucket) == 0


# -- which credits, in which order -----------------------------------------------------------------


async def test_allowances_are_used_soonest_expiring_first_then_passes_then_the_price(world, api):
    room = await create_room(world.a.space)
    later = await open_allowance(world.a.space, world.a.member, quantity=1, label="later",
                                 valid_until=paris(TODAY, 8) + timedelta(days=40))
    sooner = await open_allowance(world.a.space, world.a.member, quantity=1, label="sooner",
                                  valid_until=paris(TODAY, 8) + timedelta(days=20))
    carnet = await open_pass(world.a.space, world.a.member, units=1, rates={("meeting_room", "hour"): 1})
    r = await _book(api, world, room, start=9, end=13)
    assert r.status_code == 201, r.text
    assert _lines(r.json()) == [("plan", 1, 0), ("plan", 1, 0), ("pass", 1, 0), ("member", 1, 1500)]
    assert [c["label"] for c in r.json()["charges"]][:2] == [f"{room.name} — sooner", f"{room.name} — later"]
    assert [await left(world.a.space, b) for b in (sooner, later, carnet)] == [0, 0, 0]


async def test_a_pass_converts_units_by_its_rate_and_gives_whole_booking_units(world, api):
    office = await create_desk(world.a.space, name="Bureau 2", kind="private_office", unit="half_day", capacity=1,
                               price_member_cents=3000)
    carnet = await open_pass(world.a.space, world.a.member, units=3, rates={("private_office", "half_day"): 2})
    r = await _book(api, world, office, start=9, end=18)  # morning and afternoon: 2 half-days
    assert r.status_code == 201, r.text
    assert _lines(r.json()) == [("pass", 1, 0), ("member", 1, 3000)]
    assert await left(world.a.space, carnet) == 1


async def test_credits_only_pay_for_the_kinds_and_unit_they_name(world, api):
    room = await create_room(world.a.space)
    desks = await open_allowance(world.a.space, world.a.member, quantity=5, unit="hour", kinds="hot_desk")
    days = await open_allowance(world.a.space, world.a.member, quantity=5, unit="day", kinds="meeting_room")
    carnet = await open_pass(world.a.space, world.a.member, units=5, rates={("hot_desk", "day"): 1})
    r = await _book(api, world, room)
    assert _lines(r.json()) == [("member", 1, 1500)]
    assert [await left(world.a.space, b) for b in (desks, days, carnet)] == [5, 5, 5]


async def test_weekdays_only_credits_do_not_pay_on_saturday(world, api):
    await every_day(world.a.space, world.a.owner)
    room = await create_room(world.a.space)
    weekdays = await open_allowance(world.a.space, world.a.member, quantity=None, weekdays_only=True)
    r = await _book(api, world, room, day=SATURDAY)
    assert _lines(r.json()) == [("member", 1, 1500)]
    r = await _book(api, world, room, day=TOMORROW)
    assert _lines(r.json()) == [("plan", 1, 0)]
    assert [e.quantity for e in await entries(world.a.space, weekdays)] == [0]  # unlimited: a debit of 0


async def test_an_unlimited_allowance_covers_the_whole_booking(world, api):
    room = await create_room(world.a.space)
    await open_allowance(world.a.space, world.a.member, quantity=None)
    r = await _book(api, world, room, start=9, end=17)
    assert _lines(r.json()) == [("plan", 8, 0)] and r.json()["price_kind"] == "plan"


async def test_credits_pay_only_within_their_validity_and_never_once_expired(world, api):
    room = await create_room(world.a.space)
    ended = await open_allowance(world.a.space, world.a.member, quantity=5, label="ended",
                                 valid_until=paris(TOMORROW, 9))  # ends as the booking starts
    upcoming = await open_allowance(world.a.space, world.a.member, quantity=5, label="next month",
                                    valid_from=paris(TODAY + timedelta(days=31), 0))
    paused = await open_allowance(world.a.space, world.a.member, quantity=5, label="paused")
    await expire(world.a.space, paused)  # a subscription paused or ended early expires its buckets
    r = await _book(api, world, room)
    assert _lines(r.json()) == [("member", 1, 1500)]
    assert [await left(world.a.space, b) for b in (ended, upcoming, paused)] == [5, 5, 0]
    r = await _book(api, world, room, day=TODAY + timedelta(days=35))  # next month's booking, next month's units
    assert _lines(r.json()) == [("plan", 1, 0)] and await left(world.a.space, upcoming) == 4


async def test_staff_booking_for_a_member_uses_the_members_credits_and_a_guest_uses_none(world, api):
    room = await create_room(world.a.space)
    mine = await open_allowance(world.a.space, world.a.member, quantity=3)
    staffs = await open_allowance(world.a.space, world.a.manager, quantity=3)
    r = await _book(api, world, room, role="manager", member_id=world.a.members["member"].id)
    assert _lines(r.json()) == [("plan", 1, 0)]
    r = await _book(api, world, room, start=10, end=11, role="manager", guest=True)
    assert _lines(r.json()) == [("public", 1, 2500)]
    assert (await left(world.a.space, mine), await left(world.a.space, staffs)) == (2, 3)


async def test_a_weekly_series_takes_credits_occurrence_by_occurrence(world, api):
    room = await create_room(world.a.space)
    bucket = await open_allowance(world.a.space, world.a.member, quantity=2, valid_until=paris(TODAY, 8) + timedelta(days=40))
    r = await api(world.a.tokens["member"]).post(url(world, "booking-series"), json={
        "resource_id": room.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 10), "count": 3})
    assert r.status_code == 201, r.text
    assert [b["price_kind"] for b in r.json()["bookings"]] == ["plan", "plan", "member"]
    assert await left(world.a.space, bucket) == 0


# -- when the credits run out ----------------------------------------------------------------------


async def test_a_space_that_refuses_bookings_beyond_credits_says_so(world, api):
    await set_settings(world.a.space, when_credits_run_out="refuse")
    room = await create_room(world.a.space)
    bucket = await open_allowance(world.a.space, world.a.member, quantity=1)
    r = await _book(api, world, room, start=9, end=11)
    assert r.status_code == 409 and r.json()["error"]["code"] == "credits_run_out"
    assert await left(world.a.space, bucket) == 1 and await entries(world.a.space, bucket) != []
    assert (await _book(api, world, room, start=9, end=10)).status_code == 201
    # Someone without such credits at all books at the price as usual.
    assert _lines((await _book(api, world, room, start=10, end=11, role="animator")).json()) == [("member", 1, 1500)]


# -- cancellations --------------------------------------------------------------------------------


async def test_cancelling_in_time_gives_the_units_back_once(world, api):
    room = await create_room(world.a.space)
    bucket = await open_allowance(world.a.space, world.a.member, quantity=8)
    booking = (await _book(api, world, room, day=TODAY + timedelta(days=3), start=9, end=12)).json()
    assert await left(world.a.space, bucket) == 5
    path = url(world, f"bookings/{booking['id']}/cancel")
    assert (await api(world.a.tokens["member"]).post(path)).status_code == 200
    assert (await api(world.a.tokens["member"]).post(path)).status_code == 409
    assert await left(world.a.space, bucket) == 8
    kinds = [(e.kind, e.quantity) for e in await entries(world.a.space, bucket)]
    assert kinds == [("grant", 8), ("debit", -3), ("refund", 3)]


async def test_a_late_cancellation_under_a_charge_policy_keeps_the_units(world, api):
    room = await create_room(world.a.space, cancel_deadline_hours=48, late_cancel="charge")
    bucket = await open_allowance(world.a.space, world.a.member, quantity=4)
    booking = (await _book(api, world, room)).json()
    r = await api(world.a.tokens["member"]).post(url(world, f"bookings/{booking['id']}/cancel"))
    assert r.json()["late_cancel_charged"] is True
    assert await left(world.a.space, bucket) == 3
    assert not [c for c in r.json()["charges"] if c["item"] == "late_cancel_fee"]  # the units are the fee


async def test_a_space_may_give_units_back_even_on_a_late_cancellation(world, api):
    await set_settings(world.a.space, late_cancel_returns_credits=True)
    room = await create_room(world.a.space, cancel_deadline_hours=48, late_cancel="charge")
    bucket = await open_allowance(world.a.space, world.a.member, quantity=4)
    booking = (await _book(api, world, room)).json()
    await api(world.a.tokens["member"]).post(url(world, f"bookings/{booking['id']}/cancel"))
    assert await left(world.a.space, bucket) == 4


async def test_a_refund_into_an_expired_bucket_is_written_and_expired_at_once(world, api):
    room = await create_room(world.a.space)
    bucket = await open_allowance(world.a.space, world.a.member, quantity=2)
    booking = (await _book(api, world, room)).json()
    await expire(world.a.space, bucket)  # e.g. the subscription was ended early
    r = await api(world.a.tokens["manager"]).post(url(world, f"bookings/{booking['id']}/cancel"),
                                                  json={"reason": "fermeture"})
    assert r.status_code == 200
    assert [(e.kind, e.quantity) for e in await entries(world.a.space, bucket)] == [
        ("grant", 2), ("debit", -1), ("expiry", -1), ("refund", 1), ("expiry", -1)]
    assert await left(world.a.space, bucket) == 0


# -- staff: move and override ---------------------------------------------------------------------


async def test_a_staff_move_gives_the_units_back_and_takes_them_for_the_new_slot(world, api):
    room = await create_room(world.a.space)
    bucket = await open_allowance(world.a.space, world.a.member, quantity=2)
    booking = (await _book(api, world, room, start=9, end=10)).json()
    r = await api(world.a.tokens["manager"]).post(url(world, f"bookings/{booking['id']}/move"), json={
        "starts_at": iso(TOMORROW, 14), "ends_at": iso(TOMORROW, 17), "reason": "travaux"})
    assert r.status_code == 200, r.text
    assert _lines(r.json())[-2:] == [("plan", 2, 0), ("member", 1, 1500)]
    assert [(e.kind, e.quantity) for e in await entries(world.a.space, bucket)] == [
        ("grant", 2), ("debit", -1), ("refund", 1), ("debit", -2)]


async def test_staff_override_prices_a_booking_and_gives_its_credits_back_with_a_logged_reason(world, api):
    room = await create_room(world.a.space)
    bucket = await open_allowance(world.a.space, world.a.member, quantity=2)
    booking = (await _book(api, world, room)).json()
    path = url(world, f"bookings/{booking['id']}/credits")
    r = await api(world.a.tokens["manager"]).post(path, json={"use": "price", "reason": ""})
    assert r.status_code == 422
    r = await api(world.a.tokens["manager"]).post(path, json={"use": "price", "reason": "réservation pour un client"})
    assert r.status_code == 200, r.text
    assert r.json()["price_cents"] == 1500 and _lines(r.json())[-1] == ("member", 1, 1500)
    assert await left(world.a.space, bucket) == 2
    r = await api(world.a.tokens["manager"]).post(path, json={"use": "credits", "reason": "geste commercial"})
    assert r.json()["price_cents"] == 0 and await left(world.a.space, bucket) == 1
    async with db.transaction(space_id=world.a.space.id, write=False) as session:
        logged = (await session.exec(select(AuditEntry).where(AuditEntry.action == "booking.credits_overridden"))).all()
    assert [e.data["reason"] for e in logged] == ["réservation pour un client", "geste commercial"]
    assert (await api(world.a.tokens["member"]).post(path, json={"use": "price", "reason": "x"})).status_code == 403


async def test_a_grant_by_staff_is_used_like_an_allowance_before_a_pass(world, api):
    room = await create_room(world.a.space)
    carnet = await open_pass(world.a.space, world.a.member, units=2, rates={("meeting_room", "hour"): 1},
                             valid_until=paris(TODAY, 8) + timedelta(days=5))
    granted = await open_allowance(world.a.space, world.a.member, quantity=1, source=BucketSource.grant,
                                   valid_until=paris(TODAY, 8) + timedelta(days=90))
    r = await _book(api, world, room, start=9, end=11)
    assert _lines(r.json()) == [("plan", 1, 0), ("pass", 1, 0)]
    assert (await left(world.a.space, granted), await left(world.a.space, carnet)) == (0, 1)


async def test_the_weekly_series_preview_prices_each_date_with_the_credits_left_by_the_previous(world, api):
    room = await create_room(world.a.space)
    bucket = await open_allowance(world.a.space, world.a.member, quantity=3, valid_until=paris(TODAY, 8) + timedelta(days=40))
    r = await api(world.a.tokens["member"]).post(url(world, "booking-series/preview"), json={
        "resource_id": room.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 11), "count": 3})
    assert r.status_code == 200, r.text
    assert [o["price_cents"] for o in r.json()["occurrences"]] == [0, 1500, 3000]
    assert await left(world.a.space, bucket) == 3
