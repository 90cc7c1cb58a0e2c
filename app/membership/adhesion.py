"""The association membership (adhésion): tiers, yearly periods, and whether a person is a
current adhérent·e. Owned by the orders/joining work; ``is_current`` is what the rest reads."""

from __future__ import annotations

from datetime import date

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.membership.models import Adhesion, AdhesionTier, AdhesionTierKind


async def is_current(session: AsyncSession, account_id: int, on: date) -> bool:
    """True when the person holds an adhésion covering ``on`` (the space's local date) that is
    paid, or of a free tier, and not cancelled."""
    row = (await session.exec(
        select(Adhesion.id).join(AdhesionTier, col(AdhesionTier.id) == col(Adhesion.tier_id))
        .where(Adhesion.account_id == account_id, col(Adhesion.starts_on) <= on, col(Adhesion.ends_on) > on,
               col(Adhesion.cancelled_at).is_(None),
               or_(col(Adhesion.paid_at).is_not(None), col(AdhesionTier.kind) == AdhesionTierKind.free))
        .limit(1))).first()
    return row is not None
