"""Credits in a real browser: a member whose plan includes 8 desk-days a month books three days,
sees 5 left, cancels one in time and sees 6 (the plan's allowance is opened the way the
subscriptions area opens it at a period's start: ``ledger.open_bucket``)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import run_in_db
from tests.e2e.test_booking_journeys import _as, _space

pytestmark = pytest.mark.e2e
PARIS = ZoneInfo("Europe/Paris")


async def _allowance(space, account):
    from app.core import clock, db
    from app.membership import ledger
    from app.membership.models import BucketSource

    async with db.transaction(space_id=space.id) as session:
        await ledger.open_bucket(session, account_id=account.id, source=BucketSource.allowance, label="Formule Nomade",
                                 quantity=8, unit="day", resource_kinds="hot_desk",
                                 valid_from=clock.now() - timedelta(days=1), valid_until=clock.now() + timedelta(days=31))


def test_member_books_three_days_sees_five_left_cancels_one_and_sees_six(live_server, browser):
    space, people = run_in_db(_space, "credits", True)
    member, cookie = people["member"]
    run_in_db(_allowance, space, member)
    context, page = _as(browser, live_server, cookie)
    today = datetime.now(PARIS).date()
    for offset in (1, 2, 3):
        page.goto(f"/s/{space.slug}/book")
        page.get_by_label("Day", exact=True).fill((today + timedelta(days=offset)).isoformat())
        page.get_by_role("button", name="See availability").click()
        page.get_by_test_id("desk-grid").get_by_test_id("slot-free").first.click()
        expect(page.get_by_test_id("credits-used")).to_contain_text("Formule Nomade")
        expect(page.get_by_test_id("price")).to_contain_text("0.00")
        page.get_by_test_id("confirm-button").click()
        expect(page).to_have_url(re.compile(rf"/s/{space.slug}/bookings/mine$"))
    credits = page.get_by_test_id("credits-left")
    expect(credits).to_contain_text("Formule Nomade")
    expect(credits).to_contain_text("5 days left")
    page.get_by_test_id("upcoming").get_by_role("button", name="Cancel this booking").first.click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, cancel the booking").click()
    expect(page.locator(".flash")).to_contain_text("cancelled")
    expect(page.get_by_test_id("credits-left")).to_contain_text("6 days left")
    context.close()
