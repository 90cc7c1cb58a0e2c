"""Destructive actions ask first: a <dialog> with JavaScript, a confirmation page without it."""

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


async def _space(label: str):
    from app.booking import hours
    from app.core import db
    from tests.booking.factories import create_desk, insert_booking
    from tests.event.factories import create_event, register
    from tests.fixtures.factories import (
        add_member,
        create_account,
        create_space,
        session_cookie,
        unique_email,
    )

    n = next(_n)
    owner = await create_account(f"{label} owner", unique_email(f"e2e-cf-{label}-owner"))
    space = await create_space(owner, name=f"Confirm {label} {n}", slug=f"e2e-cf-{label}-{n}", locale="en")
    async with db.transaction(space_id=space.id) as session:
        await hours.save_hours(session, space, owner, days={d: [(time(9), time(18))] for d in range(7)})
    desk = await create_desk(space, name="Grande table", capacity=6, horizon_days=30)
    people = {}
    for role in ("manager", "member"):
        account = await create_account(f"{label.title()} {role.title()}", unique_email(f"e2e-cf-{label}-{role}"))
        await add_member(space, account, role)
        people[role] = (account, await session_cookie(account))
    tomorrow = (datetime.now(PARIS) + timedelta(days=3)).date()
    start = datetime.combine(tomorrow, time(10), PARIS)
    booking = await insert_booking(space, desk, people["member"][0], start, start + timedelta(hours=2))
    event = await create_event(space, people["manager"][0], title="Atelier réparation")
    await register(space, event, people["member"][0])
    return space, people, booking, event


def _as(browser, base_url: str, cookie: str, **options):
    context = browser.new_context(base_url=base_url, locale="en-GB", timezone_id="Europe/Paris", **options)
    context.add_cookies([{"name": "fabrique_session", "value": cookie, "url": base_url},
                         {"name": "fabrique_lang", "value": "en", "url": base_url}])
    return context, context.new_page()


def test_cancelling_a_booking_asks_first_in_a_dialog_that_can_be_dismissed(live_server, browser):
    space, people, booking, _event = run_in_db(_space, "dialog")
    context, page = _as(browser, live_server, people["member"][1])
    page.goto(f"/s/{space.slug}/bookings/mine")

    page.get_by_test_id(f"cancel-{booking.id}").click()
    dialog = page.get_by_role("dialog", name="Cancel this booking?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Grande table")
    dialog.get_by_role("button", name="No, go back").click()  # a link styled as a button
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("upcoming").locator(".badge-confirmed")).to_have_count(1)

    page.get_by_test_id(f"cancel-{booking.id}").click()
    page.keyboard.press("Escape")  # the dialog is modal: Escape closes it too
    expect(dialog).to_be_hidden()
    page.get_by_test_id(f"cancel-{booking.id}").click()
    dialog.get_by_role("button", name="Yes, cancel the booking").click()
    expect(page.locator(".flash")).to_contain_text("cancelled")
    expect(page.get_by_test_id("upcoming").locator(".badge-cancelled")).to_have_count(1)
    context.close()


def test_cancelling_an_event_says_who_will_be_told(live_server, browser):
    space, people, _booking, event = run_in_db(_space, "event")
    context, page = _as(browser, live_server, people["manager"][1])
    page.goto(f"/s/{space.slug}/events/{event.id}")
    page.get_by_test_id("cancel-event").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Atelier réparation")
    expect(dialog).to_contain_text("is told by e-mail")
    dialog.get_by_role("button", name="Yes, cancel the event").click()
    expect(page.locator(".flash")).to_contain_text("cancelled")
    context.close()


def test_without_javascript_removing_a_member_goes_through_a_confirmation_page(live_server, browser):
    space, people, _booking, _event = run_in_db(_space, "nojs")
    context, page = _as(browser, live_server, people["manager"][1], java_script_enabled=False)
    member = people["member"][0]
    page.goto(f"/s/{space.slug}/members")
    page.get_by_test_id("members-table").get_by_role("row", name=re.compile(member.name)).get_by_role(
        "button", name="Remove").click()

    expect(page).to_have_url(re.compile(r"/members/\d+/remove$"))
    expect(page.get_by_role("heading", level=2)).to_have_text(f"Remove {member.name} from the space?")
    page.get_by_role("button", name="Yes, remove").click()
    expect(page.locator(".flash")).to_contain_text("removed")
    expect(page.get_by_test_id("members-table")).not_to_contain_text(member.email)
    context.close()


def test_without_javascript_a_new_feed_address_is_confirmed_on_its_own_page(live_server, browser):
    space, people, _booking, _event = run_in_db(_space, "feed")
    context, page = _as(browser, live_server, people["member"][1], java_script_enabled=False)
    page.goto(f"/s/{space.slug}/calendar-feed")
    page.get_by_test_id("my-feed-regenerate").click()  # no address yet: created at once
    first = page.get_by_test_id("my-feed-url").input_value()

    page.get_by_test_id("my-feed-regenerate").click()
    expect(page.get_by_test_id("confirm-page")).to_contain_text("stops working at once")
    page.get_by_role("button", name="No, go back").click()
    assert page.get_by_test_id("my-feed-url").input_value() == first
    page.get_by_test_id("my-feed-regenerate").click()
    page.get_by_role("button", name="Yes, a new address").click()
    expect(page.locator(".flash")).to_contain_text("new address")
    assert page.get_by_test_id("my-feed-url").input_value() != first
    context.close()


def test_a_manager_gives_a_tag_and_a_private_note_from_the_people_page(live_server, browser):
    space, people, _booking, _event = run_in_db(_space, "tags")
    context, page = _as(browser, live_server, people["manager"][1])
    member = people["member"][0]
    page.goto(f"/s/{space.slug}/members")
    page.get_by_role("button", name=f"Tags and note of {member.name}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(member.name)
    page.get_by_label("Tags").fill("formé·e laser, bois")
    page.get_by_label("Private note").fill("Formation laser le 3 mars.\nA une clé.")
    page.get_by_test_id("save-member").click()
    expect(page.locator(".flash")).to_contain_text("saved")
    row = page.get_by_test_id("members-table").get_by_role("row", name=re.compile(member.name))
    expect(row).to_contain_text("formé·e laser")
    expect(row).to_contain_text("bois")

    row.get_by_role("button", name=f"Tags and note of {member.name}").click()
    expect(page.get_by_label("Private note")).to_have_value("Formation laser le 3 mars.\nA une clé.")
    page.get_by_label("Tags").fill("bois")  # the laser tag taken away
    page.get_by_test_id("save-member").click()
    expect(page.get_by_test_id("members-table").get_by_role("row", name=re.compile(member.name))).not_to_contain_text(
        "laser")
    context.close()
