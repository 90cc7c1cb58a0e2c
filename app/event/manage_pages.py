"""Animators' pages: create, edit, publish and cancel events; answer proposals; attendance."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from app.account.models import Account
from app.core.errors import FabriqueError, ValidationFailed
from app.core.i18n import N_, _
from app.core.web import SessionDep, form_data, redirect, render
from app.event import registration as registrations
from app.event import service
from app.event.deps import EventManageCtx, ManagedEvent, ManagedRegistration
from app.event.export import attendance_response
from app.event.inputs import event_input_from_form
from app.event.member_pages import detail, proposals
from app.event.models import Attendance, EventStatus
from app.event.web import confirm_page as _confirm_page
from app.event.web import form_context, form_from_event, remember_spaces, router


def _people_to_tell(counts: registrations.EventCounts) -> int:
    return counts.registered + counts.waitlisted + counts.pending


def _repeat(form: dict[str, str]) -> int | None:
    value = (form.get("repeat_weeks") or "").strip()
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 52:
        raise ValidationFailed(fields={"repeat_weeks": N_("Between 1 and 52 weeks.")})
    return int(value)


@router.get("/s/{slug}/events/new")
async def new_event_form(request: Request, ctx: EventManageCtx, session: SessionDep) -> Response:
    await remember_spaces(request, session, ctx.account)
    return render(request, "event/form.html", await form_context(session, ctx, "new"), form={"visibility": "public"})


@router.post("/s/{slug}/events/new")
async def create_event(request: Request, ctx: EventManageCtx, session: SessionDep) -> Response:
    form = await form_data(request)
    publish = form.get("action") == "publish"
    try:
        data = event_input_from_form(form, ctx.space.timezone)
        events = await service.create_event(session, ctx.space, ctx.account, data, publish=publish,
                                            repeat_weeks=_repeat(form))
    except FabriqueError as exc:
        await remember_spaces(request, session, ctx.account)
        return render(request, "event/form.html", await form_context(session, ctx, "new"), error=exc, form=form)
    if len(events) > 1:
        message = _("%(count)s events created.") % {"count": len(events)}
    else:
        message = _("The event is published.") if publish else _("The event is saved as a draft.")
    return redirect(f"/s/{ctx.space.slug}/events/{events[0].id}", message=message)


@router.get("/s/{slug}/events/{event_id:int}/edit")
async def edit_form(request: Request, event: ManagedEvent, ctx: EventManageCtx, session: SessionDep) -> Response:
    await remember_spaces(request, session, ctx.account)
    return render(request, "event/form.html", await form_context(session, ctx, "edit", event),
                  form=form_from_event(event, ctx.space.timezone))


@router.post("/s/{slug}/events/{event_id:int}/edit")
async def save_event(request: Request, event: ManagedEvent, ctx: EventManageCtx, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        data = event_input_from_form(form, ctx.space.timezone)
        await service.update_event(session, ctx.space, ctx.account, event, data.as_dict())
    except FabriqueError as exc:
        await remember_spaces(request, session, ctx.account)
        return render(request, "event/form.html", await form_context(session, ctx, "edit", event),
                      error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/events/{event.id}", message=_("The event is saved."))


@router.post("/s/{slug}/events/{event_id:int}/publish")
async def publish(request: Request, event: ManagedEvent, ctx: EventManageCtx, session: SessionDep) -> Response:
    try:
        await service.publish_event(session, ctx.space, ctx.account, event)
    except FabriqueError as exc:
        return await detail(request, ctx, session, event, error=exc)
    return redirect(f"/s/{ctx.space.slug}/events/{event.id}", message=_("The event is published."))


@router.get("/s/{slug}/events/{event_id:int}/cancel")
async def cancel_confirm(request: Request, event: ManagedEvent, ctx: EventManageCtx, session: SessionDep) -> Response:
    """Ask first: cancelling e-mails everyone registered (the button links here, or opens a dialog)."""
    if event.status not in (EventStatus.draft, EventStatus.published):
        return redirect(f"/s/{ctx.space.slug}/events/{event.id}")
    return await _confirm_page(request, ctx, session, "cancel_event", {
        "slug": ctx.space.slug, "event": event, "told": _people_to_tell(
            (await registrations.counts_for(session, [event]))[event.id])})


@router.post("/s/{slug}/events/{event_id:int}/cancel")
async def cancel(request: Request, event: ManagedEvent, ctx: EventManageCtx, session: SessionDep) -> Response:
    try:
        await service.cancel_event(session, ctx.space, ctx.account, event)
    except FabriqueError as exc:
        return await detail(request, ctx, session, event, error=exc)
    return redirect(f"/s/{ctx.space.slug}/events/{event.id}",
                    message=_("The event is cancelled; the people registered have been told."))


@router.post("/s/{slug}/events/{event_id:int}/approve")
async def approve(request: Request, event: ManagedEvent, ctx: EventManageCtx, session: SessionDep) -> Response:
    form = await form_data(request)
    publish = form.get("action") == "publish"
    try:
        await service.approve_proposal(session, ctx.space, ctx.account, event, publish=publish)
    except FabriqueError as exc:
        return await detail(request, ctx, session, event, error=exc)
    return redirect(f"/s/{ctx.space.slug}/events/{event.id}",
                    message=_("The proposal is accepted and published.") if publish
                    else _("The proposal is accepted: it is now a draft you can edit."))


@router.post("/s/{slug}/events/{event_id:int}/decline")
async def decline(request: Request, event: ManagedEvent, ctx: EventManageCtx, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        await service.decline_proposal(session, ctx.space, ctx.account, event, form.get("message", ""))
    except FabriqueError as exc:
        return await proposals(request, ctx, session, error=exc, form=form, failed_id=event.id)
    return redirect(f"/s/{ctx.space.slug}/events/proposals", message=_("The member has been told."))


# -- on the day ---------------------------------------------------------------------------------------

async def _attendance(request: Request, ctx, session, event, *, error: FabriqueError | None = None) -> Response:
    await remember_spaces(request, session, ctx.account)
    rows = await registrations.list_registrations(session, event)
    counts = (await registrations.counts_for(session, [event]))[event.id]
    return render(request, "event/attendance.html", {
        "ctx": ctx, "event": event, "rows": rows, "counts": counts,
        "attendance_open": registrations.attendance_open(event, ctx.space)}, error=error)


@router.get("/s/{slug}/events/{event_id:int}/attendance")
async def attendance_page(request: Request, event: ManagedEvent, ctx: EventManageCtx, session: SessionDep) -> Response:
    return await _attendance(request, ctx, session, event)


@router.post("/s/{slug}/events/{event_id:int}/registrations/{registration_id:int}/attendance")
async def set_attendance(
    request: Request, event: ManagedEvent, reg: ManagedRegistration, ctx: EventManageCtx, session: SessionDep
) -> Response:
    form = await form_data(request)
    value = form.get("attendance") or None
    try:
        if value not in (None, Attendance.present, Attendance.absent):
            raise ValidationFailed()
        await registrations.set_attendance(session, ctx.space, event, reg, value, actor_id=ctx.account.id)
    except FabriqueError as exc:
        return await _attendance(request, ctx, session, event, error=exc)
    return redirect(f"/s/{ctx.space.slug}/events/{event.id}/attendance#r{reg.id}")


@router.post("/s/{slug}/events/{event_id:int}/registrations/{registration_id:int}/payment")
async def set_payment(
    request: Request, event: ManagedEvent, reg: ManagedRegistration, ctx: EventManageCtx, session: SessionDep
) -> Response:
    form = await form_data(request)
    try:
        await registrations.mark_paid(session, ctx.space, event, reg, paid=form.get("paid") == "1",
                                      actor_id=ctx.account.id)
    except FabriqueError as exc:
        return await _attendance(request, ctx, session, event, error=exc)
    return redirect(f"/s/{ctx.space.slug}/events/{event.id}/attendance#r{reg.id}")


@router.get("/s/{slug}/events/{event_id:int}/registrations/{registration_id:int}/cancel")
async def cancel_registration_confirm(
    request: Request, event: ManagedEvent, reg: ManagedRegistration, ctx: EventManageCtx, session: SessionDep
) -> Response:
    base = f"/s/{ctx.space.slug}/events/{event.id}"
    return await _confirm_page(request, ctx, session, "cancel_registration", {
        "action": f"{base}/registrations/{reg.id}/cancel", "back": f"{base}/attendance", "event": event,
        "name": (await session.get(Account, reg.account_id)).name if reg.account_id else (reg.name or reg.email)})


@router.post("/s/{slug}/events/{event_id:int}/registrations/{registration_id:int}/cancel")
async def cancel_registration(
    request: Request, event: ManagedEvent, reg: ManagedRegistration, ctx: EventManageCtx, session: SessionDep
) -> Response:
    try:
        await registrations.cancel_registration(session, ctx.space, reg, actor_id=ctx.account.id, by_staff=True)
    except FabriqueError as exc:
        return await _attendance(request, ctx, session, event, error=exc)
    return redirect(f"/s/{ctx.space.slug}/events/{event.id}/attendance",
                    message=_("The registration is cancelled."))


@router.get("/s/{slug}/events/{event_id:int}/attendance.csv")
async def attendance_export(event: ManagedEvent, ctx: EventManageCtx, session: SessionDep) -> Response:
    rows = await registrations.list_registrations(session, event)
    return attendance_response(event, rows, ctx.space.currency)
