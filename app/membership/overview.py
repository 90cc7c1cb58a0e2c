"""What a member and the staff read at a glance: "My membership" and the managers' overview.

The overview pages through the space's people with set-based queries only: one query for the page
of people (filters are ``EXISTS`` subqueries on indexed columns), then one query per column for
that page's accounts (plans, balances, adhésion, what is owed) — never a query per person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, not_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.core import clock
from app.membership import adhesion as adhesions
from app.membership import ledger
from app.membership import orders as orders_
from app.membership.models import (
    Adhesion,
    AdhesionTier,
    BucketSource,
    CreditBucket,
    CreditEntry,
    Order,
    Plan,
    Subscription,
    SubscriptionStatus,
)
from app.pricing.models import Charge
from app.pricing.quote import PriceKind
from app.space.models import Space, SpaceMember

PAGE_SIZE = 50


class Filter(StrEnum):
    expiring = "expiring"  # an adhésion, a pass or a plan ending this month
    lapsed = "lapsed"  # held an adhésion, none current now
    over = "over"  # an allowance used up this period and bookings priced since it started
    owing = "owing"  # open orders


@dataclass
class PlanHeld:
    subscription: Subscription
    plan: Plan


@dataclass
class AdhesionState:
    adhesion: Adhesion | None
    tier: AdhesionTier | None
    current: bool


@dataclass
class MemberSummary:
    plans: list[PlanHeld]
    balances: list[ledger.Balance]
    adhesion: AdhesionState
    orders: list[Order]
    owed_cents: int


def month_bounds(space: Space, now: datetime | None = None) -> tuple[date, date, datetime, datetime]:
    """This local month: first day, first day of the next (dates and UTC instants)."""
    zone = ZoneInfo(space.timezone)
    today = (now or clock.now()).astimezone(zone).date()
    first = today.replace(day=1)
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first, nxt, datetime.combine(first, time.min, zone), datetime.combine(nxt, time.min, zone)


async def plans_of(session: AsyncSession, account_ids: list[int]) -> dict[int, list[PlanHeld]]:
    out: dict[int, list[PlanHeld]] = {a: [] for a in account_ids}
    if not account_ids:
        return out
    rows = await session.exec(select(Subscription, Plan).join(Plan, col(Plan.id) == Subscription.plan_id)
                              .where(col(Subscription.account_id).in_(account_ids),
                                     Subscription.status != SubscriptionStatus.ended)
                              .order_by(col(Subscription.id)))
    for sub, plan in rows.all():
        out[sub.account_id].append(PlanHeld(sub, plan))
    return out


async def summary(session: AsyncSession, space: Space, account_id: int) -> MemberSummary:
    """A member's "My membership": plans, what is left, the adhésion, orders (open first)."""
    plans = (await plans_of(session, [account_id]))[account_id]
    balances = await ledger.balances(session, account_id)
    latest = await adhesions.latest(session, account_id)
    tier = await session.get(AdhesionTier, latest.tier_id) if latest else None
    current = await adhesions.is_current(session, account_id, adhesions.local_today(space))
    orders = await orders_.list_orders(session, account_id=account_id, limit=20)
    owed = (await orders_.open_totals(session, [account_id])).get(account_id, 0)
    return MemberSummary(plans, balances, AdhesionState(latest, tier, current), orders, owed)


# -- the managers' overview ---------------------------------------------------------------------------

@dataclass
class OverviewRow:
    member: SpaceMember
    account: Account
    plans: list[PlanHeld] = field(default_factory=list)
    allowance_left: int | None = None  # None: no allowance; -1 never (unlimited is its own flag)
    allowance_unlimited: bool = False
    pass_left: int = 0
    pass_until: datetime | None = None
    adhesion_until: date | None = None  # the current adhésion's end (exclusive), None when none
    owed_cents: int = 0


@dataclass
class Overview:
    rows: list[OverviewRow]
    total: int
    page: int
    pages: int


