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
from typing import Any

from sqlalchemy import func, insert, update
from sqlalchemy.orm.attributes import set_committed_value
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


@dataclass(frozen=True)
class NewBucket:
    """A bucket to open, and the units granted into it (``quantity`` ``None``: unlimited)."""

    account_id: int
    source: BucketSource
    label: str
    quantity: int | None
    valid_from: datetime
    valid_until: datetime
    resource_kinds: str = ""
    unit: str = ""
    weekdays_only: bool = False
    subscription_period_id: int | None = None
    plan_allowance_id: int | None = None
    pass_product_id: int | None = None
    order_id: int | None = None
    rollovers_left: int = 0
    rolled_from_id: int | None = None


def _bucket_row(space_id: int, b: NewBucket, *, actor_id: int | None, now: datetime) -> dict[str, Any]:
    """The columns of a new bucket: the one place a bucket is built (``open_bucket``, ``open_buckets``)."""
    if b.quantity is not None and b.quantity < 0:
        raise ValueError("a grant is not negative")
    return {"space_id": space_id, "account_id": b.account_id, "source": b.source, "label": b.label[:200],
            "subscription_period_id": b.subscription_period_id, "plan_allowance_id": b.plan_allowance_id,
            "pass_product_id": b.pass_product_id, "order_id": b.order_id, "resource_kinds": b.resource_kinds,
            "unit": b.unit, "unlimited": b.quantity is None, "weekdays_only": b.weekdays_only,
            "valid_from": b.valid_from, "valid_until": b.valid_until, "rolled_from_id": b.rolled_from_id,
            "rollovers_left": b.rollovers_left, "created_by_id": actor_id, "created_at": now}


def _entry_row(space_id: int, account_id: int, bucket_id: int, kind: EntryKind, quantity: int, *,
               booking_id: int | None = None, reverses_id: int | None = None, actor_id: int | None = None,
               reason: str = "", now: datetime) -> dict[str, Any]:
    """The columns of an entry: the one place an entry is built (``add_entry``, the bulk writers)."""
    return {"space_id": space_id, "account_id": account_id, "bucket_id": bucket_id, "kind": kind,
            "quantity": quantity, "booking_id": booking_id, "reverses_id": reverses_id, "reason": reason[:300],
            "actor_id": actor_id, "created_at": now}


async def open_bucket(
    session: AsyncSession, *, account_id: int, source: BucketSource, label: str, quantity: int | None,
    valid_from: datetime, valid_until: datetime, resource_kinds: str = "", unit: str = "",
    weekdays_only: bool = False, subscription_period_id: int | None = None, plan_allowance_id: int | None = None,
    pass_product_id: int | None = None, order_id: int | None = None, rollovers_left: int = 0,
    rolled_from_id: int | None = None, actor_id: int | None = None, reason: str = "",
) -> CreditBucket:
    """A new bucket and its grant entry (``quantity`` ``None``: unlimited, no grant needed)."""
    new = NewBucket(account_id, source, label, quantity, valid_from, valid_until, resource_kinds, unit,
                    weekdays_only, subscription_period_id, plan_allowance_id, pass_product_id, order_id,
                    rollovers_left, rolled_from_id)
    bucket = CreditBucket(**_bucket_row(require_scope(session), new, actor_id=actor_id, now=clock.now()))
    session.add(bucket)
    await session.flush()
    if quantity:
        add_entry(session, bucket, EntryKind.grant, quantity, actor_id=actor_id, reason=reason)
    return bucket


async def open_buckets(session: AsyncSession, new: Sequence[NewBucket], *, actor_id: int | None) -> list[int]:
    """``open_bucket`` for thousands at once (the renewal job's allowances): the buckets and their
    grant entries as bulk INSERTs, built as ``open_bucket`` builds them. Returns their ids, in order."""
    if not new:
        return []
    now = clock.now()
    space_id = require_scope(session)
    ids = [int(i) for i in (await session.exec(
        insert(CreditBucket).returning(col(CreditBucket.id), sort_by_parameter_order=True),
        params=[_bucket_row(space_id, b, actor_id=actor_id, now=now) for b in new])).scalars()]
    grants = [_entry_row(space_id, b.account_id, i, EntryKind.grant, b.quantity, actor_id=actor_id, now=now)
              for b, i in zip(new, ids, strict=True) if b.quantity]
    if grants:
        await session.exec(insert(CreditEntry).returning(col(CreditEntry.id)), params=grants)  # VALUES batches
    return ids


def add_entry(session: AsyncSession, bucket: CreditBucket, kind: EntryKind, quantity: int, *,
              booking_id: int | None = None, reverses_id: int | None = None, actor_id: int | None = None,
              reason: str = "") -> CreditEntry:
    """One entry, written with the caller's next flush. Callers that take units hold the bucket's
    lock (``lock``) and have checked the balance: this does not."""
    if bucket.id is None:
        raise ValueError("flush the bucket first")
    entry = CreditEntry(**_entry_row(bucket.space_id, bucket.account_id, bucket.id, kind, quantity,
                                     booking_id=booking_id, reverses_id=reverses_id, actor_id=actor_id,
                                     reason=reason, now=clock.now()))
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
    at = at or clock.now()
    closed, units = await expire_many(session, [bucket.id] if bucket.id is not None else [], at=at)
    if closed:  # the caller's copy says so too (the UPDATE does not touch the session's objects)
        set_committed_value(bucket, "expired_at", at)
    return units


async def expire_many(session: AsyncSession, bucket_ids: Sequence[int], *, at: datetime | None = None
                      ) -> tuple[int, int]:
    """``expire`` for many buckets at once (the renewal job closes thousands): lock them in id order,
    write an ``expiry`` entry for what each has left, mark them expired — as plain rows, no objects
    built. A bucket already expired (another run closed it meanwhile) is left alone. Returns
    (buckets closed, units expired)."""
    if not bucket_ids:
        return 0, 0
    locked = [(i, space_id, account_id, unlimited) for i, space_id, account_id, unlimited, expired_at in (
        await session.exec(select(col(CreditBucket.id), col(CreditBucket.space_id), col(CreditBucket.account_id),  # type: ignore[call-overload]
                                  col(CreditBucket.unlimited), col(CreditBucket.expired_at))
                           .where(col(CreditBucket.id).in_(sorted(set(bucket_ids)))).order_by(col(CreditBucket.id))
                           .with_for_update())
    ).all() if expired_at is None]
    if not locked:
        return 0, 0
    left = await sums(session, [b[0] for b in locked])
    now = clock.now()
    entries = [_entry_row(space_id, account_id, i, EntryKind.expiry, -left[i], now=now)
               for i, space_id, account_id, unlimited in locked if not unlimited and left[i] > 0]
    if entries:
        await session.exec(insert(CreditEntry).returning(col(CreditEntry.id)), params=entries)  # VALUES batches
    await session.exec(update(CreditBucket).where(col(CreditBucket.id).in_([b[0] for b in locked]))
                       .values(expired_at=at or now).execution_options(synchronize_session=False))
    return len(locked), sum(left[i] for i, _s, _a, unlimited in locked if not unlimited and left[i] > 0)


async def expire_all_of(session: AsyncSession, account_id: int, *, at: datetime | None = None) -> int:
    """Close every open bucket of a member who left the space (allowances, passes, grants): what is
    left expires now. Returns the units expired."""
    ids = (await session.exec(select(col(CreditBucket.id)).where(
        CreditBucket.account_id == account_id, col(CreditBucket.expired_at).is_(None)))).all()
    return (await expire_many(session, [i for i in ids if i is not None], at=at))[1]


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
