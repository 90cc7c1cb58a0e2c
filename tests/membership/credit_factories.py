"""Credit test helpers: buckets opened through ``ledger.open_bucket`` (as the subscriptions and
orders areas do), pass products with rates, the space's membership settings, balances read back."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select

from app.core import clock, db
from app.membership import ledger
from app.membership.models import (
    BucketSource,
    CreditBucket,
    CreditEntry,
    MembershipSettings,
    PassProduct,
    PassRate,
)


async def open_allowance(space, account, *, quantity: int | None, unit: str = "hour", kinds: str = "",
                         valid_from: datetime | None = None, valid_until: datetime | None = None,
                         weekdays_only: bool = False, label: str = "Formule Nomade",
                         source: BucketSource = BucketSource.allowance) -> CreditBucket:
    start = valid_from or clock.now() - timedelta(days=1)
    async with db.transaction(space_id=space.id) as session:
        return await ledger.open_bucket(
            session, account_id=account.id, source=source, label=label, quantity=quantity, resource_kinds=kinds,
            unit=unit, weekdays_only=weekdays_only, valid_from=start,
            valid_until=valid_until or start + timedelta(days=31))


async def open_pass(space, account, *, units: int, rates: dict[tuple[str, str], int], label: str = "Carnet 10",
                    valid_from: datetime | None = None, valid_until: datetime | None = None) -> CreditBucket:
    start = valid_from or clock.now() - timedelta(days=1)
    async with db.transaction(space_id=space.id) as session:
        product = PassProduct(name=label, units=units, valid_months=6, price_cents=10000)
        session.add(product)
        await session.flush()
        for (kind, unit), per in rates.items():
            session.add(PassRate(pass_product_id=product.id, resource_kind=kind, unit=unit, units_per=per))
        return await ledger.open_bucket(
            session, account_id=account.id, source=BucketSource.pass_, label=label, quantity=units,
            pass_product_id=product.id, valid_from=start, valid_until=valid_until or start + timedelta(days=180))


async def set_settings(space, **values) -> None:
    async with db.transaction(space_id=space.id) as session:
        row = (await session.exec(select(MembershipSettings))).first() or MembershipSettings()
        for k, v in values.items():
            setattr(row, k, v)
        session.add(row)


async def left(space, bucket: CreditBucket) -> int:
    async with db.transaction(space_id=space.id, write=False) as session:
        return (await ledger.sums(session, [bucket.id]))[bucket.id]


async def entries(space, bucket: CreditBucket | None = None) -> list[CreditEntry]:
    async with db.transaction(space_id=space.id, write=False) as session:
        stmt = select(CreditEntry).order_by(col(CreditEntry.id))
        if bucket is not None:
            stmt = stmt.where(CreditEntry.bucket_id == bucket.id)
        return list((await session.exec(stmt)).all())


async def expire(space, bucket: CreditBucket) -> None:
    async with db.transaction(space_id=space.id) as session:
        await ledger.expire(session, bucket)
