"""Invoices, credit notes, payments and closures through the API, as a manager and a member see them."""

from __future__ import annotations

from datetime import UTC, datetime

from app.core import clock
from tests.billing.factories import cancel, charge, set_legal

TODAY = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


def base(world) -> str:
    return f"/api/v1/spaces/{world.a.slug}"


async def manual(api, world, *lines, issue=True, role="manager", **extra):
    body = {"account_id": world.a.member.id, "lines": list(lines) or [{"label": "Salle", "unit_price_cents": 12000}],
            "issue": issue, **extra}
    return await api(world.a.tokens[role]).post(f"{base(world)}/invoices", json=body)


async def run(api, world) -> dict:
    r = await api(world.a.tokens["manager"]).post(f"{base(world)}/billing/run")
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_manual_invoice_is_numbered_in_its_year_and_its_totals_are_the_sums_of_its_lines(world, api):
    clock.freeze(TODAY)
    await set_legal(world.a.space, invoice_prefix="FAB", legal_name="Tiers-lieu de la Gare", vat_regime="vat")
    r = await manual(api, world, {"label": "Salle", "quantity": 3, "unit_price_cents": 333, "vat_rate_bp": 2000},
                     {"label": "Livre", "unit_price_cents": 1055, "vat_rate_bp": 550})
    assert r.status_code == 201, r.text
    inv = r.json()
    assert inv["number"] == "FAB2026-00001" and inv["status"] == "issued" and inv["issued_on"] == "2026-11-18"
    assert inv["due_on"] == "2026-12-18"  # the space's payment terms, 30 days
    assert inv["seller_name"] == "Tiers-lieu de la Gare" and inv["buyer_name"] == world.a.member.name
    assert [(t["rate_bp"], t["excl_cents"], t["vat_cents"], t["incl_cents"]) for t in inv["vat_summary"]] == [
        (2000, 833, 166, 999), (550, 1000, 55, 1055)]
    assert (inv["total_excl_cents"], inv["total_vat_cents"], inv["total_incl_cents"]) == (1833, 221, 2054)
    assert inv["payment_status"] == "unpaid" and inv["due_cents"] == 2054
    assert len(inv["hash"]) == 64
    second = (await manual(api, world)).json()
    assert second["number"] == "FAB2026-00002"


async def test_a_draft_has_no_number_until_issued_and_is_issued_once(world, api):
    clock.freeze(TODAY)
    draft = (await manual(api, world, issue=False)).json()
    assert draft["status"] == "draft" and draft["number"] is None and draft["hash"] is None
    m = api(world.a.tokens["manager"])
    issued = await m.post(f"{base(world)}/invoices/{draft['id']}/issue")
    assert issued.status_code == 200 and issued.json()["number"] == "F2026-00001"
    again = await m.post(f"{base(world)}/invoices/{draft['id']}/issue")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invoice_already_issued"


async def test_bad_invoices_are_refused_each_with_its_code(world, api):
    m = api(world.a.tokens["manager"])
    outsider = await m.post(f"{base(world)}/invoices", json={"account_id": world.a.outsider.id,
                                                              "lines": [{"label": "x", "unit_price_cents": 100}]})
    assert outsider.status_code == 422 and outsider.json()["error"]["code"] == "unknown_member"
    nobody = await m.post(f"{base(world)}/invoices", json={"lines": [{"label": "x", "unit_price_cents": 100}]})
    assert nobody.json()["error"]["code"] == "buyer_required"
    zero = await m.post(f"{base(world)}/invoices", json={"buyer": {"name": "Mairie"},
                                                          "lines": [{"label": "x", "unit_price_cents": 0}]})
    assert zero.status_code == 422 and zero.json()["error"]["code"] == "empty_invoice"
    rate = await m.post(f"{base(world)}/invoices", json={"buyer": {"name": "Mairie"},
                                                          "lines": [{"label": "x", "unit_price_cents": 1, "vat_rate_bp": 1900}]})
    assert rate.status_code == 422 and rate.json()["error"]["code"] == "invalid_vat_rate"
    listed = await m.get(f"{base(world)}/invoices")
    assert listed.json() == []  # nothing partial written


async def test_a_business_buyer_gets_the_b2b_mentions_and_an_exempt_space_its_exemption(world, api):
    await set_legal(world.a.space, legal_form="association", vat_regime="association", locale="fr")
    r = await api(world.a.tokens["manager"]).post(f"{base(world)}/invoices", json={
        "buyer": {"name": "Mairie de Saint-Jean", "siren": "213401268", "is_business": True},
        "lines": [{"label": "Location de salle", "unit_price_cents": 30000, "vat_rate_bp": 2000}]})
    inv = r.json()
    assert inv["total_vat_cents"] == 0 and inv["total_incl_cents"] == 30000  # exempt: every line at 0 %
    text = "\n".join(inv["mentions"])
    assert "261-7-1°" in text and "40" in text and "L441-10" in text
    assert "Nature de l’opération\u00a0: prestation de services." in text  # printed in the space's language
    assert inv["buyer_siren"] == "213401268"


