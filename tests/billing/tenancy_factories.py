"""Objects of space A for the cross-tenant matrix: an issued invoice and a payment of it."""

from __future__ import annotations

from app.billing import payments, service
from app.billing.models import PaymentMethod
from app.core import db
from app.space.models import Space
from tests.tenancy.registry import object_factory


async def _invoice(world) -> int:
    cache = world.__dict__.setdefault("_billing_objects", {})
    if "invoice" not in cache:
        async with db.transaction(space_id=world.a.space.id) as session:
            space = await session.get(Space, world.a.space.id)
            buyer = await service.buyer_of_member(session, world.a.member.id)
            line = service.free_line(space, label="Salle", quantity=1, unit_price_cents=12000, vat_rate_bp=None)
            invoice, rows = await service.create_draft(session, space, buyer=buyer, lines=[line],
                                                       account_id=world.a.member.id)
            await service.issue(session, space, invoice, rows, today=service.local_today(space))
        cache["invoice"] = invoice.id
    return cache["invoice"]


@object_factory("invoice_id")
async def _invoice_id(world) -> int:
    return await _invoice(world)


@object_factory("payment_id")
async def _payment(world) -> int:
    invoice_id = await _invoice(world)
    async with db.transaction(space_id=world.a.space.id) as session:
        payment = await payments.record(session, invoice_id, method=PaymentMethod.cash, amount_cents=1000,
                                        paid_on=service.local_today(world.a.space))
    return payment.id
