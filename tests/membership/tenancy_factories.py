"""Objects of space A for the cross-tenant and role matrices: plans, passes, subscriptions, a
member's account (credits routes), an order, an adhésion tier, a request to join.

Orders, tiers and requests are built afresh on each call: the matrix marks paid, cancels, accepts
and declines them (a second call on a used one is a 409, which the matrix accepts from an allowed
caller)."""

from __future__ import annotations

from datetime import date

from app.core import db
from app.membership import orders
from app.membership.models import JoinRequest
from tests.membership.factories_plans import create_plan, start
from tests.membership.orders_factories import create_pass, create_tier
from tests.tenancy.registry import EXEMPT, object_factory

EXEMPT.update({
    "/s/{slug}/join": "the visitors' join form: public by design (it lists public plans only)",
    "/api/v1/spaces/{slug}/join-requests": "a visitor asking to join: public by design (no object named)",
})


@object_factory("order_id")
async def _order(world) -> int:
    product = await create_pass(world.a.space, name="Pass A")
    async with db.transaction(space_id=world.a.space.id) as session:
        order = await orders.buy_pass(session, world.a.space, product, account_id=world.a.member.id,
                                      actor_id=world.a.member.id)
    return order.id  # type: ignore[return-value]


@object_factory("tier_id")
async def _tier(world) -> int:
    return (await create_tier(world.a.space, name="Tier A")).id  # type: ignore[return-value]


@object_factory("join_request_id")
async def _join_request(world) -> int:
    async with db.transaction(space_id=world.a.space.id) as session:
        req = JoinRequest(space_id=world.a.space.id, name="Visitor A", email="visitor-a@example.org")
        session.add(req)
    return req.id  # type: ignore[return-value]


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
