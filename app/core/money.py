"""Money as integer cents: the one parser of typed amounts and the one formatter.

Every form and API input that takes an amount goes through :func:`parse_cents` (pages) or the
:data:`Cents` type (API payloads carry integer cents); every page, e-mail and export shows
amounts with :func:`format_money` (Babel, the reader's locale). Never a float: typed text is read
digit by digit into an ``int``.

What the parser reads, as French and English speakers type it:

- a comma or a point before the cents: ``12,50`` ``12.50`` (one or two decimals, never more);
- spaces, no-break and narrow no-break spaces (what Babel writes in French) or, when the other
  mark is the decimal one, points or commas between groups of three digits: ``1 234,50``,
  ``1.234,50``, ``1,234.50``;
- an optional ``€`` before or after, and a leading ``-`` only where the caller allows negatives.

Anything else ("nan", "inf", "1e400", "12,345", "١٢") raises :class:`InvalidAmount`, a 422
with the field named: a form shows it beside the input, the API in ``error.fields``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, ClassVar

from babel.numbers import format_currency, format_decimal, format_percent
from pydantic import Field

from app.core.errors import ValidationFailed
from app.core.i18n import N_, get_locale

#: The largest amount anyone types for one thing in a coworking space: 1 000 000,00 €.
MAX_CENTS = 100_000_000

#: Integer cents in an API payload: strict (no "12.5", no string, no float), 0 … MAX_CENTS.
Cents = Annotated[int, Field(strict=True, ge=0, le=MAX_CENTS)]

_SPACES = frozenset(" \xa0\u202f\u2009")
_CURRENCY_SIGNS = "€"
_DIGITS = re.compile(r"[0-9]+")
_MAX_TEXT = 40


class InvalidAmount(ValidationFailed):
    """A typed amount that is not one: 422 ``invalid_amount`` with the field and the reason."""

    code: ClassVar[str] = "invalid_amount"
    message: ClassVar[str] = N_("Give an amount such as 12.50.")
    too_many_decimals: ClassVar[str] = N_("An amount has at most two decimals (cents).")
    negative: ClassVar[str] = N_("The amount cannot be negative.")
    too_large: ClassVar[str] = N_("This amount is too large.")
    required: ClassVar[str] = N_("Give an amount.")

    def __init__(self, field: str, reason: str | None = None) -> None:
        super().__init__(self.message, fields={field: reason or self.message})


def _group_ok(whole: str, separators: frozenset[str]) -> str | None:
    """The digits of ``whole`` if its separators, if any, split it in groups of three."""
    if not any(ch in separators for ch in whole):
        return whole if _DIGITS.fullmatch(whole) else None
    groups = re.split("[" + re.escape("".join(sorted(separators))) + "]", whole)
    first, rest = groups[0], groups[1:]
    if not (_DIGITS.fullmatch(first) and len(first) <= 3):
        return None
    if not all(_DIGITS.fullmatch(g) and len(g) == 3 for g in rest):
        return None
    return "".join(groups)


def parse_cents(
    value: str | None,
    field: str,
    *,
    required: bool = False,
    allow_negative: bool = False,
    maximum: int = MAX_CENTS,
) -> int:
    """Typed euros → integer cents. Empty is 0 unless ``required``; raises :class:`InvalidAmount`."""
    text = typed = (value or "").strip()
    if len(text) > _MAX_TEXT:
        raise InvalidAmount(field)
    negative = False
    if text.startswith("-"):
        negative, text = True, text[1:]
    text = text.strip(_CURRENCY_SIGNS + "".join(_SPACES))
    if text.startswith("-") and not negative:  # "€-12" as well as "-€12"
        negative, text = True, text[1:].strip("".join(_SPACES))
    if not text:
        if typed:  # "€" or "-" alone
            raise InvalidAmount(field)
        if required:
            raise InvalidAmount(field, InvalidAmount.required)
        return 0
    marks = [i for i, ch in enumerate(text) if ch in ",."]
    whole, decimals = text, ""
    separators = set(_SPACES)
    if marks:
        last = marks[-1]
        whole, decimals = text[:last], text[last + 1:]
        other = "." if text[last] == "," else ","
        if any(text[i] == text[last] for i in marks[:-1]):
            raise InvalidAmount(field)  # "1,234,56": the decimal mark cannot also group
        separators.add(other)
        if not _DIGITS.fullmatch(decimals):
            raise InvalidAmount(field)
        if len(decimals) > 2:
            raise InvalidAmount(field, InvalidAmount.too_many_decimals)
    digits = _group_ok(whole, frozenset(separators))
    if digits is None:
        raise InvalidAmount(field)
    cents = int(digits) * 100 + int(decimals.ljust(2, "0"))
    if negative and cents:
        if not allow_negative:
            raise InvalidAmount(field, InvalidAmount.negative)
        cents = -cents
    if abs(cents) > maximum:
        raise InvalidAmount(field, InvalidAmount.too_large)
    return cents


def format_money(cents: int, currency: str = "EUR", locale: str | None = None) -> str:
    """Cents as the reader's locale writes money: ``12,50 €`` / ``€12.50``."""
    return format_currency(Decimal(cents) / 100, currency, locale=locale or get_locale())


def amount_input(cents: int, locale: str | None = None) -> str:
    """Cents as the value of a form's amount field (``1 234,50``): what :func:`parse_cents` reads back."""
    return format_decimal(Decimal(cents) / 100, format="#,##0.00", locale=locale or get_locale())


def format_rate(rate_bp: int, locale: str | None = None) -> str:
    """A VAT rate in basis points as the reader's locale writes it: ``5,5 %`` / ``5.5%``."""
    return format_percent(Decimal(rate_bp) / 10000, format="#,##0.##%", locale=locale or get_locale())
