"""The pure choice of credits (``app.membership.usage.choose``), case by case and by hypothesis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.membership.models import BucketSource, CreditBucket
from app.membership.usage import Need, choose

START = datetime(2027, 3, 2, 8, tzinfo=UTC)  # a Tuesday, 09:00 in Paris
SATURDAY = datetime(2027, 3, 6, 8, tzinfo=UTC)


def bucket(i: int, source: BucketSource = BucketSource.allowance, *, days: int = 30, unit: str = "hour",
           kinds: str = "", unlimited: bool = False, weekdays_only: bool = False, product: int | None = None,
           expired: bool = False) -> CreditBucket:
    return CreditBucket(id=i, space_id=1, account_id=1, source=source, label=f"b{i}", unit=unit, resource_kinds=kinds,
                        unlimited=unlimited, weekdays_only=weekdays_only, pass_product_id=product,
                        valid_from=START - timedelta(days=1), valid_until=START + timedelta(days=days),
                        expired_at=START if expired else None)


def need(units: int, at: datetime = START) -> Need:
    return Need(units=units, kind="meeting_room", unit="hour", starts_at=at, tz="Europe/Paris")


def test_allowances_soonest_expiring_first_then_passes_then_the_price():
    buckets = [bucket(1, days=40), bucket(2, days=10), bucket(3, BucketSource.pass_, days=5, unit="", product=7)]
    choice = choose(need(6), buckets, {1: 2, 2: 1, 3: 2}, {7: {("meeting_room", "hour"): 1}})
    assert [(t.bucket_id, t.booking_units) for t in choice.takes] == [(2, 1), (1, 2), (3, 2)]
    assert choice.priced_units == 1


def test_a_pass_gives_whole_booking_units_at_its_rate():
    choice = choose(need(2), [bucket(1, BucketSource.pass_, unit="", product=7)], {1: 3}, {7: {("meeting_room", "hour"): 2}})
    assert [(t.booking_units, t.credits, t.left_after) for t in choice.takes] == [(1, 2, 1)]
    assert choice.priced_units == 1


def test_what_a_bucket_does_not_match_it_does_not_pay():
    buckets = [bucket(1, unit="day"), bucket(2, kinds="hot_desk"), bucket(3, expired=True),
               bucket(4, weekdays_only=True), bucket(5, BucketSource.pass_, unit="", product=8)]
    choice = choose(need(1, SATURDAY), buckets, dict.fromkeys(range(1, 6), 5), {8: {("hot_desk", "day"): 1}})
    assert choice.takes == () and choice.priced_units == 1 and not choice.matched


def test_an_unlimited_allowance_covers_everything_and_takes_nothing():
    choice = choose(need(9), [bucket(1, unlimited=True), bucket(2)], {1: 0, 2: 5}, {})
    assert [(t.bucket_id, t.booking_units, t.credits) for t in choice.takes] == [(1, 9, 0)]


balances = st.lists(st.tuples(st.sampled_from(["allowance", "grant", "pass"]), st.integers(1, 60), st.integers(-1, 8),
                              st.integers(1, 3), st.booleans()), max_size=6)


@given(units=st.integers(1, 12), spec=balances)
def test_every_unit_is_paid_once_and_no_bucket_gives_more_than_it_has(units, spec):
    buckets, left, rates = [], {}, {}
    for i, (source, days, balance, per, unlimited) in enumerate(spec, start=1):
        is_pass = source == "pass"
        buckets.append(bucket(i, BucketSource(source), days=days, unit="" if is_pass else "hour",
                              unlimited=unlimited and not is_pass, product=i if is_pass else None))
        left[i] = balance
        if is_pass:
            rates[i] = {("meeting_room", "hour"): per}
    choice = choose(need(units), buckets, left, rates)
    assert choice.covered_units + choice.priced_units == units
    for t in choice.takes:
        assert t.booking_units > 0
        assert t.left_after is None or 0 <= t.left_after
    order = [(t.is_pass, buckets[t.bucket_id - 1].valid_until) for t in choice.takes]
    assert order == sorted(order)  # allowances and grants before passes, the soonest expiring first
    if choice.priced_units:  # priced only when no bucket could give one more booking unit
        for b in buckets:
            per = rates.get(b.pass_product_id or 0, {}).get(("meeting_room", "hour"), 1)
            spare = left[b.id] - sum(t.credits for t in choice.takes if t.bucket_id == b.id)
            assert not b.unlimited and spare < per
