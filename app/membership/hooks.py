"""What the membership domain registers with the others: how its activity-log entries read, what it
adds to the account export, what it does when an account is deleted and when a member leaves a
space."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.readable import audit_fields, audit_names, audit_values
from app.core.i18n import _l
from app.membership.models import AdhesionTier, PassProduct, Plan

# -- the activity log in words ---------------------------------------------------------------------

audit_fields({
    "plan": _l("Plan"), "plan_id": _l("Plan"), "old_plan": _l("Previous plan"), "new_plan": _l("New plan"),
    "pass_product_id": _l("Pass"), "tier": _l("Membership tier"), "starts_on": _l("Starts on"),
    "ends_on": _l("Ends on"), "on": _l("On"), "valid_until": _l("Valid until"), "forced": _l("Despite the commitment"),
    "credit_cents": _l("Credited"), "charge_cents": _l("Charged"), "total_incl_cents": _l("Total incl. VAT"),
    "purpose": _l("For"), "method": _l("Paid"), "quantity": _l("Units"), "units": _l("Units"),
    "unit": _l("Unit"), "resource_kinds": _l("Resources"), "left_before": _l("Units left before"),
    # booking.credits_overridden (app.booking.credits, the bookings' side of the credit ledger)
    "use_credits": _l("Use credits"), "credits_given_back": _l("Units given back"),
    "credits_taken": _l("Units used"), "from_price_cents": _l("Price before"), "to_price_cents": _l("Price after"),
    "from_price_kind": _l("Priced before as"), "to_price_kind": _l("Priced after as"),
})
audit_values({
    "on_site": _l("on site"), "adhesion": _l("adhésion"), "half_day": _l("half-day"), "hour": _l("hour"),
    "day": _l("day"),
})


@audit_names("plan_id", "plan")
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
