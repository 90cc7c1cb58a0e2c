"""The credit ledger: buckets of units and the entries that move them. Balances are sums.

Every change of what a member may use is an entry (``CreditEntry``): a grant when a bucket opens,
a debit per confirmed booking, a refund reversing a debit, an expiry of what is left, a rollover
out of one bucket and into the next, a manual adjustment with a reason. Entries are never edited
nor deleted. A bucket's balance is the sum of its entries, read in the transaction that changes it.

Concurrency: whoever takes units locks the bucket row first (``FOR UPDATE`` on PostgreSQL; SQLite
serialises writers), then sums, then writes — so two bookings racing for the last unit cannot both
have it, and no balance goes below zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.service import audit_labels, log_action
from app.core import clock
from app.core.errors import NotFound
from app.core.i18n import _l
from app.core.tenancy import require_scope
from app.membership.errors import BucketClosed, BucketUnlimited, CreditsBelowZero
from app.membership.models import BucketSource, CreditBucket, CreditEntry, EntryKind

audit_labels({"credits.granted": _l("Credits granted"), "credits.adjusted": _l("Credits adjusted")})


@dataclass(frozen=True)
class Balance:
    bucket: CreditBucket
    left: int  # units left (meaningless when the bucket is unlimited)

    @property
    def unlimited(self) -> bool:
        return self.bucket.unlimited


async def open_bucket(
    session: AsyncSession, *, account_id: int, source: BucketSource, label: str, quantity: int | None,
    valid_from: datetime, valid_until: datetime, resource_kinds: str = "", unit: str = "",
    weekdays_only: bool = False, subscription_period_id: int | None = None, plan_allowance_id: int | None = None,
    pass_product_id: int | None = None, order_id: int | None = None, rollovers_left: int = 0,
    rolled_from_id: int | None = None, actor_id: int | None = None, reason: str = "",
) -> CreditBucket:
    """A new bucket and its grant entry (``quantity`` ``None``: unlimited, no grant needed)."""
    if quantity is not None and quantity < 0:
        raise ValueError("a grant is not negative")
    bucket = CreditBucket(
        space_id=require_scope(session), account_id=account_id, source=source, label=label[:200],
        subscription_period_id=subscription_period_id, plan_allowance_id=plan_allowance_id,
        pass_product_id=pass_product_id, order_id=order_id, resource_kinds=resource_kinds, unit=unit,
        unlimited=quantity is None, weekdays_only=weekdays_only, valid_from=valid_from, valid_until=valid_until,
        rolled_from_id=rolled_from_id, rollovers_left=rollovers_left, created_by_id=actor_id, created_at=clock.now(),
    )
    session.add(bucket)
    await session.flush()
    if quantity:
        add_entry(session, bucket, EntryKind.grant, quantity, actor_id=actor_id, reason=reason)
    return bucket


def add_entry(session: AsyncSession, bucket: CreditBucket, kind: EntryKind, quantity: int, *,
              booking_id: int | None = None, reverses_id: int | None = None, actor_id: int | None = None,
              reason: str = "") -> CreditEntry:
    """One entry, written with the caller's next flush. Callers that take units hold the bucket's
    lock (``lock``) and have checked the balance: this does not."""
    if bucket.id is None:
        raise ValueError("flush the bucket first")
    entry = CreditEntry(space_id=bucket.space_id, account_id=bucket.account_id, bucket_id=bucket.id, kind=kind,
                        quantity=quantity, booking_id=booking_id, reverses_id=reverses_id, reason=reason[:300],
                        actor_id=actor_id, created_at=clock.now())
    session.add(entry)
    return entry


async def lock(session: AsyncSession, bucket_ids: Sequence[int]) -> list[CreditBucket]:
    """Lock buckets (in id order, so two transactions never wait on each other crosswise)."""
    if not bucket_ids:
        return []
    rows = await session.exec(select(CreditBucket).where(col(CreditBucket.id).in_(sorted(set(bucket_ids))))
                              .order_by(col(CreditBucket.id)).with_for_update().execution_options(populate_existing=True))
    return list(rows.all())


async def sums(session: AsyncSession, bucket_ids: Sequence[int]) -> dict[int, int]:
    """Each bucket's balance: the sum of its entries (0 for a bucket without any)."""
    if not bucket_ids:
        return {}
    rows = await session.exec(select(CreditEntry.bucket_id, func.coalesce(func.sum(CreditEntry.quantity), 0))
                              .where(col(CreditEntry.bucket_id).in_(list(bucket_ids)))
                              .group_by(col(CreditEntry.bucket_id)))
    found = {int(b): int(total) for b, total in rows.all()}
    return {b: found.get(b, 0) for b in bucket_ids}


