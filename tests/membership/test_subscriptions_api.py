"""Subscriptions through the API: assign, change with the proration shown first, pause, end,
cancel at the end of the period — and each refusal with its own code."""

from __future__ import annotations

from datetime import date

from app.core import db
from app.membership import renewals
from app.membership.models import MembershipSettings
from tests.booking.factories import TODAY, create_desk, create_resource, freeze, iso, post_booking
from tests.membership.factories_plans import (
    balance,
    buckets_of,
    charges_of,
    create_plan,
    orders_of,
    periods_of,
)

EIGHT_DAYS = {"resource_kinds": "hot_desk", "unit": "day", "quantity": 8}


def url(world, path: str) -> str:
    return f"/api/v1/spaces/{world.a.slug}/{path}"


async def assign(api, world, plan, starts_on: str, role: str = "member", **extra):
    return await api(world.a.tokens["manager"]).post(url(world, "subscriptions"), json={
        "account_id": world.a.accounts[role].id, "plan_id": plan.id, "starts_on": starts_on, **extra})


async def test_staff_assign_a_private_plan_and_the_member_sees_only_their_own(world, api):
    freeze(date(2027, 3, 1))
    plan = await create_plan(world.a.space, public=False, allowances=[EIGHT_DAYS])
    r = await assign(api, world, plan, "2027-03-01")
    assert r.status_code == 201, r.text
    assert r.json()["current_period_end"] == "2027-04-01"
    await assign(api, world, plan, "2027-03-01", role="animator")
    mine = (await api(world.a.tokens["member"]).get(url(world, "subscriptions"))).json()
    assert [s["account_id"] for s in mine] == [world.a.accounts["member"].id]
    staff = (await api(world.a.tokens["manager"]).get(url(world, "subscriptions?status=active"))).json()
    assert len(staff) == 2
    other = [s for s in staff if s["account_id"] != world.a.accounts["member"].id][0]
    assert (await api(world.a.tokens["member"]).get(url(world, f"subscriptions/{other['id']}"))).status_code == 404
    # Members cannot assign plans.
    r = await api(world.a.tokens["member"]).post(url(world, "subscriptions"), json={
        "account_id": world.a.accounts["member"].id, "plan_id": plan.id})
    assert r.status_code == 403


async def test_an_archived_plan_or_an_outsider_cannot_be_assigned(world, api):
    freeze(date(2027, 3, 1))
    archived = await create_plan(world.a.space)
    await api(world.a.tokens["manager"]).post(url(world, f"plans/{archived.id}/archive"))
    r = await assign(api, world, archived, "2027-03-01")
    assert r.status_code == 409 and r.json()["error"]["code"] == "plan_archived"
    plan = await create_plan(world.a.space)
    r = await api(world.a.tokens["manager"]).post(url(world, "subscriptions"), json={
        "account_id": world.a.accounts["outsider"].id, "plan_id": plan.id})
    assert r.status_code == 404
    other_space_plan = await create_plan(world.b.space)
    r = await assign(api, world, other_space_plan, "2027-03-01")
    assert r.status_code == 404 and r.json()["error"]["code"] == "plan_not_found"


async def test_a_change_is_previewed_then_confirmed_with_the_same_amounts(world, api):
    freeze(date(2027, 3, 16))
    space, member = world.a.space, world.a.accounts["member"]
    small = await create_plan(space, name="Mi-temps", price_cents=31000, allowances=[EIGHT_DAYS])
    large = await create_plan(space, name="Temps plein", price_cents=45000,
                              allowances=[{"resource_kinds": "hot_desk", "unit": "day", "quantity": 20}])
    sub = (await assign(api, world, small, "2027-03-01")).json()
    manager = api(world.a.tokens["manager"])
    preview = await manager.post(url(world, f"subscriptions/{sub['id']}/change-preview"), json={"plan_id": large.id})
    assert preview.status_code == 200, preview.text
    p = preview.json()
    assert (p["days_left"], p["days_in_period"], p["credit_cents"], p["charge_cents"]) == (16, 31, 16000, 23226)
    assert [x["amount_incl_cents"] for x in p["lines"]] == [-16000, 23226]
    assert len(await orders_of(space, member.id)) == 1  # nothing written by the preview
    done = await manager.post(url(world, f"subscriptions/{sub['id']}/change"), json={"plan_id": large.id})
    assert done.status_code == 200, done.text
    assert done.json()["total_incl_cents"] == 7226
    first, change = await orders_of(space, member.id)
    assert change.total_incl_cents == 7226
    assert sorted(c.amount_incl_cents for c in await charges_of(space, change.id)) == [-16000, 23226]
    assert {c.item for c in await charges_of(space, change.id)} == {"plan_change"}
    rows = await periods_of(space, sub["id"])
    assert [(r.starts_on, r.ends_on, r.plan_id) for r in rows] == [
        (date(2027, 3, 1), date(2027, 3, 16), small.id), (date(2027, 3, 16), date(2027, 4, 1), large.id)]
    old, new = await buckets_of(space, member.id)
    assert old.expired_at is not None and await balance(space, old.id) == 0
    assert await balance(space, new.id) == 10  # 20 × 16 / 31 = 10.3 → 10
    again = await manager.post(url(world, f"subscriptions/{sub['id']}/change-preview"), json={"plan_id": large.id})
    assert again.status_code == 409 and again.json()["error"]["code"] == "same_plan"
    # The next period is the new plan's, in full.
    freeze(date(2027, 4, 1))
    await renewals.renew_space(space.id)
    assert (await orders_of(space, member.id))[-1].total_incl_cents == 45000


