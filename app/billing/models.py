"""Invoices, credit notes, payments and period closures: the space's books. Kept records, all of them.

- An **invoice** (or a **credit note**, ``kind``) is written as a draft (no number) and **issued**:
  in the issuing transaction it gets the next number of its series (``BillingCounter``, a row
  incremented by ``UPDATE … RETURNING``: gapless, never ``MAX()+1``) and its place in the space's
  hash chain. Once issued it is immutable — a database trigger refuses any UPDATE of the row on
  both databases — and is corrected by a credit note (``corrects_id``) only.
- An **invoice line** copies one priced line. ``charge_id`` is unique: a charge is invoiced once,
  which is what makes the billing run idempotent. A credit-note line mirrors one invoice line
  (``credits_line_id``, unique too: a line is credited once). Lines are never updated nor deleted.
- A **payment** settles (part of) an invoice; a refund is a negative payment naming the one it
  refunds. Never updated nor deleted.
- A **period closure** (month or fiscal year) writes the period's totals into the chain; nothing
  dated in a closed period is accepted afterwards.
- The **hash chain** (inaltérabilité): every issued document, payment and closure carries
  ``hash = sha256(prev_hash + canonical content)`` and its place ``chain_seq`` in the space's chain,
  whose head is the ``BillingCounter`` row of series ``"chain"`` (``app.billing.chain``).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field

from app.core.clock import now
from app.core.records import kept_record
from app.core.tenancy import SpaceScoped, space_key, space_ref

CHAIN_SERIES = "chain"


class InvoiceKind(StrEnum):
    invoice = "invoice"
    credit_note = "credit_note"


class InvoiceStatus(StrEnum):
    draft = "draft"
    issued = "issued"


class PaymentMethod(StrEnum):
    cash = "cash"
    cheque = "cheque"
    transfer = "transfer"
    card_terminal = "card_terminal"
    voucher = "voucher"  # chèques vacances, vouchers


class ClosureKind(StrEnum):
    month = "month"
    year = "year"


@kept_record  # resetting a counter would reuse numbers
class BillingCounter(SpaceScoped, table=True):
    """The last number given in a series (``F2026``, ``FAV2026``), or the head of the space's hash
    chain (series ``"chain"``: ``last`` is the last ``chain_seq``, ``head_hash`` its hash)."""

    __tablename__ = "billing_counter"
    __table_args__ = (UniqueConstraint("space_id", "series", name="uq_billing_counter_series"),)

    id: int | None = Field(default=None, primary_key=True)
    space_id: int = Field(foreign_key="space.id", index=True, ondelete="RESTRICT")
    series: str = Field(max_length=24)
    last: int = 0
    head_hash: str | None = Field(default=None, max_length=64)


@kept_record
class Invoice(SpaceScoped, table=True):
    """An invoice or a credit note, with the buyer and the seller as they were when it was issued."""

    __tablename__ = "invoice"
    __table_args__ = (
        UniqueConstraint("space_id", "series", "seq", name="uq_invoice_series_seq"),
        UniqueConstraint("space_id", "chain_seq", name="uq_invoice_chain_seq"),
        Index("ix_invoice_space_account", "space_id", "account_id"),
        Index("ix_invoice_space_status_issued", "space_id", "status", "issued_on"),
        space_key("invoice"),
        space_ref("corrects_id", "invoice"),
    )

    id: int | None = Field(default=None, primary_key=True)
    space_id: int = Field(foreign_key="space.id", index=True, ondelete="RESTRICT")
    kind: str = Field(default=InvoiceKind.invoice, max_length=16)
    status: str = Field(default=InvoiceStatus.draft, max_length=8)
    series: str | None = Field(default=None, max_length=24)  # set at issue
    seq: int | None = None
    number: str | None = Field(default=None, max_length=32)
    account_id: int | None = Field(default=None, foreign_key="account.id", ondelete="RESTRICT")
    # -- the buyer, as invoiced
    buyer_name: str = Field(max_length=200)
    buyer_address: str | None = Field(default=None, max_length=400)
    buyer_siren: str | None = Field(default=None, max_length=14)
    buyer_vat_number: str | None = Field(default=None, max_length=20)
    buyer_is_business: bool = False
    # -- the seller (the space's legal identity), as invoiced
    seller_name: str = Field(max_length=200)
    seller_siret: str | None = Field(default=None, max_length=14)
    seller_address: str | None = Field(default=None, max_length=400)
    seller_vat_number: str | None = Field(default=None, max_length=20)
    vat_regime: str | None = Field(default=None, max_length=32)
    issued_on: date | None = None
    due_on: date | None = None
    currency: str = Field(default="EUR", max_length=3)
    total_excl_cents: int = 0
    total_vat_cents: int = 0
    total_incl_cents: int = 0
    corrects_id: int | None = Field(default=None, foreign_key="invoice.id")  # no action: refused at statement end
    mentions: str = Field(default="", sa_type=Text)  # the legal mentions printed, one per line
    chain_seq: int | None = None
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str | None = Field(default=None, max_length=64)
    created_by_id: int | None = Field(default=None, foreign_key="account.id", ondelete="RESTRICT")
    created_at: datetime = Field(default_factory=now)
    issued_at: datetime | None = None

    @property
    def is_credit_note(self) -> bool:
        return self.kind == InvoiceKind.credit_note


@kept_record
class InvoiceLine(SpaceScoped, table=True):
    __tablename__ = "invoice_line"
    __table_args__ = (
        Index("ix_invoice_line_invoice", "space_id", "invoice_id"),
        space_key("invoice_line"),
        space_ref("invoice_id", "invoice"),
        space_ref("charge_id", "charge"),
        space_ref("credits_line_id", "invoice_line"),
    )

    id: int | None = Field(default=None, primary_key=True)
    space_id: int = Field(foreign_key="space.id", index=True, ondelete="RESTRICT")
    invoice_id: int = Field(foreign_key="invoice.id", ondelete="RESTRICT")
    position: int
    # A charge is invoiced once: the billing run's idempotency key (NULL for a free manual line).
    charge_id: int | None = Field(default=None, foreign_key="charge.id", unique=True, ondelete="RESTRICT")
    # A credit note's line mirrors one invoice line, once.
    credits_line_id: int | None = Field(default=None, foreign_key="invoice_line.id", unique=True)
    item: str = Field(max_length=24)
    label: str = Field(max_length=200)
    quantity: int
    unit: str = Field(max_length=16)
    unit_price_cents: int
    prices_include_vat: bool
    vat_rate_bp: int
    amount_excl_cents: int
    vat_cents: int
    amount_incl_cents: int


@kept_record
class Payment(SpaceScoped, table=True):
    __tablename__ = "payment"
    __table_args__ = (
        UniqueConstraint("space_id", "chain_seq", name="uq_payment_chain_seq"),
        Index("ix_payment_invoice", "space_id", "invoice_id"),
        space_key("payment"),
        space_ref("invoice_id", "invoice"),
        space_ref("refunds_id", "payment"),
    )

    id: int | None = Field(default=None, primary_key=True)
    space_id: int = Field(foreign_key="space.id", index=True, ondelete="RESTRICT")
    invoice_id: int = Field(foreign_key="invoice.id", ondelete="RESTRICT")
    method: str = Field(max_length=16)
    amount_cents: int  # negative: a refund
    currency: str = Field(default="EUR", max_length=3)
    paid_on: date
    reference: str | None = Field(default=None, max_length=100)  # cheque number, transfer reference
    cheque_bank: str | None = Field(default=None, max_length=100)
    refunds_id: int | None = Field(default=None, foreign_key="payment.id")
    recorded_by_id: int | None = Field(default=None, foreign_key="account.id", ondelete="RESTRICT")
    recorded_at: datetime = Field(default_factory=now)
    chain_seq: int
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str = Field(max_length=64)


@kept_record
class PeriodClosure(SpaceScoped, table=True):
    __tablename__ = "period_closure"
    __table_args__ = (
        UniqueConstraint("space_id", "kind", "starts_on", name="uq_period_closure_period"),
        UniqueConstraint("space_id", "chain_seq", name="uq_period_closure_chain_seq"),
        space_key("period_closure"),
    )

    id: int | None = Field(default=None, primary_key=True)
    space_id: int = Field(foreign_key="space.id", index=True, ondelete="RESTRICT")
    kind: str = Field(max_length=8)
    starts_on: date
    ends_on: date
    invoiced_excl_cents: int
    invoiced_vat_cents: int
    invoiced_incl_cents: int
    credited_incl_cents: int  # credit notes, as a positive amount
    payments_cents: int  # net of refunds
    closed_by_id: int | None = Field(default=None, foreign_key="account.id", ondelete="RESTRICT")
    closed_at: datetime = Field(default_factory=now)
    chain_seq: int
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str = Field(max_length=64)
