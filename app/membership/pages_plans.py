"""Staff pages: plans and passes (create, edit, archive), the membership settings, and members'
subscriptions (assign, change with the proration shown before confirming, pause, resume, end)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response

from app.core import forms, money
from app.core.errors import FabriqueError, NotFound
from app.core.i18n import _, _l
from app.core.permissions import Perm
from app.core.schemas import IdPath
from app.core.web import SessionDep, form_data, page_router, redirect, register_space_nav, render
from app.membership import plans as catalogue
from app.membership import subscriptions as subs
from app.membership.models import PERIOD_LABELS, PassProduct, Plan, Subscription
from app.membership.settings import settings_of
from app.pricing import vat
from app.pricing.forms import vat_choices
from app.resource import service as resources
from app.resource.models import KIND_LABELS
from app.space import service as spaces
from app.space.deps import SpaceContext, space_access

router = page_router()

register_space_nav(50, Perm.membership_manage, _l("Plans and passes"), "plans")
register_space_nav(52, Perm.membership_view, _l("Subscriptions"), "subscriptions")

MembershipView = Annotated[SpaceContext, Depends(space_access(Perm.membership_view))]
MembershipManage = Annotated[SpaceContext, Depends(space_access(Perm.membership_manage))]

UNIT_LABELS = {"hour": _l("hours"), "half_day": _l("half-days"), "day": _l("days")}
STATUS_LABELS = {"active": _l("active"), "paused": _l("paused"), "ended": _l("ended")}
ALLOWANCE_ROWS = 3
RATE_ROWS = 3


async def _page(request: Request, ctx: SpaceContext, session, template: str, context: dict, **kw) -> Response:
    request.state.my_spaces = await spaces.spaces_of(session, ctx.account.id or 0)
    return render(request, template, {"ctx": ctx, "tz": ctx.space.timezone, "units": UNIT_LABELS,
                                      "periods": {k.value: str(v) for k, v in PERIOD_LABELS.items()},
                                      "kinds": {k.value: str(v) for k, v in KIND_LABELS.items()},
                                      "statuses": {k: str(v) for k, v in STATUS_LABELS.items()}, **context}, **kw)


def _form_error(exc: FabriqueError) -> FabriqueError:
    """API field names (``allowances.0.unit``) → the form's (``allow_0_unit``)."""
    renamed = {}
    for name, message in exc.fields.items():
        parts = name.split(".")
        if len(parts) == 3 and parts[0] in ("allowances", "rates"):
            prefix = "allow" if parts[0] == "allowances" else "rate"
            field = {"resource_kinds": "kind", "resource_kind": "kind"}.get(parts[2], parts[2])
            name = f"{prefix}_{parts[1]}_{field}"
        elif name in ("price_cents", "vat_rate_bp"):
            name = {"price_cents": "price", "vat_rate_bp": "vat_rate"}[name]
        renamed[name] = message
    exc.fields = renamed
    return exc


# -- plans and passes ---------------------------------------------------------------------------


@router.get("/s/{slug}/plans")
async def plans_page(request: Request, ctx: MembershipManage, session: SessionDep) -> Response:
    plans = await catalogue.list_plans(session, include_archived=True)
    passes = await catalogue.list_passes(session, include_archived=True)
    allowances = {p.id: await catalogue.allowances(session, p) for p in plans}
    return await _page(request, ctx, session, "membership/plans_list.html",
                       {"plans": plans, "passes": passes, "allowances": allowances})


