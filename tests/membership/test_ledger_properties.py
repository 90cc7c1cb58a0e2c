"""Properties of the credit ledger (hypothesis), through the services a request or a job calls.

For any sequence of grants, passes, bookings, cancellations, expiries, adjustments, pauses
(every allowance expired) and period rollovers (what is left moved to a new bucket):
- no balance is ever below zero, and a closed bucket holds nothing;
- a balance is the sum of its entries, and entries once written never change;
- each booking's credit lines say exactly what its debits (net of refunds) took, and a cancelled
  booking took nothing; every unit of a booking is either paid by credits or priced.
"""

from __future__ import annotations

import itertools
from datetime import time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import col, select

from app.account.models import Account
from app.booking import service
from app.booking.models import Booking, BookingStatus
from app.core import clock, db
from app.core.errors import FabriqueError
from app.core.tenancy import all_spaces
from app.membership import ledger
from app.membership.models import (
    BucketSource,
    CreditBucket,
    CreditEntry,
    CreditEntryIsImmutable,
    EntryKind,
    PassProduct,
    PassRate,
)
from app.pricing import service as charges
from app.resource.models import Resource
from app.space import service as spaces
from app.space.models import Space
from tests.booking.factories import TOMORROW, create_room, freeze, paris, set_hours
from tests.fixtures.factories import add_member, create_account, unique_email

Op = tuple
_SLOTS = itertools.count()

ops = st.lists(st.one_of(
    st.tuples(st.just("grant"), st.one_of(st.none(), st.integers(0, 5)), st.integers(1, 40)),
    st.tuples(st.just("pass"), st.integers(1, 6), st.integers(1, 3), st.integers(1, 40)),
    st.tuples(st.just("book"), st.integers(1, 4)),
    st.tuples(st.just("cancel"), st.integers(0, 20)),
    st.tuples(st.just("expire"), st.integers(0, 20)),
    st.tuples(st.just("adjust"), st.integers(0, 20), st.integers(-5, 5).filter(bool)),
    st.tuples(st.just("rollover"), st.integers(0, 20)),
    st.tuples(st.just("pause")),
), min_size=1, max_size=14)


async def _context(session, space_id: int, room_id: int, account_id: int):
    space = await session.get(Space, space_id)
    return space, await session.get(Resource, room_id), await spaces.membership(session, account_id), \
        await session.get(Account, account_id)


async def _run(op: Op, *, space_id: int, room_id: int, account_id: int, state: dict) -> None:
    now = clock.now()
    async with db.transaction(space_id=space_id) as session:
        buckets = list((await session.exec(select(CreditBucket).where(CreditBucket.account_id == account_id)
                                           .order_by(col(CreditBucket.id)))).all())
        pick = (lambda i: buckets[i % len(buckets)]) if buckets else None
        kind = op[0]
        state["n"] += 1
        label = f"b{state['n']}"
        if kind == "grant":
            await ledger.grant(session, account_id=account_id, quantity=op[1], unit="hour", resource_kinds="meeting_room",
                               valid_from=now - timedelta(days=1), valid_until=now + timedelta(days=op[2]),
                               weekdays_only=False, label=label, reason="test", actor_id=account_id)
        elif kind == "pass":
            product = PassProduct(name="carnet", units=op[1])
            session.add(product)
            await session.flush()
            session.add(PassRate(pass_product_id=product.id, resource_kind="meeting_room", unit="hour", units_per=op[2]))
            await ledger.open_bucket(session, account_id=account_id, source=BucketSource.pass_, label=label,
                                     quantity=op[1], pass_product_id=product.id, valid_from=now - timedelta(days=1),
                                     valid_until=now + timedelta(days=op[3]))
        elif kind == "book":
            space, room, member, account = await _context(session, space_id, room_id, account_id)
            start = paris(TOMORROW, 0) + timedelta(hours=5 * next(_SLOTS))  # the room outlives each example
            await service.book(session, space=space, resource=room, member=member, account=account, actor=account,
                               starts_at=start, ends_at=start + timedelta(hours=op[1]))
        elif kind == "cancel":
            active = list((await session.exec(select(Booking).where(Booking.status == BookingStatus.confirmed)
                                              .order_by(col(Booking.id)))).all())
            if active:
                space, room, _member, account = await _context(session, space_id, room_id, account_id)
                await service.cancel_booking(session, space=space, resource=room, booking=active[op[1] % len(active)],
                                             actor=account, as_staff=True)
        elif kind == "expire" and pick:
            await ledger.expire(session, pick(op[1]))
        elif kind == "adjust" and pick:
            try:
                await ledger.adjust(session, pick(op[1]), op[2], reason="test", actor_id=account_id)
            except FabriqueError:
                pass  # below zero, expired, unlimited: refused, nothing written
        elif kind == "rollover" and pick:
            old = pick(op[1])
            (old,) = await ledger.lock(session, [old.id])
            if old.expired_at is None and not old.unlimited:
                carried = (await ledger.sums(session, [old.id]))[old.id]
                new = await ledger.open_bucket(
                    session, account_id=account_id, source=BucketSource(old.source), label=label,
                    quantity=0, resource_kinds=old.resource_kinds, unit=old.unit, pass_product_id=old.pass_product_id,
                    valid_from=now - timedelta(days=1), valid_until=now + timedelta(days=31), rolled_from_id=old.id)
                if carried:
                    ledger.add_entry(session, old, EntryKind.rollover, -carried)
                    ledger.add_entry(session, new, EntryKind.rollover, carried)
                await ledger.expire(session, old)
        elif kind == "pause":
            for b in buckets:
                if b.source != BucketSource.pass_:
                    await ledger.expire(session, b)


