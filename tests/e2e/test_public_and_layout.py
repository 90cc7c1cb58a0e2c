"""What a visitor and a phone user see: the public page, the compact header and its menu, the
staff menu on a laptop, and axe-core on the main pages."""

from __future__ import annotations

from itertools import count

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import serious_findings
from tests.e2e.conftest import run_in_db

pytestmark = pytest.mark.e2e
_n = count(1)


async def _space():
    from datetime import time

    from app.booking import hours
    from app.core import db
    from app.event.models import Visibility
    from app.space import service as spaces
    from app.space.models import Space
    from tests.booking.factories import create_desk, create_room
    from tests.event.factories import create_event
    from tests.fixtures.factories import (
        add_member,
        create_account,
        create_space,
        session_cookie,
        unique_email,
    )

    n = next(_n)
    owner = await create_account("Camille Gérante", unique_email("e2e-pub-owner"))
    space = await create_space(owner, name=f"La Grange {n}", slug=f"e2e-pub-{n}", locale="en",
                               address="2 rue du Four", postcode="23000", town="Guéret")
    await create_desk(space, name="Grande table", capacity=6, horizon_days=30)
    await create_room(space, name="Salle Lumière", horizon_days=30)
    async with db.transaction(space_id=space.id) as session:
        await hours.save_hours(session, space, owner, days={d: [(time(9), time(18))] for d in range(7)})
    await create_event(space, owner, title="Atelier soudure", visibility=Visibility.public)
    async with db.transaction(space_id=space.id) as session:
        s = await session.get(Space, space.id)
        await spaces.set_public_page(session, s, owner, published=True, text="A **rural** third place.",
                                     blocks={"presentation", "address", "hours", "resources", "prices", "events",
                                             "join"})
    member = await create_account("Dominique Membre", unique_email("e2e-pub-member"))
    await add_member(space, member)
    return space, await session_cookie(owner), await session_cookie(member)


async def _booking_tomorrow(space):
    """A booking of the shared desk tomorrow, so that the calendar and "My bookings" show one."""
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from sqlmodel import select

    from app.core import db
    from app.resource.models import Resource
    from tests.booking.factories import insert_booking
    from tests.fixtures.factories import add_member, create_account, unique_email

    async with db.transaction(space_id=space.id) as session:
        desk = (await session.exec(select(Resource))).first()
    person = await create_account("Sam Booker", unique_email("e2e-pub-booker"))
    await add_member(space, person)
    tz = ZoneInfo("Europe/Paris")
    day = (datetime.now(tz) + timedelta(days=1)).date()
    await insert_booking(space, desk, person, datetime.combine(day, time(9), tz), datetime.combine(day, time(12), tz))


def _context(browser, base_url, cookie=None, **options):
    # bypass_csp: axe-core is injected as a script the page's CSP would refuse (tests/e2e/axe.py).
    options = {"locale": "en-GB", "timezone_id": "Europe/Paris", "bypass_csp": True, **options}
    context = browser.new_context(base_url=base_url, **options)
    cookies = [{"name": "fabrique_lang", "value": "en", "url": base_url}]
    if cookie:
        cookies.append({"name": "fabrique_session", "value": cookie, "url": base_url})
    context.add_cookies(cookies)
    return context, context.new_page()


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def test_a_visitor_reads_the_public_page_on_a_phone_and_finds_how_to_join(browser, live_server):
    space, _owner, _member = run_in_db(_space)
    context, page = _context(browser, live_server, **PHONE)
    page.goto("/")
    page.get_by_role("link", name=space.name).click()
    expect(page).to_have_url(f"{live_server}/s/{space.slug}")
    expect(page.get_by_test_id("public-presentation")).to_contain_text("rural")
    expect(page.get_by_test_id("public-resources")).to_contain_text("Grande table")
    expect(page.get_by_test_id("public-events")).to_contain_text("Atelier soudure")
    expect(page.get_by_test_id("join-link")).to_have_attribute("href", f"/s/{space.slug}/join")
    assert "Dominique Membre" not in page.content()
    assert serious_findings(page) == []
    context.close()