async def test_the_billing_run_invoices_each_member_once_and_a_second_run_nothing(world, api):
    clock.freeze(TODAY)
    await charge(world.a.space, world.a.member, 1200, 800)
    await charge(world.a.space, world.a.animator, 500)
    await charge(world.a.space, None, 900)  # a visitor's: paid on the spot, not invoiced here
    await charge(world.a.space, world.a.member, 0)  # units of a plan: not invoiced
    first = await run(api, world)
    assert first == {"invoices": 2, "credit_notes": 0, "numbers": ["F2026-00001", "F2026-00002"]}
    assert await run(api, world) == {"invoices": 0, "credit_notes": 0, "numbers": []}
    mine = (await api(world.a.tokens["member"]).get(f"{base(world)}/my/invoices")).json()
    assert [(i["total_incl_cents"], i["payment_status"]) for i in mine] == [(2000, "unpaid")]
    await charge(world.a.space, world.a.member, 300)
    assert (await run(api, world))["numbers"] == ["F2026-00003"]


async def test_a_charge_cancelled_before_invoicing_nets_out_and_one_cancelled_after_is_credited(world, api):
    clock.freeze(TODAY)
    early = await charge(world.a.space, world.a.member, 1500)
    await cancel(world.a.space, early)
    assert (await run(api, world))["invoices"] == 0  # nothing due: no €0 invoice
    late = await charge(world.a.space, world.a.member, 2400, 600)
    await charge(world.a.space, world.a.member, 1000)
    assert (await run(api, world))["numbers"] == ["F2026-00001"]
    await cancel(world.a.space, late)
    result = await run(api, world)
    assert result == {"invoices": 0, "credit_notes": 1, "numbers": ["FAV2026-00001"]}
    m = api(world.a.tokens["manager"])
    notes = (await m.get(f"{base(world)}/invoices", params={"kind": "credit_note"})).json()
    note = (await m.get(f"{base(world)}/invoices/{notes[0]['id']}")).json()
    assert note["total_incl_cents"] == -3000 and [x["amount_incl_cents"] for x in note["lines"]] == [-2400, -600]
    invoice = (await m.get(f"{base(world)}/invoices/{note['corrects_id']}")).json()
    assert (invoice["credited_cents"], invoice["due_cents"]) == (3000, 1000)
    assert "F2026-00001" in note["mentions"][0]
    assert (await run(api, world))["credit_notes"] == 0


async def test_payments_settle_an_invoice_in_parts_and_never_above_what_is_due(world, api):
    clock.freeze(TODAY)
    inv = (await manual(api, world, {"label": "Salle", "unit_price_cents": 10000})).json()
    m = api(world.a.tokens["manager"])
    url = f"{base(world)}/invoices/{inv['id']}/payments"
    cheque = await m.post(url, json={"method": "cheque", "amount_cents": 6000, "reference": "1234567",
                                     "cheque_bank": "Crédit Agricole"})
    assert cheque.status_code == 201, cheque.text
    assert (await m.get(f"{base(world)}/invoices/{inv['id']}")).json()["due_cents"] == 4000
    above = await m.post(url, json={"method": "cash", "amount_cents": 4001})
    assert above.status_code == 422 and above.json()["error"]["code"] == "payment_above_due"
    assert "40,00" in above.json()["error"]["message"] or "40.00" in above.json()["error"]["message"]
    assert (await m.post(url, json={"method": "voucher", "amount_cents": 4000})).status_code == 201
    paid = (await m.get(f"{base(world)}/invoices/{inv['id']}")).json()
    assert paid["payment_status"] == "paid" and [p["method"] for p in paid["payments"]] == ["cheque", "voucher"]
    assert [i["id"] for i in (await m.get(f"{base(world)}/invoices", params={"status": "paid"})).json()] == [inv["id"]]
    refund = await m.post(f"{base(world)}/payments/{cheque.json()['id']}/refunds", json={"amount_cents": 1000})
    assert refund.status_code == 201 and refund.json()["amount_cents"] == -1000
    too_much = await m.post(f"{base(world)}/payments/{cheque.json()['id']}/refunds", json={"amount_cents": 5001})
    assert too_much.json()["error"]["code"] == "refund_above_payment"
    assert (await m.get(f"{base(world)}/invoices/{inv['id']}")).json()["due_cents"] == 1000


