"""The one money parser and formatter: what people type, what Babel writes, and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.money import MAX_CENTS, InvalidAmount, amount_input, format_money, format_rate, parse_cents


@pytest.mark.parametrize(("typed", "cents"), [
    ("12", 1200), ("12,5", 1250), ("12.50", 1250), ("0,05", 5), ("  7 ", 700), ("", 0), (None, 0),
    ("1 234,50", 123450), ("1\xa0234,50", 123450), ("1\u202f234,50", 123450), ("1.234,50", 123450),
    ("1,234.50", 123450), ("12,50 €", 1250), ("€12.50", 1250), ("12€", 1200), ("1 000 000", MAX_CENTS),
])
def test_amounts_as_people_type_them_are_read_to_the_cent(typed, cents):
    assert parse_cents(typed, "price") == cents


@pytest.mark.parametrize("typed", [
    "nan", "NaN", "inf", "-inf", "Infinity", "1e400", "1e3", "12,345", "1,2,3", "1 23", "12 3456", "abc",
    "12..5", ",5", "12,", "0x10", "١٢", "１２", "12.5.0", "1_000", "€", "-", "--5", "+5", "5-", "1" * 60,
])
def test_anything_else_is_an_invalid_amount_naming_the_field(typed):
    with pytest.raises(InvalidAmount) as caught:
        parse_cents(typed, "price_public")
    assert caught.value.status_code == 422 and caught.value.error_code == "invalid_amount"
    assert "price_public" in caught.value.fields


def test_more_than_two_decimals_says_so():
    with pytest.raises(InvalidAmount) as caught:
        parse_cents("3,333", "price")
    assert caught.value.fields["price"] == InvalidAmount.too_many_decimals


def test_a_negative_amount_is_refused_unless_allowed():
    with pytest.raises(InvalidAmount) as caught:
        parse_cents("-12,50", "price")
    assert caught.value.fields["price"] == InvalidAmount.negative
    assert parse_cents("-12,50", "price", allow_negative=True) == -1250
    assert parse_cents("-€12.50", "price", allow_negative=True) == -1250


def test_beyond_the_maximum_is_refused():
    with pytest.raises(InvalidAmount) as caught:
        parse_cents("1 000 000,01", "price")
    assert caught.value.fields["price"] == InvalidAmount.too_large


def test_a_required_amount_left_empty_is_refused():
    with pytest.raises(InvalidAmount):
        parse_cents(" ", "price", required=True)


def test_the_formatter_writes_money_the_locale_s_way():
    from babel.numbers import format_currency

    assert format_money(123450, "EUR", "fr") == format_currency(1234.5, "EUR", locale="fr")
    assert format_money(123450, "EUR", "en") == "€1,234.50"
    assert format_rate(550, "en") == "5.5%"
    assert format_rate(2000, "fr").startswith("20")


@settings(max_examples=300, deadline=None)
@given(cents=st.integers(min_value=-MAX_CENTS, max_value=MAX_CENTS), locale=st.sampled_from(["fr", "en", "de"]))
def test_what_the_formatter_writes_the_parser_reads_back(cents, locale):
    assert parse_cents(format_money(cents, "EUR", locale), "p", allow_negative=True) == cents
    assert parse_cents(amount_input(cents, locale), "p", allow_negative=True) == cents


@settings(max_examples=1000, deadline=None)
@given(st.text(max_size=50))
def test_no_text_raises_anything_but_an_invalid_amount(text):
    try:
        cents = parse_cents(text, "p", allow_negative=True)
    except InvalidAmount:
        return
    assert isinstance(cents, int) and abs(cents) <= MAX_CENTS


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789,. \xa0\u202f€-eEnaif", max_size=20))
def test_no_amount_like_text_raises_anything_but_an_invalid_amount(text):
    try:
        cents = parse_cents(text, "p")
    except InvalidAmount:
        return
    assert isinstance(cents, int) and 0 <= cents <= MAX_CENTS
