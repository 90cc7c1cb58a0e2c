"""What the pricing domain adds to the account export: the person's charges (records: a deleted
account keeps them, pointing to its anonymised row)."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.account.privacy import export_section, iso
from app.pricing.models import Charge


@export_section("charges", tables={"charge"})
async def export_charges(session: AsyncSession, account: Account) -> list[dict[str, Any]]:
    rows = (await session.exec(select(Charge).where(Charge.account_id == account.id)
                               .order_by(col(Charge.id)))).all()
    return [{
        "space_id": c.space_id, "for": c.source_type, "label": c.label, "item": c.item, "quantity": c.quantity,
        "unit": c.unit, "price_kind": c.price_kind, "currency": c.currency, "vat_rate_bp": c.vat_rate_bp,
        "amount_excl_cents": c.amount_excl_cents, "vat_cents": c.vat_cents, "amount_incl_cents": c.amount_incl_cents,
        "reversal": c.is_reversal, "created_at": iso(c.created_at),
    } for c in rows]
