"""Plans (formules), pass products (carnets) and the space's membership settings: what a manager
defines. Archived, never deleted; editing a plan changes the periods to come, never one under way
(a period's allowance is copied into its credit buckets when it starts)."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.service import audit_labels, log_action
from app.core import clock, db
from app.core.errors import ValidationFailed
from app.core.i18n import N_, _l
from app.core.tenancy import require_scope
from app.core.text import clean_text, require_one_line
from app.membership.errors import PassProductNotFound, PlanNotAvailable, PlanNotFound
from app.membership.models import (
    AdhesionYear,
    JoinPolicy,
    MembershipSettings,
    PassProduct,
    PassRate,
    Plan,
    PlanAllowance,
    PlanPeriod,
    WhenCreditsRunOut,
)
from app.membership.settings import settings_of
from app.pricing import vat
from app.resource.models import ResourceKind
from app.space.models import Space

audit_labels({
    "plan.created": _l("Plan created"), "plan.updated": _l("Plan changed"), "plan.archived": _l("Plan archived"),
    "plan.restored": _l("Plan restored"), "pass_product.created": _l("Pass created"),
    "pass_product.updated": _l("Pass changed"), "pass_product.archived": _l("Pass archived"),
    "pass_product.restored": _l("Pass restored"), "membership_settings.updated": _l("Membership settings changed"),
    "subscription.started": _l("Subscription started"), "subscription.plan_changed": _l("Plan of a subscription changed"),
    "subscription.paused": _l("Subscription paused"), "subscription.resumed": _l("Subscription resumed"),
    "subscription.end_set": _l("Subscription end set"), "subscription.cancelled": _l("Subscription cancelled by the member"),
    "subscription.ended": _l("Subscription ended"),
})

UNITS = ("hour", "half_day", "day")
KINDS = tuple(k.value for k in ResourceKind)
PLAN_FIELDS = ("name", "description", "period", "price_cents", "vat_rate_bp", "rollover_periods", "fixed_desk",
               "domiciliation_only", "min_commitment_periods", "public", "position")
PASS_FIELDS = ("name", "description", "units", "valid_months", "price_cents", "vat_rate_bp", "public", "position")
SETTINGS_FIELDS = ("join_policy", "adhesion_year", "adhesion_for_member_prices", "adhesion_for_booking",
                   "adhesion_for_plans", "when_credits_run_out", "late_cancel_returns_credits", "max_pause_days",
                   "reminder_days")


def _invalid(field: str, message: str, code: str = "invalid_plan") -> ValidationFailed:
    return ValidationFailed(fields={field: message}, code=code)


def _int(out: dict[str, Any], name: str, low: int, high: int, message: str, code: str) -> None:
    if name in out:
        value = out[name]
        if type(value) is not int or not low <= value <= high:
            raise _invalid(name, message, code)


def _text(out: dict[str, Any], name: str, message: str, code: str) -> None:
    if "name" in out:
        out["name"] = clean_text(require_one_line(out["name"], "name"), 120)
        if not out["name"]:
            raise _invalid("name", message, code)
    if "description" in out:
        out["description"] = clean_text(out["description"], 2000)


def _kinds(value: Any) -> str:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    return ",".join(dict.fromkeys(str(k).strip() for k in items if str(k).strip()))


def check_allowances(allowances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    if len(allowances) > 10:
        raise _invalid("allowances", N_("A plan has 10 allowances at most."))
    for i, a in enumerate(allowances):
        kinds = _kinds(a.get("resource_kinds", ""))
        if set(kinds.split(",")) - set(KINDS) - {""}:
            raise _invalid(f"allowances.{i}.resource_kinds", N_("Choose kinds of resource from the list."))
        unit = a.get("unit", "day")
        if unit not in UNITS:
            raise _invalid(f"allowances.{i}.unit", N_("Choose hours, half-days or days."))
        quantity = a.get("quantity")
        if quantity is not None and (type(quantity) is not int or not 1 <= quantity <= 10000):
            raise _invalid(f"allowances.{i}.quantity", N_("Give a number of units from 1 to 10,000, or none for unlimited."))
        out.append({"resource_kinds": kinds, "unit": unit, "quantity": quantity,
                    "weekdays_only": bool(a.get("weekdays_only", False))})
    return out


def check_plan(values: dict[str, Any]) -> dict[str, Any]:
    """Normalise and check a plan's fields; raises a 422 naming the field at fault."""
    out = {k: v for k, v in values.items() if k in PLAN_FIELDS}
    _text(out, "name", N_("Give the plan a name."), "invalid_plan")
    if "period" in out and out["period"] not in {p.value for p in PlanPeriod}:
        raise _invalid("period", N_("Choose monthly, quarterly or yearly."))
    _int(out, "price_cents", 0, 10**9, N_("The price must be a positive amount."), "invalid_plan")
    if "vat_rate_bp" in out:
        out["vat_rate_bp"] = vat.check_rate(out["vat_rate_bp"], "vat_rate_bp", optional=True)
    _int(out, "rollover_periods", 0, 12, N_("Unused allowance rolls over for 0 to 12 periods."), "invalid_plan")
    _int(out, "min_commitment_periods", 0, 36, N_("The minimum commitment is 0 to 36 periods."), "invalid_plan")
    _int(out, "position", 0, 10000, N_("The position is a number from 0 to 10,000."), "invalid_plan")
    return out


