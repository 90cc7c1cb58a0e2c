"""The books cannot be changed behind the application's back: database triggers, the hash chain,
``fabrique verify-ledger``, and the daily run's fan-out."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from app.billing import chain
from app.billing import tasks as billing_tasks
from app.core import clock, db, jobs
from tests.billing.factories import charge
from tests.billing.test_invoices import TODAY, base, manual, run


async def _raw(sql: str, **params) -> None:
    async with db.get_engine().begin() as conn:
        await conn.execute(text(sql), params)


async def _verify(space_id: int):
    async with db.transaction(write=False, space_id=space_id) as session:
        return await chain.verify(session)


async def _books(world, api) -> dict:
    """An invoice from the run, a manual one, a payment, a credit note and a closure."""
    clock.freeze(datetime(2026, 10, 5, 10, 0, tzinfo=UTC))
    await charge(world.a.space, world.a.member, 1200)
    await run(api, world)
    clock.freeze(TODAY)
    inv = (await manual(api, world)).json()
    m = api(world.a.tokens["manager"])
    pay = (await m.post(f"{base(world)}/invoices/{inv['id']}/payments",
                        json={"method": "cash", "amount_cents": 2000})).json()
    assert (await m.post(f"{base(world)}/invoices/{inv['id']}/credit-notes", json={})).status_code == 201
    closed = await m.post(f"{base(world)}/period-closures", json={"kind": "month", "period": "2026-10"})
    assert closed.status_code == 201, closed.text
    return {"invoice": inv, "payment": pay}


@pytest.mark.parametrize("statement", [
    "UPDATE invoice SET total_incl_cents = 1 WHERE id = :id",
    "UPDATE invoice SET buyer_name = 'Someone else' WHERE id = :id",
    "DELETE FROM invoice WHERE id = :id",
    "UPDATE invoice_line SET amount_incl_cents = 1 WHERE invoice_id = :id",
    "DELETE FROM invoice_line WHERE invoice_id = :id",
    "UPDATE payment SET amount_cents = 1",
    "DELETE FROM payment",
    "UPDATE period_closure SET payments_cents = 0",
    "DELETE FROM period_closure",
])
async def test_the_database_refuses_to_change_issued_invoices_lines_payments_and_closures(world, api, statement):
    books = await _books(world, api)
    with pytest.raises(DBAPIError):
        await _raw(statement, id=books["invoice"]["id"])
    assert await _verify(world.a.space.id) == (5, None)


async def test_a_draft_can_still_be_changed_by_the_database(world, api):
    draft = (await manual(api, world, issue=False)).json()
    await _raw("UPDATE invoice SET buyer_name = 'Mairie' WHERE id = :id", id=draft["id"])


async def test_every_issued_document_payment_and_closure_is_chained_and_verified(world, api):
    await _books(world, api)
    count, broken = await _verify(world.a.space.id)
    assert (count, broken) == (5, None)
    assert await _verify(world.b.space.id) == (0, None)  # each space has its own chain


async def _tamper(table: str, sql: str, **params) -> None:
    """Change a row behind the triggers' back, as someone with the database's keys could."""
    async with db.get_engine().begin() as conn:
        if conn.dialect.name == "sqlite":
            saved = (await conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                             "AND tbl_name = :t"), {"t": table})).all()
            for name, _sql in saved:
                await conn.execute(text(f"DROP TRIGGER {name}"))
            await conn.execute(text(sql), params)
            for _name, create in saved:
                await conn.execute(text(create))
        else:
            await conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            await conn.execute(text(sql), params)
            await conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


async def test_a_payment_changed_behind_the_triggers_back_is_reported_as_the_first_broken_link(world, api):
    books = await _books(world, api)
    await _tamper("payment", "UPDATE payment SET amount_cents = 200 WHERE id = :id", id=books["payment"]["id"])
    count, broken = await _verify(world.a.space.id)
    assert count == 2 and broken is not None and broken.chain_seq == 3
    assert broken.record == f"payment {books['payment']['id']}" and "content" in broken.reason


async def test_a_removed_invoice_line_is_reported(world, api):
    books = await _books(world, api)
    assert books  # the run's invoice, F2026-00001, has a line nothing credits
    await _tamper("invoice_line", "DELETE FROM invoice_line WHERE invoice_id = "
                  "(SELECT id FROM invoice WHERE number = 'F2026-00001')")
    count, broken = await _verify(world.a.space.id)
    assert count == 0 and broken is not None and broken.chain_seq == 1 and "F2026-00001" in broken.record


async def test_removing_the_last_link_is_reported_too(world, api):
    await _books(world, api)
    await _tamper("period_closure", "DELETE FROM period_closure")
    count, broken = await _verify(world.a.space.id)
    assert count == 4 and broken is not None and broken.record == "head"


async def _cli(*args: str) -> tuple[int, str]:
    """Run ``fabrique`` in its own process against the test database (the environment names it)."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "app.cli", *args, env=dict(os.environ),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    return int(proc.returncode or 0), out.decode()