async def test_an_invoice_unpaid_after_its_due_date_is_overdue(world, api):
    clock.freeze(TODAY)
    inv = (await manual(api, world)).json()
    m = api(world.a.tokens["manager"])
    assert [i["id"] for i in (await m.get(f"{base(world)}/invoices", params={"status": "unpaid"})).json()] == [inv["id"]]
    clock.freeze(datetime(2026, 12, 20, 10, 0, tzinfo=UTC))
    assert (await m.get(f"{base(world)}/invoices", params={"status": "unpaid"})).json() == []
    overdue = (await m.get(f"{base(world)}/invoices", params={"status": "overdue"})).json()
    assert [(i["id"], i["payment_status"]) for i in overdue] == [(inv["id"], "overdue")]


async def test_a_credit_note_mirrors_lines_once_and_never_exceeds_the_invoice(world, api):
    clock.freeze(TODAY)
    inv = (await manual(api, world, {"label": "Salle", "unit_price_cents": 12000},
                        {"label": "Café", "unit_price_cents": 550, "vat_rate_bp": 550})).json()
    m = api(world.a.tokens["manager"])
    full = (await m.get(f"{base(world)}/invoices/{inv['id']}")).json()
    coffee = full["lines"][1]["id"]
    url = f"{base(world)}/invoices/{inv['id']}/credit-notes"
    part = await m.post(url, json={"line_ids": [coffee]})
    assert part.status_code == 201, part.text
    note = part.json()
    assert note["number"] == "FAV2026-00001" and note["kind"] == "credit_note" and note["corrects_id"] == inv["id"]
    assert (note["total_excl_cents"], note["total_vat_cents"], note["total_incl_cents"]) == (-521, -29, -550)
    twice = await m.post(url, json={"line_ids": [coffee]})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "credit_above_invoice"
    foreign = await m.post(url, json={"line_ids": [999999]})
    assert foreign.json()["error"]["code"] == "line_not_on_invoice"
    rest = await m.post(url, json={})
    assert rest.status_code == 201 and rest.json()["total_incl_cents"] == -12000
    nothing = await m.post(url, json={})
    assert nothing.status_code == 422 and nothing.json()["error"]["code"] == "nothing_to_credit"
    after = (await m.get(f"{base(world)}/invoices/{inv['id']}")).json()
    assert (after["credited_cents"], after["due_cents"], after["payment_status"]) == (12550, 0, "paid")
    on_note = await m.post(f"{base(world)}/invoices/{note['id']}/payments", json={"method": "cash", "amount_cents": 1})
    assert on_note.json()["error"]["code"] == "not_an_invoice"


async def test_a_closed_month_accepts_no_payment_dated_in_it(world, api):
    clock.freeze(datetime(2026, 10, 20, 10, 0, tzinfo=UTC))
    inv = (await manual(api, world)).json()
    m = api(world.a.tokens["manager"])
    assert (await m.post(f"{base(world)}/period-closures", json={"kind": "month", "period": "2026-10"})).json()[
        "error"]["code"] == "period_not_over"
    clock.freeze(TODAY)
    closed = await m.post(f"{base(world)}/period-closures", json={"kind": "month", "period": "2026-10"})
    assert closed.status_code == 201, closed.text
    assert (closed.json()["invoiced_incl_cents"], closed.json()["payments_cents"]) == (12000, 0)
    again = await m.post(f"{base(world)}/period-closures", json={"kind": "month", "period": "2026-10"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "period_already_closed"
    url = f"{base(world)}/invoices/{inv['id']}/payments"
    late = await m.post(url, json={"method": "transfer", "amount_cents": 100, "paid_on": "2026-10-31"})
    assert late.status_code == 422 and late.json()["error"]["code"] == "period_closed"
    assert "paid_on" in late.json()["error"]["fields"]
    assert (await m.post(url, json={"method": "transfer", "amount_cents": 100, "paid_on": "2026-11-02"})).status_code == 201
    bad = await m.post(f"{base(world)}/period-closures", json={"kind": "month", "period": "2026-13"})
    assert bad.json()["error"]["code"] == "invalid_period"
    assert [c["starts_on"] for c in (await m.get(f"{base(world)}/period-closures")).json()] == ["2026-10-01"]


async def test_a_member_sees_only_their_own_issued_invoices(world, api):
    clock.freeze(TODAY)
    mine = (await manual(api, world)).json()
    draft = (await manual(api, world, issue=False)).json()
    other = (await api(world.a.tokens["manager"]).post(f"{base(world)}/invoices", json={
        "account_id": world.a.animator.id, "lines": [{"label": "x", "unit_price_cents": 100}]})).json()
    member = api(world.a.tokens["member"])
    assert [i["id"] for i in (await member.get(f"{base(world)}/my/invoices")).json()] == [mine["id"]]
    assert (await member.get(f"{base(world)}/my/invoices/{other['id']}")).status_code == 404
    assert (await member.get(f"{base(world)}/my/invoices/{draft['id']}")).status_code == 404
    assert (await member.get(f"{base(world)}/invoices")).status_code == 403
    assert (await api(world.b.tokens["owner"]).get(f"/api/v1/spaces/{world.b.slug}/invoices/{mine['id']}")).status_code == 404