async def test_a_change_outside_the_current_period_is_refused(world, api):
    freeze(date(2027, 3, 10))
    small, large = await create_plan(world.a.space), await create_plan(world.a.space, name="Grand", price_cents=50000)
    sub = (await assign(api, world, small, "2027-03-01")).json()
    r = await api(world.a.tokens["manager"]).post(url(world, f"subscriptions/{sub['id']}/change-preview"),
                                                  json={"plan_id": large.id, "on": "2027-04-02"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "change_outside_period"
    yearly = await create_plan(world.a.space, name="Année", period="year")
    r = await api(world.a.tokens["manager"]).post(url(world, f"subscriptions/{sub['id']}/change-preview"),
                                                  json={"plan_id": yearly.id})
    assert r.status_code == 422 and r.json()["error"]["code"] == "change_period_differs"


async def test_a_pause_across_a_month_boundary_credits_the_period_and_resumes_on_a_new_one(world, api):
    space, member = world.a.space, world.a.accounts["member"]
    freeze(date(2027, 7, 15))
    plan = await create_plan(space, price_cents=25000, allowances=[EIGHT_DAYS])
    sub = (await assign(api, world, plan, "2027-07-15")).json()
    manager = api(world.a.tokens["manager"])
    r = await manager.post(url(world, f"subscriptions/{sub['id']}/pause"),
                           json={"starts_on": "2027-08-01", "ends_on": "2027-09-01", "reason": "été"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"  # it begins on its first day
    freeze(date(2027, 8, 1))
    assert (await renewals.renew_space(space.id)).paused == 1
    orders = await orders_of(space, member.id)
    assert [o.total_incl_cents for o in orders] == [25000, -11290]
    (bucket,) = await buckets_of(space, member.id)
    assert bucket.expired_at is not None
    freeze(date(2027, 8, 15))
    assert (await renewals.renew_space(space.id)).renewed == 0  # nothing renewed while paused
    freeze(date(2027, 9, 1))
    run = await renewals.renew_space(space.id)
    assert run.resumed == 1
    got = (await manager.get(url(world, f"subscriptions/{sub['id']}"))).json()
    assert (got["status"], got["current_period_start"], got["current_period_end"], got["anchor_day"]) == (
        "active", "2027-09-01", "2027-10-01", 1)
    assert [o.total_incl_cents for o in await orders_of(space, member.id)] == [25000, -11290, 25000]


async def test_pauses_too_long_overlapping_or_backwards_are_refused(world, api):
    freeze(date(2027, 3, 1))
    async with db.transaction(space_id=world.a.space.id) as session:
        session.add(MembershipSettings(max_pause_days=30))
    plan = await create_plan(world.a.space)
    sub = (await assign(api, world, plan, "2027-03-01")).json()
    manager = api(world.a.tokens["manager"])
    pause = url(world, f"subscriptions/{sub['id']}/pause")
    r = await manager.post(pause, json={"starts_on": "2027-04-01", "ends_on": "2027-05-15"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "pause_too_long"
    assert "30" in r.json()["error"]["message"]
    r = await manager.post(pause, json={"starts_on": "2027-04-10", "ends_on": "2027-04-01"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "end_before_start"
    assert (await manager.post(pause, json={"starts_on": "2027-04-01", "ends_on": "2027-04-20"})).status_code == 200
    r = await manager.post(pause, json={"starts_on": "2027-04-15", "ends_on": "2027-04-25"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "pause_overlaps"


async def test_an_end_before_the_commitment_needs_force_and_a_reason(world, api):
    freeze(date(2027, 1, 15))
    space, member = world.a.space, world.a.accounts["member"]
    plan = await create_plan(space, price_cents=30000, min_commitment_periods=3, allowances=[EIGHT_DAYS])
    sub = (await assign(api, world, plan, "2027-01-15")).json()
    assert sub["committed_until"] == "2027-04-15"
    manager = api(world.a.tokens["manager"])
    end = url(world, f"subscriptions/{sub['id']}/end")
    r = await manager.post(end, json={"on": "2027-02-01"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "min_commitment_not_reached"
    r = await manager.post(end, json={"on": "2027-02-01", "force": True})
    assert r.status_code == 422 and r.json()["error"]["code"] == "force_needs_reason"
    r = await manager.post(end, json={"on": "2027-01-15", "force": True, "reason": "x"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "end_before_start"
    # Leaving after the last day of January, today: 14 days of 31 credited (135.48 €).
    freeze(date(2027, 2, 1))
    r = await manager.post(end, json={"on": "2027-02-01", "force": True, "reason": "déménagement"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ended" and r.json()["end_reason"] == "déménagement"
    assert [o.total_incl_cents for o in await orders_of(space, member.id)] == [30000, -13548]
    (bucket,) = await buckets_of(space, member.id)
    assert bucket.expired_at is not None
    r = await manager.post(end, json={"on": "2027-03-01"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "subscription_ended"


async def test_a_member_cancels_at_the_end_of_the_period_and_is_not_billed_after(world, api):
    freeze(date(2027, 3, 10))
    space, member = world.a.space, world.a.accounts["member"]
    plan = await create_plan(space)
    sub = (await assign(api, world, plan, "2027-03-01")).json()
    r = await api(world.a.tokens["member"]).post(url(world, f"subscriptions/{sub['id']}/cancel-at-period-end"))
    assert r.status_code == 200 and r.json()["ends_on"] == "2027-04-01"
    freeze(date(2027, 4, 1))
    run = await renewals.renew_space(space.id)
    assert (run.ended, run.renewed) == (1, 0)
    assert len(await orders_of(space, member.id)) == 1
    # Someone else's subscription cannot be cancelled by a member.
    other = (await assign(api, world, plan, "2027-04-01", role="animator")).json()
    r = await api(world.a.tokens["member"]).post(url(world, f"subscriptions/{other['id']}/cancel-at-period-end"))
    assert r.status_code == 404


async def test_a_fixed_desk_is_held_for_one_live_subscription(world, api):
    freeze(date(2027, 3, 1))
    desk = await create_resource(world.a.space, name="Bureau 4", kind="dedicated_desk", unit="day")
    plan = await create_plan(world.a.space, fixed_desk=True)
    r = await assign(api, world, plan, "2027-03-01", fixed_resource_id=desk.id)
    assert r.status_code == 201 and r.json()["fixed_resource_id"] == desk.id
    r = await assign(api, world, plan, "2027-03-01", role="animator", fixed_resource_id=desk.id)
    assert r.status_code == 409 and r.json()["error"]["code"] == "fixed_resource_taken"
    other_space_desk = await create_resource(world.b.space, name="Bureau B", kind="dedicated_desk", unit="day")
    r = await assign(api, world, plan, "2027-03-01", role="animator", fixed_resource_id=other_space_desk.id)
    assert r.status_code == 422 and r.json()["error"]["code"] == "fixed_resource_invalid"


async def test_a_fixed_desk_cannot_be_booked_by_others_while_held_and_can_once_ended(world, api):
    freeze(TODAY)  # Monday 1 March 2027
    desk = await create_desk(world.a.space, name="Bureau 9", kind="dedicated_desk", capacity=1, horizon_days=90)
    plan = await create_plan(world.a.space, fixed_desk=True)
    sub = (await assign(api, world, plan, TODAY.isoformat(), fixed_resource_id=desk.id)).json()
    day = date(2027, 3, 10)
    r = await post_booking(api, world, role="animator", resource_id=desk.id, starts_at=iso(day, 9),
                           ends_at=iso(day, 18))
    assert r.status_code in (409, 422) and r.json()["error"]["code"] == "resource_blocked", r.text
    # Renewed, it stays held in the next period.
    freeze(date(2027, 4, 1))
    await renewals.renew_space(world.a.space.id)
    later = date(2027, 4, 20)
    r = await post_booking(api, world, role="animator", resource_id=desk.id, starts_at=iso(later, 9),
                           ends_at=iso(later, 18))
    assert r.json()["error"]["code"] == "resource_blocked", r.text
    # Ended on 15 April: bookable from then.
    freeze(date(2027, 4, 15))
    await api(world.a.tokens["manager"]).post(url(world, f"subscriptions/{sub['id']}/end"), json={"on": "2027-04-15"})
    r = await post_booking(api, world, role="animator", resource_id=desk.id, starts_at=iso(later, 9),
                           ends_at=iso(later, 18))
    assert r.status_code == 201, r.text
