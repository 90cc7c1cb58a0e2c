"""Charges: the priced lines chosen, stored with what they price. Immutable accounting records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, event
from sqlmodel import Field

from app.core.clock import now
from app.core.records import kept_record
from app.core.tenancy import SpaceScoped, space_key, space_ref


class ChargeIsImmutable(RuntimeError):
    """A charge was changed: a cancellation or refund is a new, reversing charge."""


@kept_record  # an accounting record (app.core.records)
class Charge(SpaceScoped, table=True):
    """One priced line owed by an account (or a visitor) for a booking or a registration.

    Written in the transaction that makes the booking or registration; never updated nor deleted
    (the ORM refuses it, and no foreign key cascades onto it). A cancellation writes the negated
    copy of each line with ``reverses_id`` pointing at it (unique: a line is reversed once).
    The single input of invoicing. Zero-price lines are not stored, except units taken from a plan
    or a pass (``PricedLine.is_kept``).
    """

    __tablename__ = "charge"
    __table_args__ = (
        Index("ix_charge_space_source", "space_id", "source_type", "source_id"),
        Index("ix_charge_space_account_created", "space_id", "account_id", "created_at"),
        space_key("charge"),
        space_ref("reverses_id", "charge"),  # a reversal reverses a charge of its own space
    )

    id: int | None = Field(default=None, primary_key=True)
    # Accounting records outlive what they point at: no cascade from the space or the account.
    space_id: int = Field(foreign_key="space.id", index=True, ondelete="RESTRICT")
    account_id: int | None = Field(default=None, foreign_key="account.id", ondelete="RESTRICT")
    source_type: str = Field(max_length=16)  # app.pricing.service.Source
    source_id: int
    item: str = Field(max_length=24)  # app.pricing.quote.Item
    label: str = Field(max_length=200)
    quantity: int
    unit: str = Field(max_length=16)
    unit_price_cents: int
    prices_include_vat: bool
    vat_rate_bp: int
    price_kind: str = Field(max_length=8)
    currency: str = Field(max_length=3)
    amount_excl_cents: int
    vat_cents: int
    amount_incl_cents: int
    reverses_id: int | None = Field(default=None, foreign_key="charge.id", unique=True)
    created_at: datetime = Field(default_factory=now)

    @property
    def is_reversal(self) -> bool:
        return self.reverses_id is not None


# Deletion is refused by ``kept_record`` (the ORM, one row or in bulk); an edit here, and by a
# database trigger for a bulk UPDATE (migration 2026-12-02-0410).
@event.listens_for(Charge, "before_update")
def _refuse_change(_mapper: Any, _connection: Any, target: Charge) -> None:
    raise ChargeIsImmutable(f"charge {target.id} is immutable: write a reversing charge instead")
