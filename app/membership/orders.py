"""Orders: what a member owes for a plan's period, a pass or an adhésion.

An order is a header (who, what for, open / paid / cancelled) whose lines are charges
(``app.pricing``, ``source_type = "order"``) — the same immutable priced lines bookings write,
and the single input of invoicing. Until online payment exists, staff mark an order paid on site.

What happens when an order is paid is registered per purpose (``on_paid``): e.g. a pass bought
by a member opens its credit bucket then. Status changes are conditional UPDATEs (``WHERE status
= 'open'``): two staff clicking "paid" at once mark it once, and the second gets ``OrderNotOpen``.

Cancelling an open order reverses its charges and runs what its purpose registered with
``on_cancelled`` (an adhésion's year is marked cancelled). Nothing was granted yet: a pass's
bucket opens when paid, an adhésion is current when paid. A paid order is not cancelled here —
giving money back is the invoicing and payments issues' business (a credit note).
"""

from __future__ import annotations

import calendar
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, insert, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.service import audit_labels, log_action
from app.core import clock
from app.core.i18n import _l
from app.core.tenancy import require_scope
from app.core.text import clean_text, require_one_line
from app.membership import ledger
from app.membership.errors import (
    GrantReasonRequired,
    OrderNotFound,
    OrderNotOpen,
    PassExpired,
    PassUnavailable,
)
from app.membership.models import BucketSource, CreditBucket, Order, OrderPurpose, OrderStatus, PassProduct
from app.pricing import service as charges
from app.pricing.models import Charge
from app.pricing.quote import Item, PricedLine, product_line, total_incl
from app.pricing.vat import RateTotal, summarise
from app.space.models import Space

audit_labels({
    "order.created": _l("Order created"),
    "order.paid": _l("Order marked paid"),
    "order.cancelled": _l("Order cancelled"),
    "pass.granted": _l("Pass granted free of charge"),
})

PaidHandler = Callable[[AsyncSession, Order], Awaitable[None]]
_ON_PAID: dict[str, list[PaidHandler]] = {}
_ON_CANCELLED: dict[str, list[PaidHandler]] = {}


def on_paid(purpose: OrderPurpose) -> Callable[[PaidHandler], PaidHandler]:
    """Register what an order of ``purpose`` does when it is paid (run in the paying transaction)."""
    def register(fn: PaidHandler) -> PaidHandler:
        _ON_PAID.setdefault(purpose, []).append(fn)
        return fn
    return register


def on_cancelled(purpose: OrderPurpose) -> Callable[[PaidHandler], PaidHandler]:
    """Register what an open order of ``purpose`` undoes when it is cancelled (same transaction)."""
    def register(fn: PaidHandler) -> PaidHandler:
        _ON_CANCELLED.setdefault(purpose, []).append(fn)
        return fn
    return register


@dataclass(frozen=True)
class NewOrder:
    """An order to write: whose, for what, its priced lines (``pass_product_id``: the pass a
    ``pass`` order buys, opened when it is paid)."""

    account_id: int
    purpose: OrderPurpose
    label: str
    lines: list[PricedLine]
    pass_product_id: int | None = None


def _order_row(space_id: int, o: NewOrder, *, currency: str, actor_id: int | None, now: datetime) -> dict[str, Any]:
    """The columns of a new open order: the one place an order is built (``create``, ``create_many``)."""
    return {"space_id": space_id, "account_id": o.account_id, "purpose": o.purpose, "status": OrderStatus.open,
            "label": o.label[:200], "currency": currency, "total_incl_cents": total_incl(o.lines),
            "pass_product_id": o.pass_product_id, "created_by_id": actor_id, "created_at": now, "updated_at": now}


async def create(session: AsyncSession, *, account_id: int, purpose: OrderPurpose, label: str,
                 lines: list[PricedLine], currency: str, actor_id: int | None,
                 pass_product_id: int | None = None) -> Order:
    """An open order and its charges, in the caller's transaction, logged."""
    new = NewOrder(account_id, purpose, label, lines, pass_product_id)
    order = Order(**_order_row(require_scope(session), new, currency=currency, actor_id=actor_id, now=clock.now()))
    session.add(order)
    await session.flush()
    charges.record(session, lines, source=charges.Source.order, source_id=order.id, account_id=account_id)
    log_action(session, "order.created", space_id=order.space_id, actor_id=actor_id, obj=order,
               purpose=purpose, account_id=account_id, total_incl_cents=order.total_incl_cents)
    return order


