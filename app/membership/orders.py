"""Orders: what a member owes for a plan's period, a pass or an adhésion.

An order is a header (who, what for, open / paid / cancelled) whose lines are charges
(``app.pricing``, ``source_type = "order"``) — the same immutable priced lines bookings write,
and the single input of invoicing. Until online payment exists, staff mark an order paid on site.

What happens when an order is paid is registered per purpose (``on_paid``): e.g. a pass bought
by a member opens its credit bucket then. Status changes are conditional UPDATEs (``WHERE status
= 'open'``): two staff clicking "paid" at once mark it once, and the second gets ``OrderNotOpen``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import clock
from app.core.tenancy import require_scope
from app.membership.errors import OrderNotOpen
from app.membership.models import Order, OrderPurpose, OrderStatus
from app.pricing import service as charges
from app.pricing.quote import PricedLine, total_incl

PaidHandler = Callable[[AsyncSession, Order], Awaitable[None]]
_ON_PAID: dict[str, list[PaidHandler]] = {}


def on_paid(purpose: OrderPurpose) -> Callable[[PaidHandler], PaidHandler]:
    """Register what an order of ``purpose`` does when it is paid (run in the paying transaction)."""
    def register(fn: PaidHandler) -> PaidHandler:
        _ON_PAID.setdefault(purpose, []).append(fn)
        return fn
    return register


async def create(session: AsyncSession, *, account_id: int, purpose: OrderPurpose, label: str,
                 lines: list[PricedLine], currency: str, actor_id: int | None) -> Order:
    """An open order and its charges, in the caller's transaction."""
    now = clock.now()
    order = Order(space_id=require_scope(session), account_id=account_id, purpose=purpose, label=label[:200],
                  currency=currency, total_incl_cents=total_incl(lines), created_by_id=actor_id, created_at=now,
                  updated_at=now)
    session.add(order)
    await session.flush()
    charges.record(session, lines, source=charges.Source.order, source_id=order.id, account_id=account_id)
    return order


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
    for handler in _ON_PAID.get(order.purpose, []):
        await handler(session, order)
    return order
