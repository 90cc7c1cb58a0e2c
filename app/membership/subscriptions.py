"""Subscriptions: a member held to a plan, period after period (service functions).

- ``subscribe`` starts one: a **full period from the start day**, anchored on that day of the
  month (no proration at the start: the space bills from each member's own day).
- Each period is a ``SubscriptionPeriod`` row — unique ``(subscription_id, starts_on)`` — written
  with its order (``OrderPurpose.plan``, lines from ``product_line``) and one credit bucket per
  allowance, valid from the period's first local midnight to its end's. ``write_periods`` writes
  them set-based: the renewal job writes thousands at once, ``subscribe`` one, the same way.
- A change of plan (staff) takes effect on a day of the current period: the unused days of the old
  plan are credited and the same days of the new one charged (``periods.change``), on one order of
  two lines (``Item.plan_change``); the period is cut on that day and a new period row starts, with
  the new plan's allowance prorated (rounded down); the old allowance expires.
- A pause cuts the period in progress on its first day: the rest of that period is credited and its
  allowance expires; nothing is charged nor granted while paused; the resume day starts a new full
  period and becomes the renewal day (``anchor_day``).
- An end (staff, or the member cancelling at the end of the period) sets ``ends_on``; the renewal
  job ends the subscription that day. A period that would run past ``ends_on`` is charged pro rata.
  An end before ``committed_until`` needs staff's ``force`` and a reason.

Rules that are about a row are decided by the database: the subscription row is locked
(``FOR UPDATE``) before a change, a pause or an end; a fixed desk is held by one live subscription
at a time (partial unique index ``uq_subscription_fixed_resource_live``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import case, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.service import log_action
from app.core import clock
from app.core.i18n import N_, _, format_day
from app.core.tenancy import require_scope
from app.core.text import clean_text, require_one_line
from app.membership import ledger, orders, periods
from app.membership.errors import (
    ChangeOutsidePeriod,
    ChangePeriodDiffers,
    EndBeforeStart,
    FixedResourceInvalid,
    FixedResourceTaken,
    ForceNeedsReason,
    MinCommitmentNotReached,
    NotPaused,
    PauseInThePast,
    PauseOverlaps,
    PauseTooLong,
    PlanArchived,
    SamePlan,
    SubscriptionEnded,
    SubscriptionNotFound,
)
from app.membership.models import (
    BucketSource,
    CreditBucket,
    EntryKind,
    Order,
    OrderPurpose,
    Plan,
    PlanAllowance,
    Subscription,
    SubscriptionPause,
    SubscriptionPeriod,
    SubscriptionStatus,
)
from app.membership.settings import settings_of
from app.pricing import service as charges
from app.pricing.quote import Item, PricedLine, product_line
from app.pricing.vat import Amounts
from app.resource.models import Resource, ResourceBlock
from app.space.models import Space

# -- time ---------------------------------------------------------------------------------------


def local_midnight(day: date, tz: str) -> datetime:
    """The first instant of ``day`` in ``tz``, as aware UTC."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def local_today(space: Space, at: datetime | None = None) -> date:
    return (at or clock.now()).astimezone(ZoneInfo(space.timezone)).date()


def _day(value: date, space: Space) -> str:
    return format_day(value, fmt="short", locale=space.locale)


def period_label(space: Space, plan: Plan, start: date, end: date) -> str:
    """``Plan · 01/01/2027 – 31/01/2027`` (the last day included, as people read it)."""
    return _period_label(space.locale, plan.name, start, end)


@lru_cache(maxsize=1024)
def _period_label(locale: str, name: str, start: date, end: date) -> str:  # a renewal batch shares its dates
    last = date.fromordinal(end.toordinal() - 1)
    return f"{name} · {format_day(start, fmt='short', locale=locale)} – {format_day(last, fmt='short', locale=locale)}"


def negated(line: PricedLine) -> PricedLine:
    """A credit: the line with its quantity and amounts negated (as a reversed charge)."""
    a = line.amounts
    return replace(line, quantity=-line.quantity, amounts=Amounts(-a.excl_cents, -a.vat_cents, -a.incl_cents))


# -- reading ------------------------------------------------------------------------------------


