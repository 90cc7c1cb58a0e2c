"""Reading invoices by what a manager filters on: draft, issued, unpaid, overdue, paid — the last
three derived in SQL from the payments and credit notes, never stored."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.billing.models import Invoice, InvoiceKind, InvoiceStatus, Payment, PeriodClosure

FILTERS = ("draft", "issued", "unpaid", "overdue", "paid")


async def list_invoices(session: AsyncSession, *, today: date, status: str | None = None, kind: str | None = None,
                        account_id: int | None = None, limit: int = 100, offset: int = 0) -> list[Invoice]:
    note = aliased(Invoice)
    paid = (select(col(Payment.invoice_id).label("iid"), func.sum(Payment.amount_cents).label("cents"))
            .group_by(col(Payment.invoice_id)).subquery())
    credited = (select(col(note.corrects_id).label("iid"), func.sum(note.total_incl_cents).label("cents"))
                .where(col(note.kind) == InvoiceKind.credit_note, col(note.status) == InvoiceStatus.issued)
                .group_by(col(note.corrects_id)).subquery())
    due: Any = (col(Invoice.total_incl_cents) + func.coalesce(credited.c.cents, 0) - func.coalesce(paid.c.cents, 0))
    stmt: Any = (select(Invoice).outerjoin(paid, paid.c.iid == Invoice.id)
                 .outerjoin(credited, credited.c.iid == Invoice.id))
    if status == "draft":
        stmt = stmt.where(col(Invoice.status) == InvoiceStatus.draft)
    elif status is not None:
        stmt = stmt.where(col(Invoice.status) == InvoiceStatus.issued)
        if status in ("unpaid", "overdue", "paid"):
            stmt = stmt.where(col(Invoice.kind) == InvoiceKind.invoice)
        if status == "paid":
            stmt = stmt.where(due <= 0)
        elif status == "unpaid":
            stmt = stmt.where(due > 0, col(Invoice.due_on) >= today)
        elif status == "overdue":
            stmt = stmt.where(due > 0, col(Invoice.due_on) < today)
    if kind is not None:
        stmt = stmt.where(col(Invoice.kind) == kind)
    if account_id is not None:
        stmt = stmt.where(col(Invoice.account_id) == account_id)
    stmt = stmt.order_by(col(Invoice.issued_on).desc(), col(Invoice.id).desc()).limit(limit).offset(offset)
    return list((await session.exec(stmt)).all())


async def issued_to(session: AsyncSession, account_id: int) -> list[Invoice]:
    """A member's issued invoices and credit notes, newest first."""
    rows = await session.exec(select(Invoice).where(col(Invoice.account_id) == account_id,
                                                    col(Invoice.status) == InvoiceStatus.issued)
                              .order_by(col(Invoice.issued_on).desc(), col(Invoice.id).desc()))
    return list(rows.all())


async def closures(session: AsyncSession) -> list[PeriodClosure]:
    return list((await session.exec(select(PeriodClosure).order_by(col(PeriodClosure.starts_on).desc()))).all())