async def _check(space_id: int, account_id: int, seen: dict[int, tuple]) -> None:
    async with db.transaction(space_id=space_id, write=False) as session:
        buckets = list((await session.exec(select(CreditBucket).where(CreditBucket.account_id == account_id))).all())
        entries = list((await session.exec(select(CreditEntry).where(CreditEntry.account_id == account_id))).all())
        sums = await ledger.sums(session, [b.id for b in buckets])
        for b in buckets:
            assert sums[b.id] == sum(e.quantity for e in entries if e.bucket_id == b.id)
            assert sums[b.id] >= 0, f"bucket {b.id} below zero"
            if b.expired_at is not None:
                assert sums[b.id] == 0, f"closed bucket {b.id} still holds {sums[b.id]}"
        for e in entries:  # never changed once written
            assert seen.setdefault(e.id, (e.bucket_id, e.kind, e.quantity, e.booking_id, e.reverses_id)) == (
                e.bucket_id, e.kind, e.quantity, e.booking_id, e.reverses_id)
        rates = {r.pass_product_id: r.units_per for r in (await session.exec(select(PassRate))).all()}
        by_id = {b.id: b for b in buckets}
        bookings = list((await session.exec(select(Booking).where(Booking.account_id == account_id))).all())
        lines = await charges.charges_of(session, charges.Source.booking, [b.id for b in bookings])
        for booking in bookings:
            taken = 0
            for e in entries:
                if e.booking_id == booking.id and e.kind in (EntryKind.debit, EntryKind.refund):
                    bucket = by_id[e.bucket_id]
                    per = rates[bucket.pass_product_id] if bucket.source == BucketSource.pass_ else 1
                    taken -= e.quantity // per if not bucket.unlimited else 0
            kept = [c for c in lines[booking.id] if c.price_kind in ("plan", "pass")]
            credit_units = sum(c.quantity for c in kept if not by_id_unlimited(c, by_id))
            assert taken == credit_units, (booking.id, taken, credit_units)
            if booking.status == BookingStatus.cancelled:
                assert sum(c.quantity for c in kept) == 0
            else:
                hours = int((booking.ends_at - booking.starts_at) / timedelta(hours=1))
                assert sum(c.quantity for c in lines[booking.id] if c.item == "booking") == hours


def by_id_unlimited(charge, by_id: dict[int, CreditBucket]) -> bool:
    """A line paid by an unlimited bucket (debits of 0): known by its label, the bucket's."""
    return any(b.unlimited and charge.label.endswith(f"— {b.label}") for b in by_id.values())


@pytest.fixture
async def room(world):
    await set_hours(world.a.space, world.a.owner, {d: [(time(0), time(0))] for d in range(7)})
    return await create_room(world.a.space, horizon_days=400, cancel_deadline_hours=0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=ops)
async def test_balances_are_sums_never_below_zero_and_bookings_take_what_they_say(world, room, sequence):
    freeze()
    account = await create_account("Prop", unique_email("prop"))
    await add_member(world.a.space, account, "member")
    state = {"n": 0}
    seen: dict[int, tuple] = {}
    for op in sequence:
        await _run(op, space_id=world.a.space.id, room_id=room.id, account_id=account.id, state=state)
        await _check(world.a.space.id, account.id, seen)


async def test_an_entry_cannot_be_edited_by_the_orm_nor_by_sql(world):
    account = world.a.member
    async with db.transaction(space_id=world.a.space.id) as session:
        bucket = await ledger.open_bucket(session, account_id=account.id, source=BucketSource.grant, label="x",
                                          quantity=3, unit="day", valid_from=clock.now(),
                                          valid_until=clock.now() + timedelta(days=3))
    with pytest.raises(CreditEntryIsImmutable):
        async with db.transaction(space_id=world.a.space.id) as session:
            entry = (await session.exec(select(CreditEntry).where(CreditEntry.bucket_id == bucket.id))).one()
            entry.quantity = 300
            session.add(entry)
    with pytest.raises(Exception, match="immutable"):
        async with db.transaction(space_id=world.a.space.id) as session:
            with all_spaces(session):
                await session.exec(text("UPDATE credit_entry SET quantity = 300"))  # type: ignore[call-overload]
    async with db.transaction(space_id=world.a.space.id, write=False) as session:
        assert (await ledger.sums(session, [bucket.id]))[bucket.id] == 3