def check_pass(values: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in values.items() if k in PASS_FIELDS}
    _text(out, "name", N_("Give the pass a name."), "invalid_pass")
    _int(out, "units", 1, 1000, N_("A pass holds 1 to 1,000 units."), "invalid_pass")
    _int(out, "valid_months", 1, 60, N_("A pass is valid 1 to 60 months."), "invalid_pass")
    _int(out, "price_cents", 0, 10**9, N_("The price must be a positive amount."), "invalid_pass")
    if "vat_rate_bp" in out:
        out["vat_rate_bp"] = vat.check_rate(out["vat_rate_bp"], "vat_rate_bp", optional=True)
    _int(out, "position", 0, 10000, N_("The position is a number from 0 to 10,000."), "invalid_pass")
    return out


def check_rates(rates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out, seen = [], set()
    for i, r in enumerate(rates):
        kind, unit, per = r.get("resource_kind"), r.get("unit"), r.get("units_per", 1)
        if kind not in KINDS:
            raise _invalid(f"rates.{i}.resource_kind", N_("Choose a kind of resource."), "invalid_pass")
        if unit not in UNITS:
            raise _invalid(f"rates.{i}.unit", N_("Choose hours, half-days or days."), "invalid_pass")
        if type(per) is not int or not 1 <= per <= 100:
            raise _invalid(f"rates.{i}.units_per", N_("A rate is 1 to 100 pass units."), "invalid_pass")
        if (kind, unit) in seen:
            raise _invalid(f"rates.{i}.resource_kind", N_("This kind of resource and unit already has a rate."),
                           "invalid_pass")
        seen.add((kind, unit))
        out.append({"resource_kind": kind, "unit": unit, "units_per": per})
    return out


# -- plans --------------------------------------------------------------------------------------


async def list_plans(session: AsyncSession, *, include_archived: bool = False,
                     public_only: bool = False) -> list[Plan]:
    stmt = select(Plan)
    if not include_archived:
        stmt = stmt.where(col(Plan.archived_at).is_(None))
    if public_only:
        stmt = stmt.where(col(Plan.public).is_(True))
    return list((await session.exec(stmt.order_by(col(Plan.position), col(Plan.id)))).all())


async def get_plan(session: AsyncSession, plan_id: int) -> Plan:
    plan = (await session.exec(select(Plan).where(Plan.id == plan_id))).first()
    if plan is None:
        raise PlanNotFound()
    return plan


async def plan_for_member(session: AsyncSession, plan_id: int) -> Plan:
    """A plan a member may subscribe to themselves: public and not archived (else 404 / 409)."""
    plan = (await session.exec(select(Plan).where(Plan.id == plan_id))).first()
    if plan is None:
        raise PlanNotFound()
    if not plan.public:
        raise PlanNotAvailable()
    return plan


async def allowances(session: AsyncSession, plan: Plan) -> list[PlanAllowance]:
    return list((await session.exec(select(PlanAllowance).where(PlanAllowance.plan_id == plan.id)
                                     .order_by(col(PlanAllowance.id)))).all())


async def _set_allowances(session: AsyncSession, plan: Plan, items: list[dict[str, Any]]) -> None:
    for old in await allowances(session, plan):
        await session.delete(old)
    await session.flush()
    for a in items:
        session.add(PlanAllowance(space_id=plan.space_id, plan_id=plan.id or 0, **a))


async def create_plan(session: AsyncSession, space: Space, actor_id: int | None, values: dict[str, Any],
                      allowance_values: list[dict[str, Any]]) -> Plan:
    checked, items = check_plan(values), check_allowances(allowance_values)
    if "name" not in checked:
        raise _invalid("name", N_("Give the plan a name."))
    now = clock.now()
    plan = Plan(space_id=require_scope(session), created_at=now, updated_at=now, **checked)
    session.add(plan)
    await session.flush()
    await _set_allowances(session, plan, items)
    await session.flush()
    log_action(session, "plan.created", space_id=space.id, actor_id=actor_id, obj=plan, name=plan.name)
    return plan


async def update_plan(session: AsyncSession, space: Space, actor_id: int | None, plan: Plan, values: dict[str, Any],
                      allowance_values: list[dict[str, Any]] | None) -> Plan:
    """Change a plan; ``allowance_values`` (when given) replaces its allowances. Periods under way
    keep what they were given."""
    checked = check_plan(values)
    items = check_allowances(allowance_values) if allowance_values is not None else None
    changed = [k for k, v in checked.items() if getattr(plan, k) != v]
    for k in changed:
        setattr(plan, k, checked[k])
    if items is not None:
        await _set_allowances(session, plan, items)
        changed.append("allowances")
    plan.updated_at = clock.now()
    session.add(plan)
    await session.flush()
    if changed:
        log_action(session, "plan.updated", space_id=space.id, actor_id=actor_id, obj=plan,
                   fields=",".join(sorted(changed)))
    return plan


async def set_plan_archived(session: AsyncSession, space: Space, actor_id: int | None, plan: Plan,
                            archived: bool) -> Plan:
    """Archive (no new subscriptions; current ones go on and renew) or restore a plan."""
    if (plan.archived_at is not None) == archived:
        return plan
    plan.archived_at = clock.now() if archived else None
    plan.updated_at = clock.now()
    session.add(plan)
    await session.flush()
    log_action(session, "plan.archived" if archived else "plan.restored", space_id=space.id, actor_id=actor_id,
               obj=plan)
    return plan


# -- pass products ------------------------------------------------------------------------------


async def list_passes(session: AsyncSession, *, include_archived: bool = False,
                      public_only: bool = False) -> list[PassProduct]:
    stmt = select(PassProduct)
    if not include_archived:
        stmt = stmt.where(col(PassProduct.archived_at).is_(None))
    if public_only:
        stmt = stmt.where(col(PassProduct.public).is_(True))
    return list((await session.exec(stmt.order_by(col(PassProduct.position), col(PassProduct.id)))).all())


async def get_pass(session: AsyncSession, product_id: int) -> PassProduct:
    product = (await session.exec(select(PassProduct).where(PassProduct.id == product_id))).first()
    if product is None:
        raise PassProductNotFound()
    return product


async def rates(session: AsyncSession, product: PassProduct) -> list[PassRate]:
    return list((await session.exec(select(PassRate).where(PassRate.pass_product_id == product.id)
                                     .order_by(col(PassRate.id)))).all())


async def _set_rates(session: AsyncSession, product: PassProduct, items: list[dict[str, Any]]) -> None:
    for old in await rates(session, product):
        await session.delete(old)
    await session.flush()
    for r in items:
        session.add(PassRate(space_id=product.space_id, pass_product_id=product.id or 0, **r))


async def create_pass(session: AsyncSession, space: Space, actor_id: int | None, values: dict[str, Any],
                      rate_values: list[dict[str, Any]]) -> PassProduct:
    checked, items = check_pass(values), check_rates(rate_values)
    if "name" not in checked:
        raise _invalid("name", N_("Give the pass a name."), "invalid_pass")
    now = clock.now()
    product = PassProduct(space_id=require_scope(session), created_at=now, updated_at=now, **checked)
    session.add(product)
    await session.flush()
    await _set_rates(session, product, items)
    await session.flush()
    log_action(session, "pass_product.created", space_id=space.id, actor_id=actor_id, obj=product, name=product.name)
    return product


async def update_pass(session: AsyncSession, space: Space, actor_id: int | None, product: PassProduct,
                      values: dict[str, Any], rate_values: list[dict[str, Any]] | None) -> PassProduct:
    checked = check_pass(values)
    items = check_rates(rate_values) if rate_values is not None else None
    changed = [k for k, v in checked.items() if getattr(product, k) != v]
    for k in changed:
        setattr(product, k, checked[k])
    if items is not None:
        await _set_rates(session, product, items)
        changed.append("rates")
    product.updated_at = clock.now()
    session.add(product)
    await session.flush()
    if changed:
        log_action(session, "pass_product.updated", space_id=space.id, actor_id=actor_id, obj=product,
                   fields=",".join(sorted(changed)))
    return product


async def set_pass_archived(session: AsyncSession, space: Space, actor_id: int | None, product: PassProduct,
                            archived: bool) -> PassProduct:
    if (product.archived_at is not None) == archived:
        return product
    product.archived_at = clock.now() if archived else None
    product.updated_at = clock.now()
    session.add(product)
    await session.flush()
    log_action(session, "pass_product.archived" if archived else "pass_product.restored", space_id=space.id,
               actor_id=actor_id, obj=product)
    return product


# -- settings -----------------------------------------------------------------------------------


def check_settings(values: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in values.items() if k in SETTINGS_FIELDS}
    choices = {"join_policy": JoinPolicy, "adhesion_year": AdhesionYear, "when_credits_run_out": WhenCreditsRunOut}
    for name, enum in choices.items():
        if name in out and out[name] not in {e.value for e in enum}:
            raise _invalid(name, N_("Choose one of the options."), "invalid_membership_settings")
    for name in ("adhesion_for_member_prices", "adhesion_for_booking", "adhesion_for_plans",
                 "late_cancel_returns_credits"):
        if name in out and type(out[name]) is not bool:
            raise _invalid(name, N_("Yes or no."), "invalid_membership_settings")
    _int(out, "max_pause_days", 0, 366, N_("A pause lasts 0 to 366 days at most."), "invalid_membership_settings")
    _int(out, "reminder_days", 0, 90, N_("Reminders go 0 to 90 days before."), "invalid_membership_settings")
    return out


async def update_settings(session: AsyncSession, space: Space, actor_id: int | None,
                          values: dict[str, Any]) -> MembershipSettings:
    """Save the space's settings (its first row is written once, however many save at once)."""
    checked = check_settings(values)
    row = await settings_of(session)
    if row.id is None:
        row = await db.insert_or_existing(session, row, lambda: _settings_row(session))
    changed = [k for k, v in checked.items() if getattr(row, k) != v]
    for k in changed:
        setattr(row, k, checked[k])
    row.updated_at = clock.now()
    session.add(row)
    await session.flush()
    if changed:
        log_action(session, "membership_settings.updated", space_id=space.id, actor_id=actor_id,
                   fields=",".join(sorted(changed)))
    return row


async def _settings_row(session: AsyncSession) -> MembershipSettings | None:
    return (await session.exec(select(MembershipSettings))).first()
