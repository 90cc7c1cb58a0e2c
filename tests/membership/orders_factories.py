"""Objects for the orders / adhésion / joining tests, each made in its own committed transaction."""

from __future__ import annotations

from app.core import db
from app.membership.models import AdhesionTier, MembershipSettings, PassProduct, Plan
from app.space.models import Space


async def create_pass(space: Space, *, name: str = "Carnet 10 demi-journées", units: int = 10, price_cents: int = 12000,
                      valid_months: int = 6, public: bool = True, archived: bool = False,
                      vat_rate_bp: int | None = None) -> PassProduct:
    from app.core import clock

    async with db.transaction(space_id=space.id) as session:
        product = PassProduct(space_id=space.id, name=name, units=units, price_cents=price_cents,
                              valid_months=valid_months, public=public, vat_rate_bp=vat_rate_bp,
                              archived_at=clock.now() if archived else None)
        session.add(product)
    return product


async def create_tier(space: Space, *, name: str = "Individuelle", kind: str = "individual", price_cents: int = 2000,
                      public: bool = True) -> AdhesionTier:
    async with db.transaction(space_id=space.id) as session:
        tier = AdhesionTier(space_id=space.id, name=name, kind=kind, price_cents=price_cents, public=public)
        session.add(tier)
    return tier


async def create_plan(space: Space, *, name: str = "Résident", public: bool = True, price_cents: int = 25000) -> Plan:
    async with db.transaction(space_id=space.id) as session:
        plan = Plan(space_id=space.id, name=name, public=public, price_cents=price_cents)
        session.add(plan)
    return plan


async def set_membership_settings(space: Space, **values) -> None:
    from sqlmodel import select

    async with db.transaction(space_id=space.id) as session:
        row = (await session.exec(select(MembershipSettings))).first() or MembershipSettings(space_id=space.id)
        for key, value in values.items():
            setattr(row, key, value)
        session.add(row)
