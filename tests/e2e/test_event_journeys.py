"""Events and the directory in a real browser: a workshop fills up and its waitlist moves; an
animator ticks attendance from a phone; a member appears in the directory and is found by skill."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import run_in_db

pytestmark = pytest.mark.e2e
_n = count(1)


async def _space_with(label: str, roles: list[str]):
    from tests.fixtures.factories import (
        add_member,
        create_account,
        create_space,
        session_cookie,
        unique_email,
    )

    n = next(_n)
    owner = await create_account(f"{label} owner", unique_email(f"e2e-{label}-owner"))
    space = await create_space(owner, name=f"Tiers-lieu {label} {n}", slug=f"e2e-{label}-{n}", locale="en")
    people = {}
    for i, role in enumerate(roles):
        account = await create_account(f"{label.title()} {role.title()} {i}", unique_email(f"e2e-{label}-{i}"))
        await add_member(space, account, role)
        people[f"{role}{i}"] = (account, await session_cookie(account))
    return space, people


def _as(browser, base_url: str, cookie: str, **options):
    context = browser.new_context(base_url=base_url, locale="en-GB", timezone_id="Europe/Paris", **options)
    context.add_cookies([{"name": "fabrique_session", "value": cookie, "url": base_url},
                         {"name": "fabrique_lang", "value": "en", "url": base_url}])
    return context, context.new_page()


def test_a_workshop_fills_up_and_a_cancellation_confirms_the_first_in_line(live_server, browser):
    space, people = run_in_db(_space_with, "workshop", ["animator", "member", "member", "member"])
    animator_ctx, animator = _as(browser, live_server, people["animator0"][1])
    animator.goto(f"/s/{space.slug}/events")
    animator.get_by_test_id("new-event").click()
    day = (datetime.now(ZoneInfo("Europe/Paris")) + timedelta(days=20)).date().isoformat()
    form = animator.get_by_test_id("event-form")
    form.get_by_label("Title").fill("Atelier réparation de vélos")
    form.get_by_label("Description").fill("Bring your bike, we bring the **tools**.")
    form.get_by_label("Starts").fill(f"{day}T18:00")
    form.get_by_label("Ends").fill(f"{day}T20:00")
    form.get_by_label("Place").fill("Workshop, ground floor")
    form.get_by_label("Seats").fill("2")
    form.get_by_test_id("save-publish").click()
    expect(animator.locator(".flash")).to_contain_text("The event is published.")
    expect(animator.get_by_test_id("seats")).to_contain_text("2 seats left")
    event_url = re.sub(r"^https?://[^/]+", "", animator.url)

    pages = {}
    for key in ("member1", "member2", "member3"):
        _ctx, page = _as(browser, live_server, people[key][1])
        page.goto(event_url)
        page.get_by_test_id("register").click()
        pages[key] = page
    expect(pages["member1"].get_by_test_id("my-status")).to_have_text("Confirmed")
    expect(pages["member2"].get_by_test_id("my-status")).to_have_text("Confirmed")
    expect(pages["member3"].get_by_test_id("my-status")).to_have_text("Waitlist, number 1")
    expect(pages["member3"].locator(".flash")).to_contain_text("you are number 1 on the waitlist")

    pages["member1"].get_by_test_id("unregister").click()
    pages["member1"].get_by_role("dialog").get_by_test_id("confirm-yes").click()
    expect(pages["member1"].get_by_test_id("register")).to_be_visible()
    pages["member3"].reload()
    expect(pages["member3"].get_by_test_id("my-status")).to_have_text("Confirmed")

    animator.reload()
    expect(animator.get_by_test_id("event-counts")).to_contain_text("2 registered · 0 on the waitlist")
    animator_ctx.close()


async def _event_in_progress(space, animator, member):
    from app.core import clock
    from tests.event.factories import create_event, register

    now = datetime.now(UTC)
    clock.freeze(now - timedelta(hours=1))
    try:
        event = await create_event(space, animator, title="Soirée jeux", starts_at=now - timedelta(minutes=1),
                                   ends_at=now + timedelta(hours=2), capacity=10)
        await register(space, event, member)
    finally:
        clock.freeze(None)
    return event


def test_an_animator_ticks_attendance_from_a_phone(live_server, browser, phone):
    space, people = run_in_db(_space_with, "attendance", ["animator", "member"])
    event = run_in_db(_event_in_progress, space, people["animator0"][0], people["member1"][0])
    ctx, page = _as(browser, live_server, people["animator0"][1],
                    **{k: v for k, v in phone.items() if k not in ("locale", "timezone_id")})
    page.goto(f"/s/{space.slug}/events/{event.id}/attendance")
    row = page.get_by_test_id("attendee").filter(has_text=people["member1"][0].name)
    row.get_by_test_id("mark-present").click()
    expect(page.get_by_test_id("event-counts")).to_contain_text("1 present")
    expect(page.get_by_test_id("attendee").filter(has_text=people["member1"][0].name)).to_contain_text("Present")
    ctx.close()


def test_a_member_turns_on_directory_visibility_and_another_finds_them_by_skill(live_server, browser):
    space, people = run_in_db(_space_with, "directory", ["member", "member"])
    name = people["member0"][0].name
    ctx1, first = _as(browser, live_server, people["member0"][1])
    ctx2, second = _as(browser, live_server, people["member1"][1])

    second.goto(f"/s/{space.slug}/directory?q=woodwork")
    expect(second.get_by_test_id("directory-empty")).to_be_visible()

    first.goto(f"/s/{space.slug}/directory")
    first.get_by_test_id("edit-profile").click()
    form = first.get_by_test_id("profile-form")
    form.get_by_label("Headline").fill("Cabinet maker, happy to teach")
    form.get_by_label("Skills").fill("Woodwork, CNC milling")
    expect(form.get_by_test_id("visible-switch")).not_to_be_checked()
    form.get_by_test_id("visible-switch").check()
    form.get_by_test_id("save-profile").click()
    expect(first.locator(".flash")).to_contain_text("visible to the members of the space")

    second.goto(f"/s/{space.slug}/directory")
    second.get_by_test_id("directory-search").fill("woodwork")
    second.get_by_test_id("directory-search").press("Enter")
    card = second.get_by_test_id("profile-card").filter(has_text=name)
    expect(card).to_contain_text("Cabinet maker, happy to teach")
    card.get_by_role("link", name=name).click()
    expect(second.get_by_test_id("profile")).to_contain_text("cnc milling")
    ctx1.close()
    ctx2.close()
