"""Objects of space A for the cross-tenant and role matrices (plans, passes, subscriptions, a
member's account for the credits routes)."""

from __future__ import annotations

from datetime import date

from tests.membership.factories_plans import create_plan, start
from tests.tenancy.registry import object_factory


@object_factory("account_id")
async def _member_account(world) -> int:
    return world.a.accounts["member"].id


@object_factory("plan_id")
async def _plan(world) -> int:
    return (await create_plan(world.a.space, public=True)).id


@object_factory("product_id")
async def _pass(world) -> int:
    from app.core import db
    from app.membership.models import PassProduct

    async with db.transaction(space_id=world.a.space.id) as session:
        product = PassProduct(name="Carnet 10", units=10, price_cents=15000)
        session.add(product)
    return product.id


@object_factory("subscription_id")
async def _subscription(world) -> int:
    plan = await create_plan(world.a.space, public=True)
    return (await start(world.a.space, world.a.accounts["member"], plan, date.today())).id
