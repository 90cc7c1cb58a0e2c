"""Which credits a booking uses, and the ledger entries that say so (``docs/credits.md``).

The choice is a pure function (:func:`choose`): given what a booking needs (so many units of a
resource's unit, on a kind of resource, starting at an instant) and the member's buckets with
what is left in each, it returns what to take from which bucket and how many units remain to be
priced. The order is fixed: allowances and staff grants first (the soonest ``valid_until``
first), then passes (the soonest expiring first), then the price. A booking may be split
(1 unit left in an allowance + 2 priced units); a pass gives whole booking units (a pass with
3 units left at 2 units per half-day covers one half-day; the rest goes on).

The I/O around it:
- :func:`preview` — read only, for a quote: nothing is debited when a slot is chosen or quoted;
- :func:`lock_for` + :func:`choose_locked` — in the booking's transaction: lock the eligible buckets (id order), sum their
  entries again under the lock, choose; :func:`write_debits` then writes the debits once the
  booking has its id. Two bookings racing for the last unit queue on the bucket's lock: the
  second sums after the first committed and finds nothing left (PostgreSQL ``FOR UPDATE``,
  SQLite's single writer);
- :func:`refund` — a debit given back (unique ``reverses_id``: once), e.g. on a cancellation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.membership import ledger
from app.membership.models import BucketSource, CreditBucket, CreditEntry, EntryKind, PassRate

Rates = Mapping[int, Mapping[tuple[str, str], int]]  # pass product → (resource kind, unit) → units per unit


@dataclass(frozen=True)
class Need:
    """What a booking asks for: ``units`` of ``unit`` (``app.booking.rules.units_for``) on a
    resource of ``kind``, starting at ``starts_at`` (aware), in a space of time zone ``tz``."""

    units: int
    kind: str
    unit: str
    starts_at: datetime
    tz: str


@dataclass(frozen=True)
class Take:
    """Units taken from one bucket: ``booking_units`` of the booking, ``credits`` bucket units
    (a pass converts by its rate; an unlimited bucket takes nothing: ``credits`` 0)."""

    bucket_id: int
    source: str
    label: str
    booking_units: int
    credits: int
    left_before: int | None  # None: unlimited

    @property
    def left_after(self) -> int | None:
        return None if self.left_before is None else self.left_before - self.credits

    @property
    def is_pass(self) -> bool:
        return self.source == BucketSource.pass_


@dataclass(frozen=True)
class Choice:
    takes: tuple[Take, ...] = ()
    priced_units: int = 0
    matched: bool = False  # the member has a bucket for such a booking, used up or not

    @property
    def covered_units(self) -> int:
        return sum(t.booking_units for t in self.takes)


NOTHING = Choice()


def cost_per_unit(bucket: CreditBucket, need: Need, rates: Rates) -> int | None:
    """Bucket units one booking unit costs, or None when the bucket cannot pay for this booking.

    Validity is judged at the booking's start: a bucket pays for a booking starting inside its
    window (``valid_from <= start < valid_until``) and not closed (``expired_at``, written when a
    period ends, a subscription is paused or ended early).
    """
    if bucket.expired_at is not None or not (bucket.valid_from <= need.starts_at < bucket.valid_until):
        return None
    if bucket.weekdays_only and need.starts_at.astimezone(ZoneInfo(need.tz)).weekday() >= 5:
        return None
    if bucket.source == BucketSource.pass_:
        if bucket.pass_product_id is None:
            return None
        per = rates.get(bucket.pass_product_id, {}).get((need.kind, need.unit))
        return per if per is not None and per > 0 else None
    kinds = {k.strip() for k in bucket.resource_kinds.split(",") if k.strip()}
    if bucket.unit != need.unit or (kinds and need.kind not in kinds):
        return None
    return 1


def order_key(bucket: CreditBucket) -> tuple:
    """Allowances and grants before passes; within each, the soonest expiring first."""
    return (bucket.source == BucketSource.pass_, bucket.valid_until, bucket.id or 0)


def eligible(buckets: Iterable[CreditBucket], need: Need, rates: Rates) -> list[CreditBucket]:
    """The buckets that can pay for ``need``, in the order they are used."""
    return sorted((b for b in buckets if cost_per_unit(b, need, rates) is not None), key=order_key)


def choose(need: Need, buckets: Sequence[CreditBucket], left: Mapping[int, int], rates: Rates) -> Choice:
    """What to take from which bucket for ``need``; the rest is priced. ``left``: each bucket's
    balance (the sum of its entries). Pure: the same answer for a quote and for the debit."""
    takes: list[Take] = []
    wanted = need.units
    matched = False
    for bucket in eligible(buckets, need, rates):
        matched = True
        if wanted <= 0:
            break
        assert bucket.id is not None
        per = cost_per_unit(bucket, need, rates) or 1
        if bucket.unlimited:
            takes.append(Take(bucket.id, bucket.source, bucket.label, wanted, 0, None))
            wanted = 0
            break
        balance = left.get(bucket.id, 0)
        n = min(wanted, max(balance, 0) // per)
        if n > 0:
            takes.append(Take(bucket.id, bucket.source, bucket.label, n, n * per, balance))
            wanted -= n
    return Choice(tuple(takes), wanted, matched)


# -- reads and writes ---------------------------------------------------------------------------


async def candidates(session: AsyncSession, account_id: int, need: Need, *,
                     lock: bool = False) -> tuple[list[CreditBucket], Rates]:
    """The member's buckets open at the booking's start, each pass with its rate for the booking's
    kind and unit, in one indexed query (the pure rules filter further). ``lock``: ``FOR UPDATE``
    of those buckets, in id order, read again (a debit or an expiry committed meanwhile is seen)."""
    stmt = (select(CreditBucket, PassRate.units_per)
            .outerjoin(PassRate, and_(col(PassRate.pass_product_id) == CreditBucket.pass_product_id,
                                      col(PassRate.resource_kind) == need.kind, col(PassRate.unit) == need.unit))
            .where(CreditBucket.account_id == account_id, col(CreditBucket.valid_from) <= need.starts_at,
                   col(CreditBucket.valid_until) > need.starts_at, col(CreditBucket.expired_at).is_(None))
            .order_by(col(CreditBucket.id)))
    if lock:
        stmt = stmt.with_for_update(of=CreditBucket).execution_options(populate_existing=True)
    buckets: list[CreditBucket] = []
    rates: dict[int, dict[tuple[str, str], int]] = {}
    for bucket, per in (await session.exec(stmt)).all():
        buckets.append(bucket)
        if bucket.pass_product_id is not None and per is not None:
            rates.setdefault(bucket.pass_product_id, {})[(need.kind, need.unit)] = per
    return buckets, rates


async def preview_many(session: AsyncSession, *, account_id: int, needs: Sequence[Need]) -> list[Choice]:
    """What each of several bookings (a weekly series, in order) would use, read only: the
    occurrences take from the balances one after the other, as booking them will."""
    if not needs:
        return []
    first, last = min(n.starts_at for n in needs), max(n.starts_at for n in needs)
    found = list((await session.exec(select(CreditBucket).where(
        CreditBucket.account_id == account_id, col(CreditBucket.valid_from) <= last,
        col(CreditBucket.valid_until) > first, col(CreditBucket.expired_at).is_(None)))).all())
    if not found:
        return [Choice(priced_units=n.units) for n in needs]
    rates = await rates_of(session, found)
    left = dict(await ledger.sums(session, [b.id for b in found if b.id is not None]))
    out = []
    for need in needs:
        choice = choose(need, found, left, rates)
        for t in choice.takes:
            left[t.bucket_id] -= t.credits
        out.append(choice)
    return out


async def rates_of(session: AsyncSession, buckets: Iterable[CreditBucket]) -> dict[int, dict[tuple[str, str], int]]:
    products = sorted({b.pass_product_id for b in buckets if b.pass_product_id is not None})
    if not products:
        return {}
    out: dict[int, dict[tuple[str, str], int]] = {p: {} for p in products}
    for r in (await session.exec(select(PassRate).where(col(PassRate.pass_product_id).in_(products)))).all():
        out[r.pass_product_id][(r.resource_kind, r.unit)] = r.units_per
    return out


async def preview(session: AsyncSession, *, account_id: int, need: Need) -> Choice:
    """What a booking would use now, read only (a quote)."""
    found, rates = await candidates(session, account_id, need)
    usable = eligible(found, need, rates)
    if not usable:
        return Choice(priced_units=need.units)
    left = await ledger.sums(session, [b.id for b in usable if b.id is not None])
    return choose(need, usable, left, rates)


@dataclass
class Locked:
    """The buckets a booking may use, locked in its transaction, and every bucket locked with them."""

    need: Need
    usable: list[CreditBucket]
    rates: Rates
    buckets: dict[int, CreditBucket]


async def lock_for(session: AsyncSession, *, account_id: int | None, need: Need, use_credits: bool = True,
                   also: Iterable[int] = ()) -> Locked:
    """Lock, in id order, the buckets that can pay for ``need`` (when ``use_credits``) and ``also``
    (buckets a refund goes back to), read again under the lock. A booking's path is one
    statement; with ``also`` (a move, an override) the candidates are read first, then all locked."""
    also = list(also)
    if not (use_credits and account_id is not None):
        return Locked(need, [], {}, {b.id: b for b in await ledger.lock(session, also) if b.id is not None})
    found, rates = await candidates(session, account_id, need, lock=not also)
    if also:
        ids = [b.id for b in eligible(found, need, rates) if b.id is not None] + also
        wanted = {b.id for b in found}
        locked = {b.id: b for b in await ledger.lock(session, ids) if b.id is not None}
        found = [b for i, b in locked.items() if i in wanted]
    else:
        locked = {b.id: b for b in found if b.id is not None}
    return Locked(need, eligible(found, need, rates), rates, locked)


async def choose_locked(session: AsyncSession, locked: Locked) -> Choice:
    """Sum the locked buckets (after any refund the caller wrote: the query flushes it) and choose."""
    if not locked.usable:
        return Choice(priced_units=locked.need.units)
    left = await ledger.sums(session, [b.id for b in locked.usable if b.id is not None])
    return choose(locked.need, locked.usable, left, locked.rates)


def write_debits(session: AsyncSession, choice: Choice, buckets: Mapping[int, CreditBucket], *,
                 booking_id: int | None, actor_id: int | None, reason: str = "") -> list[CreditEntry]:
    """One debit per bucket taken from (0 units for an unlimited one: the charge says how many)."""
    return [ledger.add_entry(session, buckets[t.bucket_id], EntryKind.debit, -t.credits, booking_id=booking_id,
                             actor_id=actor_id, reason=reason) for t in choice.takes]


async def debits_of(session: AsyncSession, booking_id: int) -> list[CreditEntry]:
    """A booking's debits not refunded yet."""
    refunded = select(CreditEntry.reverses_id).where(col(CreditEntry.reverses_id).is_not(None),
                                                     CreditEntry.booking_id == booking_id)
    rows = await session.exec(select(CreditEntry).where(
        CreditEntry.booking_id == booking_id, CreditEntry.kind == EntryKind.debit,
        col(CreditEntry.id).not_in(refunded)).order_by(col(CreditEntry.id)))
    return list(rows.all())


async def refund(session: AsyncSession, debits: Sequence[CreditEntry], buckets: Mapping[int, CreditBucket], *,
                 actor_id: int | None, reason: str = "") -> int:
    """Give ``debits`` back (their buckets locked by the caller). A bucket already closed gets its
    refund and at once an expiry of the same units: the booking's record is compensated, the
    closed bucket does not come back to life. Returns the units made usable again."""
    usable = 0
    for debit in debits:
        bucket = buckets[debit.bucket_id]
        ledger.add_entry(session, bucket, EntryKind.refund, -debit.quantity, booking_id=debit.booking_id,
                         reverses_id=debit.id, actor_id=actor_id, reason=reason)
        if bucket.expired_at is not None:
            if debit.quantity:
                ledger.add_entry(session, bucket, EntryKind.expiry, debit.quantity, booking_id=debit.booking_id,
                                 actor_id=actor_id, reason=reason)
        else:
            usable -= debit.quantity
    return usable
