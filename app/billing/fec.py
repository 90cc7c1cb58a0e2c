"""The FEC (fichier des écritures comptables, art. A47 A-1 du LPF) of a fiscal year.

The 18 columns in the legal order, tab-separated, one line per entry line; dates ``YYYYMMDD``,
amounts with a decimal comma and no thousands separator; every entry (``EcritureNum``) balances.
The file is named ``{SIREN}FEC{YYYYMMDD}.txt`` (the last day of the fiscal year, here the calendar
year). Encoded in UTF-8. A year with no data gives the header alone — an empty but valid file.

Entries (the default chart of accounts; a space's own chart is not built yet):

- sales journal ``VE``, one entry per issued invoice or credit note (its number): the customer
  ``411`` (auxiliary account ``C{account id}``, or ``X{invoice id}`` for a buyer who is not a
  member) for the total including VAT, against revenue ``706x`` per activity excluding VAT and VAT
  collected ``44571x`` per rate. A credit note is the same entry the other way round;
- treasury journals, one entry per payment: ``CA`` cash ``530``, ``BQ`` bank ``512`` (transfer,
  card terminal), ``CH`` cheques to deposit ``5112``, ``TP`` vouchers ``5113``, against the
  customer's ``411``. A refund is the same entry the other way round.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.billing.errors import SirenRequired
from app.billing.models import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, Payment, PaymentMethod
from app.space.models import Space

COLUMNS = ("JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
           "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
           "ValidDate", "Montantdevise", "Idevise")

CUSTOMERS = ("411", "Clients")
REVENUE = {"booking": ("7061", "Locations d'espaces"), "late_cancel_fee": ("7061", "Locations d'espaces"),
           "registration": ("7062", "Événements"), "plan": ("7063", "Abonnements"),
           "plan_change": ("7063", "Abonnements"), "pass": ("7064", "Pass et carnets"),
           "adhesion": ("7065", "Adhésions")}
OTHER_REVENUE = ("7068", "Autres prestations")
VAT_ACCOUNTS = {2000: "4457120", 1000: "4457110", 550: "4457105", 210: "4457102", 0: "4457100"}
TREASURY = {PaymentMethod.cash: ("CA", "Caisse", "530", "Caisse"),
            PaymentMethod.transfer: ("BQ", "Banque", "512", "Banque"),
            PaymentMethod.card_terminal: ("BQ", "Banque", "512", "Banque"),
            PaymentMethod.cheque: ("CH", "Chèques", "5112", "Chèques à encaisser"),
            PaymentMethod.voucher: ("TP", "Titres de paiement", "5113", "Titres de paiement à encaisser")}


@dataclass(frozen=True)
class Row:
    journal: str
    journal_label: str
    number: str
    on: date
    account: str
    account_label: str
    aux: str
    aux_label: str
    piece: str
    label: str
    debit: int  # cents
    credit: int


def amount(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


def _day(d: date) -> str:
    return d.strftime("%Y%m%d")


def _clean(text: str) -> str:
    return " ".join(text.replace("\t", " ").split())


def _pair(value: int) -> tuple[int, int]:
    """A signed amount on the debit side → (debit, credit), both positive."""
    return (value, 0) if value >= 0 else (0, -value)


def _aux(invoice: Invoice) -> tuple[str, str]:
    return (f"C{invoice.account_id}" if invoice.account_id else f"X{invoice.id}"), invoice.buyer_name


def sales_entry(invoice: Invoice, lines: list[InvoiceLine]) -> list[Row]:
    number, on = str(invoice.number), invoice.issued_on or date.min
    aux, aux_label = _aux(invoice)
    title = ("Avoir " if invoice.kind == InvoiceKind.credit_note else "Facture ") + number
    rows = [Row("VE", "Ventes", number, on, *CUSTOMERS, aux, aux_label, number, title, *_pair(invoice.total_incl_cents))]
    revenue: dict[tuple[str, str], int] = defaultdict(int)
    vat: dict[int, int] = defaultdict(int)
    for x in lines:
        revenue[REVENUE.get(x.item, OTHER_REVENUE)] += x.amount_excl_cents
        vat[x.vat_rate_bp] += x.vat_cents
    for (account, label), cents in sorted(revenue.items()):
        rows.append(Row("VE", "Ventes", number, on, account, label, "", "", number, title, *reversed(_pair(cents))))
    for rate, cents in sorted(vat.items(), reverse=True):
        if cents:
            rows.append(Row("VE", "Ventes", number, on, VAT_ACCOUNTS.get(rate, "44571"), "TVA collectée", "", "",
                            number, title, *reversed(_pair(cents))))
    return rows


def payment_entry(payment: Payment, invoice: Invoice) -> list[Row]:
    journal, journal_label, account, label = TREASURY[PaymentMethod(payment.method)]
    number = f"RG{payment.id:06d}"
    aux, aux_label = _aux(invoice)
    title = _clean(f"Règlement {invoice.number}" + (f" {payment.reference}" if payment.reference else ""))
    debit, credit = _pair(payment.amount_cents)
    return [Row(journal, journal_label, number, payment.paid_on, account, label, "", "", str(invoice.number), title,
                debit, credit),
            Row(journal, journal_label, number, payment.paid_on, *CUSTOMERS, aux, aux_label, str(invoice.number),
                title, credit, debit)]


def file_name(space: Space, year: int) -> str:
    siren = (space.siret or "")[:9]
    if len(siren) != 9:
        raise SirenRequired()
    return f"{siren}FEC{year}1231.txt"


def render(rows: list[Row]) -> str:
    out = ["\t".join(COLUMNS)]
    for r in rows:
        out.append("\t".join((r.journal, r.journal_label, r.number, _day(r.on), r.account, _clean(r.account_label),
                              r.aux, _clean(r.aux_label), r.piece, _day(r.on), _clean(r.label), amount(r.debit),
                              amount(r.credit), "", "", _day(r.on), "", "")))
    return "\r\n".join(out) + "\r\n"


async def export_year(session: AsyncSession, space: Space, year: int) -> tuple[str, str]:
    """(file name, content) of the space's FEC for ``year``, entries in date order."""
    name = file_name(space, year)
    start, end = date(year, 1, 1), date(year, 12, 31)
    invoices = list((await session.exec(select(Invoice).where(
        col(Invoice.status) == InvoiceStatus.issued, col(Invoice.issued_on) >= start, col(Invoice.issued_on) <= end)
        .order_by(col(Invoice.issued_on), col(Invoice.chain_seq)))).all())
    lines: dict[int, list[InvoiceLine]] = defaultdict(list)
    if invoices:
        for x in (await session.exec(select(InvoiceLine).where(
                col(InvoiceLine.invoice_id).in_([i.id for i in invoices])))).all():
            lines[x.invoice_id].append(x)
    payments = list((await session.exec(select(Payment).where(
        col(Payment.paid_on) >= start, col(Payment.paid_on) <= end).order_by(col(Payment.paid_on),
                                                                              col(Payment.chain_seq)))).all())
    paid_invoices = {i.id: i for i in (await session.exec(select(Invoice).where(
        col(Invoice.id).in_({p.invoice_id for p in payments})))).all()} if payments else {}
    entries: list[tuple[date, int, list[Row]]] = []
    for i in invoices:
        entries.append((i.issued_on or start, int(i.chain_seq or 0), sales_entry(i, lines[int(i.id or 0)])))
    for p in payments:
        entries.append((p.paid_on, p.chain_seq, payment_entry(p, paid_invoices[p.invoice_id])))
    entries.sort(key=lambda e: (e[0], e[1]))
    return name, render([row for _d, _s, rows in entries for row in rows])
