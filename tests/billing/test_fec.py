"""The FEC: parsed back, every entry balances and the totals are those of the invoices and payments."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from app.billing.fec import COLUMNS
from app.core import clock
from tests.billing.factories import cancel, charge, set_legal
from tests.billing.test_invoices import TODAY, base, manual, run


def cents(text: str) -> int:
    whole, dec = text.split(",")
    assert len(dec) == 2 and whole.isdigit()
    return int(whole) * 100 + int(dec)


def parse(body: str) -> list[dict[str, str]]:
    lines = body.split("\r\n")
    assert lines[-1] == "" and lines[0].split("\t") == list(COLUMNS)
    rows = [dict(zip(COLUMNS, x.split("\t"), strict=True)) for x in lines[1:-1]]
    for r in rows:
        for name in ("EcritureDate", "PieceDate", "ValidDate"):
            datetime.strptime(r[name], "%Y%m%d")
    return rows


async def test_the_fec_of_a_year_balances_per_entry_and_adds_up_to_the_invoices_and_payments(world, api):
    await set_legal(world.a.space, siret="73282932000074", legal_name="Tiers-lieu de la Gare")
    clock.freeze(TODAY)
    late = await charge(world.a.space, world.a.member, 2400, 1055)
    await charge(world.a.space, world.a.animator, 1200, vat_rate_bp=1000)
    await run(api, world)
    await cancel(world.a.space, late)
    await run(api, world)  # a credit note
    m = api(world.a.tokens["manager"])
    inv = (await manual(api, world, {"label": "Salle", "unit_price_cents": 10000},
                        {"label": "Livre", "unit_price_cents": 1055, "vat_rate_bp": 550})).json()
    cheque = (await m.post(f"{base(world)}/invoices/{inv['id']}/payments",
                           json={"method": "cheque", "amount_cents": 8000, "reference": "123"})).json()
    await m.post(f"{base(world)}/invoices/{inv['id']}/payments", json={"method": "cash", "amount_cents": 3055})
    await m.post(f"{base(world)}/payments/{cheque['id']}/refunds", json={"amount_cents": 500})

    r = await api(world.a.tokens["owner"]).get(f"{base(world)}/exports/fec", params={"year": 2026})
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == 'attachment; filename="732829320FEC20261231.txt"'
    rows = parse(r.text)
    entries: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        entries[row["EcritureNum"]].append(row)
    for number, entry in entries.items():
        assert sum(cents(x["Debit"]) for x in entry) == sum(cents(x["Credit"]) for x in entry), number
    invoices = (await m.get(f"{base(world)}/invoices")).json()
    assert {i["number"] for i in invoices} <= set(entries)
    sales = [x for x in rows if x["JournalCode"] == "VE"]
    customers = sum(cents(x["Debit"]) - cents(x["Credit"]) for x in sales if x["CompteNum"] == "411")
    assert customers == sum(i["total_incl_cents"] for i in invoices)
    vat = sum(cents(x["Credit"]) - cents(x["Debit"]) for x in sales if x["CompteNum"].startswith("44571"))
    assert vat == sum(i["total_vat_cents"] for i in invoices)
    treasury = [x for x in rows if x["JournalCode"] != "VE" and x["CompteNum"] != "411"]
    assert sum(cents(x["Debit"]) - cents(x["Credit"]) for x in treasury) == 8000 + 3055 - 500
    assert {x["CompteNum"] for x in treasury} == {"5112", "530"}
    assert {x["CompAuxNum"] for x in rows if x["CompteNum"] == "411"} == {f"C{world.a.member.id}",
                                                                          f"C{world.a.animator.id}"}


async def test_a_year_without_data_gives_an_empty_but_valid_file_and_no_siren_is_refused(world, api):
    o = api(world.a.tokens["owner"])
    refused = await o.get(f"{base(world)}/exports/fec", params={"year": 2025})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "siren_required"
    await set_legal(world.a.space, siret="732829320")
    clock.freeze(datetime(2026, 1, 5, tzinfo=UTC))
    r = await o.get(f"{base(world)}/exports/fec", params={"year": 2025})
    assert r.status_code == 200 and parse(r.text) == []
    assert (await api(world.a.tokens["member"]).get(f"{base(world)}/exports/fec", params={"year": 2025})).status_code == 403


async def test_invoices_and_payments_of_a_period_as_french_csv(world, api):
    import csv
    import io

    clock.freeze(TODAY)
    inv = (await manual(api, world, {"label": "Salle", "unit_price_cents": 123456})).json()
    await api(world.a.tokens["manager"]).post(f"{base(world)}/invoices", json={
        "buyer": {"name": "=HYPERLINK(\"x\")"}, "lines": [{"label": "x", "unit_price_cents": 100}]})
    m = api(world.a.tokens["manager"])
    await m.post(f"{base(world)}/invoices/{inv['id']}/payments",
                 json={"method": "cheque", "amount_cents": 3450, "reference": "0042", "cheque_bank": "CIC"})
    o = api(world.a.tokens["owner"])
    r = await o.get(f"{base(world)}/exports/invoices.csv", params={"start": "2026-11-01", "end": "2026-11-30"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff")), delimiter=";"))
    assert len(rows) == 3 and len(rows[0]) == 10
    assert rows[1][0] == "F2026-00001" and rows[1][2] == "18/11/2026" and rows[1][8] == "1234,56"
    assert rows[2][4].startswith("'=")  # no formula from a typed name
    p = await o.get(f"{base(world)}/exports/payments.csv", params={"start": "2026-11-01", "end": "2026-11-30"})
    pay = list(csv.reader(io.StringIO(p.text.lstrip("\ufeff")), delimiter=";"))
    assert pay[1][:7] == ["18/11/2026", "F2026-00001", world.a.member.name, "cheque", "34,50", "0042", "CIC"]
    empty = await o.get(f"{base(world)}/exports/payments.csv", params={"start": "2025-01-01", "end": "2025-01-31"})
    assert len(list(csv.reader(io.StringIO(empty.text.lstrip("\ufeff")), delimiter=";"))) == 1
    backwards = await o.get(f"{base(world)}/exports/invoices.csv", params={"start": "2026-11-30", "end": "2026-11-01"})
    assert backwards.status_code == 422 and backwards.json()["error"]["code"] == "invalid_date_range"
