"""VAT as data and the one rounding rule, as pure functions (no I/O).

Rates are integer basis points (2000 = 20 %). The French rates are the only ones a space, a
resource or an event may use; a resource's or an event's rate of ``None`` means "the space's
default rate". A space says whether the prices it types include VAT (usual for individuals) or
exclude it (usual between businesses).

The rounding rule (docs/pricing.md), applied once per priced line:

- the line's amount as entered is ``quantity × unit price``, exact in cents;
- VAT-excluded prices: ``vat = round_half_up(excl × rate / 10000)``, ``incl = excl + vat``;
- VAT-included prices: ``excl = round_half_up(incl × 10000 / (10000 + rate))``, ``vat = incl − excl``;
- totals are the sums of the lines, summarised per rate (never recomputed from a total).

Half-up means half away from zero, so a reversing line is the exact negation of its original.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.i18n import N_
from app.core.money import InvalidAmount

#: The French VAT rates, basis points, the usual first: normal, intermediate, reduced,
#: particular (press, some medicines) and none (exempt or franchise).
VAT_RATES_BP: tuple[int, ...] = (2000, 1000, 550, 210, 0)
DEFAULT_VAT_RATE_BP = 2000
VAT_RATE_HELP = "VAT rate in basis points, one of 2000, 1000, 550, 210, 0 (20 %, 10 %, 5.5 %, 2.1 %, 0 %); null: the space's default rate"


class InvalidVatRate(InvalidAmount):
    code = "invalid_vat_rate"
    message = N_("Choose a VAT rate from the list: 20, 10, 5.5, 2.1 or 0 percent.")


def check_rate(rate_bp: object, field: str, *, optional: bool = False) -> int | None:
    """``rate_bp`` if it is a known rate (``None`` too when ``optional``); raises otherwise."""
    if rate_bp is None and optional:
        return None
    if type(rate_bp) is not int or rate_bp not in VAT_RATES_BP:  # not True/False either
        raise InvalidVatRate(field)
    return rate_bp


def rate_label(rate_bp: int) -> str:
    """2000 → "20", 550 → "5.5": the rate as a percentage without trailing zeros."""
    whole, rest = divmod(rate_bp, 100)
    return f"{whole}.{rest:02d}".rstrip("0") if rest else str(whole)


def parse_rate(value: str | None, field: str, *, optional: bool = False) -> int | None:
    """A rate chosen in a form ("20", "5.5", "5,5", "" for the default when ``optional``)."""
    text = (value or "").strip().rstrip("%").strip().replace(",", ".")
    if not text and optional:
        return None
    for rate in VAT_RATES_BP:
        if text in (rate_label(rate), str(rate / 100), f"{rate / 100:.2f}"):
            return rate
    raise InvalidVatRate(field)


def div_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest integer, halves away from zero."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    return sign * ((2 * abs(numerator) + denominator) // (2 * denominator))


@dataclass(frozen=True)
class Amounts:
    excl_cents: int
    vat_cents: int
    incl_cents: int


def split(amount_cents: int, rate_bp: int, *, prices_include_vat: bool) -> Amounts:
    """A line's amount as entered → excluding VAT, VAT and including VAT, rounded per line."""
    if prices_include_vat:
        excl = div_half_up(amount_cents * 10000, 10000 + rate_bp)
        return Amounts(excl, amount_cents - excl, amount_cents)
    vat = div_half_up(amount_cents * rate_bp, 10000)
    return Amounts(amount_cents, vat, amount_cents + vat)


@dataclass(frozen=True)
class RateTotal:
    rate_bp: int
    excl_cents: int
    vat_cents: int
    incl_cents: int


def summarise(lines: list[tuple[int, Amounts]]) -> list[RateTotal]:
    """Totals per rate (highest rate first) of ``(rate, amounts)`` lines: sums, never recomputed."""
    totals: dict[int, list[int]] = {}
    for rate, amounts in lines:
        t = totals.setdefault(rate, [0, 0, 0])
        t[0] += amounts.excl_cents
        t[1] += amounts.vat_cents
        t[2] += amounts.incl_cents
    return [RateTotal(rate, *totals[rate]) for rate in sorted(totals, reverse=True)]
