"""The hash chain (inaltérabilité) and the numbering counters of a space.

Every issued invoice or credit note, every payment and every period closure takes the next place
in its space's chain: ``chain_seq`` (1, 2, 3 … with no gap), ``prev_hash`` (the hash of the place
before, None for the first) and ``hash = sha256(prev_hash + canonical content)``. The canonical
content is the record's legal content as sorted-key JSON (dates ISO, amounts integer cents), so a
change to any of it — an amount, a date, a line, a buyer — breaks the link, and so does a removed
record (a gap in ``chain_seq``) or a removed tail (the head no longer matches).

The head is the ``billing_counter`` row of series ``"chain"``, locked ``FOR UPDATE`` by whoever
writes to the books (``lock_head``): it is the space's book lock, taken first, before any invoice
row, so two writers never wait on each other crosswise. Series counters are incremented by a
conditional ``UPDATE … RETURNING`` in the issuing transaction (``take``): a number is used
if and only if its invoice commits — no gap, no duplicate, never ``MAX()+1``. On SQLite, write
transactions begin ``IMMEDIATE`` (``app.core.db``): the same statements are serialised there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.billing.models import CHAIN_SERIES, BillingCounter, Invoice, InvoiceLine, Payment, PeriodClosure
from app.core.dialect import insert_ignoring_conflict
from app.core.tenancy import require_scope

_COUNTER = BillingCounter.metadata.tables["billing_counter"]


async def _ensure(session: AsyncSession, series: str) -> None:
    """The series' row, created at 0 the first time (a concurrent first time writes one row)."""
    values = {"space_id": require_scope(session), "series": series, "last": 0, "head_hash": None}
    await session.exec(insert_ignoring_conflict(session, _COUNTER, values, on=["space_id", "series"]))


async def take(session: AsyncSession, series: str, count: int = 1) -> int:
    """Take the next ``count`` numbers of ``series`` for this space, in the caller's transaction:
    returns the first of them (the caller uses all of them, or its transaction rolls back)."""
    await _ensure(session, series)
    result = await session.exec(
        update(BillingCounter).where(col(BillingCounter.series) == series)
        .values(last=col(BillingCounter.last) + count).returning(col(BillingCounter.last)))
    return int(result.scalar_one()) - count + 1


async def lock_head(session: AsyncSession) -> BillingCounter:
    """Lock the space's chain head (the books' lock) for the rest of the transaction."""
    await _ensure(session, CHAIN_SERIES)
    return (await session.exec(
        select(BillingCounter).where(col(BillingCounter.series) == CHAIN_SERIES)
        .with_for_update().execution_options(populate_existing=True))).one()


def digest(prev_hash: str | None, content: str) -> str:
    return hashlib.sha256(((prev_hash or "") + content).encode()).hexdigest()


def _canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


_INVOICE_FIELDS = ("kind", "number", "series", "seq", "account_id", "buyer_name", "buyer_address", "buyer_siren",
                   "buyer_vat_number", "buyer_is_business", "seller_name", "seller_siret", "seller_address",
                   "seller_vat_number", "vat_regime", "issued_on", "due_on", "currency", "total_excl_cents",
                   "total_vat_cents", "total_incl_cents", "corrects_id", "mentions")
_LINE_FIELDS = ("position", "charge_id", "credits_line_id", "item", "label", "quantity", "unit", "unit_price_cents",
                "prices_include_vat", "vat_rate_bp", "amount_excl_cents", "vat_cents", "amount_incl_cents")
_PAYMENT_FIELDS = ("invoice_id", "method", "amount_cents", "currency", "paid_on", "reference", "cheque_bank",
                   "refunds_id")
_CLOSURE_FIELDS = ("kind", "starts_on", "ends_on", "invoiced_excl_cents", "invoiced_vat_cents",
                   "invoiced_incl_cents", "credited_incl_cents", "payments_cents")


def _pick(row: Any, fields: Sequence[str]) -> dict[str, Any]:
    return {f: getattr(row, f) for f in fields}


