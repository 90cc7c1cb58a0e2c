"""Payments recorded on site (cash, cheque, transfer, card terminal, vouchers) and refunds.

A payment settles part or all of an issued invoice, never more than is still due: the book lock
and the invoice row are locked (``FOR UPDATE``) before the sums are read, so two payments racing
for the last euros are decided one after the other and the second is refused. A refund is a
negative payment naming the payment it refunds, never more than what is left of it. Payments are
chained (``app.billing.chain``) and never updated nor deleted (database triggers).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.billing import chain, periods, service
from app.billing.errors import (
    InvoiceNotIssued,
    NotAnInvoice,
    PaymentAboveDue,
    PaymentAmountInvalid,
    PaymentNotFound,
    RefundAbovePayment,
    RefundOfRefund,
)
from app.billing.models import BillingCounter, Invoice, InvoiceKind, InvoiceStatus, Payment, PaymentMethod
from app.core import clock
from app.core.money import format_money
from app.core.tenancy import require_scope


def _new(head: BillingCounter, session: AsyncSession, invoice: Invoice, *, method: str, amount_cents: int,
         paid_on: date, reference: str | None, cheque_bank: str | None, refunds_id: int | None,
         actor_id: int | None) -> Payment:
    payment = Payment(space_id=require_scope(session), invoice_id=int(invoice.id or 0), method=method,
                      amount_cents=amount_cents, currency=invoice.currency, paid_on=paid_on,
                      reference=reference or None, cheque_bank=cheque_bank or None, refunds_id=refunds_id,
                      recorded_by_id=actor_id, recorded_at=clock.now(), chain_seq=0, hash="")
    chain.append(head, payment)
    session.add_all([payment, head])
    return payment


async def record(session: AsyncSession, invoice_id: int, *, method: PaymentMethod, amount_cents: int,
                 paid_on: date, reference: str | None = None, cheque_bank: str | None = None,
                 actor_id: int | None = None) -> Payment:
    """Record a payment received for an issued invoice, at most what is still due."""
    if amount_cents <= 0:
        raise PaymentAmountInvalid()
    head = await chain.lock_head(session)
    invoice = await service.lock_invoice(session, invoice_id)
    if invoice.kind != InvoiceKind.invoice:
        raise NotAnInvoice()
    if invoice.status != InvoiceStatus.issued:
        raise InvoiceNotIssued()
    await periods.refuse_closed(session, paid_on, "paid_on")
    due = (await service.settlements(session, [invoice]))[int(invoice.id or 0)].due_cents
    if amount_cents > due:
        raise PaymentAboveDue(format_money(max(due, 0), invoice.currency))
    payment = _new(head, session, invoice, method=method, amount_cents=amount_cents, paid_on=paid_on,
                   reference=reference, cheque_bank=cheque_bank, refunds_id=None, actor_id=actor_id)
    await session.flush()
    return payment


async def get(session: AsyncSession, payment_id: int) -> Payment:
    payment = (await session.exec(select(Payment).where(col(Payment.id) == payment_id))).first()
    if payment is None:
        raise PaymentNotFound()
    return payment


async def refund(session: AsyncSession, payment_id: int, *, amount_cents: int, paid_on: date,
                 method: PaymentMethod | None = None, reference: str | None = None,
                 actor_id: int | None = None) -> Payment:
    """Refund (part of) a payment: a negative payment naming it, at most what is left of it."""
    if amount_cents <= 0:
        raise PaymentAmountInvalid()
    head = await chain.lock_head(session)
    original = await get(session, payment_id)
    if original.refunds_id is not None or original.amount_cents <= 0:
        raise RefundOfRefund()
    invoice = await service.lock_invoice(session, original.invoice_id)
    await periods.refuse_closed(session, paid_on, "paid_on")
    refunded = (await session.exec(select(func.coalesce(func.sum(Payment.amount_cents), 0))
                                   .where(col(Payment.refunds_id) == original.id))).one()
    left = original.amount_cents + int(refunded)
    if amount_cents > left:
        raise RefundAbovePayment(format_money(left, original.currency))
    payment = _new(head, session, invoice, method=method or original.method, amount_cents=-amount_cents,
                   paid_on=paid_on, reference=reference, cheque_bank=None, refunds_id=original.id, actor_id=actor_id)
    await session.flush()
    return payment


async def of_invoices(session: AsyncSession, invoice_ids: list[int]) -> dict[int, list[Payment]]:
    out: dict[int, list[Payment]] = {i: [] for i in invoice_ids}
    if invoice_ids:
        for p in (await session.exec(select(Payment).where(col(Payment.invoice_id).in_(invoice_ids))
                                     .order_by(col(Payment.id)))).all():
            out[p.invoice_id].append(p)
    return out
