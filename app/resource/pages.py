"""Manager pages: resources (create, edit, archive, block) and the space's opening hours and closures."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response

from app.booking import hours
from app.booking.deps import ValidClosure
from app.core import clock, forms, money
from app.core.errors import FabriqueError, FieldErrors
from app.core.i18n import _, _l
from app.core.permissions import Perm, Role
from app.core.schemas import IdPath
from app.core.web import SessionDep, form_data, page_router, redirect, register_space_nav, render
from app.pricing import vat
from app.pricing.forms import vat_choices
from app.resource import service
from app.resource.models import KIND_LABELS, Resource, ResourceBlock
from app.space import service as spaces
from app.space.deps import ResourceManage, SpaceContext

router = page_router()

register_space_nav(40, Perm.resource_manage, _l("Resources"), "resources", group="manage")
register_space_nav(45, Perm.resource_manage, _l("Opening hours"), "opening-hours", group="manage")

WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"), _l("Sunday"))
UNIT_LABELS = {"hour": _l("By the hour"), "half_day": _l("By the half-day"), "day": _l("By the day")}


async def valid_resource(resource_id: IdPath, ctx: ResourceManage, session: SessionDep) -> Resource:
    return await service.get_resource(session, resource_id)


ValidResource = Annotated[Resource, Depends(valid_resource)]


async def valid_block(block_id: IdPath, resource: ValidResource, session: SessionDep) -> ResourceBlock:
    return await service.get_block(session, resource, block_id)


async def _page(request: Request, ctx: SpaceContext, session, template: str, context: dict, **kw) -> Response:
    request.state.my_spaces = await spaces.spaces_of(session, ctx.account.id)
    return render(request, template, {"ctx": ctx, "tz": ctx.space.timezone, **context}, **kw)


# -- resources ----------------------------------------------------------------------------------


@router.get("/s/{slug}/resources")
async def resources_page(request: Request, ctx: ResourceManage, session: SessionDep) -> Response:
    rows = await service.list_resources(session, include_archived=True)
    return await _page(request, ctx, session, "resource/list.html", {"resources": rows, "units": UNIT_LABELS})


def _values(form: dict[str, str]) -> dict:
    """Resource fields from the form (prices typed in euros, durations in minutes). Every field's
    error is reported at once: those of the numbers typed and those ``check_resource`` finds."""
    errors = FieldErrors()

    def number(name: str, **limits: Any) -> int | None:
        return errors.check(forms.parse_int, form.get(name), name, **limits)

    values = {
        "name": form.get("name", ""),
        "kind": form.get("kind", ""),
        "description": form.get("description", "").strip(),
        "capacity": number("capacity", default=1, minimum=1, maximum=500),
        "unit": form.get("unit", "hour"),
        "granularity_minutes": number("granularity_minutes", default=30),
        "min_minutes": number("min_minutes"),
        "max_minutes": number("max_minutes"),
        "buffer_minutes": number("buffer_minutes", default=0, maximum=1440),
        "horizon_days": number("horizon_days", maximum=3650),
        "cancel_deadline_hours": number("cancel_deadline_hours", default=0, maximum=24 * 90),
        "late_cancel": form.get("late_cancel", "refuse"),
        "allowed_roles": [r.value for r in Role if form.get(f"role_{r.value}")],
        "required_tags": form.get("required_tags", ""),
        "price_public_cents": errors.check(money.parse_cents, form.get("price_public"), "price_public"),
        "price_member_cents": errors.check(money.parse_cents, form.get("price_member"), "price_member"),
        "vat_rate_bp": errors.check(vat.parse_rate, form.get("vat_rate"), "vat_rate", optional=True),
        "position": number("position", default=0, maximum=10000),
    }
    if errors:
        text = ("name", "kind", "description", "unit", "late_cancel", "allowed_roles", "required_tags")
        errors.check(service.check_resource, {k: values[k] for k in text})
        errors.raise_if_any("invalid_resource")
    return values


def _form_of(resource: Resource) -> dict[str, str]:
    form = {k: "" if getattr(resource, k) is None else str(getattr(resource, k)) for k in service.EDITABLE}
    form["price_public"] = money.amount_input(resource.price_public_cents)
    form["price_member"] = money.amount_input(resource.price_member_cents)
    form["vat_rate"] = "" if resource.vat_rate_bp is None else vat.rate_label(resource.vat_rate_bp)
    for role in resource.role_list:
        form[f"role_{role}"] = "on"
    return form


def _form_context() -> dict:
    return {"vat_rates": vat_choices(),
            "kinds": [(k.value, str(v)) for k, v in KIND_LABELS.items()],
            "units": [(k, str(v)) for k, v in UNIT_LABELS.items()], "roles": list(Role)}


@router.get("/s/{slug}/resources/new")
async def new_resource_page(request: Request, ctx: ResourceManage, session: SessionDep) -> Response:
    return await _page(request, ctx, session, "resource/form.html", {"resource": None, **_form_context()},
                       form=_form_of(Resource(name="", kind="meeting_room")))


@router.post("/s/{slug}/resources/new")
async def create_resource(request: Request, ctx: ResourceManage, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        resource = await service.create_resource(session, ctx.space, ctx.account, **_values(form))
    except FabriqueError as exc:
        return await _page(request, ctx, session, "resource/form.html", {"resource": None, **_form_context()},
                           error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/resources", message=_("%(name)s is ready to be booked.", name=resource.name))


async def _edit(request: Request, ctx, session, resource: Resource, *, error=None, form=None) -> Response:
    blocks = await service.list_blocks(session, resource, since=clock.now())
    return await _page(request, ctx, session, "resource/form.html", {
        "resource": resource, "blocks": blocks, **_form_context()}, error=error, form=form or _form_of(resource))


@router.get("/s/{slug}/resources/{resource_id}")
async def edit_resource_page(request: Request, resource: ValidResource, ctx: ResourceManage,
                             session: SessionDep) -> Response:
    return await _edit(request, ctx, session, resource)


@router.post("/s/{slug}/resources/{resource_id}")
async def update_resource(request: Request, resource: ValidResource, ctx: ResourceManage,
                          session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        await service.update_resource(session, ctx.space, ctx.account, resource, **_values(form))
    except FabriqueError as exc:
        return await _edit(request, ctx, session, resource, error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/resources", message=_("Changes saved."))


@router.post("/s/{slug}/resources/{resource_id}/archive")
async def archive_resource(resource: ValidResource, ctx: ResourceManage, session: SessionDep) -> Response:
    await service.set_archived(session, ctx.space, ctx.account, resource, True)
    return redirect(f"/s/{ctx.space.slug}/resources",
                    message=_("%(name)s is archived: it can no longer be booked, its history is kept.",
                              name=resource.name))


@router.post("/s/{slug}/resources/{resource_id}/restore")
async def restore_resource(resource: ValidResource, ctx: ResourceManage, session: SessionDep) -> Response:
    await service.set_archived(session, ctx.space, ctx.account, resource, False)
    return redirect(f"/s/{ctx.space.slug}/resources", message=_("%(name)s can be booked again.", name=resource.name))


@router.post("/s/{slug}/resources/{resource_id}/blocks")
async def add_block(request: Request, resource: ValidResource, ctx: ResourceManage, session: SessionDep) -> Response:
    form = await form_data(request)
    tz = ctx.space.timezone
    try:
        start_day = forms.parse_date(form.get("block_start_date"), "block_start_date")
        end_day = forms.parse_date(form.get("block_end_date"), "block_end_date", default=start_day)
        start_time = forms.parse_optional_time(form.get("block_start_time"), "block_start_time") or time(0)
        end_time = forms.parse_optional_time(form.get("block_end_time"), "block_end_time")
        starts_at = forms.local_datetime(start_day, start_time, tz)
        if end_time is None:  # the whole of the last day
            ends_at = forms.local_datetime(end_day + timedelta(days=1), time(0), tz)
        else:
            ends_at = forms.local_datetime(end_day, end_time, tz)
        result = await service.add_block(session, ctx.space, ctx.account, resource, starts_at=starts_at,
                                         ends_at=ends_at, reason=form.get("block_reason", ""))
    except FabriqueError as exc:
        return await _edit(request, ctx, session, resource, error=exc, form={**_form_of(resource), **form})
    message = _("%(name)s is blocked for this period.", name=resource.name)
    if result.overlapping_booking_ids:
        message += " " + _("%(count)s booking(s) fall in it: move or cancel them from the calendar.",
                           count=len(result.overlapping_booking_ids))
    return redirect(f"/s/{ctx.space.slug}/resources/{resource.id}", message=message)


@router.post("/s/{slug}/resources/{resource_id}/blocks/{block_id}/delete")
async def remove_block(resource: ValidResource, block: Annotated[ResourceBlock, Depends(valid_block)],
                       ctx: ResourceManage, session: SessionDep) -> Response:
    await service.remove_block(session, ctx.space, ctx.account, block)
    return redirect(f"/s/{ctx.space.slug}/resources/{resource.id}", message=_("The block is removed."))


# -- opening hours and closures -----------------------------------------------------------------


async def _hours_page(request: Request, ctx, session, *, error=None, form=None) -> Response:
    cal = await hours.load_calendar(session, ctx.space)
    saved = {"half_day_boundary": cal.half_day_boundary.strftime("%H:%M")}
    for d in range(7):
        for i, (a, b) in enumerate(cal.opening.on(d)[:2]):
            saved[f"d{d}_{i}_opens"], saved[f"d{d}_{i}_closes"] = a.strftime("%H:%M"), b.strftime("%H:%M")
    form = saved | (form or {})  # what was typed (hours, or a closure) over what is saved
    closures = await hours.list_closures(session, since=clock.now().date())
    return await _page(request, ctx, session, "resource/hours.html", {
        "weekdays": [str(w) for w in WEEKDAYS], "closures": closures}, error=error, form=form)


@router.get("/s/{slug}/opening-hours")
async def hours_page(request: Request, ctx: ResourceManage, session: SessionDep) -> Response:
    return await _hours_page(request, ctx, session)


@router.post("/s/{slug}/opening-hours")
async def save_hours(request: Request, ctx: ResourceManage, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        days: dict[int, list[tuple[time, time]]] = {}
        for d in range(7):
            for i in range(2):
                opens, closes = form.get(f"d{d}_{i}_opens", "").strip(), form.get(f"d{d}_{i}_closes", "").strip()
                if not opens and not closes:
                    continue
                days.setdefault(d, []).append((forms.parse_time(opens, f"d{d}_{i}_opens"),
                                               forms.parse_time(closes, f"d{d}_{i}_closes")))
        boundary = forms.parse_optional_time(form.get("half_day_boundary"), "half_day_boundary")
        await hours.save_hours(session, ctx.space, ctx.account, days=days, half_day_boundary=boundary)
    except FabriqueError as exc:
        return await _hours_page(request, ctx, session, error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/opening-hours", message=_("Opening hours saved."))


@router.post("/s/{slug}/closures")
async def add_closure(request: Request, ctx: ResourceManage, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        start = forms.parse_date(form.get("start_date"), "start_date")
        end = forms.parse_date(form.get("end_date"), "end_date", default=start)
        await hours.add_closure(session, ctx.space, ctx.account, start_date=start, end_date=end,
                                label=form.get("label", ""))
    except FabriqueError as exc:
        return await _hours_page(request, ctx, session, error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/opening-hours", message=_("Closure added."))


@router.post("/s/{slug}/closures/{closure_id}/delete")
async def remove_closure(closure: ValidClosure, ctx: ResourceManage, session: SessionDep) -> Response:
    await hours.remove_closure(session, ctx.space, ctx.account, closure)
    return redirect(f"/s/{ctx.space.slug}/opening-hours", message=_("Closure removed."))
