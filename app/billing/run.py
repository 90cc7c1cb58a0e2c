"""The billing run: each member's un-invoiced charges become issued invoices and credit notes.

What a run does, for one space, in one transaction (a run killed half-way has written nothing):

1. It takes the book lock (``chain.lock_head``): two runs in the same space (two workers) are
   serialised, and the second, reading after the first's commit, finds nothing left to invoice.
2. It reads the charges with an account, a non-zero amount and no invoice line yet. A charge
   and its reversal both un-invoiced cancel each other out: neither is invoiced (the booking was
   cancelled before it was billed). Zero-amount charges (units taken from a plan or a pass) are not
   invoiced.
3. Per member: one invoice with the remaining positive lines (and negative non-reversal lines,
   e.g. a prorated plan change), if their total is above zero — no €0 invoice, and a negative total
   waits for the next charges; one credit note per invoice for the reversals of charges already
   invoiced, each mirroring the invoice's line (``credits_line_id``).

The invoices are built in memory, numbered from one counter UPDATE per series (``chain.take``),
chained, then INSERTed in batches: a handful of statements per run, not per invoice.

``invoice_line.charge_id`` is unique: whatever happens (a run resumed, a bug, two runs on a
database without the lock), a charge is never invoiced twice — the database refuses it.
Grouping per member in one monthly statement is not built yet: every run invoices what is due.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.billing import chain, periods, service
from app.billing.models import Invoice, InvoiceKind, InvoiceLine
from app.billing.service import Buyer, Line
from app.core.tenancy import require_scope
from app.pricing.models import Charge
from app.space.models import Space


@dataclass
class RunResult:
    invoices: list[Invoice] = field(default_factory=list)
    credit_notes: list[Invoice] = field(default_factory=list)


async def _uninvoiced(session: AsyncSession) -> list[Charge]:
    return list((await session.exec(
        select(Charge).outerjoin(InvoiceLine, col(InvoiceLine.charge_id) == Charge.id)
        .where(col(InvoiceLine.id).is_(None), col(Charge.account_id).is_not(None), Charge.amount_incl_cents != 0)
        .order_by(col(Charge.account_id), col(Charge.id)))).all())


async def invoice_due(session: AsyncSession, space: Space, today: date) -> RunResult:
    """Invoice every member's due charges in ``space`` (the session's scope), dated ``today``."""
    head = await chain.lock_head(session)
    charges = await _uninvoiced(session)
    ids = {c.id for c in charges}
    netted = {c.id for c in charges if c.reverses_id in ids} | {c.reverses_id for c in charges if c.reverses_id in ids}
    due = [c for c in charges if c.id not in netted]
    reversals = [c for c in due if c.reverses_id is not None]
    # The invoice lines of the charges these reversals reverse (and whether they were credited already).
    originals: dict[int, InvoiceLine] = {}
    if reversals:
        found = await session.exec(select(InvoiceLine).where(
            col(InvoiceLine.charge_id).in_([c.reverses_id for c in reversals])))
        originals = {int(x.charge_id or 0): x for x in found.all()}
    credited = await service.credited_line_ids(session, [int(x.id or 0) for x in originals.values()])
    accounts = {a.id: a for a in (await session.exec(
        select(Account).where(col(Account.id).in_({c.account_id for c in due})))).all()} if due else {}
    by_account: dict[int, list[Charge]] = {}
    for c in due:
        by_account.setdefault(int(c.account_id or 0), []).append(c)
    space_id = require_scope(session)
    built: list[tuple[Invoice, list[InvoiceLine]]] = []
    corrected: dict[int, Invoice] = {}
    credited_invoice_ids = {x.invoice_id for x in originals.values()}
    if credited_invoice_ids:
        found_invoices = await session.exec(select(Invoice).where(col(Invoice.id).in_(credited_invoice_ids)))
        corrected = {int(i.id or 0): i for i in found_invoices.all()}
    for account_id, items in by_account.items():
        buyer = Buyer(name=accounts[account_id].name)
        lines = [Line.of_charge(c) for c in items if c.reverses_id is None]
        if lines and sum(x.amount_incl_cents for x in lines) > 0:
            built.append(service.build(space, space_id, buyer=buyer, lines=lines, account_id=account_id))
        per_invoice: dict[int, list[Line]] = {}
        for c in items:
            line = originals.get(int(c.reverses_id or 0)) if c.reverses_id is not None else None
            if line is None or line.id in credited:
                continue  # (its original is not invoiced, or was credited by hand: nothing more to credit)
            per_invoice.setdefault(line.invoice_id, []).append(Line.of_charge(c, credits_line_id=line.id))
        for invoice_id, credit_lines in per_invoice.items():
            built.append(service.build(space, space_id, buyer=buyer, lines=credit_lines, account_id=account_id,
                                       kind=InvoiceKind.credit_note, corrects=corrected[invoice_id]))
    if not built:
        return RunResult()
    await periods.refuse_closed(session, today, "issued_on")
    # One counter UPDATE per series for the whole run: every number taken is used, or none is.
    counts = Counter(service.series_of(space, invoice.kind, today) for invoice, _lines in built)
    next_seq = {series: await chain.take(session, series, n) for series, n in sorted(counts.items())}
    result = RunResult()
    for invoice, invoice_lines in built:
        series = service.series_of(space, invoice.kind, today)
        service.stamp(space, head, invoice, invoice_lines, series=series, seq=next_seq[series], today=today)
        next_seq[series] += 1
        (result.credit_notes if invoice.is_credit_note else result.invoices).append(invoice)
    await service.save(session, built)
    session.add(head)
    await session.flush()
    return result