def _plan_values(form: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    values = {
        "name": form.get("name", ""), "description": form.get("description", ""),
        "period": form.get("period", "month"),
        "price_cents": money.parse_cents(form.get("price"), "price"),
        "vat_rate_bp": vat.parse_rate(form.get("vat_rate"), "vat_rate", optional=True),
        "rollover_periods": forms.parse_int(form.get("rollover_periods"), "rollover_periods", default=0, maximum=12),
        "min_commitment_periods": forms.parse_int(form.get("min_commitment_periods"), "min_commitment_periods",
                                                  default=0, maximum=36),
        "position": forms.parse_int(form.get("position"), "position", default=0, maximum=10000),
        "fixed_desk": bool(form.get("fixed_desk")), "domiciliation_only": bool(form.get("domiciliation_only")),
        "public": bool(form.get("public")),
    }
    allowances = []
    for i in range(ALLOWANCE_ROWS):
        unlimited = bool(form.get(f"allow_{i}_unlimited"))
        quantity_text = (form.get(f"allow_{i}_quantity") or "").strip()
        if not unlimited and not quantity_text:
            continue
        quantity = None if unlimited else forms.parse_int(quantity_text, f"allow_{i}_quantity", minimum=1,
                                                          maximum=10000)
        kind = form.get(f"allow_{i}_kind", "")
        allowances.append({"resource_kinds": kind, "unit": form.get(f"allow_{i}_unit", "day"), "quantity": quantity,
                           "weekdays_only": bool(form.get(f"allow_{i}_weekdays"))})
    return values, allowances


def _plan_form(plan: Plan | None, allowances: list) -> dict[str, str]:
    if plan is None:
        return {"period": "month", "price": "", "rollover_periods": "0", "min_commitment_periods": "0",
                "position": "0", "allow_0_unit": "day"}
    form = {"name": plan.name, "description": plan.description, "period": plan.period,
            "price": money.amount_input(plan.price_cents),
            "vat_rate": "" if plan.vat_rate_bp is None else vat.rate_label(plan.vat_rate_bp),
            "rollover_periods": str(plan.rollover_periods), "min_commitment_periods": str(plan.min_commitment_periods),
            "position": str(plan.position)}
    for flag in ("fixed_desk", "domiciliation_only", "public"):
        if getattr(plan, flag):
            form[flag] = "on"
    for i, a in enumerate(allowances[:ALLOWANCE_ROWS]):
        form[f"allow_{i}_kind"] = a.resource_kinds.split(",")[0] if a.resource_kinds else ""
        form[f"allow_{i}_unit"] = a.unit
        form[f"allow_{i}_quantity"] = "" if a.quantity is None else str(a.quantity)
        if a.quantity is None:
            form[f"allow_{i}_unlimited"] = "on"
        if a.weekdays_only:
            form[f"allow_{i}_weekdays"] = "on"
    return form


def _plan_context(plan: Plan | None) -> dict[str, Any]:
    return {"plan": plan, "vat_rates": vat_choices(), "rows": range(ALLOWANCE_ROWS),
            "kind_choices": [("", _("any kind"))] + [(k.value, str(v)) for k, v in KIND_LABELS.items()],
            "unit_choices": [(k, str(v)) for k, v in UNIT_LABELS.items()],
            "period_choices": [(k.value, str(v)) for k, v in PERIOD_LABELS.items()]}


@router.get("/s/{slug}/plans/new")
async def new_plan_page(request: Request, ctx: MembershipManage, session: SessionDep) -> Response:
    return await _page(request, ctx, session, "membership/plans_form.html", _plan_context(None),
                       form=_plan_form(None, []))


@router.post("/s/{slug}/plans/new")
async def create_plan(request: Request, ctx: MembershipManage, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        values, allowances = _plan_values(form)
        async with session.begin_nested():
            plan = await catalogue.create_plan(session, ctx.space, ctx.account.id, values, allowances)
    except FabriqueError as exc:
        return await _page(request, ctx, session, "membership/plans_form.html", _plan_context(None),
                           error=_form_error(exc), form=form)
    return redirect(f"/s/{ctx.space.slug}/plans", message=_("The plan %(name)s is ready.", name=plan.name))


async def valid_plan(plan_id: IdPath, ctx: MembershipManage, session: SessionDep) -> Plan:
    return await catalogue.get_plan(session, plan_id)


ValidPlan = Annotated[Plan, Depends(valid_plan)]


@router.get("/s/{slug}/plans/{plan_id}")
async def edit_plan_page(request: Request, plan: ValidPlan, ctx: MembershipManage, session: SessionDep) -> Response:
    return await _page(request, ctx, session, "membership/plans_form.html", _plan_context(plan),
                       form=_plan_form(plan, await catalogue.allowances(session, plan)))


@router.post("/s/{slug}/plans/{plan_id}")
async def update_plan(request: Request, plan: ValidPlan, ctx: MembershipManage, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        values, allowances = _plan_values(form)
        async with session.begin_nested():
            await catalogue.update_plan(session, ctx.space, ctx.account.id, plan, values, allowances)
    except FabriqueError as exc:
        await session.refresh(plan)
        return await _page(request, ctx, session, "membership/plans_form.html", _plan_context(plan),
                           error=_form_error(exc), form=form)
    return redirect(f"/s/{ctx.space.slug}/plans", message=_("Changes saved."))


@router.post("/s/{slug}/plans/{plan_id}/archive")
async def archive_plan(plan: ValidPlan, ctx: MembershipManage, session: SessionDep) -> Response:
    await catalogue.set_plan_archived(session, ctx.space, ctx.account.id, plan, True)
    return redirect(f"/s/{ctx.space.slug}/plans", message=_(
        "%(name)s is archived: no new subscriptions, current ones go on.", name=plan.name))


@router.post("/s/{slug}/plans/{plan_id}/restore")
async def restore_plan(plan: ValidPlan, ctx: MembershipManage, session: SessionDep) -> Response:
    await catalogue.set_plan_archived(session, ctx.space, ctx.account.id, plan, False)
    return redirect(f"/s/{ctx.space.slug}/plans", message=_("%(name)s is offered again.", name=plan.name))


def _pass_values(form: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    values = {
        "name": form.get("name", ""), "description": form.get("description", ""),
        "units": forms.parse_int(form.get("units"), "units", default=1, minimum=1, maximum=1000),
        "valid_months": forms.parse_int(form.get("valid_months"), "valid_months", default=6, minimum=1, maximum=60),
        "price_cents": money.parse_cents(form.get("price"), "price"),
        "vat_rate_bp": vat.parse_rate(form.get("vat_rate"), "vat_rate", optional=True),
        "position": forms.parse_int(form.get("position"), "position", default=0, maximum=10000),
        "public": bool(form.get("public")),
    }
    rates = []
    for i in range(RATE_ROWS):
        if not form.get(f"rate_{i}_kind"):
            continue
        rates.append({"resource_kind": form.get(f"rate_{i}_kind"), "unit": form.get(f"rate_{i}_unit", "half_day"),
                      "units_per": forms.parse_int(form.get(f"rate_{i}_units_per"), f"rate_{i}_units_per", default=1,
                                                   minimum=1, maximum=100)})
    return values, rates


def _pass_form(product: PassProduct | None, rates: list) -> dict[str, str]:
    if product is None:
        return {"units": "10", "valid_months": "6", "position": "0", "public": "on"}
    form = {"name": product.name, "description": product.description, "units": str(product.units),
            "valid_months": str(product.valid_months), "price": money.amount_input(product.price_cents),
            "vat_rate": "" if product.vat_rate_bp is None else vat.rate_label(product.vat_rate_bp),
            "position": str(product.position)}
    if product.public:
        form["public"] = "on"
    for i, r in enumerate(rates[:RATE_ROWS]):
        form[f"rate_{i}_kind"], form[f"rate_{i}_unit"], form[f"rate_{i}_units_per"] = (
            r.resource_kind, r.unit, str(r.units_per))
    return form


def _pass_context(product: PassProduct | None) -> dict[str, Any]:
    return {"product": product, "vat_rates": vat_choices(), "rows": range(RATE_ROWS),
            "kind_choices": [("", "—")] + [(k.value, str(v)) for k, v in KIND_LABELS.items()],
            "unit_choices": [(k, str(v)) for k, v in UNIT_LABELS.items()]}


@router.get("/s/{slug}/pass-products/new")
async def new_pass_page(request: Request, ctx: MembershipManage, session: SessionDep) -> Response:
    return await _page(request, ctx, session, "membership/plans_pass_form.html", _pass_context(None),
                       form=_pass_form(None, []))


@router.post("/s/{slug}/pass-products/new")
async def create_pass(request: Request, ctx: MembershipManage, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        values, rates = _pass_values(form)
        async with session.begin_nested():
            product = await catalogue.create_pass(session, ctx.space, ctx.account.id, values, rates)
    except FabriqueError as exc:
        return await _page(request, ctx, session, "membership/plans_pass_form.html", _pass_context(None),
                           error=_form_error(exc), form=form)
    return redirect(f"/s/{ctx.space.slug}/plans", message=_("The pass %(name)s is ready.", name=product.name))


async def valid_pass(product_id: IdPath, ctx: MembershipManage, session: SessionDep) -> PassProduct:
    return await catalogue.get_pass(session, product_id)


ValidPass = Annotated[PassProduct, Depends(valid_pass)]


@router.get("/s/{slug}/pass-products/{product_id}")
async def edit_pass_page(request: Request, product: ValidPass, ctx: MembershipManage,
                         session: SessionDep) -> Response:
    return await _page(request, ctx, session, "membership/plans_pass_form.html", _pass_context(product),
                       form=_pass_form(product, await catalogue.rates(session, product)))


@router.post("/s/{slug}/pass-products/{product_id}")
async def update_pass(request: Request, product: ValidPass, ctx: MembershipManage, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        values, rates = _pass_values(form)
        async with session.begin_nested():
            await catalogue.update_pass(session, ctx.space, ctx.account.id, product, values, rates)
    except FabriqueError as exc:
        await session.refresh(product)
        return await _page(request, ctx, session, "membership/plans_pass_form.html", _pass_context(product),
                           error=_form_error(exc), form=form)
    return redirect(f"/s/{ctx.space.slug}/plans", message=_("Changes saved."))


@router.post("/s/{slug}/pass-products/{product_id}/archive")
async def archive_pass(product: ValidPass, ctx: MembershipManage, session: SessionDep) -> Response:
    await catalogue.set_pass_archived(session, ctx.space, ctx.account.id, product, True)
    return redirect(f"/s/{ctx.space.slug}/plans", message=_("%(name)s is no longer on sale.", name=product.name))


@router.post("/s/{slug}/pass-products/{product_id}/restore")
async def restore_pass(product: ValidPass, ctx: MembershipManage, session: SessionDep) -> Response:
    await catalogue.set_pass_archived(session, ctx.space, ctx.account.id, product, False)
    return redirect(f"/s/{ctx.space.slug}/plans", message=_("%(name)s is on sale again.", name=product.name))


# -- settings -----------------------------------------------------------------------------------


def _settings_form(row) -> dict[str, str]:
    form = {k: str(getattr(row, k)) for k in ("join_policy", "adhesion_year", "when_credits_run_out",
                                              "max_pause_days", "reminder_days")}
    for flag in ("adhesion_for_member_prices", "adhesion_for_booking", "adhesion_for_plans",
                 "late_cancel_returns_credits"):
        if getattr(row, flag):
            form[flag] = "on"
    return form


@router.get("/s/{slug}/membership-settings")
async def settings_page(request: Request, ctx: MembershipManage, session: SessionDep) -> Response:
    return await _page(request, ctx, session, "membership/plans_settings.html", {},
                       form=_settings_form(await settings_of(session)))


@router.post("/s/{slug}/membership-settings")
async def save_settings(request: Request, ctx: MembershipManage, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        values: dict[str, Any] = {k: form.get(k, "") for k in ("join_policy", "adhesion_year",
                                                                "when_credits_run_out")}
        values["max_pause_days"] = forms.parse_int(form.get("max_pause_days"), "max_pause_days", default=0,
                                                   maximum=366)
        values["reminder_days"] = forms.parse_int(form.get("reminder_days"), "reminder_days", default=0, maximum=90)
        for flag in ("adhesion_for_member_prices", "adhesion_for_booking", "adhesion_for_plans",
                     "late_cancel_returns_credits"):
            values[flag] = bool(form.get(flag))
        async with session.begin_nested():
            await catalogue.update_settings(session, ctx.space, ctx.account.id, values)
    except FabriqueError as exc:
        return await _page(request, ctx, session, "membership/plans_settings.html", {}, error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/membership-settings", message=_("Changes saved."))


# -- subscriptions ------------------------------------------------------------------------------


async def _people(session) -> dict[int, str]:
    return {row.account.id or 0: row.account.name for row in await spaces.list_members(session)}


async def _list(request: Request, ctx: SpaceContext, session, *, error=None, form=None) -> Response:
    status = request.query_params.get("status") or None
    if status not in (None, "active", "paused", "ended"):
        status = None
    rows = await subs.list_subscriptions(session, status=status, limit=500)
    plans = {p.id: p for p in await catalogue.list_plans(session, include_archived=True)}
    desks = [r for r in await resources.list_resources(session) if r.kind in ("dedicated_desk", "private_office")]
    return await _page(request, ctx, session, "membership/plans_subscriptions.html", {
        "subscriptions": rows, "plans": plans, "people": await _people(session), "status": status or "",
        "person_choices": [("", "—")] + [(str(i), n) for i, n in (await _people(session)).items()],
        "plan_choices": [("", "—")] + [(str(p.id), p.name) for p in plans.values() if p.archived_at is None],
        "desk_choices": [("", _("none"))] + [(str(d.id), d.name) for d in desks],
        "today": subs.local_today(ctx.space)}, error=error,
        form=form or {"starts_on": subs.local_today(ctx.space).isoformat()})


@router.get("/s/{slug}/subscriptions")
async def subscriptions_page(request: Request, ctx: MembershipView, session: SessionDep) -> Response:
    return await _list(request, ctx, session)


@router.post("/s/{slug}/subscriptions")
async def assign(request: Request, ctx: MembershipManage, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        account_id = forms.parse_int(form.get("account_id"), "account_id", minimum=1, maximum=2**31 - 1)
        plan_id = forms.parse_int(form.get("plan_id"), "plan_id", minimum=1, maximum=2**31 - 1)
        if account_id is None or await spaces.membership(session, account_id) is None:
            raise NotFound(fields={"account_id": _("Choose a person of the space.")})
        if plan_id is None:
            raise NotFound(fields={"plan_id": _("Choose a plan.")})
        plan = await catalogue.get_plan(session, plan_id)
        starts_on = forms.parse_date(form.get("starts_on"), "starts_on", default=subs.local_today(ctx.space))
        desk = forms.parse_int(form.get("fixed_resource_id"), "fixed_resource_id", minimum=1, maximum=2**31 - 1)
        async with session.begin_nested():
            sub = await subs.subscribe(session, ctx.space, account_id=account_id, plan=plan, starts_on=starts_on,
                                       actor_id=ctx.account.id, fixed_resource_id=desk)
    except FabriqueError as exc:
        return await _list(request, ctx, session, error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/subscriptions/{sub.id}", message=_("The plan is assigned."))


async def valid_subscription(subscription_id: IdPath, ctx: MembershipView, session: SessionDep) -> Subscription:
    return await subs.get(session, subscription_id)


ValidSubscription = Annotated[Subscription, Depends(valid_subscription)]


async def _detail(request: Request, ctx: SpaceContext, session, sub: Subscription, *, error=None, form=None,
                  preview=None) -> Response:
    plans = {p.id: p for p in await catalogue.list_plans(session, include_archived=True)}
    desk = await resources.get_resource(session, sub.fixed_resource_id) if sub.fixed_resource_id else None
    today = subs.local_today(ctx.space)
    return await _page(request, ctx, session, "membership/plans_subscription.html", {
        "sub": sub, "plan": plans.get(sub.plan_id), "plans": plans, "desk": desk,
        "person": (await _people(session)).get(sub.account_id, ""),
        "periods": await subs.periods_of(session, sub.id or 0), "pauses": await subs.pauses_of(session, sub.id or 0),
        "plan_choices": [("", "—")] + [(str(p.id), p.name) for p in plans.values()
                                       if p.archived_at is None and p.id != sub.plan_id],
        "preview": preview, "today": today}, error=error, form=form or {"on": today.isoformat()})


@router.get("/s/{slug}/subscriptions/{subscription_id}")
async def subscription_page(request: Request, sub: ValidSubscription, ctx: MembershipView,
                            session: SessionDep) -> Response:
    return await _detail(request, ctx, session, sub)


def _day(form: dict[str, str], name: str, default: date | None = None) -> date:
    return forms.parse_date(form.get(name), name, default=default)


@router.post("/s/{slug}/subscriptions/{subscription_id}/change")
async def change(request: Request, sub: ValidSubscription, ctx: MembershipManage, session: SessionDep) -> Response:
    """First the preview (nothing written), then — with ``confirm`` — the change itself."""
    form = await form_data(request)
    try:
        plan_id = forms.parse_int(form.get("plan_id"), "plan_id", minimum=1, maximum=2**31 - 1)
        if plan_id is None:
            raise NotFound(fields={"plan_id": _("Choose a plan.")})
        plan = await catalogue.get_plan(session, plan_id)
        on = _day(form, "on", subs.local_today(ctx.space))
        if not form.get("confirm"):
            preview = await subs.preview_change(session, ctx.space, sub, plan, on)
            return await _detail(request, ctx, session, sub, form=form, preview=preview)
        async with session.begin_nested():
            await subs.change_plan(session, ctx.space, sub, plan, on=on, actor_id=ctx.account.id)
    except FabriqueError as exc:
        return await _detail(request, ctx, session, sub, error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/subscriptions/{sub.id}", message=_("The plan is changed."))


@router.post("/s/{slug}/subscriptions/{subscription_id}/pause")
async def pause(request: Request, sub: ValidSubscription, ctx: MembershipManage, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        async with session.begin_nested():
            await subs.pause(session, ctx.space, sub, starts_on=_day(form, "starts_on"), ends_on=_day(form, "ends_on"),
                             reason=form.get("reason", ""), actor_id=ctx.account.id)
    except FabriqueError as exc:
        return await _detail(request, ctx, session, sub, error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/subscriptions/{sub.id}", message=_("The pause is recorded."))


@router.post("/s/{slug}/subscriptions/{subscription_id}/resume")
async def resume(request: Request, sub: ValidSubscription, ctx: MembershipManage, session: SessionDep) -> Response:
    try:
        async with session.begin_nested():
            await subs.resume(session, ctx.space, sub, on=subs.local_today(ctx.space), actor_id=ctx.account.id)
    except FabriqueError as exc:
        return await _detail(request, ctx, session, sub, error=exc)
    return redirect(f"/s/{ctx.space.slug}/subscriptions/{sub.id}", message=_("The subscription is resumed."))


@router.post("/s/{slug}/subscriptions/{subscription_id}/end")
async def end(request: Request, sub: ValidSubscription, ctx: MembershipManage, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        async with session.begin_nested():
            await subs.end(session, ctx.space, sub, on=_day(form, "ends_on", subs.local_today(ctx.space)),
                           actor_id=ctx.account.id, force=bool(form.get("force")), reason=form.get("reason", ""))
    except FabriqueError as exc:
        if "on" in exc.fields:
            exc.fields["ends_on"] = exc.fields.pop("on")
        return await _detail(request, ctx, session, sub, error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/subscriptions/{sub.id}", message=_("The end is recorded."))
