"""Closed periods (clôtures): a month or a fiscal year (the calendar year) whose totals are written
into the hash chain; nothing dated in a closed period is accepted afterwards — an invoice's issue
date, a payment's date. Closing takes the book lock (``chain.lock_head``) like every writer, so a
payment being recorded and the closure of its month are serialised: one of them sees the other."""

from __future__ import annotations

import calendar
import re
from datetime import date

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.billing.errors import InvalidPeriod, PeriodAlreadyClosed, PeriodClosed, PeriodNotOver
from app.billing.models import ClosureKind, Invoice, InvoiceKind, InvoiceStatus, Payment, PeriodClosure
from app.core import clock
from app.core.tenancy import require_scope

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")


def parse_period(kind: str, text: str) -> tuple[date, date]:
    """``"2026-11"`` (a month) or ``"2026"`` (a year) → its first and last day."""
    m = (_MONTH if kind == ClosureKind.month else _YEAR).match(text.strip())
    if m is None:
        raise InvalidPeriod()
    year = int(m.group(1))
    if not 2000 <= year <= 2200:
        raise InvalidPeriod()
    if kind == ClosureKind.year:
        return date(year, 1, 1), date(year, 12, 31)
    month = int(m.group(2))
    if not 1 <= month <= 12:
        raise InvalidPeriod()
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


async def is_closed(session: AsyncSession, day: date) -> bool:
    found = await session.exec(select(PeriodClosure.id).where(col(PeriodClosure.starts_on) <= day,
                                                              col(PeriodClosure.ends_on) >= day).limit(1))
    return found.first() is not None


async def refuse_closed(session: AsyncSession, day: date, field: str) -> None:
    if await is_closed(session, day):
        raise PeriodClosed(field)


async def close(session: AsyncSession, *, kind: str, period: str, today: date, actor_id: int | None) -> PeriodClosure:
    """Close a period that is over: its totals go into the chain; it then accepts nothing."""
    from app.billing import chain

    starts, ends = parse_period(kind, period)
    if ends >= today:
        raise PeriodNotOver()
    head = await chain.lock_head(session)
    existing = await session.exec(select(PeriodClosure.id).where(col(PeriodClosure.kind) == kind,
                                                                 col(PeriodClosure.starts_on) == starts))
    if existing.first() is not None:
        raise PeriodAlreadyClosed()
    in_period = (col(Invoice.status) == InvoiceStatus.issued, col(Invoice.issued_on) >= starts,
                 col(Invoice.issued_on) <= ends)
    excl, vat, incl = (await session.exec(select(
        func.coalesce(func.sum(Invoice.total_excl_cents), 0), func.coalesce(func.sum(Invoice.total_vat_cents), 0),
        func.coalesce(func.sum(Invoice.total_incl_cents), 0),
    ).where(col(Invoice.kind) == InvoiceKind.invoice, *in_period))).one()
    credited = (await session.exec(select(func.coalesce(func.sum(Invoice.total_incl_cents), 0))
                                   .where(col(Invoice.kind) == InvoiceKind.credit_note, *in_period))).one()
    paid = (await session.exec(select(func.coalesce(func.sum(Payment.amount_cents), 0))
                               .where(col(Payment.paid_on) >= starts, col(Payment.paid_on) <= ends))).one()
    closure = PeriodClosure(space_id=require_scope(session), kind=kind, starts_on=starts, ends_on=ends, invoiced_excl_cents=int(excl),
                            invoiced_vat_cents=int(vat), invoiced_incl_cents=int(incl),
                            credited_incl_cents=-int(credited), payments_cents=int(paid), closed_by_id=actor_id,
                            closed_at=clock.now(), chain_seq=0, hash="")
    chain.append(head, closure)
    session.add_all([closure, head])
    try:
        await session.flush()
    except IntegrityError as exc:  # (the book lock makes this a last resort)
        raise PeriodAlreadyClosed() from exc
    return closure
