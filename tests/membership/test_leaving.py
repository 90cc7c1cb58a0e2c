"""A person who leaves — removed from the space, or deleting their account — is not billed after:
their subscriptions end that day, nothing renews them, their credits expire; their data is in the
account export, and a deleted person's requests to join lose what identifies them."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from app.core import db
from app.membership import renewals
from app.membership.models import CreditBucket, JoinRequest, Subscription
from app.space.models import SpaceMember
from tests.booking.factories import freeze
from tests.fixtures.factories import PASSWORD
from tests.membership.factories_plans import buckets_of, create_plan, orders_of, periods_of, read, start
from tests.membership.orders_factories import create_tier

EIGHT_DAYS = {"resource_kinds": "hot_desk", "unit": "day", "quantity": 8}


def base(world) -> str:
    return f"/api/v1/spaces/{world.a.slug}"


async def _a_member_with_a_plan(world, *, committed: bool = False) -> Subscription:
    freeze(date(2027, 1, 10))
    values = {"min_commitment_periods": 12} if committed else {}
    plan = await create_plan(world.a.space, allowances=[EIGHT_DAYS], **values)
    return await start(world.a.space, world.a.member, plan, date(2027, 1, 10))


async def _renewed_after(world, sub: Subscription) -> tuple[int, int]:
    """Next month's renewal run: how many periods and orders the person then has."""
    freeze(date(2027, 2, 10), hour=3)
    await renewals.renew_space(world.a.space.id)
    freeze(date(2027, 3, 10), hour=3)
    await renewals.renew_space(world.a.space.id)
    return len(await periods_of(world.a.space, sub.id)), len(await orders_of(world.a.space, world.a.member.id))


async def test_a_removed_member_is_not_billed_after_and_keeps_no_credits(world, api):
    sub = await _a_member_with_a_plan(world, committed=True)
    manager = api(world.a.tokens["manager"])
    r = await manager.post(f"{base(world)}/members/{world.a.member.id}/credits/grants", json={
        "quantity": 3, "unit": "day", "resource_kinds": [], "valid_until": "2027-06-30T00:00:00+02:00", "reason": "Bienvenue"})
    assert r.status_code == 201, r.text
    assert len((await manager.get(f"{base(world)}/members/{world.a.member.id}/balances")).json()) == 2
    freeze(date(2027, 1, 20))
    (member_row,) = await read(world.a.space, SpaceMember, SpaceMember.account_id == world.a.member.id)
    assert (await manager.delete(f"{base(world)}/members/{member_row.id}")).status_code == 204

    (ended,) = await read(world.a.space, Subscription, Subscription.id == sub.id)
    assert (ended.status, ended.ends_on) == ("ended", date(2027, 1, 20))  # that day, despite the commitment
    orders_before = len(await orders_of(world.a.space, world.a.member.id))  # the period's order and its credit
    assert await _renewed_after(world, sub) == (1, orders_before)
    assert all(b.expired_at is not None for b in await buckets_of(world.a.space, world.a.member.id))
    # Back in the space later: nothing left from before.
    async with db.transaction(space_id=world.a.space.id) as session:
        session.add(SpaceMember(account_id=world.a.member.id, role="member"))
    assert (await api(world.a.tokens["member"]).get(f"{base(world)}/me/balances")).json() == []


async def test_the_account_export_holds_subscriptions_credits_orders_adhesions_and_join_requests(world, api, client):
    sub = await _a_member_with_a_plan(world)
    member = api(world.a.tokens["member"])
    tier = await create_tier(world.a.space, name="Solidaire")
    assert (await member.post(f"{base(world)}/adhesions", json={"tier_id": tier.id})).status_code == 201
    r = await client.post(f"{base(world)}/join-requests", json={
        "name": "Paul", "email": world.a.member.email.upper(), "organisation": "Atelier", "needs": "Un bureau"})
    assert r.status_code == 202, r.text

    data = (await member.get("/api/v1/account/export")).json()
    (exported,) = data["subscriptions"]
    assert exported["plan"] == "Résident" and exported["status"] == "active"
    assert [p["starts_on"] for p in exported["periods"]] == ["2027-01-10"]
    assert exported["space"]["slug"] == world.a.slug
    (bucket,) = data["credits"]
    assert bucket["left"] == 8 and [e["kind"] for e in bucket["entries"]] == ["grant"]
    assert sorted(o["purpose"] for o in data["orders"]) == ["adhesion", "plan"]
    assert [a["tier"] for a in data["adhesions"]] == ["Solidaire"]
    assert [(j["organisation"], j["needs"]) for j in data["join_requests"]] == [("Atelier", "Un bureau")]
    assert "subscription" not in data["other"] and "credit_entry" not in data["other"]
    assert sub.id


async def test_deleting_the_account_ends_the_subscription_and_nothing_renews_it(world, web, client):
    sub = await _a_member_with_a_plan(world, committed=True)
    r = await client.post(f"{base(world)}/join-requests", json={
        "name": "Paul Dupont", "email": world.a.member.email, "organisation": "Atelier", "needs": "Un bureau"})
    assert r.status_code == 202
    freeze(date(2027, 1, 20))
    browser = await web(world.a.member)
    assert (await browser.post("/account/delete", {"password": PASSWORD})).status_code == 303

    (ended,) = await read(world.a.space, Subscription, Subscription.id == sub.id)
    assert (ended.status, ended.ends_on) == ("ended", date(2027, 1, 20))
    orders_before = len(await orders_of(world.a.space, world.a.member.id))
    assert await _renewed_after(world, sub) == (1, orders_before)  # records stay; nothing new
    assert all(b.expired_at is not None for b in await read(world.a.space, CreditBucket))
    async with db.transaction(space_id=world.a.space.id) as session:
        (req,) = (await session.exec(select(JoinRequest))).all()
    assert world.a.member.email not in req.email and req.email.endswith("@deleted.invalid")
    assert (req.name, req.organisation, req.needs) == ("Deleted account", "", "")
