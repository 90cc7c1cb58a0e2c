"""Invoices and credit notes: drafted, issued (numbered and chained), never edited once issued.

Everything that writes to the books takes the space's book lock first (``chain.lock_head``), then
the invoice row it is about (``SELECT … FOR UPDATE``), then a series counter: one order, so no two
writers wait on each other crosswise. Services flush, never commit (the request or the job does).
Amounts are integer cents; a credit note's lines and totals are negative (the mirror of the lines
it credits), so the sum of a member's invoices and credit notes is what they were charged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.billing import chain, periods
from app.billing.errors import (
    BuyerRequired,
    CreditAboveInvoice,
    EmptyInvoice,
    InvoiceAlreadyIssued,
    InvoiceNotFound,
    InvoiceNotIssued,
    LineNotOnInvoice,
    NotAnInvoice,
    NothingToCredit,
    UnknownMember,
)
from app.billing.models import BillingCounter, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, Payment
from app.core import clock, i18n
from app.core.tenancy import require_scope
from app.pricing.models import Charge
from app.pricing.vat import check_rate, split
from app.space.legal import vat_mention
from app.space.models import Space, SpaceMember

DEFAULT_PREFIX = "F"
CREDIT_SERIES = "AV"  # avoirs: their own series, after the space's prefix


@dataclass(frozen=True)
class Buyer:
    name: str
    address: str | None = None
    siren: str | None = None
    vat_number: str | None = None
    is_business: bool = False


@dataclass(frozen=True)
class Line:
    """A line to write on a draft: amounts already split by the rounding rule."""

    item: str
    label: str
    quantity: int
    unit: str
    unit_price_cents: int
    prices_include_vat: bool
    vat_rate_bp: int
    amount_excl_cents: int
    vat_cents: int
    amount_incl_cents: int
    charge_id: int | None = None
    credits_line_id: int | None = None

    @classmethod
    def of_charge(cls, c: Charge, *, credits_line_id: int | None = None) -> Line:
        return cls(c.item, c.label, c.quantity, c.unit, c.unit_price_cents, c.prices_include_vat, c.vat_rate_bp,
                   c.amount_excl_cents, c.vat_cents, c.amount_incl_cents, charge_id=c.id,
                   credits_line_id=credits_line_id)

    @classmethod
    def mirror(cls, x: InvoiceLine) -> Line:
        """The credit of an invoice line: the same line, negated."""
        return cls(x.item, x.label, -x.quantity, x.unit, x.unit_price_cents, x.prices_include_vat, x.vat_rate_bp,
                   -x.amount_excl_cents, -x.vat_cents, -x.amount_incl_cents, credits_line_id=x.id)


def free_line(space: Space, *, label: str, quantity: int, unit_price_cents: int, vat_rate_bp: int | None,
              unit: str = "unit") -> Line:
    """A manual line priced as the space types its prices (VAT included or not), at ``vat_rate_bp``
    (None: the space's default), at 0 % in a space exempt from VAT."""
    rate = check_rate(vat_rate_bp, "vat_rate_bp", optional=True)
    rate = 0 if not space.charges_vat else (space.default_vat_rate_bp if rate is None else rate)
    amounts = split(quantity * unit_price_cents, rate, prices_include_vat=space.prices_include_vat)
    return Line("manual", label[:200], quantity, unit, unit_price_cents, space.prices_include_vat, rate,
                amounts.excl_cents, amounts.vat_cents, amounts.incl_cents)


def local_today(space: Space) -> date:
    """The space's current date, in its time zone: what invoices and payments are dated by default."""
    return clock.now().astimezone(ZoneInfo(space.timezone)).date()


def _seller_address(space: Space) -> str | None:
    parts = [p for p in (space.address, " ".join(x for x in (space.postcode, space.town) if x)) if p]
    return ", ".join(parts) or None


# Legal mentions (English msgids; printed in the space's language).
SERVICES_MENTION = i18n.N_("Nature of the operation: provision of services.")
B2B_PENALTIES = i18n.N_("Late payment: penalties at three times the French legal interest rate, and a fixed "
                        "indemnity of €40 for recovery costs (art. L441-10 and D441-5 of the Code de commerce). "
                        "No discount for early payment.")
CREDIT_MENTION = i18n.N_("Credit note for invoice %(number)s.")


def mentions_for(space: Space, *, buyer: Buyer, credited_number: str | None = None) -> str:
    out: list[str] = []
    with i18n.use_locale(space.locale):
        if credited_number:
            out.append(i18n.gettext(CREDIT_MENTION, number=credited_number))
        out.append(i18n.gettext(SERVICES_MENTION))
        mention = vat_mention(space.vat_regime)
        if mention:
            out.append(i18n.gettext(mention))
        if buyer.is_business:
            out.append(i18n.gettext(B2B_PENALTIES))
    return "\n".join(out)


async def buyer_of_member(session: AsyncSession, account_id: int) -> Buyer:
    """A member as a buyer (an individual: the account's name); UnknownMember if not one of the space."""
    member = (await session.exec(select(SpaceMember).where(col(SpaceMember.account_id) == account_id))).first()
    account = await session.get(Account, account_id) if member is not None else None
    if account is None:
        raise UnknownMember()
    return Buyer(name=account.name)


def build(space: Space, space_id: int, *, buyer: Buyer, lines: Sequence[Line], account_id: int | None = None,
          kind: InvoiceKind = InvoiceKind.invoice, corrects: Invoice | None = None,
          actor_id: int | None = None) -> tuple[Invoice, list[InvoiceLine]]:
    """A draft and its lines, not added to the session yet (the lines' ``invoice_id`` is set once
    the invoice is flushed); totals are the sums of the lines. Refuses an empty or €0 invoice."""
    if not buyer.name.strip():
        raise BuyerRequired()
    if not lines:
        raise EmptyInvoice()
    invoice = Invoice(
        space_id=space_id, kind=kind, status=InvoiceStatus.draft, account_id=account_id,
        buyer_name=buyer.name[:200], buyer_address=buyer.address, buyer_siren=buyer.siren,
        buyer_vat_number=buyer.vat_number, buyer_is_business=buyer.is_business,
        seller_name=(space.legal_name or space.name)[:200], seller_siret=space.siret,
        seller_address=_seller_address(space), seller_vat_number=space.vat_number, vat_regime=space.vat_regime,
        currency=space.currency, corrects_id=corrects.id if corrects else None,
        total_excl_cents=sum(x.amount_excl_cents for x in lines), total_vat_cents=sum(x.vat_cents for x in lines),
        total_incl_cents=sum(x.amount_incl_cents for x in lines),
        mentions=mentions_for(space, buyer=buyer, credited_number=corrects.number if corrects else None),
        created_by_id=actor_id, created_at=clock.now(),
    )
    if kind == InvoiceKind.invoice and invoice.total_incl_cents <= 0:
        raise EmptyInvoice()  # no €0 invoice
    rows = [InvoiceLine(space_id=space_id, invoice_id=0, position=n, charge_id=x.charge_id,
                        credits_line_id=x.credits_line_id, item=x.item, label=x.label, quantity=x.quantity,
                        unit=x.unit, unit_price_cents=x.unit_price_cents, prices_include_vat=x.prices_include_vat,
                        vat_rate_bp=x.vat_rate_bp, amount_excl_cents=x.amount_excl_cents, vat_cents=x.vat_cents,
                        amount_incl_cents=x.amount_incl_cents)
            for n, x in enumerate(lines, start=1)]
    return invoice, rows


async def save(session: AsyncSession, built: Sequence[tuple[Invoice, list[InvoiceLine]]]) -> None:
    """INSERT invoices then their lines, each in as few statements as the database allows."""
    session.add_all([invoice for invoice, _lines in built])
    await session.flush()
    for invoice, lines in built:
        for line in lines:
            line.invoice_id = int(invoice.id or 0)
    session.add_all([line for _invoice, lines in built for line in lines])
    await session.flush()


async def create_draft(session: AsyncSession, space: Space, *, buyer: Buyer, lines: Sequence[Line],
                       account_id: int | None = None, kind: InvoiceKind = InvoiceKind.invoice,
                       corrects: Invoice | None = None, actor_id: int | None = None) -> tuple[Invoice, list[InvoiceLine]]:
    """A draft (no number yet) with its lines, written."""
    invoice, rows = build(space, require_scope(session), buyer=buyer, lines=lines, account_id=account_id, kind=kind,
                          corrects=corrects, actor_id=actor_id)
    await save(session, [(invoice, rows)])
    return invoice, rows


def series_of(space: Space, kind: str, on: date) -> str:
    prefix = space.invoice_prefix or DEFAULT_PREFIX
    return f"{prefix}{CREDIT_SERIES if kind == InvoiceKind.credit_note else ''}{on.year}"


def stamp(space: Space, head: BillingCounter, invoice: Invoice, lines: Sequence[InvoiceLine], *, series: str,
          seq: int, today: date) -> None:
    """Make ``invoice`` issued: its number (``seq`` taken from the series' counter in this
    transaction), its dates and its place in the chain whose head is locked."""
    invoice.series, invoice.seq, invoice.number = series, seq, f"{series}-{seq:05d}"
    invoice.status = InvoiceStatus.issued
    invoice.issued_on = today
    invoice.issued_at = clock.now()
    invoice.due_on = today + timedelta(days=space.payment_terms_days) if invoice.kind == InvoiceKind.invoice else None
    chain.append(head, invoice, lines)


async def issue(session: AsyncSession, space: Space, invoice: Invoice, lines: Sequence[InvoiceLine], *,
                today: date, head: BillingCounter | None = None) -> Invoice:
    """Number a draft in its series and chain it, in the caller's transaction. From here on the
    database refuses any change to it."""
    head = head or await chain.lock_head(session)
    if invoice.status != InvoiceStatus.draft:
        raise InvoiceAlreadyIssued()
    await periods.refuse_closed(session, today, "issued_on")
    series = series_of(space, invoice.kind, today)
    stamp(space, head, invoice, lines, series=series, seq=await chain.take(session, series), today=today)
    session.add_all([invoice, head])
    await session.flush()
    return invoice


async def lock_invoice(session: AsyncSession, invoice_id: int) -> Invoice:
    invoice = (await session.exec(select(Invoice).where(col(Invoice.id) == invoice_id).with_for_update()
                                  .execution_options(populate_existing=True))).first()
    if invoice is None:
        raise InvoiceNotFound()
    return invoice


async def get_invoice(session: AsyncSession, invoice_id: int) -> Invoice:
    invoice = (await session.exec(select(Invoice).where(col(Invoice.id) == invoice_id))).first()
    if invoice is None:
        raise InvoiceNotFound()
    return invoice


async def lines_of(session: AsyncSession, invoice_ids: Sequence[int]) -> dict[int, list[InvoiceLine]]:
    out: dict[int, list[InvoiceLine]] = {i: [] for i in invoice_ids}
    if invoice_ids:
        rows = await session.exec(select(InvoiceLine).where(col(InvoiceLine.invoice_id).in_(list(invoice_ids)))
                                  .order_by(col(InvoiceLine.invoice_id), col(InvoiceLine.position)))
        for line in rows.all():
            out[line.invoice_id].append(line)
    return out


async def issue_draft(session: AsyncSession, space: Space, invoice_id: int, *, today: date) -> Invoice:
    head = await chain.lock_head(session)
    invoice = await lock_invoice(session, invoice_id)
    lines = (await lines_of(session, [invoice_id]))[invoice_id]
    return await issue(session, space, invoice, lines, today=today, head=head)


async def credited_line_ids(session: AsyncSession, line_ids: Sequence[int]) -> set[int]:
    if not line_ids:
        return set()
    rows = await session.exec(select(InvoiceLine.credits_line_id)
                              .where(col(InvoiceLine.credits_line_id).in_(list(line_ids))))
    return {int(x) for x in rows.all() if x is not None}


async def credit_invoice(session: AsyncSession, space: Space, invoice_id: int, *, line_ids: Sequence[int] | None,
                         today: date, actor_id: int | None) -> Invoice:
    """Issue a credit note mirroring ``line_ids`` of an issued invoice (all that remains when None).

    A line is credited once (the database's unique ``credits_line_id`` and the invoice row locked
    here): a credit note never exceeds what remains uncredited."""
    head = await chain.lock_head(session)
    invoice = await lock_invoice(session, invoice_id)
    if invoice.kind != InvoiceKind.invoice:
        raise NotAnInvoice()
    if invoice.status != InvoiceStatus.issued:
        raise InvoiceNotIssued()
    lines = (await lines_of(session, [invoice_id]))[invoice_id]
    by_id = {int(x.id or 0): x for x in lines}
    credited = await credited_line_ids(session, list(by_id))
    if line_ids is None:
        chosen = [x for x in lines if x.id not in credited]
        if not chosen:
            raise NothingToCredit()
    else:
        if not line_ids or any(i not in by_id for i in line_ids):
            raise LineNotOnInvoice()
        if any(i in credited for i in line_ids):
            raise CreditAboveInvoice()
        chosen = [by_id[i] for i in dict.fromkeys(line_ids)]
    buyer = Buyer(invoice.buyer_name, invoice.buyer_address, invoice.buyer_siren, invoice.buyer_vat_number,
                  invoice.buyer_is_business)
    note, note_lines = await create_draft(session, space, buyer=buyer, lines=[Line.mirror(x) for x in chosen],
                                          account_id=invoice.account_id, kind=InvoiceKind.credit_note,
                                          corrects=invoice, actor_id=actor_id)
    return await issue(session, space, note, note_lines, today=today, head=head)


# -- what is due --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settlement:
    paid_cents: int
    credited_cents: int  # credit notes, positive
    due_cents: int

    def status(self, invoice: Invoice, today: date) -> str | None:
        """paid / unpaid / overdue for an issued invoice (None for a draft or a credit note)."""
        if invoice.kind != InvoiceKind.invoice or invoice.status != InvoiceStatus.issued:
            return None
        if self.due_cents <= 0:
            return "paid"
        return "overdue" if invoice.due_on is not None and invoice.due_on < today else "unpaid"


async def settlements(session: AsyncSession, invoices: Sequence[Invoice]) -> dict[int, Settlement]:
    """What was paid, credited and is still due on each invoice (sums of payments and credit notes)."""
    ids = [int(i.id or 0) for i in invoices]
    paid: dict[int, int] = {}
    credited: dict[int, int] = {}
    if ids:
        for invoice_id, total in (await session.exec(
                select(Payment.invoice_id, func.sum(Payment.amount_cents))
                .where(col(Payment.invoice_id).in_(ids)).group_by(col(Payment.invoice_id)))).all():
            paid[int(invoice_id)] = int(total or 0)
        for corrected_id, total in (await session.exec(
                select(Invoice.corrects_id, func.sum(Invoice.total_incl_cents))
                .where(col(Invoice.corrects_id).in_(ids), col(Invoice.status) == InvoiceStatus.issued)
                .group_by(col(Invoice.corrects_id)))).all():
            credited[int(corrected_id or 0)] = -int(total or 0)
    out = {}
    for i in invoices:
        key = int(i.id or 0)
        p, c = paid.get(key, 0), credited.get(key, 0)
        due = i.total_incl_cents - c - p if i.kind == InvoiceKind.invoice and i.status == InvoiceStatus.issued else 0
        out[key] = Settlement(p, c, due)
    return out
