"""Staff pages: a plan created from the form, errors beside the field with what was typed kept,
a plan assigned, a change previewed then confirmed, the settings saved."""

from __future__ import annotations

from datetime import date

from app.core import money
from app.membership.models import Plan, PlanAllowance, Subscription
from tests.booking.factories import freeze
from tests.membership.factories_plans import create_plan, orders_of, read

FORM = {"name": "Résident", "period": "month", "price": "310,00", "vat_rate": "20", "public": "on",
        "allow_0_quantity": "8", "allow_0_unit": "day", "allow_0_kind": "hot_desk"}


async def test_a_manager_creates_a_plan_of_8_desk_days_from_the_form(world, web):
    browser = await web(world.a.accounts["manager"])
    page = await browser.get(f"/s/{world.a.slug}/plans/new")
    assert page.status_code == 200 and 'data-testid="plan-form"' in page.text
    r = await browser.post(f"/s/{world.a.slug}/plans/new", FORM)
    assert r.status_code == 303, r.text
    (plan,) = await read(world.a.space, Plan)
    assert (plan.name, plan.price_cents, plan.public) == ("Résident", 31000, True)
    (allowance,) = await read(world.a.space, PlanAllowance)
    assert (allowance.quantity, allowance.unit, allowance.resource_kinds) == (8, "day", "hot_desk")
    listing = await browser.get(f"/s/{world.a.slug}/plans")
    assert "Résident" in listing.text and money.format_money(31000, "EUR") in listing.text


async def test_a_bad_plan_form_is_shown_again_with_the_error_beside_the_field(world, web):
    browser = await web(world.a.accounts["manager"])
    r = await browser.post(f"/s/{world.a.slug}/plans/new", {**FORM, "price": "trois cents", "name": "Résident bis"})
    assert r.status_code == 422
    assert 'id="e-price"' in r.text and 'value="Résident bis"' in r.text
    r = await browser.post(f"/s/{world.a.slug}/plans/new", {**FORM, "allow_0_quantity": "0"})
    assert r.status_code == 422 and 'id="e-allow_0_quantity"' in r.text
    assert await read(world.a.space, Plan) == []


async def test_members_do_not_reach_the_plan_pages(world, web):
    browser = await web(world.a.accounts["member"])
    assert (await browser.get(f"/s/{world.a.slug}/plans")).status_code == 403
    assert (await browser.post(f"/s/{world.a.slug}/plans/new", FORM)).status_code == 403


async def test_a_plan_is_assigned_then_changed_after_seeing_the_proration(world, web):
    freeze(date(2027, 3, 16))
    small = await create_plan(world.a.space, name="Mi-temps", price_cents=31000)
    large = await create_plan(world.a.space, name="Temps plein", price_cents=45000)
    browser = await web(world.a.accounts["manager"])
    member = world.a.accounts["member"]
    r = await browser.post(f"/s/{world.a.slug}/subscriptions", {
        "account_id": str(member.id), "plan_id": str(small.id), "starts_on": "2027-03-01"})
    assert r.status_code == 303, r.text
    (sub,) = await read(world.a.space, Subscription)
    page = await browser.get(f"/s/{world.a.slug}/subscriptions/{sub.id}")
    assert "Mi-temps" in page.text
    preview = await browser.post(f"/s/{world.a.slug}/subscriptions/{sub.id}/change",
                                 {"plan_id": str(large.id), "on": "2027-03-16"})
    assert preview.status_code == 200 and 'data-testid="change-preview"' in preview.text
    assert money.format_money(7226, "EUR") in preview.text
    assert len(await orders_of(world.a.space, member.id)) == 1
    done = await browser.post(f"/s/{world.a.slug}/subscriptions/{sub.id}/change",
                              {"plan_id": str(large.id), "on": "2027-03-16", "confirm": "1"})
    assert done.status_code == 303
    assert [o.total_incl_cents for o in await orders_of(world.a.space, member.id)] == [31000, 7226]


async def test_an_end_refused_by_the_commitment_shows_beside_the_date(world, web):
    freeze(date(2027, 3, 1))
    plan = await create_plan(world.a.space, min_commitment_periods=6)
    browser = await web(world.a.accounts["manager"])
    await browser.post(f"/s/{world.a.slug}/subscriptions", {
        "account_id": str(world.a.accounts["member"].id), "plan_id": str(plan.id), "starts_on": "2027-03-01"})
    (sub,) = await read(world.a.space, Subscription)
    r = await browser.post(f"/s/{world.a.slug}/subscriptions/{sub.id}/end", {"ends_on": "2027-05-01"})
    assert r.status_code == 409 and 'id="e-ends_on"' in r.text
    (sub,) = await read(world.a.space, Subscription)
    assert sub.ends_on is None


async def test_the_membership_settings_page_saves(world, web):
    browser = await web(world.a.accounts["manager"])
    page = await browser.get(f"/s/{world.a.slug}/membership-settings")
    assert page.status_code == 200
    r = await browser.post(f"/s/{world.a.slug}/membership-settings", {
        "join_policy": "open", "adhesion_year": "school", "when_credits_run_out": "refuse", "max_pause_days": "45",
        "reminder_days": "7", "adhesion_for_booking": "on"})
    assert r.status_code == 303
    page = await browser.get(f"/s/{world.a.slug}/membership-settings")
    assert 'value="45"' in page.text
    r = await browser.post(f"/s/{world.a.slug}/membership-settings", {
        "join_policy": "open", "adhesion_year": "school", "when_credits_run_out": "refuse", "max_pause_days": "999",
        "reminder_days": "7"})
    assert r.status_code == 422 and 'id="e-max_pause_days"' in r.text
