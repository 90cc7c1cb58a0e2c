"""Quotes: what a paid thing costs, as priced lines (pure functions, no I/O).

Every paid thing goes through here — a booking (and each occurrence of a series), an event
registration, a late cancellation fee — and comes out as :class:`PricedLine` values: what,
how many of which unit, the unit price as the space typed it, the VAT rate, the amounts
excluding and including VAT (rounded once, per line: ``app.pricing.vat``) and the price kind.
The lines chosen are stored as charges (``app.pricing.service``); nothing else computes a price.

Who pays which price: a person who belongs to the space (any role) pays the member price; anyone
else — a visitor, a guest booked by staff — the public price (:func:`price_kind_for`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from app.pricing.vat import Amounts, RateTotal, split, summarise


class PriceKind(StrEnum):
    member = "member"
    public = "public"
    plan = "plan"  # units included in a plan's allowance (app.membership): a line at 0
    pass_ = "pass"  # units of a pass (carnet): a line at 0, the pass was paid when bought


CREDIT_KINDS = frozenset({PriceKind.plan, PriceKind.pass_})


class Item(StrEnum):
    """What a line is for; invoicing words its lines from it."""

    booking = "booking"
    registration = "registration"
    late_cancel_fee = "late_cancel_fee"
    plan = "plan"  # a subscription's period (app.membership orders)
    plan_change = "plan_change"  # a prorated change of plan mid-period (positive or negative)
    pass_ = "pass"  # a pass (carnet, day pass) bought
    adhesion = "adhesion"  # the association membership


class PricingSettings(Protocol):
    """A space's pricing settings (``app.space.models.Space``)."""

    @property
    def default_vat_rate_bp(self) -> int: ...
    @property
    def prices_include_vat(self) -> bool: ...
    @property
    def currency(self) -> str: ...
    @property
    def charges_vat(self) -> bool: ...


class PriceList(Protocol):
    """Something with a public and a member price and an optional VAT rate (resource, event)."""

    @property
    def price_public_cents(self) -> int: ...
    @property
    def price_member_cents(self) -> int: ...
    @property
    def vat_rate_bp(self) -> int | None: ...


@dataclass(frozen=True)
class PricedLine:
    item: Item
    label: str
    quantity: int
    unit: str  # "hour", "half_day", "day", "registration", "cancellation"
    unit_price_cents: int  # as the space typed it: VAT included or not, per ``prices_include_vat``
    prices_include_vat: bool
    vat_rate_bp: int
    price_kind: PriceKind
    currency: str
    amounts: Amounts

    @property
    def amount_excl_cents(self) -> int:
        return self.amounts.excl_cents

    @property
    def vat_cents(self) -> int:
        return self.amounts.vat_cents

    @property
    def amount_incl_cents(self) -> int:
        return self.amounts.incl_cents

    @property
    def is_free(self) -> bool:
        return self.amounts.incl_cents == 0

    @property
    def is_kept(self) -> bool:
        """Stored as a charge: anything with a price, and units taken from a plan or a pass (at 0,
        so that an invoice and the member's history say what the booking used)."""
        return not self.is_free or self.price_kind in CREDIT_KINDS


def price_kind_for(is_member_of_space: bool) -> PriceKind:
    return PriceKind.member if is_member_of_space else PriceKind.public


def rate_of(space: PricingSettings, prices: PriceList) -> int:
    """The rate a resource or an event charges: its own, else the space's default; none at all in a
    space exempt from VAT (its legal regime), whatever rate was typed before it became so."""
    if not space.charges_vat:
        return 0
    return space.default_vat_rate_bp if prices.vat_rate_bp is None else prices.vat_rate_bp


def line(
    space: PricingSettings, *, item: Item, label: str, quantity: int, unit: str, unit_price_cents: int,
    vat_rate_bp: int, price_kind: PriceKind,
) -> PricedLine:
    """One priced line: ``quantity × unit price`` split into excl./VAT/incl. by the rounding rule."""
    if quantity < 0 or unit_price_cents < 0:
        raise ValueError("quantity and unit price are not negative")
    amounts = split(quantity * unit_price_cents, vat_rate_bp, prices_include_vat=space.prices_include_vat)
    return PricedLine(item, label, quantity, unit, unit_price_cents, space.prices_include_vat, vat_rate_bp,
                      price_kind, space.currency, amounts)


def booking_line(space: PricingSettings, resource: PriceList, *, label: str, unit: str, units: int,
                 price_kind: PriceKind) -> PricedLine:
    """A booking of ``units`` units (``app.booking.rules.units_for``) at the kind's price."""
    price = resource.price_member_cents if price_kind == PriceKind.member else resource.price_public_cents
    return line(space, item=Item.booking, label=label, quantity=units, unit=unit, unit_price_cents=price,
                vat_rate_bp=rate_of(space, resource), price_kind=price_kind)


def registration_line(space: PricingSettings, event: PriceList, *, label: str,
                      price_kind: PriceKind) -> PricedLine:
    price = event.price_member_cents if price_kind == PriceKind.member else event.price_public_cents
    return line(space, item=Item.registration, label=label, quantity=1, unit="registration",
                unit_price_cents=price, vat_rate_bp=rate_of(space, event), price_kind=price_kind)


def product_line(space: PricingSettings, *, item: Item, label: str, price_cents: int, vat_rate_bp: int | None,
                 quantity: int = 1, unit: str = "unit") -> PricedLine:
    """A thing sold at one price (a plan's period, a pass, an adhésion): ``vat_rate_bp`` ``None`` is
    the space's default rate; a space exempt from VAT charges none (as ``rate_of``)."""
    rate = 0 if not space.charges_vat else (space.default_vat_rate_bp if vat_rate_bp is None else vat_rate_bp)
    return line(space, item=item, label=label, quantity=quantity, unit=unit, unit_price_cents=price_cents,
                vat_rate_bp=rate, price_kind=PriceKind.member)


def late_cancel_lines(booked: list[PricedLine]) -> list[PricedLine]:
    """The fee of a late cancellation under a "charge" policy: the booking's price, kept in full.

    The booking's own lines are reversed like any cancellation; these lines charge the same
    amounts again as a late cancellation fee, so an invoice says what was charged and why.
    """
    return [replace(b, item=Item.late_cancel_fee) for b in booked if not b.is_free]


def total_incl(lines: list[PricedLine]) -> int:
    return sum(x.amount_incl_cents for x in lines)


def per_rate(lines: list[PricedLine]) -> list[RateTotal]:
    return summarise([(x.vat_rate_bp, x.amounts) for x in lines])