async def test_verify_ledger_command_reports_the_first_broken_link(world, api):
    books = await _books(world, api)
    code, out = await _cli("verify-ledger", "--space", world.a.slug)
    assert code == 0, out
    assert f"{world.a.slug}: ok (5 links)" in out
    await _tamper("payment", "UPDATE payment SET paid_on = '2026-11-01' WHERE id = :id", id=books["payment"]["id"])
    code, out = await _cli("verify-ledger")
    assert code == 1, out
    assert f"{world.a.slug}: BROKEN after 2 links: link 3 (payment {books['payment']['id']})" in out
    assert f"{world.b.slug}: ok (0 links)" in out


async def test_the_daily_run_is_queued_once_per_space_and_local_day_and_invoices_what_is_due(world, api, run_jobs):
    await charge(world.a.space, world.a.member, 1200)
    clock.freeze(datetime(2026, 11, 18, 0, 30, tzinfo=UTC))  # 01:30 in Paris
    async with db.transaction() as session:
        assert await billing_tasks.run_due(session, clock.now()) == 2
    async with db.transaction() as session:
        assert await billing_tasks.run_due(session, clock.now()) == 0  # once per local day
        rows = (await session.exec(select(jobs.JobOutbox).where(jobs.JobOutbox.name == "billing.invoice_due"))).all()
    assert sorted(str(r.key) for r in rows) == sorted(
        f"billing.invoice_due:{s.id}:2026-11-18" for s in (world.a.space, world.b.space))
    await run_jobs()
    async with db.transaction(space_id=world.a.space.id) as session:
        assert await billing_tasks.invoice_due(session, "2026-11-18") == 0  # run again: nothing left
    mine = (await api(world.a.tokens["member"]).get(f"{base(world)}/my/invoices")).json()
    assert [(i["number"], i["issued_on"]) for i in mine] == [("F2026-00001", "2026-11-18")]


async def test_a_run_killed_half_way_writes_nothing_and_the_next_run_invoices_everything_once(world, api, monkeypatch):
    from app.billing import run as billing_run
    from app.billing import service as billing_service
    from app.space.models import Space

    clock.freeze(TODAY)
    for person in (world.a.member, world.a.animator, world.a.manager):
        await charge(world.a.space, person, 1500)
    real_save = billing_service.save

    async def dying_save(session, built):
        session.add_all([invoice for invoice, _lines in built])
        await session.flush()  # the invoices are written, numbered and chained...
        raise RuntimeError("worker killed")  # ...and the worker dies before their lines

    monkeypatch.setattr(billing_service, "save", dying_save)
    with pytest.raises(RuntimeError):
        async with db.transaction(space_id=world.a.space.id) as session:
            space = await session.get(Space, world.a.space.id)
            await billing_run.invoice_due(session, space, TODAY.date())
    monkeypatch.setattr(billing_service, "save", real_save)
    m = api(world.a.tokens["manager"])
    assert (await m.get(f"{base(world)}/invoices")).json() == []
    assert (await run(api, world))["numbers"] == ["F2026-00001", "F2026-00002", "F2026-00003"]
    assert await _verify(world.a.space.id) == (3, None)