async def get(session: AsyncSession, subscription_id: int, *, lock: bool = False) -> Subscription:
    stmt = select(Subscription).where(Subscription.id == subscription_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    sub = (await session.exec(stmt)).first()
    if sub is None:
        raise SubscriptionNotFound()
    return sub


async def list_subscriptions(session: AsyncSession, *, status: str | None = None, account_id: int | None = None,
                             plan_id: int | None = None, due_before: date | None = None,
                             limit: int = 200, offset: int = 0) -> list[Subscription]:
    stmt = select(Subscription)
    if status:
        stmt = stmt.where(Subscription.status == status)
    if account_id is not None:
        stmt = stmt.where(Subscription.account_id == account_id)
    if plan_id is not None:
        stmt = stmt.where(Subscription.plan_id == plan_id)
    if due_before is not None:
        stmt = stmt.where(col(Subscription.current_period_end) <= due_before)
    stmt = stmt.order_by(col(Subscription.id).desc()).limit(limit).offset(offset)
    return list((await session.exec(stmt)).all())


async def periods_of(session: AsyncSession, subscription_id: int) -> list[SubscriptionPeriod]:
    return list((await session.exec(select(SubscriptionPeriod).where(
        SubscriptionPeriod.subscription_id == subscription_id).order_by(col(SubscriptionPeriod.starts_on)))).all())


async def pauses_of(session: AsyncSession, subscription_id: int) -> list[SubscriptionPause]:
    return list((await session.exec(select(SubscriptionPause).where(
        SubscriptionPause.subscription_id == subscription_id).order_by(col(SubscriptionPause.starts_on)))).all())


async def current_period(session: AsyncSession, sub: Subscription) -> SubscriptionPeriod | None:
    """The period row in progress: the latest one starting on or before the current period's start
    (a change of plan starts a row of its own within the period)."""
    return (await session.exec(select(SubscriptionPeriod).where(
        SubscriptionPeriod.subscription_id == sub.id, col(SubscriptionPeriod.starts_on) < sub.current_period_end)
        .order_by(col(SubscriptionPeriod.starts_on).desc()).limit(1))).first()


async def allowances_of(session: AsyncSession, plan_ids: Sequence[int]) -> dict[int, list[PlanAllowance]]:
    out: dict[int, list[PlanAllowance]] = {p: [] for p in plan_ids}
    if plan_ids:
        for a in (await session.exec(select(PlanAllowance).where(col(PlanAllowance.plan_id).in_(list(plan_ids)))
                                     .order_by(col(PlanAllowance.id)))).all():
            out[a.plan_id].append(a)
    return out


def natural_end(sub: Subscription, plan: Plan) -> date:
    """The end of the full period in progress (the footing of its proration)."""
    return periods.period_end(sub.current_period_start, plan.months, sub.anchor_day)


# -- writing periods (set-based) ----------------------------------------------------------------


@dataclass
class NewPeriod:
    """A period row to write: ``[starts_on, ends_on)``, within the full period
    ``[full_start, full_end)`` (the same by default). Part of a full period is charged
    ``price × its days / the full period's days``, and its allowance prorated (rounded down)."""

    subscription_id: int
    account_id: int
    plan: Plan
    starts_on: date
    ends_on: date
    full_start: date | None = None
    full_end: date | None = None
    previous_period_id: int | None = None  # its buckets roll over (``rollovers_left``)
    item: Item = Item.plan
    label: str | None = None

    @property
    def base(self) -> tuple[date, date]:
        return (self.full_start or self.starts_on, self.full_end or self.ends_on)

    @property
    def partial(self) -> bool:
        return (self.starts_on, self.ends_on) != self.base

    def share(self) -> tuple[int, int]:
        """(days of this row, days of the full period)."""
        start, end = self.base
        return periods.days(self.starts_on, self.ends_on), periods.days(start, end)


def _insert(session: AsyncSession):
    return postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert  # type: ignore[union-attr]


def _period_lines(space: Space, p: NewPeriod) -> list[PricedLine]:
    label = p.label or period_label(space, p.plan, p.starts_on, p.ends_on)
    price = periods.prorate(p.plan.price_cents, *p.share()) if p.partial else p.plan.price_cents
    line = product_line(space, item=p.item, label=label, price_cents=price, vat_rate_bp=p.plan.vat_rate_bp,
                        unit=p.plan.period)
    return [] if line.is_free else [line]


async def write_periods(session: AsyncSession, space: Space, items: Sequence[NewPeriod], *,
                        actor_id: int | None) -> dict[int, int]:
    """Write each period once: its row (INSERT … ON CONFLICT DO NOTHING on the unique key: a
    period another run wrote is skipped), its order and charges, its allowance buckets (and what
    rolls over from the previous period's), and move the subscription onto it. Returns
    ``{subscription id: period id}`` of the periods written by this call."""
    if not items:
        return {}
    space_id = require_scope(session)
    now = clock.now()
    rows = [{"space_id": space_id, "subscription_id": p.subscription_id, "plan_id": p.plan.id,
             "starts_on": p.starts_on, "ends_on": p.ends_on, "created_at": now} for p in items]
    # Rows as parameters (one statement compiled once, sent in batches), not one VALUES clause.
    stmt = (_insert(session)(SubscriptionPeriod)
            .on_conflict_do_nothing(index_elements=["subscription_id", "starts_on"])
            .returning(col(SubscriptionPeriod.id), col(SubscriptionPeriod.subscription_id)))
    written = {int(s): int(i) for i, s in (await session.exec(stmt, params=rows)).all()}
    todo = [p for p in items if p.subscription_id in written]
    if not todo:
        return written

    # Orders and their charges.
    priced = [(p, _period_lines(space, p)) for p in todo]
    priced = [(p, lines) for p, lines in priced if lines]
    if priced:
        order_ids = await orders.create_many(session, [
            orders.NewOrder(p.account_id, OrderPurpose.plan, p.label or period_label(space, p.plan, p.starts_on, p.ends_on),
                            lines) for p, lines in priced], currency=space.currency, actor_id=actor_id)
        order_of = {written[p.subscription_id]: o for (p, _), o in zip(priced, order_ids, strict=True)}
        period_id = col(SubscriptionPeriod.id)
        await session.exec(update(SubscriptionPeriod).where(period_id.in_(list(order_of))).values(
            order_id=case(order_of, value=period_id)).execution_options(synchronize_session=False))

    # Allowance buckets and their grants.
    allowances = await allowances_of(session, sorted({p.plan.id for p in todo if p.plan.id is not None}))
    buckets = []
    for p in todo:
        valid_from, valid_until = local_midnight(p.starts_on, space.timezone), local_midnight(p.ends_on, space.timezone)
        for a in allowances[p.plan.id or 0]:
            qty = a.quantity
            if qty is not None and p.partial:
                qty = periods.prorate_units(qty, *p.share())
            buckets.append(ledger.NewBucket(
                p.account_id, BucketSource.allowance, p.plan.name, qty, valid_from, valid_until,
                resource_kinds=a.resource_kinds, unit=a.unit, weekdays_only=a.weekdays_only,
                subscription_period_id=written[p.subscription_id], plan_allowance_id=a.id,
                rollovers_left=p.plan.rollover_periods))
    await ledger.open_buckets(session, buckets, actor_id=actor_id)

    await _roll_over(session, space, todo, written, actor_id=actor_id)

    # A fixed desk's block follows the periods (see ``_hold_desk``).
    ends: dict[date, list[str]] = {}
    for p in todo:
        ends.setdefault(p.ends_on, []).append(desk_source(p.subscription_id))
    for end_on, sources in ends.items():
        await session.exec(update(ResourceBlock).where(col(ResourceBlock.source).in_(sources)).values(
            ends_at=local_midnight(end_on, space.timezone)).execution_options(synchronize_session=False))

    # One UPDATE per new period's dates and plan (in a renewal batch, nearly always one).
    groups: dict[tuple[int | None, date, date], list[int]] = {}
    for p in todo:
        groups.setdefault((p.plan.id, p.base[0], p.ends_on), []).append(p.subscription_id)
    for (plan_id, start, end), sub_ids in groups.items():
        await session.exec(update(Subscription).where(col(Subscription.id).in_(sub_ids)).values(
            plan_id=plan_id, current_period_start=start, current_period_end=end, updated_at=now)
            .execution_options(synchronize_session=False))
    return written


async def _roll_over(session: AsyncSession, space: Space, todo: Sequence[NewPeriod], written: dict[int, int], *,
                     actor_id: int | None) -> None:
    """Units left in the previous period's buckets that may still roll over move to new buckets
    of the new period: a ``rollover`` entry out (the old bucket is closed) and one in."""
    previous = {p.previous_period_id: p for p in todo if p.previous_period_id is not None}
    if not previous:
        return
    candidates = (await session.exec(select(col(CreditBucket.id)).where(
        col(CreditBucket.subscription_period_id).in_(list(previous)), col(CreditBucket.expired_at).is_(None),
        col(CreditBucket.unlimited).is_(False), col(CreditBucket.rollovers_left) > 0))).all()
    if not candidates:
        return
    old_buckets = await ledger.lock(session, [c for c in candidates if c is not None])
    left = await ledger.sums(session, [b.id for b in old_buckets if b.id is not None])
    now = clock.now()
    for old in old_buckets:
        units = left.get(old.id or 0, 0)
        if units <= 0 or old.expired_at is not None:
            continue
        p = previous[old.subscription_period_id or 0]
        ledger.add_entry(session, old, EntryKind.rollover, -units, actor_id=actor_id)
        old.expired_at = now
        session.add(old)
        new = await ledger.open_bucket(
            session, account_id=old.account_id, source=BucketSource.allowance, quantity=0,
            label=_("%(label)s (carried over)", label=old.label), valid_from=local_midnight(p.starts_on, space.timezone),
            valid_until=local_midnight(p.ends_on, space.timezone), resource_kinds=old.resource_kinds, unit=old.unit,
            weekdays_only=old.weekdays_only, subscription_period_id=written[p.subscription_id],
            rollovers_left=old.rollovers_left - 1, rolled_from_id=old.id, actor_id=actor_id)
        ledger.add_entry(session, new, EntryKind.rollover, units, actor_id=actor_id)
    await session.flush()


async def expire_period_buckets(session: AsyncSession, sub: Subscription, *, at: datetime | None = None) -> int:
    """Close every open bucket of the subscription's periods (an end, a pause, a change)."""
    ids = (await session.exec(select(col(CreditBucket.id)).join(
        SubscriptionPeriod, col(SubscriptionPeriod.id) == col(CreditBucket.subscription_period_id)).where(
        SubscriptionPeriod.subscription_id == sub.id, col(CreditBucket.expired_at).is_(None)))).all()
    return (await ledger.expire_many(session, [i for i in ids if i is not None], at=at))[1]


async def _credit_order(session: AsyncSession, space: Space, sub: Subscription, plan: Plan, *, label: str,
                        cents: int, item: Item, actor_id: int | None) -> Order | None:
    """An order crediting ``cents`` to the member (a negative line), or nothing for 0."""
    if cents <= 0:
        return None
    line = negated(product_line(space, item=item, label=label, price_cents=cents, vat_rate_bp=plan.vat_rate_bp,
                                unit=plan.period))
    return await orders.create(session, account_id=sub.account_id, purpose=OrderPurpose.plan, label=label,
                               lines=[line], currency=space.currency, actor_id=actor_id)


# -- fixed desk ---------------------------------------------------------------------------------


def desk_source(subscription_id: int) -> str:
    return f"subscription:{subscription_id}"


async def _hold_desk(session: AsyncSession, space: Space, sub: Subscription) -> None:
    """Keep the fixed desk out of everyone's bookings: a resource block (source
    ``subscription:<id>``) from the start to the current period's end, moved on with each period
    written and cut on the end day. (A pause keeps the desk held.)"""
    from app.resource import service as resources

    resource = await resources.get_resource(session, sub.fixed_resource_id or 0)
    await resources.add_block(session, space, None, resource, starts_at=local_midnight(sub.starts_on, space.timezone),
                              ends_at=local_midnight(sub.current_period_end, space.timezone),
                              reason=_("Fixed desk of a subscription"), source=desk_source(sub.id or 0))


async def _release_desk(session: AsyncSession, space: Space, sub: Subscription, on: date) -> None:
    if sub.fixed_resource_id is None:
        return
    until = local_midnight(max(on, sub.starts_on + timedelta(days=1)), space.timezone)
    await session.exec(update(ResourceBlock).where(
        col(ResourceBlock.source) == desk_source(sub.id or 0), col(ResourceBlock.ends_at) > until).values(
        ends_at=until).execution_options(synchronize_session=False))


# -- starting -----------------------------------------------------------------------------------


async def _check_fixed_resource(session: AsyncSession, resource_id: int | None) -> None:
    if resource_id is None:
        return
    resource = (await session.exec(select(Resource).where(Resource.id == resource_id))).first()
    if resource is None or resource.archived_at is not None:
        raise FixedResourceInvalid(fields={"fixed_resource_id": FixedResourceInvalid.message})


async def subscribe(session: AsyncSession, space: Space, *, account_id: int, plan: Plan, starts_on: date,
                    actor_id: int | None, fixed_resource_id: int | None = None) -> Subscription:
    """Start a subscription to ``plan`` on ``starts_on`` (the space's local date), in the caller's
    transaction: the subscription, its first period (a full period from ``starts_on``, anchored on
    that day of the month — no proration at the start), an open order for the period's price
    (``OrderPurpose.plan``), and one credit bucket per allowance valid over the period.

    Raises ``PlanArchived``, ``FixedResourceInvalid`` (not a resource of the space) and
    ``FixedResourceTaken`` (the desk is held by another live subscription). The caller checks who
    may subscribe to a private plan (members: public plans only; staff: any).
    """
    if plan.archived_at is not None:
        raise PlanArchived()
    await _check_fixed_resource(session, fixed_resource_id)
    anchor = starts_on.day
    end = periods.period_end(starts_on, plan.months, anchor)
    now = clock.now()
    sub = Subscription(
        space_id=require_scope(session), account_id=account_id, plan_id=plan.id or 0, starts_on=starts_on,
        anchor_day=anchor, current_period_start=starts_on, current_period_end=starts_on,
        committed_until=(periods.add_months(starts_on, plan.months * plan.min_commitment_periods, anchor)
                         if plan.min_commitment_periods else None),
        fixed_resource_id=fixed_resource_id, created_by_id=actor_id, created_at=now, updated_at=now)
    try:
        async with session.begin_nested():
            session.add(sub)
            await session.flush()
    except IntegrityError as exc:
        if fixed_resource_id is not None:
            raise FixedResourceTaken(fields={"fixed_resource_id": FixedResourceTaken.message}) from exc
        raise
    assert sub.id is not None
    await write_periods(session, space, [NewPeriod(sub.id, account_id, plan, starts_on, end)], actor_id=actor_id)
    await session.refresh(sub)
    if fixed_resource_id is not None:
        await _hold_desk(session, space, sub)
    log_action(session, "subscription.started", space_id=space.id, actor_id=actor_id, obj=sub, plan=plan.name,
               account_id=account_id, starts_on=starts_on.isoformat())
    return sub


# -- changing plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangePreview:
    change: periods.Change
    old_plan: Plan
    new_plan: Plan
    lines: list[PricedLine]

    @property
    def total_incl_cents(self) -> int:
        return sum(x.amount_incl_cents for x in self.lines)


def _check_change(sub: Subscription, new_plan: Plan, on: date) -> None:
    if sub.status == SubscriptionStatus.ended:
        raise SubscriptionEnded()
    if sub.status == SubscriptionStatus.paused:
        raise NotPaused(message=N_("A paused subscription changes plan when it resumes."))
    if new_plan.id == sub.plan_id:
        raise SamePlan(fields={"plan_id": SamePlan.message})
    if new_plan.archived_at is not None:
        raise PlanArchived(fields={"plan_id": PlanArchived.message})
    if not sub.current_period_start < on < sub.current_period_end:
        raise ChangeOutsidePeriod(fields={"on": ChangeOutsidePeriod.message},
                                  params={"start": sub.current_period_start.isoformat(),
                                          "end": (date.fromordinal(sub.current_period_end.toordinal() - 1)).isoformat()})


async def preview_change(session: AsyncSession, space: Space, sub: Subscription, new_plan: Plan,
                         on: date) -> ChangePreview:
    """What changing to ``new_plan`` on ``on`` costs, before confirming: the old plan's unused days
    credited, the new plan's same days charged (each line rounded half-up on the cent)."""
    _check_change(sub, new_plan, on)
    old_plan = await session.get(Plan, sub.plan_id)
    assert old_plan is not None
    if old_plan.months != new_plan.months:
        raise ChangePeriodDiffers(fields={"plan_id": ChangePeriodDiffers.message})
    ch = periods.change(old_plan.price_cents, new_plan.price_cents, sub.current_period_start,
                        sub.current_period_end, on)
    lines = []
    if ch.credit_cents:
        lines.append(negated(product_line(
            space, item=Item.plan_change, label=_("%(plan)s: %(days)s unused days of %(total)s", plan=old_plan.name,
                                                  days=ch.days_left, total=ch.days_in_period),
            price_cents=ch.credit_cents, vat_rate_bp=old_plan.vat_rate_bp, unit=old_plan.period)))
    if ch.charge_cents:
        lines.append(product_line(
            space, item=Item.plan_change, label=_("%(plan)s: %(days)s days of %(total)s", plan=new_plan.name,
                                                  days=ch.days_left, total=ch.days_in_period),
            price_cents=ch.charge_cents, vat_rate_bp=new_plan.vat_rate_bp, unit=new_plan.period))
    return ChangePreview(ch, old_plan, new_plan, lines)


async def change_plan(session: AsyncSession, space: Space, sub: Subscription, new_plan: Plan, *, on: date,
                      actor_id: int | None) -> ChangePreview:
    """Change the plan on ``on`` (a day of the current period after its first): the change order,
    the period cut and a new one started with the new plan's allowance prorated."""
    sub = await get(session, sub.id or 0, lock=True)
    preview = await preview_change(session, space, sub, new_plan, on)
    current = await current_period(session, sub)
    await expire_period_buckets(session, sub)
    if current is not None:
        current.ends_on = on
        session.add(current)
    assert sub.id is not None
    label = _("Change of plan: %(old)s → %(new)s", old=preview.old_plan.name, new=new_plan.name)
    period = NewPeriod(sub.id, sub.account_id, new_plan, on, sub.current_period_end,
                       full_start=sub.current_period_start, item=Item.plan_change, label=label)
    period_written = False
    try:
        async with session.begin_nested():
            written = await write_periods(session, space, [period], actor_id=actor_id)
            period_written = bool(written)
    except IntegrityError:
        period_written = False
    if not period_written:
        raise ChangeOutsidePeriod(message=N_("The plan was already changed on this day."), fields={"on": ""})
    # ``write_periods`` charged the new plan's days; the old plan's credit goes on the same order.
    new_row = (await session.exec(select(SubscriptionPeriod).where(
        SubscriptionPeriod.subscription_id == sub.id, SubscriptionPeriod.starts_on == on))).one()
    credit = [x for x in preview.lines if x.amount_incl_cents < 0]
    if credit:
        if new_row.order_id is not None:
            order = await session.get(Order, new_row.order_id)
            assert order is not None
            charges.record(session, credit, source=charges.Source.order, source_id=order.id,
                           account_id=sub.account_id)
            order.total_incl_cents += sum(x.amount_incl_cents for x in credit)
            session.add(order)
        else:
            order = await orders.create(session, account_id=sub.account_id, purpose=OrderPurpose.plan, label=label,
                                        lines=credit, currency=space.currency, actor_id=actor_id)
            new_row.order_id = order.id
            session.add(new_row)
    await session.flush()
    await session.refresh(sub)
    log_action(session, "subscription.plan_changed", space_id=space.id, actor_id=actor_id, obj=sub,
               old_plan=preview.old_plan.name, new_plan=new_plan.name, on=on.isoformat(),
               credit_cents=preview.change.credit_cents, charge_cents=preview.change.charge_cents)
    return preview


# -- pausing ------------------------------------------------------------------------------------


async def pause(session: AsyncSession, space: Space, sub: Subscription, *, starts_on: date, ends_on: date,
                reason: str, actor_id: int | None, today: date | None = None) -> SubscriptionPause:
    """Pause from ``starts_on`` to ``ends_on`` (exclusive). It begins at once if it starts today
    (or earlier in the current period), otherwise the renewal job begins it on its first day."""
    reason = clean_text(require_one_line(reason, "reason"), 300)
    sub = await get(session, sub.id or 0, lock=True)
    today = today or local_today(space)
    if sub.status == SubscriptionStatus.ended or (sub.ends_on is not None and starts_on >= sub.ends_on):
        raise SubscriptionEnded()
    if ends_on <= starts_on:
        raise EndBeforeStart(fields={"ends_on": EndBeforeStart.message})
    if starts_on < sub.current_period_start:
        raise PauseInThePast(fields={"starts_on": PauseInThePast.message})
    limit = (await settings_of(session)).max_pause_days
    if periods.days(starts_on, ends_on) > limit:
        raise PauseTooLong(fields={"ends_on": PauseTooLong.message}, params={"days": limit})
    overlapping = (await session.exec(select(SubscriptionPause.id).where(
        SubscriptionPause.subscription_id == sub.id, col(SubscriptionPause.starts_on) < ends_on,
        col(SubscriptionPause.ends_on) > starts_on).limit(1))).first()
    if overlapping is not None:
        raise PauseOverlaps()
    row = SubscriptionPause(space_id=require_scope(session), subscription_id=sub.id or 0, starts_on=starts_on,
                            ends_on=ends_on, reason=reason, created_by_id=actor_id, created_at=clock.now())
    session.add(row)
    await session.flush()
    log_action(session, "subscription.paused", space_id=space.id, actor_id=actor_id, obj=sub,
               starts_on=starts_on.isoformat(), ends_on=ends_on.isoformat(), reason=reason)
    if starts_on <= today:
        await begin_pause(session, space, sub, row, today=today)
    return row


async def begin_pause(session: AsyncSession, space: Space, sub: Subscription, pause_row: SubscriptionPause, *,
                      today: date) -> None:
    """The pause's first day has come (the caller holds the subscription's lock): the period is
    cut, its unused days credited, its allowance expired; the subscription waits, paused."""
    if sub.status != SubscriptionStatus.active:
        return
    cut = pause_row.starts_on
    current = await current_period(session, sub)
    plan = await session.get(Plan, current.plan_id if current else sub.plan_id)
    assert plan is not None
    if current is not None and cut < sub.current_period_end:
        cut = max(cut, current.starts_on)
        days_left, cents = periods.unused_credit(plan.price_cents, sub.current_period_start,
                                                 natural_end(sub, plan), cut, current.ends_on)
        if current.order_id is not None:
            label = _("Pause: %(days)s unused days (%(start)s – %(end)s)", days=days_left, start=_day(cut, space),
                      end=_day(date.fromordinal(sub.current_period_end.toordinal() - 1), space))
            await _credit_order(session, space, sub, plan, label=label, cents=cents, item=Item.plan,
                                actor_id=pause_row.created_by_id)
        current.ends_on = cut
        session.add(current)
    await expire_period_buckets(session, sub)
    sub.status = SubscriptionStatus.paused
    sub.current_period_end = max(cut, sub.current_period_start)
    sub.updated_at = clock.now()
    session.add(sub)
    await session.flush()


async def resume(session: AsyncSession, space: Space, sub: Subscription, *, on: date,
                 actor_id: int | None) -> Subscription:
    """End the pause on ``on``: a new full period starts that day, which becomes the renewal day."""
    sub = await get(session, sub.id or 0, lock=True)
    if sub.status != SubscriptionStatus.paused:
        raise NotPaused()
    plan = await session.get(Plan, sub.plan_id)
    assert plan is not None and sub.id is not None
    if sub.ends_on is not None and on >= sub.ends_on:
        return await end_now(session, space, sub, actor_id=actor_id)
    sub.status = SubscriptionStatus.active
    sub.anchor_day = on.day
    sub.updated_at = clock.now()
    session.add(sub)
    # A pause stopped early is shortened to the day it stops.
    stopped = (await session.exec(select(SubscriptionPause).where(
        SubscriptionPause.subscription_id == sub.id, col(SubscriptionPause.starts_on) <= on,
        col(SubscriptionPause.ends_on) > on))).first()
    if stopped is not None and stopped.starts_on < on:
        stopped.ends_on = on
        session.add(stopped)
    await session.flush()
    end = periods.period_end(on, plan.months, on.day)
    cut = min(end, sub.ends_on) if sub.ends_on is not None else end
    await write_periods(session, space, [NewPeriod(sub.id, sub.account_id, plan, on, cut, full_end=end)],
                        actor_id=actor_id)
    await session.refresh(sub)
    log_action(session, "subscription.resumed", space_id=space.id, actor_id=actor_id, obj=sub, on=on.isoformat())
    return sub


# -- ending -------------------------------------------------------------------------------------


async def end(session: AsyncSession, space: Space, sub: Subscription, *, on: date, actor_id: int | None,
              force: bool = False, reason: str = "", today: date | None = None) -> Subscription:
    """End on ``on`` (exclusive: the last day is the day before). Today or earlier ends it now,
    with the unused days of the period credited; a later day is kept for the renewal job."""
    reason = clean_text(require_one_line(reason, "reason"), 300)
    sub = await get(session, sub.id or 0, lock=True)
    today = today or local_today(space)
    if sub.status == SubscriptionStatus.ended:
        raise SubscriptionEnded()
    if on <= sub.starts_on:
        raise EndBeforeStart(fields={"on": EndBeforeStart.message})
    if sub.committed_until is not None and on < sub.committed_until:
        if not force:
            raise MinCommitmentNotReached(params={"date": _day(sub.committed_until, space)},
                                          fields={"on": MinCommitmentNotReached.message})
        if not reason:
            raise ForceNeedsReason(fields={"reason": ForceNeedsReason.message})
    if on < sub.current_period_start:
        raise EndBeforeStart(message=N_("A subscription cannot end before its current period."),
                             fields={"on": EndBeforeStart.message})
    sub.ends_on = on
    sub.end_reason = reason
    sub.updated_at = clock.now()
    session.add(sub)
    await session.flush()
    log_action(session, "subscription.end_set", space_id=space.id, actor_id=actor_id, obj=sub, on=on.isoformat(),
               forced=force, reason=reason)
    if on <= today:
        return await end_now(session, space, sub, actor_id=actor_id)
    return sub


async def cancel_at_period_end(session: AsyncSession, space: Space, sub: Subscription, *,
                               actor_id: int | None) -> Subscription:
    """The member's cancellation: the subscription ends when the current period does."""
    sub = await get(session, sub.id or 0, lock=True)
    if sub.status == SubscriptionStatus.ended:
        raise SubscriptionEnded()
    on = sub.current_period_end
    if sub.committed_until is not None and on < sub.committed_until:
        raise MinCommitmentNotReached(params={"date": _day(sub.committed_until, space)})
    sub.ends_on = on
    sub.end_reason = "cancelled by the member"
    sub.updated_at = clock.now()
    session.add(sub)
    await session.flush()
    log_action(session, "subscription.cancelled", space_id=space.id, actor_id=actor_id, obj=sub, on=on.isoformat())
    return sub


async def end_on_leaving(session: AsyncSession, space: Space, account_id: int, *, actor_id: int | None,
                         reason: str, today: date | None = None) -> list[Subscription]:
    """The person left the space (removed, or their account deleted): each live subscription ends
    today — no commitment holds someone who is no longer there — with the unused days credited,
    the allowance expired and the fixed desk released. One that has not started yet ends on its
    first day (the whole period credited). Nothing renews after."""
    today = today or local_today(space)
    ids = (await session.exec(select(col(Subscription.id)).where(
        Subscription.account_id == account_id, col(Subscription.status).in_(live()))
        .order_by(col(Subscription.id)))).all()
    ended = []
    for sub_id in ids:
        sub = await get(session, sub_id or 0, lock=True)
        if sub.status == SubscriptionStatus.ended:
            continue
        on = max(today, sub.current_period_start)
        sub.ends_on, sub.end_reason, sub.updated_at = on, reason[:300], clock.now()
        session.add(sub)
        await session.flush()
        log_action(session, "subscription.end_set", space_id=space.id, actor_id=actor_id, obj=sub,
                   on=on.isoformat(), forced=sub.committed_until is not None and on < sub.committed_until,
                   reason=reason)
        ended.append(await end_now(session, space, sub, actor_id=actor_id))
    return ended


async def end_now(session: AsyncSession, space: Space, sub: Subscription, *, actor_id: int | None) -> Subscription:
    """``ends_on`` has come (the caller holds the lock): credit the days of the period after it,
    expire the allowance, mark the subscription ended."""
    if sub.status == SubscriptionStatus.ended:
        return sub
    on = sub.ends_on or local_today(space)
    if sub.status == SubscriptionStatus.active and on < sub.current_period_end:
        current = await current_period(session, sub)
        if current is not None:
            plan = await session.get(Plan, current.plan_id)
            assert plan is not None
            cut = max(on, current.starts_on)
            days_left, cents = periods.unused_credit(plan.price_cents, sub.current_period_start,
                                                     natural_end(sub, plan), cut, current.ends_on)
            if current.order_id is not None:
                label = _("End: %(days)s unused days of %(plan)s", days=days_left, plan=plan.name)
                await _credit_order(session, space, sub, plan, label=label, cents=cents, item=Item.plan,
                                    actor_id=actor_id)
            current.ends_on = cut
            session.add(current)
    await expire_period_buckets(session, sub)
    await _release_desk(session, space, sub, on)
    sub.status = SubscriptionStatus.ended
    sub.ends_on = on
    sub.current_period_end = max(min(sub.current_period_end, on), sub.current_period_start)
    sub.ended_at = clock.now()
    sub.updated_at = sub.ended_at
    session.add(sub)
    await session.flush()
    log_action(session, "subscription.ended", space_id=space.id, actor_id=actor_id, obj=sub, on=on.isoformat())
    return sub


def live() -> list:  # the statuses that hold a fixed desk and renew
    return [SubscriptionStatus.active, SubscriptionStatus.paused]


def due_filter(today: date) -> list:
    """Active subscriptions whose period has ended by ``today`` and that go on after it."""
    return [Subscription.status == SubscriptionStatus.active, col(Subscription.current_period_end) <= today,
            or_(col(Subscription.ends_on).is_(None), col(Subscription.ends_on) > col(Subscription.current_period_end))]