def _conditions(space: Space, filters: set[str], now: datetime) -> list:  # noqa: C901
    first, nxt, first_at, nxt_at = month_bounds(space, now)
    today = adhesions.local_today(space)
    account = col(SpaceMember.account_id)
    current_adhesion = exists(select(Adhesion.id).join(AdhesionTier, col(AdhesionTier.id) == Adhesion.tier_id)
                              .where(col(Adhesion.account_id) == account, *adhesions.current_condition(today)))
    out = []
    if Filter.expiring in filters:
        out.append(or_(
            exists(select(Adhesion.id).where(col(Adhesion.account_id) == account, col(Adhesion.cancelled_at).is_(None),
                                             col(Adhesion.ends_on) > first, col(Adhesion.ends_on) <= nxt,
                                             col(Adhesion.starts_on) <= today)),
            exists(select(CreditBucket.id).where(col(CreditBucket.account_id) == account,
                                                 CreditBucket.source == BucketSource.pass_,
                                                 col(CreditBucket.expired_at).is_(None),
                                                 col(CreditBucket.valid_until) > now,
                                                 col(CreditBucket.valid_until) < nxt_at)),
            exists(select(Subscription.id).where(col(Subscription.account_id) == account,
                                                 Subscription.status != SubscriptionStatus.ended,
                                                 col(Subscription.ends_on) > first, col(Subscription.ends_on) <= nxt)),
        ))
    if Filter.lapsed in filters:
        out.append(and_(not_(current_adhesion),
                        exists(select(Adhesion.id).where(col(Adhesion.account_id) == account,
                                                         col(Adhesion.cancelled_at).is_(None),
                                                         col(Adhesion.ends_on) <= today))))
    if Filter.over in filters:
        spent = (select(func.coalesce(func.sum(CreditEntry.quantity), 0))
                 .where(col(CreditEntry.bucket_id) == col(CreditBucket.id)).scalar_subquery())
        priced = exists(select(Charge.id).where(
            col(Charge.account_id) == account, Charge.source_type == "booking", col(Charge.reverses_id).is_(None),
            col(Charge.price_kind).in_([PriceKind.member, PriceKind.public]), col(Charge.amount_incl_cents) > 0,
            col(Charge.created_at) >= col(CreditBucket.valid_from)))
        out.append(exists(select(CreditBucket.id).where(
            col(CreditBucket.account_id) == account, CreditBucket.source == BucketSource.allowance,
            col(CreditBucket.unlimited).is_(False), col(CreditBucket.valid_from) <= now,
            col(CreditBucket.valid_until) > now, spent <= 0, priced)))
    if Filter.owing in filters:
        out.append(exists(select(Order.id).where(col(Order.account_id) == account, Order.status == "open")))
    return out


async def overview(session: AsyncSession, space: Space, *, filters: set[str] | None = None, q: str = "",
                   page: int = 1, page_size: int = PAGE_SIZE) -> Overview:
    now = clock.now()
    conditions = _conditions(space, set(filters or ()), now)
    if q.strip():
        like = f"%{q.strip().lower()}%"
        conditions.append(or_(func.lower(Account.name).like(like), func.lower(Account.email).like(like)))
    base = select(SpaceMember, Account).join(Account, col(Account.id) == SpaceMember.account_id).where(*conditions)
    total = (await session.exec(select(func.count()).select_from(base.subquery()))).one()
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    people = (await session.exec(base.order_by(func.lower(Account.name), col(Account.id))
                                 .offset((page - 1) * page_size).limit(page_size))).all()
    rows = {a.id: OverviewRow(m, a) for m, a in people}
    ids = [i for i in rows if i is not None]
    if ids:
        for account_id, held in (await plans_of(session, ids)).items():
            rows[account_id].plans = held
        await _balances_into(session, rows, ids, now)
        today = adhesions.local_today(space)
        for account_id, until in (await session.exec(
                select(Adhesion.account_id, func.max(Adhesion.ends_on))
                .join(AdhesionTier, col(AdhesionTier.id) == Adhesion.tier_id)
                .where(col(Adhesion.account_id).in_(ids), *adhesions.current_condition(today))
                .group_by(col(Adhesion.account_id)))).all():
            rows[account_id].adhesion_until = until
        for account_id, owed in (await orders_.open_totals(session, ids)).items():
            rows[account_id].owed_cents = owed
    return Overview(list(rows.values()), total, page, pages)


async def _balances_into(session: AsyncSession, rows: dict, ids: list[int], now: datetime) -> None:
    left = func.coalesce(func.sum(CreditEntry.quantity), 0)
    result = await session.exec(
        select(CreditBucket.account_id, CreditBucket.source, CreditBucket.unlimited, CreditBucket.valid_until, left)  # type: ignore[call-overload]
        .outerjoin(CreditEntry, col(CreditEntry.bucket_id) == CreditBucket.id)
        .where(col(CreditBucket.account_id).in_(ids), col(CreditBucket.valid_from) <= now,
               col(CreditBucket.valid_until) > now, col(CreditBucket.expired_at).is_(None))
        .group_by(col(CreditBucket.id), col(CreditBucket.account_id), col(CreditBucket.source),
                  col(CreditBucket.unlimited), col(CreditBucket.valid_until)))
    for account_id, source, unlimited, until, units in result.all():
        row = rows[account_id]
        if source == BucketSource.pass_:
            if units > 0:
                row.pass_left += int(units)
                row.pass_until = until if row.pass_until is None else min(row.pass_until, until)
        elif unlimited:
            row.allowance_unlimited = True
        else:
            row.allowance_left = (row.allowance_left or 0) + max(int(units), 0)
