"""Balances, ledgers, grants and adjustments through the API. "Today" is Monday 1 March 2027."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from app.audit.models import AuditEntry
from app.core import db
from tests.booking.factories import TODAY, TOMORROW, create_room, freeze, iso, paris, url
from tests.membership.credit_factories import expire, left, open_allowance, open_pass


@pytest.fixture(autouse=True)
def _today():
    freeze()


def _member_path(world, account, rest: str) -> str:
    return url(world, f"members/{account.id}/{rest}")


async def test_a_member_sees_their_balances_and_ledger_and_staff_see_any_members(world, api):
    room = await create_room(world.a.space)
    await open_allowance(world.a.space, world.a.member, quantity=8, kinds="meeting_room", label="Formule Nomade")
    await open_pass(world.a.space, world.a.member, units=10, rates={("meeting_room", "hour"): 1}, label="Carnet 10")
    r = await api(world.a.tokens["member"]).post(url(world, "bookings"), json={
        "resource_id": room.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 12)})
    assert r.status_code == 201
    mine = (await api(world.a.tokens["member"]).get(url(world, "me/balances"))).json()
    assert [(b["label"], b["source"], b["left"], b["resource_kinds"]) for b in mine] == [
        ("Formule Nomade", "allowance", 5, ["meeting_room"]), ("Carnet 10", "pass", 10, [])]
    ledger = (await api(world.a.tokens["member"]).get(url(world, "me/ledger"), params={"limit": 2})).json()
    assert ledger["total"] == 3 and [(e["kind"], e["quantity"]) for e in ledger["items"]] == [("debit", -3), ("grant", 10)]
    assert ledger["items"][0]["booking_id"] == r.json()["id"]
    staff = await api(world.a.tokens["manager"]).get(_member_path(world, world.a.member, "balances"))
    assert staff.status_code == 200 and [b["left"] for b in staff.json()] == [5, 10]


async def test_members_cannot_read_someone_elses_credits_nor_grant(world, api):
    member = api(world.a.tokens["member"])
    assert (await member.get(_member_path(world, world.a.manager, "balances"))).status_code == 403
    assert (await member.get(_member_path(world, world.a.member, "ledger"))).status_code == 403
    r = await member.post(_member_path(world, world.a.member, "credits/grants"), json={
        "quantity": 5, "unit": "day", "valid_until": paris(TODAY + timedelta(days=30), 0).isoformat(), "reason": "x"})
    assert r.status_code == 403


async def test_another_spaces_member_or_an_outsider_is_a_404(world, api):
    manager = api(world.a.tokens["manager"])
    assert (await manager.get(_member_path(world, world.b.member, "balances"))).status_code == 404
    assert (await manager.get(_member_path(world, world.a.outsider, "ledger"))).status_code == 404


async def test_staff_grant_units_with_a_reason_that_the_log_keeps_and_a_booking_uses(world, api):
    room = await create_room(world.a.space)
    manager = api(world.a.tokens["manager"])
    r = await manager.post(_member_path(world, world.a.member, "credits/grants"), json={
        "quantity": 2, "unit": "hour", "resource_kinds": ["meeting_room"],
        "valid_until": paris(TODAY + timedelta(days=30), 0).isoformat(), "reason": "Bénévolat au festival"})
    assert r.status_code == 201, r.text
    assert r.json()["source"] == "grant" and r.json()["left"] == 2 and r.json()["label"] == "Bénévolat au festival"
    booked = await api(world.a.tokens["member"]).post(url(world, "bookings"), json={
        "resource_id": room.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 10)})
    assert booked.json()["price_kind"] == "plan"
    async with db.transaction(space_id=world.a.space.id, write=False) as session:
        logged = (await session.exec(select(AuditEntry).where(AuditEntry.action == "credits.granted"))).one()
    assert logged.data["reason"] == "Bénévolat au festival" and logged.actor_id == world.a.manager.id


@pytest.mark.parametrize("body, field", [
    ({"quantity": 2, "unit": "week", "valid_until": "2027-04-01T00:00:00+02:00", "reason": "x"}, None),
    ({"quantity": 2, "unit": "day", "valid_until": "2027-02-01T00:00:00+01:00", "reason": "x"}, "valid_until"),
    ({"quantity": 2, "unit": "day", "valid_until": "2027-04-01T00:00:00+02:00", "reason": ""}, None),
    ({"quantity": 0, "unit": "day", "valid_until": "2027-04-01T00:00:00+02:00", "reason": "x"}, None),
])
async def test_a_bad_grant_is_refused_and_writes_nothing(world, api, body, field):
    r = await api(world.a.tokens["manager"]).post(_member_path(world, world.a.member, "credits/grants"), json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    if field:
        assert field in r.json()["error"]["fields"]
    assert (await api(world.a.tokens["member"]).get(url(world, "me/balances"))).json() == []


async def test_an_adjustment_never_takes_a_balance_below_zero(world, api):
    bucket = await open_allowance(world.a.space, world.a.member, quantity=3)
    manager = api(world.a.tokens["manager"])
    path = _member_path(world, world.a.member, "credits/adjustments")
    r = await manager.post(path, json={"bucket_id": bucket.id, "quantity": -4, "reason": "erreur"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "credits_below_zero"
    assert "3" in r.json()["error"]["message"]
    r = await manager.post(path, json={"bucket_id": bucket.id, "quantity": -3, "reason": "erreur de saisie"})
    assert r.status_code == 201 and r.json()["kind"] == "adjust" and r.json()["reason"] == "erreur de saisie"
    assert await left(world.a.space, bucket) == 0
    r = await manager.post(path, json={"bucket_id": bucket.id, "quantity": 0, "reason": "rien"})
    assert r.status_code == 422


async def test_an_expired_or_unlimited_bucket_or_someone_elses_cannot_be_adjusted(world, api):
    expired = await open_allowance(world.a.space, world.a.member, quantity=3)
    await expire(world.a.space, expired)
    unlimited = await open_allowance(world.a.space, world.a.member, quantity=None)
    others = await open_allowance(world.a.space, world.a.animator, quantity=3)
    path = _member_path(world, world.a.member, "credits/adjustments")
    manager = api(world.a.tokens["manager"])
    r = await manager.post(path, json={"bucket_id": expired.id, "quantity": 1, "reason": "x"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "credits_expired"
    r = await manager.post(path, json={"bucket_id": unlimited.id, "quantity": 1, "reason": "x"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "credits_unlimited"
    assert (await manager.post(path, json={"bucket_id": others.id, "quantity": 1, "reason": "x"})).status_code == 404
    b_bucket = await open_allowance(world.b.space, world.b.member, quantity=3)
    assert (await manager.post(path, json={"bucket_id": b_bucket.id, "quantity": 1, "reason": "x"})).status_code == 404
