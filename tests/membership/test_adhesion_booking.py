"""What a space may require a current adhésion for, at booking time: the member price, or booking
at all. "Today" is Monday 1 March 2027, 08:00 Paris."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from app.booking.models import Booking
from app.core import db
from app.membership.models import Adhesion
from tests.booking.factories import TOMORROW, create_room, freeze, iso, url
from tests.membership.orders_factories import create_tier, set_membership_settings


@pytest.fixture(autouse=True)
def _today():
    freeze()


async def _quote(api, world, room, role="member"):
    return await api(world.a.tokens[role]).post(url(world, "bookings/quote"), json={
        "resource_id": room.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 10)})


async def _give_adhesion(world, account, *, paid: bool = True, kind: str = "individual",
                         starts_on: date = date(2027, 1, 1)) -> None:
    tier = await create_tier(world.a.space, kind=kind)
    async with db.transaction(space_id=world.a.space.id) as session:
        from app.core import clock
        session.add(Adhesion(space_id=world.a.space.id, account_id=account.id, tier_id=tier.id,
                             starts_on=starts_on, ends_on=date(2028, 1, 1),
                             paid_at=clock.now() if paid else None))


async def test_without_a_requirement_a_member_pays_the_member_price(api, world):
    room = await create_room(world.a.space)
    r = await _quote(api, world, room)
    assert r.status_code == 200 and r.json()["price_cents"] == 1500


async def test_a_member_without_a_current_adhesion_pays_the_public_price_where_the_space_says_so(api, world):
    room = await create_room(world.a.space)
    await set_membership_settings(world.a.space, adhesion_for_member_prices=True)
    assert (await _quote(api, world, room)).json()["price_cents"] == 2500
    assert (await _quote(api, world, room, role="manager")).json()["price_cents"] == 1500  # the team is not asked
    await _give_adhesion(world, world.a.accounts["member"], paid=False)  # owed, not paid: not current
    assert (await _quote(api, world, room)).json()["price_cents"] == 2500
    await _give_adhesion(world, world.a.accounts["member"], kind="free", starts_on=date(2027, 2, 1))  # a free tier is current at once
    assert (await _quote(api, world, room)).json()["price_cents"] == 1500
    r = await api(world.a.tokens["member"]).post(url(world, "bookings"), json={
        "resource_id": room.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 10)})
    assert r.status_code == 201 and r.json()["price_cents"] == 1500


async def test_booking_at_all_can_require_a_current_adhesion_and_staff_may_still_book_for_the_member(api, world):
    room = await create_room(world.a.space)
    await set_membership_settings(world.a.space, adhesion_for_booking=True)
    member = api(world.a.tokens["member"])
    body = {"resource_id": room.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 10)}
    r = await member.post(url(world, "bookings"), json=body)
    assert r.status_code == 409 and r.json()["error"]["code"] == "adhesion_required"
    assert "adhésion" in r.json()["error"]["message"] or "membership" in r.json()["error"]["message"]
    assert (await _quote(api, world, room)).status_code == 409
    async with db.transaction(space_id=world.a.space.id) as session:
        assert (await session.exec(select(Booking))).all() == []  # nothing written
    mid = world.a.members["member"].id
    r = await api(world.a.tokens["manager"]).post(url(world, "bookings"), json={**body, "member_id": mid})
    assert r.status_code == 201, r.text
    await _give_adhesion(world, world.a.accounts["member"])
    r = await member.post(url(world, "bookings"), json={**body, "starts_at": iso(TOMORROW, 11),
                                                        "ends_at": iso(TOMORROW, 12)})
    assert r.status_code == 201 and r.json()["price_cents"] == 1500