def test_the_phone_header_is_compact_and_its_menu_reaches_every_page(browser, live_server):
    space, owner, _member = run_in_db(_space)
    context, page = _context(browser, live_server, owner, **PHONE)
    page.goto(f"/s/{space.slug}/bookings/mine")
    header = page.locator("header.site-header").bounding_box()
    assert header["height"] <= 64, header
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the screen
    page.get_by_test_id("phone-menu").locator("summary").click()
    menu = page.get_by_test_id("phone-menu")
    for name in ("Events", "Directory", "People", "Settings", "Activity log"):
        expect(menu.get_by_role("link", name=name, exact=True)).to_be_visible()
    current = menu.locator('[aria-current="page"]')
    expect(current).to_have_count(1)
    expect(current).to_have_text("My bookings")
    menu.get_by_role("link", name="Events", exact=True).click()
    expect(page).to_have_url(f"{live_server}/s/{space.slug}/events")
    assert serious_findings(page) == []
    context.close()


def test_the_staff_menu_fits_a_laptop_with_one_current_item(browser, live_server):
    space, owner, _member = run_in_db(_space)
    context, page = _context(browser, live_server, owner, viewport={"width": 1366, "height": 768})
    page.goto(f"/s/{space.slug}/book")
    nav = page.locator("nav.space-nav")
    for name in ("Book", "My bookings", "Events", "Directory", "People"):
        link = nav.get_by_role("link", name=name, exact=True)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1366, (name, box)
    expect(nav.locator('[aria-current="page"]')).to_have_count(1)
    expect(nav.locator('[aria-current="page"]')).to_have_text("Book")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    nav.get_by_test_id("manage-menu").locator("summary").click()
    nav.get_by_role("link", name="Settings", exact=True).click()
    expect(page).to_have_url(f"{live_server}/s/{space.slug}/settings")
    context.close()


@pytest.mark.parametrize("width", [390, 1366])
@pytest.mark.parametrize("who", ["visitor", "member", "owner"])
def test_axe_finds_nothing_serious_on_the_main_pages(browser, live_server, who, width):
    space, owner, member = run_in_db(_space)
    run_in_db(_booking_tomorrow, space)
    cookie = {"visitor": None, "member": member, "owner": owner}[who]
    context, page = _context(browser, live_server, cookie, viewport={"width": width, "height": 800})
    s = f"/s/{space.slug}"
    paths = {
        "visitor": ["/", "/login", "/signup", s, f"/p/{space.slug}/events"],
        "member": [s, f"{s}/book", f"{s}/bookings/mine", f"{s}/events", f"{s}/directory"],
        "owner": [f"{s}/calendar?day=TOMORROW", f"{s}/calendar?view=week", f"{s}/members", f"{s}/events", f"{s}/settings", f"{s}/resources",
                  f"{s}/audit"],
    }[who]
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    tomorrow = (datetime.now(ZoneInfo("Europe/Paris")) + timedelta(days=1)).date().isoformat()
    findings = []
    for path in [p.replace("TOMORROW", tomorrow) for p in paths]:
        page.goto(path)
        findings += [f"{path}: {f}" for f in serious_findings(page)]
    assert findings == [], "\n".join(findings)
    context.close()


def test_a_start_late_in_the_day_disables_the_durations_past_closing(browser, live_server):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    space, _owner, member = run_in_db(_space)
    context, page = _context(browser, live_server, member, **PHONE)
    tomorrow = (datetime.now(ZoneInfo("Europe/Paris")) + timedelta(days=1)).date().isoformat()
    page.goto(f"/s/{space.slug}/book?date={tomorrow}")
    picker = page.locator("form.slot-picker").first
    starts = picker.locator("select[name=starts_at]")
    starts.select_option(index=starts.locator("option").count() - 1)  # 17:30, the last half-hour
    durations = picker.locator("select[name=minutes]")
    expect(durations.locator('option[value="30"]')).to_be_enabled()
    expect(durations.locator('option[value="60"]')).to_be_disabled()
    assert durations.input_value() == "30"
    starts.select_option(index=0)  # 9:00
    expect(durations.locator('option[value="480"]')).to_be_enabled()
    context.close()