async def balances(session: AsyncSession, account_id: int, *, at: datetime | None = None,
                   include_spent: bool = False) -> list[Balance]:
    """A member's buckets valid at ``at`` (now), soonest expiring first, with what is left."""
    at = at or clock.now()
    buckets = list((await session.exec(
        select(CreditBucket).where(CreditBucket.account_id == account_id, col(CreditBucket.valid_from) <= at,
                                   col(CreditBucket.valid_until) > at, col(CreditBucket.expired_at).is_(None))
        .order_by(col(CreditBucket.valid_until), col(CreditBucket.id)))).all())
    left = await sums(session, [b.id for b in buckets if b.id is not None])
    out = [Balance(b, left[b.id]) for b in buckets if b.id is not None]
    return out if include_spent else [x for x in out if x.unlimited or x.left > 0]


async def expire(session: AsyncSession, bucket: CreditBucket, *, at: datetime | None = None) -> int:
    """Close a bucket at its end: an expiry entry for what is left (locks it first). Returns the
    units expired. Idempotent: a bucket already expired is left alone."""
    (locked,) = await lock(session, [bucket.id] if bucket.id is not None else [])
    if locked.expired_at is not None:
        return 0
    left = (await sums(session, [locked.id]))[locked.id] if locked.id is not None else 0
    if left > 0 and not locked.unlimited:
        add_entry(session, locked, EntryKind.expiry, -left)
    locked.expired_at = at or clock.now()
    session.add(locked)
    return max(left, 0) if not locked.unlimited else 0


async def expire_all_of(session: AsyncSession, account_id: int, *, at: datetime | None = None) -> int:
    """Close every open bucket of a member who left the space (allowances, passes, grants): what is
    left expires now. Returns the units expired."""
    ids = (await session.exec(select(col(CreditBucket.id)).where(
        CreditBucket.account_id == account_id, col(CreditBucket.expired_at).is_(None)))).all()
    total = 0
    for bucket in await lock(session, [i for i in ids if i is not None]):
        total += await expire(session, bucket, at=at)
    return total


# -- staff: grants and adjustments, and what a member's ledger shows -----------------------------


async def grant(session: AsyncSession, *, account_id: int, quantity: int | None, unit: str, resource_kinds: str,
                valid_from: datetime, valid_until: datetime, weekdays_only: bool, label: str, reason: str,
                actor_id: int | None) -> CreditBucket:
    """Units granted by staff (``BucketSource.grant``): used like an allowance of ``unit`` on the
    listed kinds, from ``valid_from`` to ``valid_until``. Logged with its reason."""
    bucket = await open_bucket(session, account_id=account_id, source=BucketSource.grant, label=label,
                               quantity=quantity, valid_from=valid_from, valid_until=valid_until,
                               resource_kinds=resource_kinds, unit=unit, weekdays_only=weekdays_only,
                               actor_id=actor_id, reason=reason)
    log_action(session, "credits.granted", space_id=bucket.space_id, actor_id=actor_id, obj=bucket,
               account_id=account_id, quantity=quantity, unit=unit, resource_kinds=resource_kinds,
               valid_until=valid_until.isoformat(), reason=reason)
    return bucket


async def adjust(session: AsyncSession, bucket: CreditBucket, quantity: int, *, reason: str,
                 actor_id: int | None) -> CreditEntry:
    """Add or take units (signed) with a reason. Decided under the bucket's lock: never below zero,
    never on an expired or unlimited bucket."""
    (locked,) = await lock(session, [bucket.id] if bucket.id is not None else [])
    if locked.unlimited:
        raise BucketUnlimited()
    if locked.expired_at is not None or locked.valid_until <= clock.now():
        raise BucketClosed()
    left = (await sums(session, [locked.id]))[locked.id] if locked.id is not None else 0
    if left + quantity < 0:
        raise CreditsBelowZero(params={"left": left})
    entry = add_entry(session, locked, EntryKind.adjust, quantity, actor_id=actor_id, reason=reason)
    log_action(session, "credits.adjusted", space_id=locked.space_id, actor_id=actor_id, obj=locked,
               account_id=locked.account_id, quantity=quantity, left_before=left, reason=reason)
    await session.flush()
    return entry


async def entries(session: AsyncSession, account_id: int, *, limit: int, offset: int
                  ) -> tuple[list[tuple[CreditEntry, CreditBucket]], int]:
    """A member's ledger, newest first, each entry with its bucket; and how many there are."""
    rows = await session.exec(
        select(CreditEntry, CreditBucket).join(CreditBucket, col(CreditBucket.id) == CreditEntry.bucket_id)
        .where(CreditEntry.account_id == account_id)
        .order_by(col(CreditEntry.created_at).desc(), col(CreditEntry.id).desc()).limit(limit).offset(offset))
    total = (await session.exec(select(func.count()).select_from(CreditEntry)
                                .where(CreditEntry.account_id == account_id))).one()
    return [(e, b) for e, b in rows.all()], int(total)


async def bucket_of(session: AsyncSession, account_id: int, bucket_id: int) -> CreditBucket:
    """One of the member's buckets in the space (scoped), or a 404."""
    bucket = (await session.exec(select(CreditBucket).where(CreditBucket.id == bucket_id,
                                                            CreditBucket.account_id == account_id))).first()
    if bucket is None:
        raise NotFound()
    return bucket
