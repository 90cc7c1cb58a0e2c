"""API shapes of priced lines and charges."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from app.pricing.models import Charge
from app.pricing.quote import PricedLine


class PricedLineRead(BaseModel):
    item: str
    label: str
    quantity: int
    unit: str
    unit_price_cents: int
    prices_include_vat: bool
    vat_rate_bp: int
    price_kind: str
    currency: str
    amount_excl_cents: int
    vat_cents: int
    amount_incl_cents: int

    @classmethod
    def of(cls, x: PricedLine) -> PricedLineRead:
        return cls(item=x.item, label=x.label, quantity=x.quantity, unit=x.unit, unit_price_cents=x.unit_price_cents,
                   prices_include_vat=x.prices_include_vat, vat_rate_bp=x.vat_rate_bp, price_kind=x.price_kind,
                   currency=x.currency, amount_excl_cents=x.amount_excl_cents, vat_cents=x.vat_cents,
                   amount_incl_cents=x.amount_incl_cents)


class ChargeRead(PricedLineRead):
    """A stored charge; a reversal has negative quantity and amounts and names the line it reverses."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    reverses_id: int | None
    created_at: datetime

    @classmethod
    def of_charge(cls, c: Charge) -> ChargeRead:
        return cls.model_validate(c)