async def create_many(session: AsyncSession, new: Sequence[NewOrder], *, currency: str,
                      actor_id: int | None) -> list[int]:
    """``create`` for thousands at once (the renewal job's periods): the orders and their charges
    as bulk INSERTs, built as ``create`` builds them; not logged one by one (as before: a renewal
    is the job's, not a person's action).
    Returns the orders' ids, in the order given."""
    if not new:
        return []
    now = clock.now()
    space_id = require_scope(session)
    rows = [_order_row(space_id, o, currency=currency, actor_id=actor_id, now=now) for o in new]
    ids = [int(i) for i in (await session.exec(
        insert(Order).returning(col(Order.id), sort_by_parameter_order=True), params=rows)).scalars()]
    await charges.record_many(session, [(i, o.account_id, o.lines) for i, o in zip(ids, new, strict=True)],
                              source=charges.Source.order)
    return ids


async def mark_paid(session: AsyncSession, order: Order, *, method: str = "on_site", actor_id: int | None) -> Order:
    """Mark an open order paid (once: the database decides between two racing) and run what its
    purpose does when paid."""
    now = clock.now()
    result = await session.exec(
        update(Order).where(col(Order.id) == order.id, col(Order.status) == OrderStatus.open)
        .values(status=OrderStatus.paid, paid_at=now, paid_method=method, paid_by_id=actor_id, updated_at=now))
    if result.rowcount != 1:
        raise OrderNotOpen()
    await session.refresh(order)
    log_action(session, "order.paid", space_id=order.space_id, actor_id=actor_id, obj=order, method=method,
               total_incl_cents=order.total_incl_cents)
    for handler in _ON_PAID.get(order.purpose, []):
        await handler(session, order)
    return order


async def settle_if_free(session: AsyncSession, order: Order, *, actor_id: int | None) -> Order:
    """An order of nothing to pay (a free tier, a pass at 0) is paid at once."""
    if order.total_incl_cents == 0 and order.status == OrderStatus.open:
        return await mark_paid(session, order, method="free", actor_id=actor_id)
    return order


async def cancel(session: AsyncSession, order: Order, *, actor_id: int | None, reason: str = "") -> Order:
    """Cancel an open order: once (conditional UPDATE), its charges reversed, its purpose's grant
    withdrawn (``on_cancelled``)."""
    reason = clean_text(require_one_line(reason, "reason"), 300)
    now = clock.now()
    result = await session.exec(
        update(Order).where(col(Order.id) == order.id, col(Order.status) == OrderStatus.open)
        .values(status=OrderStatus.cancelled, cancelled_at=now, updated_at=now))
    if result.rowcount != 1:
        raise OrderNotOpen()
    await session.refresh(order)
    await charges.reverse(session, source=charges.Source.order, source_id=order.id)
    log_action(session, "order.cancelled", space_id=order.space_id, actor_id=actor_id, obj=order,
               reason=reason)
    for handler in _ON_CANCELLED.get(order.purpose, []):
        await handler(session, order)
    return order


# -- reading ---------------------------------------------------------------------------------------

async def get(session: AsyncSession, order_id: int, *, account_id: int | None = None) -> Order:
    """One order of the space (of ``account_id`` only, when given: a member's own)."""
    stmt = select(Order).where(Order.id == order_id)
    if account_id is not None:
        stmt = stmt.where(Order.account_id == account_id)
    order = (await session.exec(stmt)).first()
    if order is None:
        raise OrderNotFound()
    return order


async def list_orders(session: AsyncSession, *, account_id: int | None = None, status: str | None = None,
                      limit: int = 50, offset: int = 0) -> list[Order]:
    """Orders, open ones first, newest first."""
    stmt = select(Order)
    if account_id is not None:
        stmt = stmt.where(Order.account_id == account_id)
    if status:
        stmt = stmt.where(Order.status == status)
    open_first = case((col(Order.status) == OrderStatus.open, 0), else_=1)
    rows = await session.exec(stmt.order_by(open_first, col(Order.created_at).desc(), col(Order.id).desc())
                              .offset(offset).limit(limit))
    return list(rows.all())


@dataclass(frozen=True)
class OrderDetail:
    order: Order
    lines: list[Charge]
    per_rate: list[RateTotal]


async def detail(session: AsyncSession, order: Order) -> OrderDetail:
    """An order with its lines (reversals included) and its totals per VAT rate (what is still owed:
    a cancelled order's lines and their reversals sum to nothing)."""
    lines = await charges.charges_for(session, charges.Source.order, order.id)
    totals = summarise([(c.vat_rate_bp, charges.line_of(c).amounts) for c in lines])
    return OrderDetail(order, lines, totals)


