"""API shapes of invoices, credit notes, payments and closures (amounts in integer cents)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.billing.models import Invoice, InvoiceLine, Payment, PaymentMethod, PeriodClosure
from app.billing.service import Settlement
from app.core.money import Cents
from app.core.schemas import MAX_ID, IsoDate, SingleLine, Strict
from app.pricing.vat import Amounts, summarise

Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
Quantity = Annotated[int, Field(strict=True, ge=1, le=100_000)]


class BuyerIn(Strict):
    name: Annotated[SingleLine, Field(min_length=1, max_length=200)]
    address: Annotated[SingleLine, Field(max_length=400)] | None = None
    siren: Annotated[str, Field(pattern=r"^\d{9}(\d{5})?$")] | None = None
    vat_number: Annotated[str, Field(pattern=r"^[A-Z]{2}[0-9A-Z]{2,13}$")] | None = None
    is_business: Annotated[bool, Field(strict=True)] = False


class FreeLineIn(Strict):
    label: Annotated[SingleLine, Field(min_length=1, max_length=200)]
    quantity: Quantity = 1
    unit_price_cents: Cents
    vat_rate_bp: int | None = Field(default=None, strict=True,
                                    description="2000, 1000, 550, 210 or 0; null: the space's default rate")


class InvoiceCreate(Strict):
    """A manual invoice with free lines, for a member (``account_id``) or another buyer (``buyer``)."""

    account_id: Id | None = None
    buyer: BuyerIn | None = None
    lines: Annotated[list[FreeLineIn], Field(min_length=1, max_length=200)]
    issue: Annotated[bool, Field(strict=True)] = True


class CreditNoteCreate(Strict):
    line_ids: Annotated[list[Id], Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="The invoice's lines to credit; none: every line not credited yet (cancel)")


class PaymentCreate(Strict):
    method: PaymentMethod
    amount_cents: Cents
    paid_on: IsoDate | None = Field(default=None, description="Default: today in the space's time zone")
    reference: Annotated[SingleLine, Field(max_length=100)] | None = Field(
        default=None, description="Cheque number, transfer reference")
    cheque_bank: Annotated[SingleLine, Field(max_length=100)] | None = None


class RefundCreate(Strict):
    amount_cents: Cents
    paid_on: IsoDate | None = None
    method: PaymentMethod | None = None
    reference: Annotated[SingleLine, Field(max_length=100)] | None = None


class ClosureCreate(Strict):
    kind: Literal["month", "year"]
    period: Annotated[str, Field(max_length=7, description="YYYY-MM for a month, YYYY for a year")]


class LineRead(BaseModel):
    id: int
    position: int
    charge_id: int | None
    credits_line_id: int | None
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

    @classmethod
    def of(cls, x: InvoiceLine) -> LineRead:
        return cls(id=int(x.id or 0), position=x.position, charge_id=x.charge_id, credits_line_id=x.credits_line_id,
                   item=x.item, label=x.label, quantity=x.quantity, unit=x.unit, unit_price_cents=x.unit_price_cents,
                   prices_include_vat=x.prices_include_vat, vat_rate_bp=x.vat_rate_bp,
                   amount_excl_cents=x.amount_excl_cents, vat_cents=x.vat_cents, amount_incl_cents=x.amount_incl_cents)


class RateTotalRead(BaseModel):
    rate_bp: int
    excl_cents: int
    vat_cents: int
    incl_cents: int


class PaymentRead(BaseModel):
    id: int
    invoice_id: int
    method: str
    amount_cents: int
    currency: str
    paid_on: date
    reference: str | None
    cheque_bank: str | None
    refunds_id: int | None
    recorded_at: datetime
    hash: str

    @classmethod
    def of(cls, p: Payment) -> PaymentRead:
        return cls(id=int(p.id or 0), invoice_id=p.invoice_id, method=p.method, amount_cents=p.amount_cents,
                   currency=p.currency, paid_on=p.paid_on, reference=p.reference, cheque_bank=p.cheque_bank,
                   refunds_id=p.refunds_id, recorded_at=p.recorded_at, hash=p.hash)


class InvoiceRead(BaseModel):
    id: int
    kind: str
    status: str
    number: str | None
    account_id: int | None
    buyer_name: str
    buyer_address: str | None
    buyer_siren: str | None
    buyer_vat_number: str | None
    buyer_is_business: bool
    seller_name: str
    seller_siret: str | None
    seller_address: str | None
    seller_vat_number: str | None
    issued_on: date | None
    due_on: date | None
    currency: str
    total_excl_cents: int
    total_vat_cents: int
    total_incl_cents: int
    corrects_id: int | None
    mentions: list[str]
    hash: str | None
    paid_cents: int
    credited_cents: int
    due_cents: int
    payment_status: str | None = Field(description="paid / unpaid / overdue for an issued invoice; else null")
    lines: list[LineRead] | None = None
    vat_summary: list[RateTotalRead] | None = None
    payments: list[PaymentRead] | None = None

    @classmethod
    def of(cls, i: Invoice, s: Settlement, today: date, lines: list[InvoiceLine] | None = None,
           payments: list[Payment] | None = None) -> InvoiceRead:
        summary = None if lines is None else [
            RateTotalRead(rate_bp=t.rate_bp, excl_cents=t.excl_cents, vat_cents=t.vat_cents, incl_cents=t.incl_cents)
            for t in summarise([(x.vat_rate_bp, Amounts(x.amount_excl_cents, x.vat_cents, x.amount_incl_cents))
                                for x in lines])]
        return cls(
            id=int(i.id or 0), kind=i.kind, status=i.status, number=i.number, account_id=i.account_id,
            buyer_name=i.buyer_name, buyer_address=i.buyer_address, buyer_siren=i.buyer_siren,
            buyer_vat_number=i.buyer_vat_number, buyer_is_business=i.buyer_is_business, seller_name=i.seller_name,
            seller_siret=i.seller_siret, seller_address=i.seller_address, seller_vat_number=i.seller_vat_number,
            issued_on=i.issued_on, due_on=i.due_on, currency=i.currency, total_excl_cents=i.total_excl_cents,
            total_vat_cents=i.total_vat_cents, total_incl_cents=i.total_incl_cents, corrects_id=i.corrects_id,
            mentions=[m for m in i.mentions.split("\n") if m], hash=i.hash, paid_cents=s.paid_cents,
            credited_cents=s.credited_cents, due_cents=s.due_cents, payment_status=s.status(i, today),
            lines=None if lines is None else [LineRead.of(x) for x in lines], vat_summary=summary,
            payments=None if payments is None else [PaymentRead.of(p) for p in payments],
        )


class ClosureRead(BaseModel):
    id: int
    kind: str
    starts_on: date
    ends_on: date
    invoiced_excl_cents: int
    invoiced_vat_cents: int
    invoiced_incl_cents: int
    credited_incl_cents: int
    payments_cents: int
    closed_at: datetime
    hash: str

    @classmethod
    def of(cls, c: PeriodClosure) -> ClosureRead:
        return cls(id=int(c.id or 0), kind=c.kind, starts_on=c.starts_on, ends_on=c.ends_on,
                   invoiced_excl_cents=c.invoiced_excl_cents, invoiced_vat_cents=c.invoiced_vat_cents,
                   invoiced_incl_cents=c.invoiced_incl_cents, credited_incl_cents=c.credited_incl_cents,
                   payments_cents=c.payments_cents, closed_at=c.closed_at, hash=c.hash)


class RunRead(BaseModel):
    invoices: int
    credit_notes: int
    numbers: list[str]