def content_of(row: Invoice | Payment | PeriodClosure, lines: Sequence[InvoiceLine] = ()) -> str:
    """The canonical content hashed for a record (an invoice with its lines, in position order)."""
    if isinstance(row, Invoice):
        data = {"type": "invoice", **_pick(row, _INVOICE_FIELDS),
                "lines": [_pick(x, _LINE_FIELDS) for x in sorted(lines, key=lambda x: x.position)]}
    elif isinstance(row, Payment):
        data = {"type": "payment", **_pick(row, _PAYMENT_FIELDS)}
    else:
        data = {"type": "closure", **_pick(row, _CLOSURE_FIELDS)}
    return _canonical(data)


def append(head: BillingCounter, row: Invoice | Payment | PeriodClosure, lines: Sequence[InvoiceLine] = ()) -> None:
    """Give ``row`` the next place in the chain whose head is locked (before its INSERT, or when a
    draft is issued: no database id is part of what is hashed, so both work alike)."""
    row.chain_seq = head.last + 1
    row.prev_hash = head.head_hash
    row.hash = digest(head.head_hash, content_of(row, lines))
    head.last = row.chain_seq
    head.head_hash = row.hash


@dataclass(frozen=True)
class Break:
    """The first broken link of a space's chain."""

    chain_seq: int
    record: str  # "invoice 12", "payment 3", "closure 1", "head"
    reason: str

    def __str__(self) -> str:
        return f"link {self.chain_seq} ({self.record}): {self.reason}"


async def verify(session: AsyncSession) -> tuple[int, Break | None]:
    """Walk the space's chain: how many links hold, and the first broken one (None if all hold)."""
    invoices = (await session.exec(select(Invoice).where(col(Invoice.chain_seq).is_not(None)))).all()
    lines: dict[int, list[InvoiceLine]] = {}
    for line in (await session.exec(select(InvoiceLine))).all():
        lines.setdefault(line.invoice_id, []).append(line)
    records: list[tuple[int, str, Any]] = [(int(i.chain_seq or 0), f"invoice {i.id} ({i.number})", i) for i in invoices]
    records += [(p.chain_seq, f"payment {p.id}", p) for p in (await session.exec(select(Payment))).all()]
    records += [(c.chain_seq, f"closure {c.id}", c) for c in (await session.exec(select(PeriodClosure))).all()]
    records.sort(key=lambda r: r[0])
    prev: str | None = None
    for expected, (seq, name, row) in enumerate(records, start=1):
        if seq != expected:
            return expected - 1, Break(expected, name, f"link {expected} is missing (found {seq})")
        if row.prev_hash != prev:
            return expected - 1, Break(seq, name, "does not point to the previous link's hash")
        if row.hash != digest(prev, content_of(row, lines.get(int(row.id or 0), []) if isinstance(row, Invoice) else ())):
            return expected - 1, Break(seq, name, "its content does not match its hash (changed after it was written)")
        prev = row.hash
    head = (await session.exec(select(BillingCounter).where(col(BillingCounter.series) == CHAIN_SERIES))).first()
    count = len(records)
    if (head.last if head else 0) != count or (head.head_hash if head else None) != prev:
        return count, Break(count + 1, "head", "the chain's head does not match its last link (links removed)")
    return count, None


async def verify_spaces(slug: str | None = None) -> list[tuple[str, int, Break | None]]:
    """``verify`` for one space (by slug) or every space: (slug, links that hold, first break)."""
    from app.core import db
    from app.core.tenancy import all_spaces
    from app.space.models import Space

    async with db.transaction(write=False) as session:
        with all_spaces(session):
            query = select(Space).order_by(col(Space.id))
            if slug is not None:
                query = query.where(col(Space.slug) == slug)
            spaces = list((await session.exec(query)).all())
    out = []
    for space in spaces:
        async with db.transaction(write=False, space_id=space.id) as session:
            count, broken = await verify(session)
        out.append((space.slug, count, broken))
    return out
