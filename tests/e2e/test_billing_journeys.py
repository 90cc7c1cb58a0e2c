"""Billing in a real browser: the manager records a cheque and sees the invoice paid, cancels another
by a credit note, closes last month and cannot then record a payment dated in it; the member opens
their invoice. The live server runs on the real clock: "last month" is the real last month."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import run_in_db

pytestmark = pytest.mark.e2e
_n = count(1)
PARIS = ZoneInfo("Europe/Paris")


async def _space():
    from app.billing import service
    from app.core import db
    from app.space.models import Space
    from tests.fixtures.factories import (
        add_member,
        create_account,
        create_space,
        session_cookie,
        unique_email,
    )

    n = next(_n)
    owner = await create_account("Billing owner", unique_email("e2e-bill-owner"))
    space = await create_space(owner, name=f"Tiers-lieu {n}", slug=f"e2e-bill-{n}", locale="en")
    people = {}
    for role in ("manager", "member"):
        account = await create_account(f"Billing {role.title()}", unique_email(f"e2e-bill-{role}"))
        await add_member(space, account, role)
        people[role] = (account, await session_cookie(account))
    numbers = []
    async with db.transaction(space_id=space.id) as session:
        fresh = await session.get(Space, space.id)
        buyer = await service.buyer_of_member(session, people["member"][0].id)
        for label, price in (("Salle Jaurès", 4500), ("Bureau", 3000)):
            line = service.free_line(fresh, label=label, quantity=1, unit_price_cents=price, vat_rate_bp=None)
            invoice, rows = await service.create_draft(session, fresh, buyer=buyer, lines=[line],
                                                       account_id=people["member"][0].id)
            await service.issue(session, fresh, invoice, rows, today=service.local_today(fresh))
            numbers.append((invoice.id, invoice.number))
    return space, people, numbers


def _as(browser, base_url: str, cookie: str):
    context = browser.new_context(base_url=base_url, locale="en-GB", timezone_id="Europe/Paris")
    context.add_cookies([{"name": "fabrique_session", "value": cookie, "url": base_url},
                         {"name": "fabrique_lang", "value": "en", "url": base_url}])
    return context, context.new_page()


def test_manager_records_a_cheque_issues_a_credit_note_and_closes_last_month(live_server, browser):
    space, people, ((paid_id, paid_number), (cancelled_id, cancelled_number)) = run_in_db(_space)
    context, page = _as(browser, live_server, people["manager"][1])

    page.goto(f"/s/{space.slug}")
    page.get_by_role("link", name="Invoices", exact=True).first.click()
    expect(page.get_by_test_id("invoices")).to_contain_text(paid_number)
    page.get_by_role("link", name=paid_number).click()
    form = page.get_by_test_id("payment-form")
    form.get_by_label("Method").select_option("cheque")
    form.get_by_label("Amount").fill("45,00")
    form.get_by_label("Cheque number or transfer reference").fill("0001234")
    form.get_by_label("Bank (cheque)").fill("La Banque Postale")
    form.get_by_role("button", name="Record the payment").click()
    expect(page.locator(".flash")).to_contain_text("Payment recorded")
    expect(page.get_by_test_id("status")).to_have_text("paid")
    expect(page.get_by_test_id("payments")).to_contain_text("La Banque Postale")

    page.goto(f"/s/{space.slug}/invoices/{cancelled_id}")
    page.get_by_role("button", name="Cancel what remains by a credit note").click()
    expect(page.locator(".flash")).to_contain_text("FAV")
    expect(page.get_by_test_id("invoice")).to_contain_text(cancelled_number)

    today = datetime.now(PARIS).date()
    last_month = today.replace(day=1) - timedelta(days=1)
    page.goto(f"/s/{space.slug}/period-closures")
    closure = page.get_by_test_id("closure-form")
    closure.get_by_label("Period").select_option("month")
    closure.get_by_label("Month or year").fill(last_month.strftime("%Y-%m"))
    closure.get_by_role("button", name="Close the period").click()
    expect(page.locator(".flash")).to_contain_text("Period closed")
    expect(page.get_by_test_id("closures")).to_be_visible()

    # Nothing dated in the closed month is accepted any more: a new invoice's payment dated in it is refused.
    run_in_db(_third_invoice, space.id, people["member"][0].id)
    page.goto(f"/s/{space.slug}/invoices?status=unpaid")
    page.get_by_test_id("invoices").get_by_role("link").first.click()
    form = page.get_by_test_id("payment-form")
    form.get_by_label("Method").select_option("cash")
    form.get_by_label("Date").fill(last_month.isoformat())
    form.get_by_role("button", name="Record the payment").click()
    expect(page.get_by_test_id("form-error")).to_be_visible()  # "correct the field marked below"
    expect(page.get_by_test_id("payment-form")).to_contain_text("closed period")  # beside the date
    expect(page.locator("#e-paid_on")).to_be_visible()
    context.close()

    member_ctx, member = _as(browser, live_server, people["member"][1])
    member.goto(f"/s/{space.slug}/my/invoices")
    member.get_by_role("link", name=paid_number).click()
    expect(member).to_have_url(re.compile(rf"/s/{space.slug}/my/invoices/{paid_id}$"))
    expect(member.get_by_test_id("total")).to_contain_text("45.00")
    expect(member.get_by_test_id("status")).to_have_text("paid")
    member_ctx.close()


async def _third_invoice(space_id: int, account_id: int) -> None:
    from app.billing import service
    from app.core import db
    from app.space.models import Space

    async with db.transaction(space_id=space_id) as session:
        space = await session.get(Space, space_id)
        buyer = await service.buyer_of_member(session, account_id)
        line = service.free_line(space, label="Atelier", quantity=1, unit_price_cents=2000, vat_rate_bp=None)
        invoice, rows = await service.create_draft(session, space, buyer=buyer, lines=[line], account_id=account_id)
        await service.issue(session, space, invoice, rows, today=service.local_today(space))
