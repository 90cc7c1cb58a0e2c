"""The daily renewal of a space's subscriptions (run by ``membership.renew``, ``app.membership.tasks``).

For one space and its local date ``today``, in this order, each step in batches committed one by
one (a run killed half-way is resumed by the next, which finds only what is left):

1. end the subscriptions whose ``ends_on`` has come (unused days credited, allowance expired);
2. begin the pauses whose first day has come, resume the subscriptions whose pause is over;
3. renew every active subscription whose period ended by today: a new period row — INSERT … ON
   CONFLICT DO NOTHING on the unique ``(subscription_id, starts_on)``, so a second run, or two runs
   at once, renew nothing twice —, its order, its allowance (and what rolls over), set-based;
   a subscription several periods behind is renewed period by period;
4. expire the space's credit buckets whose ``valid_until`` has passed (an ``expiry`` entry for
   what is left), set-based.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock, db
from app.membership import ledger, periods
from app.membership.models import (
    CreditBucket,
    Plan,
    Subscription,
    SubscriptionPause,
    SubscriptionPeriod,
    SubscriptionStatus,
)
from app.membership.subscriptions import (
    NewPeriod,
    begin_pause,
    due_filter,
    end_now,
    get,
    local_today,
    resume,
    write_periods,
)
from app.space.models import Space

BATCH = 500


@dataclass
class RenewalRun:
    space_id: int
    today: date
    ended: int = 0
    paused: int = 0
    resumed: int = 0
    renewed: int = 0
    expired: int = 0


async def renew_space(space_id: int, today: date | None = None, *, batch: int = BATCH) -> RenewalRun:
    """Everything due in the space on ``today`` (its local date by default)."""
    async with db.transaction(space_id=space_id) as session:
        space = await session.get(Space, space_id)
        if space is None:
            raise LookupError(f"no space {space_id}")
        today = today or local_today(space)
    run = RenewalRun(space_id, today)
    run.ended = await _each(space, await _ids(space, _ending(today)), _end)
    run.paused = await _each(space, await _ids(space, _pausing(today)), lambda s, sp, sub: _begin(s, sp, sub, today))
    run.resumed = await _each(space, await _ids(space, _paused()), lambda s, sp, sub: _resume(s, sp, sub, today))
    for _ in range(10_000):  # each pass moves every due subscription on by one period
        async with db.transaction(space_id=space_id) as session:
            seen, written = await renew_batch(session, space, today, batch=batch)
        run.renewed += written
        if seen == 0:
            break
    now = clock.now()
    while True:
        async with db.transaction(space_id=space_id) as session:
            seen, expired = await expire_batch(session, now, batch=batch)
        run.expired += expired
        if seen == 0:
            break
    return run


# -- ends, pauses, resumes (few a day: one locked subscription at a time) ----------------------


def _ending(today: date):
    return select(Subscription.id).where(col(Subscription.status) != SubscriptionStatus.ended,
                                         col(Subscription.ends_on) <= today)


def _pausing(today: date):
    return (select(Subscription.id).join(SubscriptionPause, col(SubscriptionPause.subscription_id) == Subscription.id)
            .where(Subscription.status == SubscriptionStatus.active, col(SubscriptionPause.starts_on) <= today,
                   col(SubscriptionPause.ends_on) > today).distinct())


def _paused():
    return select(Subscription.id).where(Subscription.status == SubscriptionStatus.paused)


async def _ids(space: Space, stmt) -> list[int]:
    async with db.transaction(space_id=space.id, write=False) as session:
        return [int(i) for i in (await session.exec(stmt.order_by(Subscription.id))).all()]


async def _each(space: Space, ids: list[int], step) -> int:
    done = 0
    for sub_id in ids:
        async with db.transaction(space_id=space.id) as session:
            sub = await get(session, sub_id, lock=True)
            done += bool(await step(session, space, sub))
    return done


async def _end(session: AsyncSession, space: Space, sub: Subscription) -> bool:
    if sub.status == SubscriptionStatus.ended:
        return False
    await end_now(session, space, sub, actor_id=None)
    return True


async def _begin(session: AsyncSession, space: Space, sub: Subscription, today: date) -> bool:
    if sub.status != SubscriptionStatus.active:
        return False
    pause = (await session.exec(select(SubscriptionPause).where(
        SubscriptionPause.subscription_id == sub.id, col(SubscriptionPause.starts_on) <= today,
        col(SubscriptionPause.ends_on) > today))).first()
    if pause is None:
        return False
    await begin_pause(session, space, sub, pause, today=today)
    return True


async def _resume(session: AsyncSession, space: Space, sub: Subscription, today: date) -> bool:
    if sub.status != SubscriptionStatus.paused:
        return False
    pauses = (await session.exec(select(SubscriptionPause).where(
        SubscriptionPause.subscription_id == sub.id, col(SubscriptionPause.starts_on) <= today)
        .order_by(col(SubscriptionPause.ends_on).desc()))).all()
    if not pauses or pauses[0].ends_on > today:
        return False  # still paused (or paused by hand without a pause row: staff resume it)
    await resume(session, space, sub, on=pauses[0].ends_on, actor_id=None)
    return True


# -- renewals (set-based) -----------------------------------------------------------------------


async def renew_batch(session: AsyncSession, space: Space, today: date, *, batch: int = BATCH) -> tuple[int, int]:
    """Renew up to ``batch`` due subscriptions by one period. Returns (seen, periods written): a
    period another run wrote first is not written again, and the subscription is moved onto it."""
    rows = (await session.exec(
        select(col(Subscription.id), col(Subscription.account_id), col(Subscription.plan_id),  # type: ignore[call-overload]
               col(Subscription.current_period_end), col(Subscription.anchor_day), col(Subscription.ends_on))
        .where(*due_filter(today)).order_by(col(Subscription.id)).limit(batch))).all()
    if not rows:
        return 0, 0
    ids = [r[0] for r in rows]
    plans = {p.id: p for p in (await session.exec(
        select(Plan).where(col(Plan.id).in_(sorted({r[2] for r in rows}))))).all()}
    previous: dict[int, int] = {}
    for period_id, sub_id in (await session.exec(
            select(col(SubscriptionPeriod.id), col(SubscriptionPeriod.subscription_id))
            .where(col(SubscriptionPeriod.subscription_id).in_(ids))
            .order_by(col(SubscriptionPeriod.starts_on)))).all():
        previous[int(sub_id)] = int(period_id or 0)  # the latest one wins
    items = []
    for sub_id, account_id, plan_id, start, anchor, ends_on in rows:
        plan = plans[plan_id]
        natural = periods.period_end(start, plan.months, anchor)
        end = min(natural, ends_on) if ends_on is not None else natural
        items.append(NewPeriod(sub_id, account_id, plan, start, end, full_end=natural,
                               previous_period_id=previous.get(sub_id)))
    written = await write_periods(session, space, items, actor_id=None)
    lost = [p for p in items if p.subscription_id not in written]
    if lost:  # written by another run: follow it (a no-op if that run moved the subscription already)
        existing = {int(s): e for s, st, e in (await session.exec(
            select(col(SubscriptionPeriod.subscription_id), col(SubscriptionPeriod.starts_on), col(SubscriptionPeriod.ends_on))
            .where(col(SubscriptionPeriod.subscription_id).in_([p.subscription_id for p in lost])))).all()
            if st == next(p.starts_on for p in lost if p.subscription_id == s)}
        for p in lost:
            if p.subscription_id in existing:
                await session.exec(update(Subscription).where(
                    col(Subscription.id) == p.subscription_id,
                    col(Subscription.current_period_end) == p.starts_on).values(
                    current_period_start=p.starts_on, current_period_end=existing[p.subscription_id],
                    updated_at=clock.now()))
    return len(rows), len(written)


# -- expiry (set-based) -------------------------------------------------------------------------


async def expire_batch(session: AsyncSession, now: datetime, *, batch: int = BATCH) -> tuple[int, int]:
    """Close up to ``batch`` of the space's buckets whose validity has ended: lock them, write an
    ``expiry`` entry for what each has left, mark them expired. Returns (seen, closed): a bucket
    another run closed meanwhile is left alone (``ledger.expire``'s rule, for many at once)."""
    ids = [i for i in (await session.exec(
        select(col(CreditBucket.id)).where(col(CreditBucket.valid_until) <= now, col(CreditBucket.expired_at).is_(None))
        .order_by(col(CreditBucket.id)).limit(batch))).all() if i is not None]
    closed, _units = await ledger.expire_many(session, ids, at=now)
    return len(ids), closed


async def due_count(session: AsyncSession, today: date) -> int:
    return int((await session.exec(select(func.count()).select_from(Subscription).where(*due_filter(today)))).one())
