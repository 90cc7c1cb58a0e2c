"""Bookings in a real browser: a member books tomorrow's desk from a phone and cancels it; a manager
creates a meeting room with hourly rules and sees a member's booking of it in the calendar.

The live server runs on the real clock: "tomorrow" is the real tomorrow, so the space opens every day.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import run_in_db

pytestmark = pytest.mark.e2e
_n = count(1)
PARIS = ZoneInfo("Europe/Paris")


def _tomorrow():
    return (datetime.now(PARIS) + timedelta(days=1)).date()


async def _space(label: str, with_desk: bool):
    from app.booking import hours
    from app.core import db
    from tests.booking.factories import create_desk
    from tests.fixtures.factories import (
        add_member,
        create_account,
        create_space,
        session_cookie,
        unique_email,
    )

    n = next(_n)
    owner = await create_account(f"{label} owner", unique_email(f"e2e-bk-{label}-owner"))
    space = await create_space(owner, name=f"Coworking {label} {n}", slug=f"e2e-bk-{label}-{n}", locale="en")
    async with db.transaction(space_id=space.id) as session:
        await hours.save_hours(session, space, owner, days={d: [(time(9), time(18))] for d in range(7)})
    if with_desk:
        await create_desk(space, name="Grande table", capacity=6, horizon_days=30)
    people = {}
    for role in ("manager", "member"):
        account = await create_account(f"{label.title()} {role.title()}", unique_email(f"e2e-bk-{label}-{role}"))
        await add_member(space, account, role)
        people[role] = (account, await session_cookie(account))
    return space, people


def _as(browser, base_url: str, cookie: str, **options):
    options = {"locale": "en-GB", "timezone_id": "Europe/Paris", **options}
    context = browser.new_context(base_url=base_url, **options)
    context.add_cookies([{"name": "fabrique_session", "value": cookie, "url": base_url},
                         {"name": "fabrique_lang", "value": "en", "url": base_url}])
    return context, context.new_page()


def test_member_books_a_desk_for_tomorrow_on_a_phone_and_cancels_it(live_server, browser, phone):
    space, people = run_in_db(_space, "phone", True)
    context, page = _as(browser, live_server, people["member"][1],
                        **{k: v for k, v in phone.items() if k not in ("locale",)})
    page.goto(f"/s/{space.slug}")
    page.get_by_role("link", name="Book", exact=True).first.click()
    page.get_by_label("Day", exact=True).fill(_tomorrow().isoformat())
    page.get_by_role("button", name="See availability").click()

    grid = page.get_by_test_id("desk-grid")
    expect(grid).to_contain_text("Grande table")
    grid.get_by_test_id("slot-free").first.click()

    confirm = page.get_by_test_id("confirm")
    expect(confirm).to_contain_text("Grande table")
    expect(page.get_by_test_id("price")).to_contain_text("12.00")
    page.get_by_test_id("confirm-button").click()

    expect(page).to_have_url(re.compile(rf"/s/{space.slug}/bookings/mine$"))
    expect(page.locator(".flash")).to_contain_text("Grande table")
    card = page.get_by_test_id("upcoming").locator("article").first
    expect(card).to_contain_text("Grande table")
    expect(card).to_contain_text("9:00")
    page.get_by_role("button", name="Cancel this booking").click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, cancel the booking").click()
    expect(page.locator(".flash")).to_contain_text("cancelled")
    expect(page.get_by_test_id("upcoming").locator(".badge-cancelled")).to_have_count(1)
    # The page fits a phone: nothing forces sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    context.close()


def test_manager_creates_a_meeting_room_and_sees_a_members_booking_in_the_calendar(live_server, browser):
    space, people = run_in_db(_space, "rooms", False)
    manager_ctx, manager = _as(browser, live_server, people["manager"][1])
    manager.goto(f"/s/{space.slug}/resources")
    manager.get_by_test_id("new-resource").click()
    form = manager.get_by_test_id("resource-form")
    form.get_by_label("Name").fill("Salle Verte")
    form.get_by_label("Kind").select_option("meeting_room")
    form.get_by_label("Unit").select_option("hour")
    form.get_by_label("Step (minutes)").select_option("30")
    form.get_by_label("Minimum (minutes)").fill("60")
    form.get_by_label("Maximum (minutes)").fill("180")
    form.get_by_label("Buffer between bookings (minutes)").fill("15")
    form.get_by_label("Cancellation deadline (hours before)").fill("24")
    form.get_by_label("Member price (€, VAT included)").fill("15")
    form.get_by_label("Public price (€, VAT included)").fill("25")
    form.get_by_test_id("save-resource").click()
    expect(manager.locator(".flash")).to_contain_text("Salle Verte")
    expect(manager.get_by_test_id("resources-table")).to_contain_text("Salle Verte")

    # A member books it for tomorrow, 10:00–11:00, from the timeline's slot picker.
    member_ctx, member = _as(browser, live_server, people["member"][1])
    member.goto(f"/s/{space.slug}/book?date={_tomorrow().isoformat()}")
    room = member.get_by_test_id("room-timelines").locator("article").first
    expect(room).to_contain_text("Salle Verte")
    room.get_by_label("From").select_option(index=2)  # 9:00, 9:30, 10:00
    room.get_by_label("For").select_option("60")
    room.get_by_role("button", name="See the price").click()
    expect(member.get_by_test_id("price")).to_contain_text("15.00")
    member.get_by_test_id("confirm-button").click()
    expect(member).to_have_url(re.compile(r"/bookings/mine$"))

    manager.goto(f"/s/{space.slug}/calendar?date={_tomorrow().isoformat()}")
    timeline = manager.get_by_test_id("calendar-timeline")
    block = timeline.locator(".timeline-block").first
    expect(block).to_contain_text(people["member"][0].name)
    # booking.js placed the block (the CSP forbids inline styles): 10:00 on a 9–18 axis.
    start = block.evaluate("el => getComputedStyle(el).getPropertyValue('--start').trim()")
    assert start == "0.1111"
    expect(manager.get_by_test_id("calendar-bookings")).to_contain_text("Salle Verte")
    expect(manager.get_by_test_id("calendar-bookings")).to_contain_text(people["member"][0].name)
    member_ctx.close()
    manager_ctx.close()


def test_a_member_cannot_take_a_second_place_at_the_same_table_the_same_day(live_server, browser):
    from tests.booking.factories import insert_booking

    space, people = run_in_db(_space, "twice", True)

    async def book_tomorrow():
        from sqlmodel import select

        from app.core import db
        from app.resource.models import Resource

        async with db.transaction(space_id=space.id, write=False) as session:
            desk = (await session.exec(select(Resource).where(Resource.name == "Grande table"))).one()
        start = datetime.combine(_tomorrow(), time(9), PARIS)
        await insert_booking(space, desk, people["member"][0], start, start.replace(hour=18))

    context, page = _as(browser, live_server, people["member"][1])
    page.goto(f"/s/{space.slug}/book?date={_tomorrow().isoformat()}")
    slot = page.get_by_test_id("desk-grid").get_by_test_id("slot-free").first.get_attribute("href")
    run_in_db(book_tomorrow)  # meanwhile, from another tab: a place at this table for the day

    page.reload()  # the grid says so and offers no second place
    expect(page.get_by_test_id("desk-grid").get_by_test_id("slot-mine")).to_contain_text("Booked by you")
    expect(page.get_by_test_id("desk-grid").get_by_test_id("slot-free")).to_have_count(0)
    page.goto(slot)  # the first tab's link: refused before any price is offered
    expect(page.get_by_test_id("form-error")).to_contain_text("You already have a place here at this time")
    expect(page.get_by_test_id("confirm-button")).to_have_count(0)
    page.goto(f"/s/{space.slug}/bookings/mine")
    expect(page.get_by_test_id("upcoming").locator(".badge-confirmed")).to_have_count(1)
    context.close()
