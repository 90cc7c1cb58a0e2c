"""Memberships in a real browser: a visitor asks to join and the manager accepts (the invitation
makes them a member); a member buys a 10-half-day carnet, the manager marks it paid on site, and
the member sees their 10 units, then books a half-day desk with one of them and sees 9."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import latest_link, run_in_db

pytestmark = pytest.mark.e2e
_n = count(1)


async def _space(label: str):
    from datetime import time

    from app.booking import hours
    from app.core import db
    from app.membership.models import PassRate
    from tests.booking.factories import create_desk
    from tests.fixtures.factories import (
        add_member,
        create_account,
        create_space,
        session_cookie,
        unique_email,
    )
    from tests.membership.orders_factories import create_pass, create_plan

    n = next(_n)
    manager = await create_account(f"{label} manager", unique_email(f"e2e-m-{label}"))
    space = await create_space(manager, name=f"Tiers-lieu {label} {n}", slug=f"e2e-ms-{label}-{n}", locale="en")
    member = await create_account(f"{label.title()} Member", unique_email(f"e2e-m-{label}-member"))
    await add_member(space, member, "member")
    carnet = await create_pass(space, name="Carnet 10 demi-journées", units=10, price_cents=9000)
    async with db.transaction(space_id=space.id) as session:
        await hours.save_hours(session, space, manager, days={d: [(time(9), time(18))] for d in range(7)})
        session.add(PassRate(space_id=space.id, pass_product_id=carnet.id, resource_kind="hot_desk", unit="half_day",
                             units_per=1))
    await create_desk(space, name="Open space", unit="half_day", capacity=4, horizon_days=30)
    await create_plan(space, name="Nomade", public=True)
    return space, await session_cookie(manager), await session_cookie(member)


def _as(browser, base_url: str, cookie: str | None):
    context = browser.new_context(base_url=base_url, locale="en-GB", timezone_id="Europe/Paris")
    cookies = [{"name": "fabrique_lang", "value": "en", "url": base_url}]
    if cookie:
        cookies.append({"name": "fabrique_session", "value": cookie, "url": base_url})
    context.add_cookies(cookies)
    return context, context.new_page()


def test_a_visitor_asks_to_join_and_the_manager_accepts(live_server, browser):
    space, manager_cookie, _member = run_in_db(_space, "join")
    visitor_ctx, visitor = _as(browser, live_server, None)
    visitor.goto(f"/s/{space.slug}/join")
    form = visitor.get_by_test_id("join-form")
    form.get_by_label("Name").fill("Inès Moreau")
    form.get_by_label("E-mail address").fill("ines.join@example.org")
    form.get_by_label("Organisation (optional)").fill("Collectif Vélo")
    form.get_by_label("What do you need?").fill("A desk two days a week")
    form.get_by_label("Plan (optional)").select_option(index=1)
    form.get_by_role("button", name="Send my request").click()
    expect(visitor.get_by_test_id("join-sent")).to_be_visible()

    manager_ctx, manager = _as(browser, live_server, manager_cookie)
    manager.goto(f"/s/{space.slug}/manage/memberships")
    manager.get_by_role("link", name="Requests to join").click()
    request = manager.get_by_test_id("join-request")
    expect(request).to_contain_text("Inès Moreau")
    expect(request).to_contain_text("Collectif Vélo")
    request.get_by_test_id("accept-join").click()
    expect(manager.locator(".flash")).to_contain_text("ines.join@example.org")
    expect(manager.get_by_test_id("join-request")).to_have_count(0)

    link = latest_link("ines.join@example.org", "/invitations/", live_server)
    visitor.goto(link)
    visitor.get_by_role("button", name="Create my account").click()
    visitor.get_by_label("Your name").fill("Inès Moreau")
    visitor.get_by_label("Password").fill("correct-horse-battery")
    visitor.get_by_role("button", name="Create my account").click()
    # Sign-up answers the same for every address: the e-mailed link proves it and logs in.
    expect(visitor.get_by_test_id("signup-sent")).to_be_visible()
    visitor.goto(latest_link("ines.join@example.org", "/verify-email/", live_server))
    visitor.get_by_test_id("accept-invitation").click()
    expect(visitor).to_have_url(re.compile(rf"/s/{space.slug}$"))
    manager.goto(f"/s/{space.slug}/members")
    expect(manager.get_by_test_id("members-table")).to_contain_text("ines.join@example.org")
    visitor_ctx.close()
    manager_ctx.close()


def test_a_member_buys_a_carnet_marked_paid_on_site(live_server, browser):
    space, manager_cookie, member_cookie = run_in_db(_space, "carnet")
    member_ctx, member = _as(browser, live_server, member_cookie)
    member.goto(f"/s/{space.slug}")
    member.get_by_role("link", name="My membership").first.click()
    buy = member.get_by_test_id("buy-pass")
    expect(buy.get_by_label("Buy a pass")).to_contain_text("Carnet 10 demi-journées")
    buy.get_by_role("button", name="Buy").click()
    expect(member.locator(".flash")).to_contain_text("once it is paid")
    expect(member.get_by_test_id("order-status")).to_have_text("to pay")
    expect(member.get_by_test_id("credit-row")).to_have_count(0)
    order_url = member.get_by_test_id("order-row").get_by_role("link").get_attribute("href")

    manager_ctx, manager = _as(browser, live_server, manager_cookie)
    manager.goto(f"/s/{space.slug}/manage/orders")
    expect(manager.get_by_test_id("order-row")).to_contain_text("Carnet 10 demi-journées")
    manager.get_by_test_id("order-row").get_by_role("link").click()
    expect(manager).to_have_url(re.compile(re.escape(order_url) + "$"))
    manager.get_by_test_id("mark-paid").click()
    expect(manager.locator(".flash")).to_contain_text("marked paid")
    expect(manager.get_by_test_id("mark-paid")).to_have_count(0)

    member.reload()
    expect(member.get_by_test_id("order-status")).to_have_text("paid")
    row = member.get_by_test_id("credit-row")
    expect(row).to_contain_text("Carnet 10 demi-journées")
    expect(row.get_by_test_id("credit-left")).to_have_text("10")

    # One unit buys a half-day of the open space: the quote says so, the booking takes it.
    tomorrow = (datetime.now(ZoneInfo("Europe/Paris")).date() + timedelta(days=1)).isoformat()
    member.goto(f"/s/{space.slug}/book")
    member.get_by_label("Day", exact=True).fill(tomorrow)
    member.get_by_role("button", name="See availability").click()
    member.get_by_test_id("desk-grid").get_by_test_id("slot-free").first.click()
    expect(member.get_by_test_id("credits-used")).to_contain_text("Carnet 10 demi-journées")
    expect(member.get_by_test_id("price")).to_contain_text("0.00")
    member.get_by_test_id("confirm-button").click()
    expect(member).to_have_url(re.compile(rf"/s/{space.slug}/bookings/mine$"))
    expect(member.get_by_test_id("credits-left")).to_contain_text("9 units left")
    member.goto(f"/s/{space.slug}")
    member.get_by_role("link", name="My membership").first.click()
    expect(member.get_by_test_id("credit-row").get_by_test_id("credit-left")).to_have_text("9")
    member_ctx.close()
    manager_ctx.close()
