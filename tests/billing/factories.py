"""Charges to invoice, written as the booking, event and order services write them."""

from __future__ import annotations

import itertools

from app.account.models import Account
from app.core import db
from app.pricing import quote
from app.pricing import service as pricing
from app.space.models import Space

_source = itertools.count(1000)


async def charge(space: Space, account: Account | None, *prices: int, vat_rate_bp: int = 2000,
                 label: str = "Salle Jaurès") -> int:
    """One source (an order) with a line per price (VAT included, as the space types them); its id."""
    source_id = next(_source)
    async with db.transaction(space_id=space.id) as session:
        fresh = await session.get(Space, space.id)
        lines = [quote.line(fresh, item=quote.Item.booking, label=label, quantity=1, unit="hour", unit_price_cents=p,
                            vat_rate_bp=vat_rate_bp, price_kind=quote.PriceKind.member) for p in prices]
        pricing.record(session, lines, source=pricing.Source.order, source_id=source_id,
                       account_id=account.id if account else None)
    return source_id


async def cancel(space: Space, source_id: int) -> None:
    """The source is cancelled: its charges are reversed."""
    async with db.transaction(space_id=space.id) as session:
        await pricing.reverse(session, source=pricing.Source.order, source_id=source_id)


async def set_legal(space: Space, **values) -> None:
    async with db.transaction() as session:
        fresh = await session.get(Space, space.id)
        for k, v in values.items():
            setattr(fresh, k, v)
        session.add(fresh)
