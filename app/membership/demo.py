# mypy: disable-error-code="arg-type,attr-defined"
# (demo data as keyword dictionaries, and ids of rows flushed above: typed as optional by the models)
"""Demo data for "La Fabrique du Val": plans, passes, the adhésion's tiers, and members holding them.

Idempotent: it does nothing to a space that already has plans. Paul subscribes to "Nomade" (8
desk-days a month) and pays his adhésion on site; Inès holds a 10 half-day carnet, paid on site.
Everything goes through the services, as a manager's clicks would: orders, charges, credit buckets.
"""

from __future__ import annotations

from sqlmodel import select

from app.demo import DemoContext, demo_step
from app.membership import adhesion, ledger, orders, subscriptions
from app.membership.models import (
    AdhesionTier,
    BucketSource,
    MembershipSettings,
    PassProduct,
    PassRate,
    Plan,
    PlanAllowance,
)

PLANS = [
    (dict(name="Nomade", description="8 journées au coworking par mois, sans engagement.", period="month",
          price_cents=6000, public=True, position=10),
     [dict(resource_kinds="hot_desk", unit="day", quantity=8)]),
    (dict(name="Résident", description="Le coworking tous les jours de semaine, 4 heures de salle par mois. "
                                       "Engagement de 3 mois.", period="month", price_cents=18000, public=True,
          min_commitment_periods=3, rollover_periods=1, position=20),
     [dict(resource_kinds="hot_desk", unit="day", quantity=None, weekdays_only=True),
      dict(resource_kinds="meeting_room", unit="hour", quantity=4)]),
    (dict(name="Domiciliation", description="L’adresse de votre structure au tiers-lieu, courrier compris.",
          period="year", price_cents=24000, domiciliation_only=True, position=30), []),
]
PASSES = [
    (dict(name="Carnet 10 demi-journées", description="Valable 6 mois. 1 unité = une demi-journée de coworking "
                                                    "ou une heure de salle.", units=10, valid_months=6,
          price_cents=9000, position=10),
     [("hot_desk", "half_day", 1), ("hot_desk", "day", 2), ("meeting_room", "hour", 1)]),
    (dict(name="Pass journée", description="Une journée au coworking, valable 3 mois.", units=1, valid_months=3,
          price_cents=1500, position=20),
     [("hot_desk", "day", 1), ("hot_desk", "half_day", 1)]),
]
TIERS = [
    dict(name="Individuelle", kind="individual", price_cents=2000, position=10),
    dict(name="Solidaire", kind="reduced", price_cents=500, position=20),
    dict(name="Structure", kind="organisation", price_cents=5000, position=30),
    dict(name="Bénévole", kind="free", price_cents=0, public=False, position=40),
]


@demo_step
async def membership_demo(ctx: DemoContext) -> None:
    session, space = ctx.session, ctx.space
    if (await session.exec(select(Plan))).first() is not None:
        return
    session.add(MembershipSettings(space_id=space.id, join_policy="request", adhesion_year="calendar"))
    plans = {}
    for values, allowances in PLANS:
        plan = Plan(space_id=space.id, **values)
        session.add(plan)
        await session.flush()
        session.add_all(PlanAllowance(space_id=space.id, plan_id=plan.id, **a) for a in allowances)
        plans[plan.name] = plan
    products = {}
    for values, rates in PASSES:
        product = PassProduct(space_id=space.id, **values)
        session.add(product)
        await session.flush()
        session.add_all(PassRate(space_id=space.id, pass_product_id=product.id, resource_kind=kind, unit=unit,
                                 units_per=per) for kind, unit, per in rates)
        products[product.name] = product
    tiers = {}
    for values in TIERS:
        tier = AdhesionTier(space_id=space.id, **values)
        session.add(tier)
        tiers[tier.name] = tier
    await session.flush()

    owner = ctx.people["claire@demo.fabrique.coop"]
    paul, ines = ctx.people["paul@demo.fabrique.coop"], ctx.people["ines@demo.fabrique.coop"]
    today = adhesion.local_today(space)
    await subscriptions.subscribe(session, space, account_id=paul.id, plan=plans["Nomade"], starts_on=today,
                                  actor_id=owner.id)
    for account in (paul, ines):
        taken = await adhesion.take(session, space, tiers["Individuelle"], account_id=account.id,
                                    actor_id=owner.id, staff=True)
        if taken.order is not None:
            await orders.mark_paid(session, taken.order, actor_id=owner.id)
    await orders.buy_pass(session, space, products["Carnet 10 demi-journées"], account_id=ines.id,
                          actor_id=owner.id, paid_on_site=True)
    if not [b for b in await ledger.balances(session, ines.id) if b.bucket.source == BucketSource.pass_]:
        raise RuntimeError("demo: the carnet paid on site opened no credits")
