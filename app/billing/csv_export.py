"""Invoices, credit notes and payments of a period as CSV, the way French spreadsheets read it:
``;`` between cells, a decimal comma, dates ``DD/MM/YYYY``, UTF-8 with a BOM (so that Excel reads
the accents). Headers in the reader's language. A period with no data gives the header alone."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.billing.errors import InvalidRange
from app.billing.models import Invoice, InvoiceStatus, Payment
from app.core.i18n import _


def _amount(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100},{abs(cents) % 100:02d}"


def _day(d: date | None) -> str:
    return d.strftime("%d/%m/%Y") if d else ""


def _text(value: str | None) -> str:
    # A cell starting with = + - @ is a formula to spreadsheets: buyers' names are typed by people.
    value = value or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _writer() -> tuple[io.StringIO, Any]:
    out = io.StringIO()
    out.write("\ufeff")
    return out, csv.writer(out, delimiter=";", lineterminator="\r\n")


def _check(start: date, end: date) -> None:
    if end < start:
        raise InvalidRange()


async def invoices_csv(session: AsyncSession, start: date, end: date) -> str:
    _check(start, end)
    rows = (await session.exec(select(Invoice).where(
        col(Invoice.status) == InvoiceStatus.issued, col(Invoice.issued_on) >= start, col(Invoice.issued_on) <= end)
        .order_by(col(Invoice.issued_on), col(Invoice.chain_seq)))).all()
    numbers = {i.id: i.number for i in rows}
    out, writer = _writer()
    writer.writerow([_("Number"), _("Type"), _("Date"), _("Due by"), _("Customer"), _("SIREN"), _("Excl. VAT"),
                     _("VAT"), _("Incl. VAT"), _("Corrects invoice")])
    for i in rows:
        writer.writerow([i.number, _("Credit note") if i.is_credit_note else _("Invoice"), _day(i.issued_on),
                         _day(i.due_on), _text(i.buyer_name), i.buyer_siren or "", _amount(i.total_excl_cents),
                         _amount(i.total_vat_cents), _amount(i.total_incl_cents),
                         numbers.get(i.corrects_id, "") if i.corrects_id else ""])
    return out.getvalue()


async def payments_csv(session: AsyncSession, start: date, end: date) -> str:
    _check(start, end)
    rows = (await session.exec(select(Payment, Invoice).join(Invoice, col(Invoice.id) == Payment.invoice_id).where(
        col(Payment.paid_on) >= start, col(Payment.paid_on) <= end)
        .order_by(col(Payment.paid_on), col(Payment.chain_seq)))).all()
    out, writer = _writer()
    writer.writerow([_("Date"), _("Invoice"), _("Customer"), _("Method"), _("Amount"), _("Reference"),
                     _("Bank (cheque)"), _("Refund")])
    for p, i in rows:
        writer.writerow([_day(p.paid_on), i.number, _text(i.buyer_name), p.method, _amount(p.amount_cents),
                         _text(p.reference), _text(p.cheque_bank), _("yes") if p.refunds_id else ""])
    return out.getvalue()
