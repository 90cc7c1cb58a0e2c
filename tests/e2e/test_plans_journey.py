"""Plans in a real browser: a manager creates a plan with 8 desk-days a month and assigns it to a
member (the member's side — booking with the allowance — is the credits area's journey)."""

from __future__ import annotations

import re
from itertools import count

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import run_in_db

pytestmark = pytest.mark.e2e
_n = count(1)


async def _space():
    from tests.fixtures.factories import (
        add_member,
        create_account,
        create_space,
        session_cookie,
        unique_email,
    )

    n = next(_n)
    owner = await create_account("Plans owner", unique_email("e2e-plans-owner"))
    space = await create_space(owner, name=f"Coworking plans {n}", slug=f"e2e-plans-{n}", locale="en")
    manager = await create_account("Plans Manager", unique_email("e2e-plans-manager"))
    member = await create_account("Camille Membre", unique_email("e2e-plans-member"))
    await add_member(space, manager, "manager")
    await add_member(space, member, "member")
    return space, await session_cookie(manager), member


def test_manager_creates_a_plan_of_8_desk_days_and_assigns_it_to_a_member(live_server, browser):
    space, cookie, member = run_in_db(_space)
    context = browser.new_context(base_url=live_server, locale="en-GB", timezone_id="Europe/Paris")
    context.add_cookies([{"name": "fabrique_session", "value": cookie, "url": live_server},
                         {"name": "fabrique_lang", "value": "en", "url": live_server}])
    page = context.new_page()
    page.goto(f"/s/{space.slug}/plans")
    page.get_by_test_id("new-plan").click()
    form = page.get_by_test_id("plan-form")
    form.get_by_label("Name").fill("Résident 8 jours")
    form.get_by_label("Billed").select_option("month")
    form.get_by_label("Price per period (€, VAT included)").fill("180")
    row = form.get_by_test_id("allowance-0")
    row.get_by_label("Quantity").fill("8")
    row.get_by_label("Unit").select_option("day")
    row.get_by_label("Of").select_option("hot_desk")
    form.get_by_test_id("save-plan").click()
    expect(page.locator(".flash")).to_contain_text("Résident 8 jours")
    table = page.get_by_test_id("plans-table")
    expect(table).to_contain_text("Résident 8 jours")
    expect(table).to_contain_text("8 days")
    expect(table).to_contain_text("180.00")

    page.goto(f"/s/{space.slug}/subscriptions")
    assign = page.get_by_test_id("assign-form")
    assign.locator("select[name=account_id]").select_option(label="Camille Membre")
    assign.locator("select[name=plan_id]").select_option(label="Résident 8 jours")
    assign.get_by_test_id("assign").click()
    expect(page).to_have_url(re.compile(rf"/s/{space.slug}/subscriptions/\d+$"))
    expect(page.locator(".flash")).to_contain_text("assigned")
    expect(page.get_by_test_id("subscription")).to_contain_text("active")
    page.goto(f"/s/{space.slug}/subscriptions")
    expect(page.get_by_test_id("subscriptions-table")).to_contain_text("Camille Membre")
    expect(page.get_by_test_id("subscriptions-table")).to_contain_text("Résident 8 jours")
    context.close()
