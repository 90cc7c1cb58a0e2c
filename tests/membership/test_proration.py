"""Periods and proration, case by case, as a French accountant computes them (docs/memberships.md):
daily, on the days of the period concerned, rounded half-up on the cent."""

from __future__ import annotations

from datetime import date

import pytest

from app.membership import periods


def test_a_subscription_started_on_the_31st_renews_on_the_last_day_of_shorter_months():
    start, ends = date(2027, 1, 31), []
    for _ in range(4):
        start = periods.period_end(start, 1, 31)
        ends.append(start)
    assert ends == [date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30), date(2027, 5, 31)]
    # In a leap year, February has its 29th.
    assert periods.period_end(date(2028, 1, 31), 1, 31) == date(2028, 2, 29)


def test_a_yearly_plan_started_on_29_february_renews_on_28_february_then_29_in_leap_years():
    ends, start = [], date(2028, 2, 29)
    for _ in range(4):
        start = periods.period_end(start, 12, 29)
        ends.append(start)
    assert ends == [date(2029, 2, 28), date(2030, 2, 28), date(2031, 2, 28), date(2032, 2, 29)]


def test_quarters_keep_their_anchor_day():
    assert periods.period_end(date(2027, 11, 30), 3, 30) == date(2028, 2, 29)
    assert periods.period_end(date(2028, 2, 29), 3, 30) == date(2028, 5, 30)


def test_an_end_on_the_last_day_of_a_month_credits_the_days_after_it():
    # 300.00 € from 15 January to 14 February (31 days); the member leaves after 31 January:
    # 14 days unused, 300 × 14 / 31 = 135.4838… → 135.48 €.
    days, cents = periods.unused_credit(30000, date(2027, 1, 15), date(2027, 2, 15), date(2027, 2, 1))
    assert (days, cents) == (14, 13548)


def test_a_change_of_plan_mid_period_credits_the_old_and_charges_the_new_for_the_same_days():
    # March 2027 (31 days), 310.00 € → 450.00 € from 16 March: 16 days left.
    ch = periods.change(31000, 45000, date(2027, 3, 1), date(2027, 4, 1), date(2027, 3, 16))
    assert (ch.days_left, ch.days_in_period) == (16, 31)
    assert ch.credit_cents == 16000  # 310 × 16 / 31 = 160.00
    assert ch.charge_cents == 23226  # 450 × 16 / 31 = 232.2580… → 232.26
    assert ch.balance_cents == 7226


def test_a_pause_across_a_month_boundary_credits_the_paused_days_of_the_period():
    # 250.00 € from 15 July to 14 August (31 days), paused from 1 August: 14 days unused,
    # 250 × 14 / 31 = 112.9032… → 112.90 €. Nothing is charged during the pause; the resume day
    # (1 September) starts a new full period.
    days, cents = periods.unused_credit(25000, date(2027, 7, 15), date(2027, 8, 15), date(2027, 8, 1))
    assert (days, cents) == (14, 11290)
    assert periods.period_end(date(2027, 9, 1), 1, 1) == date(2027, 10, 1)


def test_rounding_is_half_up_on_the_cent():
    assert periods.prorate(15, 1, 2) == 8  # 7.5 → 8
    assert periods.prorate(10000, 1, 30) == 333  # 333.33… → 333
    assert periods.prorate(10000, 2, 3) == 6667  # 6666.66… → 6667
    assert periods.prorate(31000, 31, 31) == 31000


def test_an_allowance_for_part_of_a_period_is_rounded_down():
    assert periods.prorate_units(8, 16, 31) == 4  # 4.12… → 4
    assert periods.prorate_units(8, 31, 31) == 8


def test_impossible_proration_is_refused():
    with pytest.raises(ValueError):
        periods.prorate(100, 32, 31)
    with pytest.raises(ValueError):
        periods.change(100, 200, date(2027, 3, 1), date(2027, 4, 1), date(2027, 4, 1))
