"""Periods and proration: pure functions, no I/O (``docs/memberships.md`` has the worked examples).

Periods are anchored on a day of the month (the day the subscription started, or resumed): a
period from the 31st of January ends on the 28th (29th) of February, the next one on the 31st of
March; a yearly period from 29 February 2028 ends on 28 February 2029. Dates are the space's
local dates; every end is exclusive.

Proration is daily, on the days of the period concerned (not a 30-day month):

    amount = price × days / days_in_period, rounded half-up to the cent

A change of plan mid-period credits the unused days of the old plan and charges the same days of
the new one, each rounded on its own (two lines, as an invoice shows them).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from app.pricing.vat import div_half_up


def last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def add_months(day: date, months: int, anchor_day: int) -> date:
    """``months`` months after ``day``'s month, on ``anchor_day`` (or the month's last day)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(anchor_day, last_day(year, month)))


def period_end(start: date, months: int, anchor_day: int) -> date:
    """The (exclusive) end of the period that starts on ``start``."""
    return add_months(start, months, anchor_day)


def days(start: date, end: date) -> int:
    return (end - start).days


def prorate(price_cents: int, days_used: int, days_in_period: int) -> int:
    """``price × days_used / days_in_period`` in cents, rounded half-up (halves away from zero)."""
    if days_in_period <= 0:
        raise ValueError("a period has days")
    if not 0 <= days_used <= days_in_period:
        raise ValueError("days used are within the period")
    return div_half_up(price_cents * days_used, days_in_period)


def prorate_units(quantity: int, days_used: int, days_in_period: int) -> int:
    """An allowance for part of a period: rounded *down* (a member is never given a unit more
    than was paid for)."""
    if days_in_period <= 0:
        raise ValueError("a period has days")
    return quantity * days_used // days_in_period


@dataclass(frozen=True)
class Change:
    """A change of plan on ``on`` within the period ``[start, end)``."""

    start: date
    end: date
    on: date
    days_left: int  # from ``on`` to the end of the period
    days_in_period: int
    credit_cents: int  # the old plan's unused days, given back
    charge_cents: int  # the new plan's same days, charged

    @property
    def balance_cents(self) -> int:
        """What the member owes (negative: what is owed to them)."""
        return self.charge_cents - self.credit_cents


def change(old_price_cents: int, new_price_cents: int, start: date, end: date, on: date) -> Change:
    if not start <= on < end:
        raise ValueError("a change happens within the period")
    left, total = days(on, end), days(start, end)
    return Change(start, end, on, left, total, prorate(old_price_cents, left, total),
                  prorate(new_price_cents, left, total))


def unused_credit(price_cents: int, start: date, end: date, cut_on: date, paid_until: date | None = None) -> tuple[int, int]:
    """A period ``[start, end)`` paid (up to ``paid_until``, its end by default) and cut on
    ``cut_on`` (an end, a pause): the days paid and not used, and their credit ``(days, cents)``
    — on the footing of the whole period's days."""
    paid_until = end if paid_until is None else paid_until
    if not start <= cut_on <= paid_until <= end:
        raise ValueError("a period is cut within it")
    left = days(cut_on, paid_until)
    return left, prorate(price_cents, left, days(start, end))


def partial_period(price_cents: int, start: date, natural_end: date, ends_on: date) -> tuple[int, int]:
    """A period that starts on ``start`` but stops on ``ends_on`` before its natural end (the
    subscription ends then): ``(days, cents)`` charged."""
    if not start < ends_on <= natural_end:
        raise ValueError("a partial period ends within its natural period")
    used = days(start, ends_on)
    return used, prorate(price_cents, used, days(start, natural_end))
