"""Charges written with bookings, series and registrations, reversed on cancellation, never edited.

"Today" is Monday 1 March 2027, 08:00 Paris (the booking factories' frozen clock).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select, update

from app.core import db
from app.core.records import RecordKept
from app.event import registration as registrations
from app.pricing.models import Charge, ChargeIsImmutable
from tests.booking.factories import TOMORROW, create_desk, create_room, freeze, iso, url
from tests.event.factories import create_event, register
from tests.fixtures.harness import link_in


@pytest.fixture(autouse=True)
def _today():
    freeze()


async def _charges(space, source_type: str = "booking", source_id: int | None = None) -> list[Charge]:
    async with db.transaction(space_id=space.id) as session:
        stmt = select(Charge).where(Charge.source_type == source_type).order_by(col(Charge.id))
        if source_id is not None:
            stmt = stmt.where(Charge.source_id == source_id)
        return list((await session.exec(stmt)).all())


async def _book(api, world, room, role="member", start=9, end=10, **extra):
    r = await api(world.a.tokens[role]).post(url(world, "bookings"), json={
        "resource_id": room.id, "starts_at": iso(TOMORROW, start), "ends_at": iso(TOMORROW, end), **extra})
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_member_s_booking_is_charged_the_member_price_vat_included(world, api):
    room = await create_room(world.a.space)  # 15 € members / 25 € public, the space's default rate (20 %)
    booking = await _book(api, world, room, end=11)
    assert booking["price_cents"] == 3000 and booking["price_kind"] == "member"
    [line] = booking["charges"]
    assert (line["quantity"], line["unit"], line["unit_price_cents"], line["vat_rate_bp"]) == (2, "hour", 1500, 2000)
    assert (line["amount_excl_cents"], line["vat_cents"], line["amount_incl_cents"]) == (2500, 500, 3000)
    assert line["label"] == room.name and line["price_kind"] == "member"
    [stored] = await _charges(world.a.space, source_id=booking["id"])
    assert stored.account_id == world.a.member.id and stored.amount_incl_cents == 3000
    r = await api(world.a.tokens["member"]).get(url(world, f"bookings/{booking['id']}"))
    assert [c["id"] for c in r.json()["charges"]] == [stored.id]


async def test_staff_booking_a_guest_charge_the_public_price_and_members_cannot(world, api):
    room = await create_room(world.a.space)
    booking = await _book(api, world, room, role="manager", guest=True)
    assert booking["price_kind"] == "public" and booking["price_cents"] == 2500
    assert booking["charges"][0]["price_kind"] == "public"
    r = await api(world.a.tokens["member"]).post(url(world, "bookings"), json={
        "resource_id": room.id, "starts_at": iso(TOMORROW, 11), "ends_at": iso(TOMORROW, 12), "guest": True})
    assert r.status_code == 403
    assert len(await _charges(world.a.space)) == 1  # nothing more written
    r = await api(world.a.tokens["manager"]).post(url(world, "bookings/quote"), json={
        "resource_id": room.id, "starts_at": iso(TOMORROW, 11), "ends_at": iso(TOMORROW, 12), "guest": True})
    assert r.json()["price_kind"] == "public" and r.json()["lines"][0]["amount_incl_cents"] == 2500


async def test_a_member_booked_by_staff_pays_the_member_price(world, api):
    room = await create_room(world.a.space)
    booking = await _book(api, world, room, role="manager", member_id=world.a.members["member"].id)
    assert booking["price_kind"] == "member" and booking["charges"][0]["amount_incl_cents"] == 1500


async def test_a_cancellation_writes_a_reversing_charge_and_edits_nothing(world, api):
    room = await create_room(world.a.space)
    booking = await _book(api, world, room)
    r = await api(world.a.tokens["member"]).post(url(world, f"bookings/{booking['id']}/cancel"), json={})
    assert r.status_code == 200, r.text
    original, reversal = r.json()["charges"]
    assert reversal["reverses_id"] == original["id"]
    assert (reversal["quantity"], reversal["amount_incl_cents"], reversal["vat_cents"]) == (-1, -1500, -250)
    assert sum(c.amount_incl_cents for c in await _charges(world.a.space)) == 0


async def test_a_late_cancellation_under_a_charge_policy_charges_a_fee(world, api):
    room = await create_room(world.a.space, cancel_deadline_hours=48, late_cancel="charge")
    booking = await _book(api, world, room)
    r = await api(world.a.tokens["member"]).post(url(world, f"bookings/{booking['id']}/cancel"), json={})
    assert r.json()["late_cancel_charged"] is True
    items = [(c["item"], c["amount_incl_cents"]) for c in r.json()["charges"]]
    assert items == [("booking", 1500), ("booking", -1500), ("late_cancel_fee", 1500)]


async def test_a_move_reverses_the_old_slot_and_charges_the_new_one(world, api):
    room = await create_room(world.a.space)
    booking = await _book(api, world, room)
    r = await api(world.a.tokens["manager"]).post(url(world, f"bookings/{booking['id']}/move"), json={
        "starts_at": iso(TOMORROW, 14), "ends_at": iso(TOMORROW, 16)})
    assert r.status_code == 200, r.text
    assert [c["amount_incl_cents"] for c in r.json()["charges"]] == [1500, -1500, 3000]


async def test_a_series_is_charged_per_occurrence(world, api):
    desk = await create_desk(world.a.space)
    r = await api(world.a.tokens["member"]).post(url(world, "booking-series"), json={
        "resource_id": desk.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 18), "count": 3})
    assert r.status_code == 201, r.text
    bookings = r.json()["bookings"]
    assert [len(b["charges"]) for b in bookings] == [1, 1, 1]
    stored = await _charges(world.a.space)
    assert sorted(c.source_id for c in stored) == sorted(b["id"] for b in bookings)
    assert {c.amount_incl_cents for c in stored} == {1200}


async def test_a_free_resource_writes_no_charge(world, api):
    room = await create_room(world.a.space, price_member_cents=0)
    booking = await _book(api, world, room)
    assert booking["charges"] == [] and await _charges(world.a.space) == []


async def test_a_space_that_types_prices_excluding_vat_charges_vat_on_top(world, api):
    r = await api(world.a.tokens["owner"]).patch(f"/api/v1/spaces/{world.a.slug}", json={
        "prices_include_vat": False, "default_vat_rate_bp": 1000})
    assert r.status_code == 200 and r.json()["prices_include_vat"] is False
    room = await create_room(world.a.space, price_member_cents=1000)
    booking = await _book(api, world, room)
    [line] = booking["charges"]
    assert (line["amount_excl_cents"], line["vat_rate_bp"], line["vat_cents"], line["amount_incl_cents"]) == \
        (1000, 1000, 100, 1100)
    assert booking["price_cents"] == 1100


async def test_a_resource_s_own_rate_overrides_the_space_default(world, api):
    r = await api(world.a.tokens["manager"]).post(url(world, "resources"), json={
        "name": "Salle Verte", "kind": "meeting_room", "unit": "hour", "price_member_cents": 1055,
        "vat_rate_bp": 550})
    assert r.status_code == 201, r.text
    assert r.json()["vat_rate_bp"] == 550
    booking = await _book(api, world, type("R", (), {"id": r.json()["id"]}))
    assert (booking["charges"][0]["vat_rate_bp"], booking["charges"][0]["amount_excl_cents"]) == (550, 1000)


@pytest.mark.parametrize("regime", ["franchise", "association"])
async def test_a_space_exempt_from_vat_charges_none_whatever_rate_a_resource_names(world, api, regime):
    """Under the franchise en base or the association exemption an invoice carries no VAT: the
    price typed is the price paid, all of it excluding VAT."""
    manager = api(world.a.tokens["manager"])
    r = await manager.patch(f"/api/v1/spaces/{world.a.slug}", json={
        "legal_form": "association", "vat_regime": regime})
    assert r.status_code == 200, r.text
    r = await manager.post(url(world, "resources"), json={
        "name": "Salle Verte", "kind": "meeting_room", "unit": "hour", "price_member_cents": 1200,
        "vat_rate_bp": 2000})
    booking = await _book(api, world, type("R", (), {"id": r.json()["id"]}))
    [line] = booking["charges"]
    assert (line["vat_rate_bp"], line["vat_cents"], line["amount_excl_cents"], line["amount_incl_cents"]) == (
        0, 0, 1200, 1200)


@pytest.mark.parametrize("rate", [1960, -1, 20])
async def test_an_unknown_vat_rate_is_refused_by_the_api(world, api, rate):
    r = await api(world.a.tokens["manager"]).post(url(world, "resources"), json={
        "name": "Salle", "kind": "meeting_room", "unit": "hour", "vat_rate_bp": rate})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_vat_rate"
    r = await api(world.a.tokens["owner"]).patch(f"/api/v1/spaces/{world.a.slug}", json={"default_vat_rate_bp": rate})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_vat_rate"


async def test_the_settings_page_sets_the_default_rate_and_vat_excluded_prices(world, web):
    owner = await web(world.a.owner)
    base = {"name": "Renamed", "timezone": "Europe/Paris", "locale": "fr"}
    r = await owner.post(f"/s/{world.a.slug}/settings", {**base, "default_vat_rate": "5,5",
                                                          "prices_include_vat": "excluded"})
    assert r.status_code == 303, r.text
    async with db.transaction() as session:
        from app.space.models import Space
        space = await session.get(Space, world.a.space.id)
        assert (space.default_vat_rate_bp, space.prices_include_vat) == (550, False)
    r = await owner.post(f"/s/{world.a.slug}/settings", {**base, "name": "Typed", "default_vat_rate": "19.6"})
    assert r.status_code == 422 and 'aria-describedby="e-default_vat_rate"' in r.text and 'value="Typed"' in r.text


async def test_a_charge_cannot_be_edited_or_deleted(world, api):
    room = await create_room(world.a.space)
    booking = await _book(api, world, room)
    with pytest.raises(ChargeIsImmutable):
        async with db.transaction(space_id=world.a.space.id) as session:
            charge = (await session.exec(select(Charge).where(Charge.source_id == booking["id"]))).one()
            charge.amount_incl_cents = 0
            session.add(charge)
    with pytest.raises(RecordKept):
        async with db.transaction(space_id=world.a.space.id) as session:
            charge = (await session.exec(select(Charge).where(Charge.source_id == booking["id"]))).one()
            await session.delete(charge)
    with pytest.raises(RecordKept):
        async with db.transaction(space_id=world.a.space.id) as session:
            await session.exec(delete(Charge).where(Charge.source_id == booking["id"]))
    assert [c.amount_incl_cents for c in await _charges(world.a.space)] == [1500]
    with pytest.raises(IntegrityError, match="charge_immutable"):  # a bulk UPDATE too, by the database
        async with db.transaction(space_id=world.a.space.id) as session:
            await session.exec(update(Charge).where(Charge.source_id == booking["id"]).values(amount_incl_cents=0))
    assert [c.amount_incl_cents for c in await _charges(world.a.space)] == [1500]


async def test_two_cancellations_racing_reverse_the_charges_once(world, api):
    room = await create_room(world.a.space)
    booking = await _book(api, world, room)
    member = api(world.a.tokens["member"])
    answers = await asyncio.gather(*[member.post(url(world, f"bookings/{booking['id']}/cancel"), json={})
                                     for _ in range(4)])
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409], [a.text for a in answers]
    assert [c.amount_incl_cents for c in await _charges(world.a.space)] == [1500, -1500]


# -- registrations ----------------------------------------------------------------------------------


async def test_a_member_s_registration_is_charged_and_reversed_when_cancelled(world, api):
    event = await create_event(world.a.space, world.a.animator, price_member_cents=800, price_public_cents=1200,
                               starts_at=TOMORROW_EVENING())
    member = api(world.a.tokens["member"])
    r = await member.post(f"/api/v1/spaces/{world.a.slug}/events/{event.id}/registrations")
    assert r.status_code == 201, r.text
    [line] = r.json()["charges"]
    assert (line["item"], line["price_kind"], line["amount_incl_cents"], line["label"]) == \
        ("registration", "member", 800, event.title)
    r = await member.post(f"/api/v1/spaces/{world.a.slug}/registrations/{r.json()['id']}/cancel")
    assert [c["amount_incl_cents"] for c in r.json()["charges"]] == [800, -800]


async def test_the_member_sees_the_charges_on_my_bookings_and_on_the_event_page(world, api, web):
    room = await create_room(world.a.space)
    booking = await _book(api, world, room)
    event = await create_event(world.a.space, world.a.animator, price_member_cents=800, starts_at=TOMORROW_EVENING())
    await register(world.a.space, event, world.a.member)
    member = await web(world.a.member)
    page = await member.get(f"/s/{world.a.slug}/bookings/mine")
    assert f'data-testid="charges-{booking["id"]}"' in page.text and "TTC" in page.text
    page = await member.get(f"/s/{world.a.slug}/events/{event.id}")
    assert 'data-testid="registration-charges"' in page.text


async def test_a_waitlisted_registration_is_charged_only_when_it_gets_a_seat(world, api):
    event = await create_event(world.a.space, world.a.animator, price_member_cents=800, capacity=1,
                               starts_at=TOMORROW_EVENING())
    first = await register(world.a.space, event, world.a.owner)
    second = await register(world.a.space, event, world.a.member)
    assert second.status == "waitlisted"
    assert await _charges(world.a.space, "registration", second.id) == []
    r = await api(world.a.tokens["owner"]).post(f"/api/v1/spaces/{world.a.slug}/registrations/{first.id}/cancel")
    assert r.status_code == 200
    [charge] = await _charges(world.a.space, "registration", second.id)
    assert charge.account_id == world.a.member.id and charge.amount_incl_cents == 800


async def test_a_visitor_pays_the_public_price_once_confirmed(world, web, outbox):
    event = await create_event(world.a.space, world.a.animator, price_member_cents=0, price_public_cents=500,
                               starts_at=TOMORROW_EVENING())
    visitor = await web()
    await visitor.post(f"/p/{world.a.slug}/events/{event.id}/register", {"name": "Eve", "email": "eve@example.org"})
    assert await _charges(world.a.space, "registration") == []  # not confirmed yet: no seat, no charge
    await visitor.post(f"{link_in((await outbox())[0], '/r/')}/confirm")
    [charge] = await _charges(world.a.space, "registration")
    assert (charge.account_id, charge.price_kind, charge.amount_incl_cents) == (None, "public", 500)
    page = await visitor.get(link_in((await outbox())[0], '/r/'))
    assert 'data-testid="registration-charges"' in page.text


async def test_cancelling_an_event_reverses_its_registrations_charges(world, api):
    event = await create_event(world.a.space, world.a.animator, price_member_cents=800, starts_at=TOMORROW_EVENING())
    async with db.transaction(space_id=world.a.space.id) as session:
        await registrations.register_member(session, world.a.space, event, world.a.member)
    r = await api(world.a.tokens["animator"]).post(f"/api/v1/spaces/{world.a.slug}/events/{event.id}/cancel")
    assert r.status_code == 200, r.text
    assert [c.amount_incl_cents for c in await _charges(world.a.space, "registration")] == [800, -800]


def TOMORROW_EVENING():  # noqa: N802
    from tests.booking.factories import paris

    return paris(TOMORROW, 18) + timedelta(days=1)


async def test_staff_book_a_guest_at_the_public_price_from_the_calendar(world, web):
    room = await create_room(world.a.space)
    browser = await web(world.a.manager)
    page = await browser.get(f"/s/{world.a.slug}/calendar")
    assert 'name="guest"' in page.text
    r = await browser.post(f"/s/{world.a.slug}/calendar/book", {
        "member_id": world.a.members["manager"].id, "resource_id": room.id, "date": TOMORROW.isoformat(),
        "start": "14:00", "end": "15:00", "guest": "1"})
    assert r.status_code == 303, r.text
    [charge] = await _charges(world.a.space)
    assert (charge.price_kind, charge.amount_incl_cents) == ("public", 2500)
