"""What the membership domain registers with the others: how its activity-log entries read, what it
adds to the account export, what it does when an account is deleted and when a member leaves a
space."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.account.privacy import DELETED_NAME, Deletion, Stage, export_section, iso, on_account_deletion
from app.audit.readable import audit_fields, audit_names, audit_values
from app.core.i18n import _l
from app.core.tenancy import all_spaces, set_scope
from app.membership import ledger, subscriptions
from app.membership.models import (
    Adhesion,
    AdhesionTier,
    CreditBucket,
    CreditEntry,
    JoinRequest,
    Order,
    PassProduct,
    Plan,
    Subscription,
    SubscriptionPause,
    SubscriptionPeriod,
)
from app.space import service as spaces
from app.space.models import Space, SpaceMember

# -- the activity log in words ---------------------------------------------------------------------

audit_fields({
    "plan": _l("Plan"), "plan_id": _l("Plan"), "old_plan": _l("Previous plan"), "new_plan": _l("New plan"),
    "pass_product_id": _l("Pass"), "tier": _l("Membership tier"), "starts_on": _l("Starts on"),
    "ends_on": _l("Ends on"), "on": _l("Effective date"), "valid_until": _l("Valid until"), "forced": _l("Despite the commitment"),
    "credit_cents": _l("Amount credited"), "charge_cents": _l("Charged"), "total_incl_cents": _l("Total incl. VAT"),
    "purpose": _l("Ordered for"), "method": _l("Paid"), "quantity": _l("Units"), "units": _l("Units"),
    "unit": _l("Unit"), "resource_kinds": _l("Resources"), "left_before": _l("Units left before"),
    # booking.credits_overridden (app.booking.credits, the bookings' side of the credit ledger)
    "use_credits": _l("Use credits"), "credits_given_back": _l("Units given back"),
    "credits_taken": _l("Units used"), "from_price_cents": _l("Price before"), "to_price_cents": _l("Price after"),
    "from_price_kind": _l("Priced before as"), "to_price_kind": _l("Priced after as"),
})
audit_values({
    "on_site": _l("on site"), "free": _l("nothing to pay"), "adhesion": _l("adhésion"), "half_day": _l("half-day"), "hour": _l("hour"),
    "day": _l("day"),
})


@audit_names("plan_id")  # not the object type "plan": a data key "plan" holds a plan's name already
async def _plan_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    rows = await session.exec(select(Plan.id, Plan.name).where(col(Plan.id).in_(ids)))
    return {i: n for i, n in rows.all() if i is not None}


@audit_names("pass_product_id", "pass_product")
async def _pass_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    rows = await session.exec(select(PassProduct.id, PassProduct.name).where(col(PassProduct.id).in_(ids)))
    return {i: n for i, n in rows.all() if i is not None}


@audit_names("adhesion_tier")  # the ``tier`` key holds the tier's name already
async def _tier_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    rows = await session.exec(select(AdhesionTier.id, AdhesionTier.name).where(col(AdhesionTier.id).in_(ids)))
    return {i: n for i, n in rows.all() if i is not None}


# -- the account export and deletion ---------------------------------------------------------------


@on_account_deletion(Stage.cancel)
async def end_subscriptions(session: AsyncSession, account: Account, deletion: Deletion) -> None:
    """A deleted person is no longer billed: each live subscription ends today in its space (the
    unused days credited, the fixed desk released; no commitment holds a deleted person), through
    the subscriptions service, and what they had left of their credits expires."""
    with all_spaces(session):
        space_ids = sorted(set((await session.exec(select(Subscription.space_id).where(
            Subscription.account_id == account.id, col(Subscription.status).in_(subscriptions.live())))).all())
            | set((await session.exec(select(CreditBucket.space_id).where(
                CreditBucket.account_id == account.id, col(CreditBucket.expired_at).is_(None)))).all()))
    for space_id in space_ids:
        set_scope(session, space_id)
        deletion.spaces.add(space_id)
        space = await session.get(Space, space_id)
        assert space is not None
        await _leave(session, space, account.id or 0, actor_id=account.id, reason="account deleted")


@on_account_deletion(Stage.erase)
async def erase_join_requests(session: AsyncSession, account: Account, deletion: Deletion) -> None:
    """Requests to join sent from the person's address lose what identifies them (the request and
    its decision stay)."""
    with all_spaces(session):
        rows = (await session.exec(select(JoinRequest).where(
            func.lower(JoinRequest.email) == account.email.lower()))).all()
        for req in rows:
            deletion.spaces.add(req.space_id)
            req.name, req.email = DELETED_NAME, f"deleted-join-{req.id}@deleted.invalid"
            req.organisation = req.needs = req.decline_message = ""
            session.add(req)


@export_section("subscriptions", tables={"subscription", "subscription_period", "subscription_pause"})
async def export_subscriptions(session: AsyncSession, account: Account) -> list[dict[str, Any]]:
    subs = (await session.exec(select(Subscription, Plan).join(Plan, col(Plan.id) == Subscription.plan_id)
                               .where(Subscription.account_id == account.id).order_by(col(Subscription.id)))).all()
    ids = [s.id for s, _p in subs]
    periods = (await session.exec(select(SubscriptionPeriod, Plan).join(Plan, col(Plan.id) == SubscriptionPeriod.plan_id)
                                  .where(col(SubscriptionPeriod.subscription_id).in_(ids))
                                  .order_by(col(SubscriptionPeriod.starts_on)))).all()
    pauses = (await session.exec(select(SubscriptionPause).where(col(SubscriptionPause.subscription_id).in_(ids))
                                 .order_by(col(SubscriptionPause.starts_on)))).all()
    return [{
        "space_id": s.space_id, "plan": p.name, "status": s.status, "starts_on": s.starts_on,
        "current_period_start": s.current_period_start, "current_period_end": s.current_period_end,
        "ends_on": s.ends_on, "committed_until": s.committed_until, "ended_at": iso(s.ended_at),
        "end_reason": s.end_reason, "created_at": iso(s.created_at),
        "periods": [{"plan": pp.name, "starts_on": x.starts_on, "ends_on": x.ends_on, "order_id": x.order_id}
                    for x, pp in periods if x.subscription_id == s.id],
        "pauses": [{"starts_on": x.starts_on, "ends_on": x.ends_on, "reason": x.reason}
                   for x in pauses if x.subscription_id == s.id],
    } for s, p in subs]


@export_section("credits", tables={"credit_bucket", "credit_entry"})
async def export_credits(session: AsyncSession, account: Account) -> list[dict[str, Any]]:
    buckets = (await session.exec(select(CreditBucket).where(CreditBucket.account_id == account.id)
                                  .order_by(col(CreditBucket.id)))).all()
    entries = (await session.exec(select(CreditEntry).where(CreditEntry.account_id == account.id)
                                  .order_by(col(CreditEntry.id)))).all()
    return [{
        "space_id": b.space_id, "label": b.label, "source": b.source, "unit": b.unit,
        "resource_kinds": b.resource_kinds, "unlimited": b.unlimited, "weekdays_only": b.weekdays_only,
        "valid_from": iso(b.valid_from), "valid_until": iso(b.valid_until), "expired_at": iso(b.expired_at),
        "left": sum(e.quantity for e in entries if e.bucket_id == b.id),
        "entries": [{"kind": e.kind, "quantity": e.quantity, "booking_id": e.booking_id, "reason": e.reason,
                     "created_at": iso(e.created_at)} for e in entries if e.bucket_id == b.id],
    } for b in buckets]


@export_section("orders", tables={"member_order"})
async def export_orders(session: AsyncSession, account: Account) -> list[dict[str, Any]]:
    rows = (await session.exec(select(Order).where(Order.account_id == account.id).order_by(col(Order.id)))).all()
    return [{
        "space_id": o.space_id, "id": o.id, "purpose": o.purpose, "label": o.label, "status": o.status,
        "currency": o.currency, "total_incl_cents": o.total_incl_cents, "paid_at": iso(o.paid_at),
        "paid_method": o.paid_method, "cancelled_at": iso(o.cancelled_at), "created_at": iso(o.created_at),
    } for o in rows]


@export_section("adhesions", tables={"adhesion"})
async def export_adhesions(session: AsyncSession, account: Account) -> list[dict[str, Any]]:
    rows = (await session.exec(select(Adhesion, AdhesionTier).join(AdhesionTier, col(AdhesionTier.id) == Adhesion.tier_id)
                               .where(Adhesion.account_id == account.id).order_by(col(Adhesion.id)))).all()
    return [{
        "space_id": a.space_id, "tier": t.name, "starts_on": a.starts_on, "ends_on": a.ends_on,
        "paid_at": iso(a.paid_at), "cancelled_at": iso(a.cancelled_at), "created_at": iso(a.created_at),
    } for a, t in rows]


@export_section("join_requests", tables={"join_request"})
async def export_join_requests(session: AsyncSession, account: Account) -> list[dict[str, Any]]:
    rows = (await session.exec(select(JoinRequest).where(func.lower(JoinRequest.email) == account.email.lower())
                               .order_by(col(JoinRequest.id)))).all()
    return [{
        "space_id": r.space_id, "name": r.name, "email": r.email, "organisation": r.organisation,
        "needs": r.needs, "status": r.status, "decided_at": iso(r.decided_at),
        "decline_message": r.decline_message, "sent_at": iso(r.created_at),
    } for r in rows]


# -- leaving a space -------------------------------------------------------------------------------


async def _leave(session: AsyncSession, space: Space, account_id: int, *, actor_id: int | None,
                 reason: str) -> None:
    await subscriptions.end_on_leaving(session, space, account_id, actor_id=actor_id, reason=reason)
    await ledger.expire_all_of(session, account_id)


@spaces.on_member_removed
async def stop_billing_who_left(session: AsyncSession, space: Space, member: SpaceMember, actor: Account) -> None:
    """A member removed from the space is not billed after: their live subscriptions end the same
    day (nothing renews, no more orders) and their credits expire."""
    await _leave(session, space, member.account_id, actor_id=actor.id, reason="removed from the space")
