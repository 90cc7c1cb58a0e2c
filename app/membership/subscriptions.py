"""Subscriptions: a member held to a plan, period after period (service functions).

``subscribe`` starts one; the renewal job (``app.membership.renewals``) writes each next period.
Periods are computed by ``app.membership.periods`` (pure functions); see ``docs/memberships.md``.
"""

from __future__ import annotations

from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from app.membership.models import Plan, Subscription
from app.space.models import Space


async def subscribe(session: AsyncSession, space: Space, *, account_id: int, plan: Plan, starts_on: date,
                    actor_id: int | None, fixed_resource_id: int | None = None) -> Subscription:
    """Start a subscription to ``plan`` on ``starts_on`` (the space's local date), in the caller's
    transaction: the subscription, its first period (a full period from ``starts_on``, anchored on
    that day of the month — no proration at the start), an open order for the period's price
    (``OrderPurpose.plan``), and one credit bucket per allowance valid over the period.

    Raises ``PlanNotAvailable`` (unknown / archived plan), ``FixedResourceTaken`` (the desk is
    held by another active subscription). The caller checks who may subscribe to a private plan
    (members: public plans only; staff: any).
    """
    raise NotImplementedError  # being written on branch "subs"
