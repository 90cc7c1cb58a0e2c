"""VAT rounding and quotes as pure functions: the examples of docs/pricing.md, case by case."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.money import InvalidAmount
from app.pricing import quote
from app.pricing.quote import Item, PriceKind
from app.pricing.vat import VAT_RATES_BP, InvalidVatRate, check_rate, div_half_up, parse_rate, split


@dataclass
class Settings:
    default_vat_rate_bp: int = 2000
    prices_include_vat: bool = True
    currency: str = "EUR"
    charges_vat: bool = True


@dataclass
class Prices:
    price_member_cents: int = 1200
    price_public_cents: int = 2000
    vat_rate_bp: int | None = None


def test_twelve_euros_vat_included_at_20_percent_is_ten_plus_two():
    a = split(1200, 2000, prices_include_vat=True)
    assert (a.excl_cents, a.vat_cents, a.incl_cents) == (1000, 200, 1200)


def test_ten_euros_vat_excluded_at_20_percent_is_twelve_included():
    a = split(1000, 2000, prices_include_vat=False)
    assert (a.excl_cents, a.vat_cents, a.incl_cents) == (1000, 200, 1200)


def test_three_lines_of_3_33_excluding_vat_are_rounded_per_line_then_summed():
    space = Settings(prices_include_vat=False)
    lines = [quote.line(space, item=Item.booking, label="Café", quantity=1, unit="hour", unit_price_cents=333,
                        vat_rate_bp=2000, price_kind=PriceKind.member) for _ in range(3)]
    assert [x.vat_cents for x in lines] == [67, 67, 67]  # 66.6 → 67 on each line
    [total] = quote.per_rate(lines)
    assert (total.rate_bp, total.excl_cents, total.vat_cents, total.incl_cents) == (2000, 999, 201, 1200)


def test_half_a_cent_rounds_up_and_a_reversal_is_the_exact_negation():
    assert div_half_up(5, 10) == 1 and div_half_up(4, 10) == 0
    assert div_half_up(-5, 10) == -1
    a, b = split(1055, 550, prices_include_vat=True), split(-1055, 550, prices_include_vat=True)
    assert (b.excl_cents, b.vat_cents, b.incl_cents) == (-a.excl_cents, -a.vat_cents, -a.incl_cents)


@given(amount=st.integers(min_value=0, max_value=100_000_000), rate=st.sampled_from(VAT_RATES_BP),
       included=st.booleans())
def test_every_line_adds_up_to_the_cent(amount, rate, included):
    a = split(amount, rate, prices_include_vat=included)
    assert a.excl_cents + a.vat_cents == a.incl_cents
    assert (a.incl_cents if included else a.excl_cents) == amount
    assert abs(a.vat_cents * 10000 - a.excl_cents * rate) <= 10000 + rate  # within a cent of the exact VAT


def test_totals_are_summarised_per_rate_highest_first():
    space = Settings()
    lines = [quote.line(space, item=Item.booking, label="x", quantity=1, unit="day", unit_price_cents=p,
                        vat_rate_bp=r, price_kind=PriceKind.member) for p, r in ((1200, 2000), (1100, 1000), (600, 2000))]
    totals = quote.per_rate(lines)
    assert [(t.rate_bp, t.incl_cents) for t in totals] == [(2000, 1800), (1000, 1100)]


def test_a_resource_without_a_rate_uses_the_space_default_and_its_own_rate_otherwise():
    assert quote.booking_line(Settings(default_vat_rate_bp=1000), Prices(), label="Desk", unit="day", units=1,
                              price_kind=PriceKind.member).vat_rate_bp == 1000
    exempt = quote.booking_line(Settings(charges_vat=False), Prices(vat_rate_bp=550), label="Desk", unit="day",
                                units=1, price_kind=PriceKind.member)
    assert (exempt.vat_rate_bp, exempt.vat_cents) == (0, 0)
    assert quote.booking_line(Settings(), Prices(vat_rate_bp=550), label="Desk", unit="day", units=1,
                              price_kind=PriceKind.member).vat_rate_bp == 550


def test_a_booking_line_is_units_times_the_kind_s_price():
    member = quote.booking_line(Settings(), Prices(), label="Desk", unit="day", units=3, price_kind=PriceKind.member)
    public = quote.booking_line(Settings(), Prices(), label="Desk", unit="day", units=3, price_kind=PriceKind.public)
    assert (member.quantity, member.unit_price_cents, member.amount_incl_cents) == (3, 1200, 3600)
    assert (public.price_kind, public.amount_incl_cents, public.amount_excl_cents) == ("public", 6000, 5000)


def test_who_pays_which_price():
    assert quote.price_kind_for(True) == PriceKind.member
    assert quote.price_kind_for(False) == PriceKind.public


def test_a_registration_is_one_line_at_the_event_s_price():
    x = quote.registration_line(Settings(), Prices(price_member_cents=0, price_public_cents=1500),
                                label="Atelier", price_kind=PriceKind.public)
    assert (x.item, x.quantity, x.unit, x.amount_incl_cents) == ("registration", 1, "registration", 1500)
    free = quote.registration_line(Settings(), Prices(price_member_cents=0), label="Atelier",
                                   price_kind=PriceKind.member)
    assert free.is_free


def test_a_late_cancellation_fee_charges_the_booked_lines_again_as_a_fee():
    booked = [quote.booking_line(Settings(), Prices(), label="Salle", unit="hour", units=2,
                                 price_kind=PriceKind.member)]
    [fee] = quote.late_cancel_lines(booked)
    assert fee.item == Item.late_cancel_fee and fee.amount_incl_cents == 2400
    assert quote.late_cancel_lines([quote.booking_line(Settings(), Prices(price_member_cents=0), label="x",
                                                       unit="hour", units=1, price_kind=PriceKind.member)]) == []


@pytest.mark.parametrize(("typed", "bp"), [("20", 2000), ("10", 1000), ("5.5", 550), ("5,5", 550),
                                           ("2.1", 210), ("0", 0), ("20 %", 2000)])
def test_the_french_rates_are_chosen_by_their_percentage(typed, bp):
    assert parse_rate(typed, "vat_rate") == bp


@pytest.mark.parametrize("typed", ["19.6", "7", "nan", "-20", "2000", "abc"])
def test_other_rates_are_refused(typed):
    with pytest.raises(InvalidVatRate) as caught:
        parse_rate(typed, "vat_rate")
    assert caught.value.error_code == "invalid_vat_rate" and isinstance(caught.value, InvalidAmount)


def test_an_empty_rate_is_the_space_default_where_that_is_allowed():
    assert parse_rate("", "vat_rate", optional=True) is None
    with pytest.raises(InvalidVatRate):
        parse_rate("", "vat_rate")
    assert check_rate(None, "vat_rate_bp", optional=True) is None
    with pytest.raises(InvalidVatRate):
        check_rate(1960, "vat_rate_bp")
