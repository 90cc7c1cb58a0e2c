"""Every SQL statement on charges, bound to the request's space by the tenant guard."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.pricing.models import Charge


async def charges_of(session: AsyncSession, source_type: str, source_ids: Sequence[int]) -> list[Charge]:
    """The charges of these sources, oldest first (originals and reversals)."""
    if not source_ids:
        return []
    rows = await session.exec(
        select(Charge).where(Charge.source_type == source_type, col(Charge.source_id).in_(list(source_ids)))
        .order_by(col(Charge.id))
    )
    return list(rows.all())


async def unreversed(session: AsyncSession, source_type: str, source_id: int) -> list[Charge]:
    """The source's original lines that no reversal points at yet."""
    reversed_ids = select(Charge.reverses_id).where(
        Charge.source_type == source_type, Charge.source_id == source_id, col(Charge.reverses_id).is_not(None))
    rows = await session.exec(
        select(Charge).where(Charge.source_type == source_type, Charge.source_id == source_id,
                             col(Charge.reverses_id).is_(None), col(Charge.id).not_in(reversed_ids))
        .order_by(col(Charge.id))
    )
    return list(rows.all())