async def open_totals(session: AsyncSession, account_ids: list[int]) -> dict[int, int]:
    """What each account owes: the sum of its open orders (one query)."""
    if not account_ids:
        return {}
    rows = await session.exec(select(Order.account_id, func.sum(Order.total_incl_cents))
                              .where(col(Order.account_id).in_(account_ids), Order.status == OrderStatus.open)
                              .group_by(col(Order.account_id)))
    return {int(a): int(t or 0) for a, t in rows.all()}


# -- passes bought ------------------------------------------------------------------------------------

async def pass_product(session: AsyncSession, product_id: int, *, staff: bool) -> PassProduct:
    """A pass on sale: public and not archived (staff may also sell private ones)."""
    product = (await session.exec(select(PassProduct).where(PassProduct.id == product_id))).first()
    if product is None or product.archived_at is not None or not (product.public or staff):
        raise PassUnavailable()
    return product


def pass_line(space: Space, product: PassProduct) -> PricedLine:
    return product_line(space, item=Item.pass_, label=product.name, price_cents=product.price_cents,
                        vat_rate_bp=product.vat_rate_bp)


async def buy_pass(session: AsyncSession, space: Space, product: PassProduct, *, account_id: int,
                   actor_id: int | None, paid_on_site: bool = False) -> Order:
    """An order for a pass (open; paid at once when free, or when staff sell it on site). The
    pass's units are granted when the order is paid (``_open_pass_bucket``)."""
    order = await create(session, account_id=account_id, purpose=OrderPurpose.pass_, label=product.name,
                         lines=[pass_line(space, product)], currency=space.currency, actor_id=actor_id,
                         pass_product_id=product.id)
    if paid_on_site and order.total_incl_cents:
        return await mark_paid(session, order, actor_id=actor_id)
    return await settle_if_free(session, order, actor_id=actor_id)


def add_months(value: datetime, months: int) -> datetime:
    """``value`` + ``months`` calendar months, on the last day of a shorter month (31 Jan + 1 → 28/29 Feb)."""
    month0 = value.month - 1 + months
    year, month = value.year + month0 // 12, month0 % 12 + 1
    return value.replace(year=year, month=month, day=min(value.day, calendar.monthrange(year, month)[1]))


def pass_window(start: datetime, product: PassProduct) -> tuple[datetime, datetime]:
    """A pass is valid ``valid_months`` calendar months from when it is paid (or granted)."""
    return start, add_months(start, product.valid_months)


async def _open_bucket_for(session: AsyncSession, product: PassProduct, *, account_id: int, start: datetime,
                           order_id: int | None, actor_id: int | None, reason: str = "") -> CreditBucket:
    valid_from, valid_until = pass_window(start, product)
    if valid_until <= clock.now():
        raise PassExpired()
    return await ledger.open_bucket(
        session, account_id=account_id, source=BucketSource.pass_, label=product.name, quantity=product.units,
        valid_from=valid_from, valid_until=valid_until, pass_product_id=product.id, order_id=order_id,
        actor_id=actor_id, reason=reason)


@on_paid(OrderPurpose.pass_)
async def _open_pass_bucket(session: AsyncSession, order: Order) -> None:
    """The order of a pass is paid: its units are the member's from now, for its validity."""
    if order.pass_product_id is None:
        return
    product = (await session.exec(select(PassProduct).where(PassProduct.id == order.pass_product_id))).one()
    await _open_bucket_for(session, product, account_id=order.account_id, start=order.paid_at or clock.now(),
                           order_id=order.id, actor_id=order.paid_by_id)


async def grant_pass(session: AsyncSession, space: Space, product: PassProduct, *, account_id: int,
                     actor_id: int, reason: str) -> CreditBucket:
    """Staff give a pass free of charge, with a reason (logged): a bucket, no order."""
    reason = clean_text(require_one_line(reason, "reason"), 300)
    if not reason:
        raise GrantReasonRequired(fields={"reason": GrantReasonRequired.message})
    bucket = await _open_bucket_for(session, product, account_id=account_id, start=clock.now(), order_id=None,
                                    actor_id=actor_id, reason=reason)
    log_action(session, "pass.granted", space_id=space.id, actor_id=actor_id, obj=bucket, account_id=account_id,
               pass_product_id=product.id, units=product.units, reason=reason)
    return bucket
