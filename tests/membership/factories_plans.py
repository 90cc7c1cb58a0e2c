"""Plans and subscriptions written straight to the database (each in its own committed
transaction, like a request), for the subscription, proration and renewal tests."""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select

from app.core import db
from app.membership import subscriptions
from app.membership.models import (
    CreditBucket,
    CreditEntry,
    Order,
    Plan,
    PlanAllowance,
    Subscription,
    SubscriptionPeriod,
)
from app.pricing.models import Charge


async def create_plan(space, *, allowances: list[dict] | None = None, **values) -> Plan:
    async with db.transaction(space_id=space.id) as session:
        plan = Plan(**{"name": "Résident", "price_cents": 31000, "public": True, **values})
        session.add(plan)
        await session.flush()
        for a in allowances or []:
            session.add(PlanAllowance(plan_id=plan.id, **a))
    return plan


async def start(space, account, plan, starts_on: date, **kw) -> Subscription:
    async with db.transaction(space_id=space.id) as session:
        return await subscriptions.subscribe(session, space, account_id=account.id, plan=plan, starts_on=starts_on,
                                             actor_id=None, **kw)


async def read(space, model, *where, order=None):
    async with db.transaction(space_id=space.id) as session:
        stmt = select(model).where(*where).order_by(order if order is not None else col(model.id))
        return list((await session.exec(stmt)).all())


async def periods_of(space, sub_id: int) -> list[SubscriptionPeriod]:
    return await read(space, SubscriptionPeriod, SubscriptionPeriod.subscription_id == sub_id,
                      order=col(SubscriptionPeriod.starts_on))


async def orders_of(space, account_id: int) -> list[Order]:
    return await read(space, Order, Order.account_id == account_id)


async def charges_of(space, order_id: int) -> list[Charge]:
    return await read(space, Charge, Charge.source_type == "order", Charge.source_id == order_id)


async def buckets_of(space, account_id: int) -> list[CreditBucket]:
    return await read(space, CreditBucket, CreditBucket.account_id == account_id)


async def entries_of(space, bucket_id: int) -> list[CreditEntry]:
    return await read(space, CreditEntry, CreditEntry.bucket_id == bucket_id)


async def balance(space, bucket_id: int) -> int:
    return sum(e.quantity for e in await entries_of(space, bucket_id))
