"""The billing pages: a manager records a cheque and sees the invoice paid; a member sees their own."""

from __future__ import annotations

from app.core import clock
from app.core.permissions import Role
from tests.billing.test_invoices import TODAY, base, manual
from tests.fixtures.factories import add_member, create_account


async def test_a_manager_records_a_cheque_on_the_invoice_page_and_sees_it_paid(world, api, web):
    clock.freeze(TODAY)
    inv = (await manual(api, world, {"label": "Salle Jaurès", "unit_price_cents": 4500})).json()
    browser = await web(world.a.manager)
    listed = await browser.get(f"/s/{world.a.slug}/invoices?status=unpaid")
    assert listed.status_code == 200 and "F2026-00001" in listed.text
    page = await browser.get(f"/s/{world.a.slug}/invoices/{inv['id']}")
    assert page.status_code == 200 and "Salle Jaurès" in page.text and 'data-testid="payment-form"' in page.text
    too_much = await browser.post(f"/s/{world.a.slug}/invoices/{inv['id']}/payments", {
        "method": "cheque", "amount": "50,00", "paid_on": "2026-11-18", "reference": "0001234"})
    assert too_much.status_code == 422 and 'aria-invalid="true"' in too_much.text
    assert 'value="50,00"' in too_much.text and 'value="0001234"' in too_much.text  # what was typed is kept
    done = await browser.post(f"/s/{world.a.slug}/invoices/{inv['id']}/payments", {
        "method": "cheque", "amount": "45,00", "paid_on": "2026-11-18", "reference": "0001234",
        "cheque_bank": "La Banque Postale"})
    assert done.status_code == 303
    after = await browser.get(f"/s/{world.a.slug}/invoices/{inv['id']}")
    assert 'class="badge badge-paid" data-testid="status"' in after.text
    assert "La Banque Postale" in after.text and 'data-testid="payment-form"' not in after.text
    paid = await browser.get(f"/s/{world.a.slug}/invoices?status=paid")
    assert "F2026-00001" in paid.text


async def test_a_member_sees_their_invoices_and_only_theirs(world, api, web):
    clock.freeze(TODAY)
    mine = (await manual(api, world)).json()
    other = (await api(world.a.tokens["manager"]).post(f"{base(world)}/invoices", json={
        "account_id": world.a.animator.id, "lines": [{"label": "x", "unit_price_cents": 100}]})).json()
    browser = await web(world.a.member)
    listing = await browser.get(f"/s/{world.a.slug}/my/invoices")
    assert listing.status_code == 200 and mine["number"] in listing.text and other["number"] not in listing.text
    own = await browser.get(f"/s/{world.a.slug}/my/invoices/{mine['id']}")
    assert own.status_code == 200 and mine["number"] in own.text and 'data-testid="payment-form"' not in own.text
    assert (await browser.get(f"/s/{world.a.slug}/my/invoices/{other['id']}")).status_code == 404
    assert (await browser.get(f"/s/{world.a.slug}/invoices")).status_code == 403


async def test_the_treasurer_sees_invoices_but_records_no_payment(world, api, web):
    clock.freeze(TODAY)
    inv = (await manual(api, world)).json()
    treasurer = await create_account("A Treasurer")
    await add_member(world.a.space, treasurer, Role.accountant)
    browser = await web(treasurer)
    page = await browser.get(f"/s/{world.a.slug}/invoices/{inv['id']}")
    assert page.status_code == 200 and 'data-testid="payment-form"' not in page.text
    refused = await browser.post(f"/s/{world.a.slug}/invoices/{inv['id']}/payments", {
        "method": "cash", "amount": "10", "paid_on": "2026-11-18"})
    assert refused.status_code == 403


async def test_a_manager_cancels_an_invoice_by_a_credit_note_and_closes_a_month_then_no_payment_is_dated_in_it(
        world, api, web):
    from datetime import UTC, datetime

    clock.freeze(datetime(2026, 10, 20, 10, 0, tzinfo=UTC))
    cancelled = (await manual(api, world, {"label": "Salle", "unit_price_cents": 3000})).json()
    unpaid = (await manual(api, world, {"label": "Bureau", "unit_price_cents": 5000})).json()
    clock.freeze(TODAY)
    browser = await web(world.a.manager)
    note = await browser.post(f"/s/{world.a.slug}/invoices/{cancelled['id']}/credit-note")
    assert note.status_code == 303
    shown = await browser.get(note.headers["location"])
    assert "FAV2026-00001" in shown.text and cancelled["number"] in shown.text
    again = await browser.post(f"/s/{world.a.slug}/invoices/{cancelled['id']}/credit-note")
    assert again.status_code == 422 and 'data-testid="form-error"' in again.text
    page = await browser.get(f"/s/{world.a.slug}/period-closures")
    assert page.status_code == 200 and 'value="2026-10"' in page.text  # last month, proposed
    closed = await browser.post(f"/s/{world.a.slug}/period-closures", {"kind": "month", "period": "2026-10"})
    assert closed.status_code == 303
    listed = await browser.get(f"/s/{world.a.slug}/period-closures")
    assert 'data-testid="closures"' in listed.text
    twice = await browser.post(f"/s/{world.a.slug}/period-closures", {"kind": "month", "period": "2026-10"})
    assert twice.status_code == 409 and 'value="2026-10"' in twice.text
    late = await browser.post(f"/s/{world.a.slug}/invoices/{unpaid['id']}/payments", {
        "method": "cash", "amount": "50", "paid_on": "2026-10-31"})
    assert late.status_code == 422 and 'aria-invalid="true"' in late.text and 'id="e-paid_on"' in late.text
