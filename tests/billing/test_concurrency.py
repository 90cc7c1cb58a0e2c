"""Numbering, payments and the billing run raced through the real HTTP API (truly concurrent on
PostgreSQL; serialised by SQLite, where nothing may break either)."""

from __future__ import annotations

from sqlmodel import select

from app.billing import chain
from app.billing.models import Invoice, InvoiceLine
from app.core import db
from tests.billing.factories import charge
from tests.billing.test_invoices import base
from tests.fixtures.concurrency import bearer, codes, fire, warm


async def _drafts(live_server: str, world, n: int) -> list[int]:
    import httpx

    headers = bearer(world.a.tokens["manager"])
    async with httpx.AsyncClient(base_url=live_server, timeout=60) as client:
        ids = []
        for k in range(n):
            r = await client.post(f"{base(world)}/invoices", headers=headers, json={
                "buyer": {"name": f"Client {k}"}, "lines": [{"label": "Salle", "unit_price_cents": 1000 + k}],
                "issue": False})
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
    return ids


async def _chain_holds(space_id: int, links: int) -> None:
    async with db.transaction(write=False, space_id=space_id) as session:
        assert await chain.verify(session) == (links, None)


async def test_twenty_drafts_issued_at_once_get_numbers_one_to_twenty_without_gap_or_duplicate(world, live_server):
    ids = await _drafts(live_server, world, 20)
    await warm(live_server, [world.a.tokens["manager"]])
    responses = await fire(live_server, [("POST", f"{base(world)}/invoices/{i}/issue", None,
                                          bearer(world.a.tokens["manager"])) for i in ids])
    assert codes(responses) == {200: 20}, [r.text for r in responses if r.status_code != 200]
    numbers = sorted(r.json()["number"] for r in responses)
    year = numbers[0][1:5]
    assert numbers == [f"F{year}-{n:05d}" for n in range(1, 21)]
    await _chain_holds(world.a.space.id, 20)


async def test_two_payments_together_above_what_is_due_are_decided_one_after_the_other(world, live_server):
    import httpx

    token = world.a.tokens["manager"]
    async with httpx.AsyncClient(base_url=live_server, timeout=60) as client:
        inv = (await client.post(f"{base(world)}/invoices", headers=bearer(token), json={
            "buyer": {"name": "Mairie"}, "lines": [{"label": "Salle", "unit_price_cents": 10000}]})).json()
    await warm(live_server, [token])
    url = f"{base(world)}/invoices/{inv['id']}/payments"
    responses = await fire(live_server, [("POST", url, {"method": "cash", "amount_cents": 6000}, bearer(token)),
                                         ("POST", url, {"method": "cheque", "amount_cents": 6000}, bearer(token))])
    assert codes(responses) == {201: 1, 422: 1}, [r.text for r in responses]
    assert [r.json()["error"]["code"] for r in responses if r.status_code == 422] == ["payment_above_due"]
    await _chain_holds(world.a.space.id, 2)


async def test_billing_runs_at_once_invoice_each_charge_once(world, live_server):
    people = [world.a.member, world.a.animator, world.a.manager, world.a.owner]
    for k, person in enumerate(people):
        for p in range(3):
            await charge(world.a.space, person, 1000 + 100 * k + p)
    await warm(live_server, [world.a.tokens["manager"], world.a.tokens["owner"]])
    responses = await fire(live_server, [("POST", f"{base(world)}/billing/run", None, bearer(world.a.tokens[role]))
                                         for role in ("manager", "owner", "manager", "owner")])
    assert codes(responses) == {200: 4}, [r.text for r in responses]
    assert sorted(r.json()["invoices"] for r in responses) == [0, 0, 0, 4]
    async with db.transaction(write=False, space_id=world.a.space.id) as session:
        invoices = (await session.exec(select(Invoice))).all()
        lines = (await session.exec(select(InvoiceLine))).all()
    assert len(invoices) == 4 and len(lines) == 12 and len({x.charge_id for x in lines}) == 12
    assert sorted(i.seq for i in invoices) == [1, 2, 3, 4]
    await _chain_holds(world.a.space.id, 4)
