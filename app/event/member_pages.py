"""Members' event pages: the agenda, an event, registering and cancelling, proposing an event."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from app.core.errors import FabriqueError
from app.core.i18n import _
from app.core.markdown import render_markdown
from app.core.permissions import Perm
from app.core.web import SessionDep, form_data, redirect, render
from app.event import registration as registrations
from app.event import rooms, service
from app.event.calendar import ics_response
from app.event.deps import EventProposeCtx, SpaceMemberCtx, VisibleEvent
from app.event.inputs import event_input_from_form
from app.event.models import Event, RegistrationStatus
from app.event.web import confirm_page, form_context, remember_spaces, router
from app.pricing import service as pricing
from app.space.deps import SpaceContext

EVENTS_PAGE = 50  # upcoming events listed per page


@router.get("/s/{slug}/events")
async def events_page(request: Request, ctx: SpaceMemberCtx, session: SessionDep) -> Response:
    await remember_spaces(request, session, ctx.account)
    staff = ctx.can(Perm.event_manage)
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1
    # A page of EVENTS_PAGE, one more read to know whether later ones follow (no count).
    events = await service.list_events(session, member=True, staff=staff, limit=EVENTS_PAGE + 1,
                                       offset=(page - 1) * EVENTS_PAGE)
    later = len(events) > EVENTS_PAGE
    events = events[:EVENTS_PAGE]
    counts = await registrations.counts_for(session, events)
    mine = {r.event_id: r for r, _e in await registrations.registrations_of(session, ctx.account.id)}
    waiting = len(await service.list_proposals(session)) if staff else 0
    return render(request, "event/list.html", {
        "ctx": ctx, "events": events, "counts": counts, "mine": mine, "staff": staff, "waiting": waiting,
        "page": page, "later": later,
    })


async def detail(
    request: Request, ctx: SpaceContext, session, event: Event, *, error: FabriqueError | None = None
) -> Response:
    await remember_spaces(request, session, ctx.account)
    mine = await registrations.my_registration(session, event.id, ctx.account.id)
    if mine is not None and mine.status == RegistrationStatus.cancelled:
        mine = None
    counts = (await registrations.counts_for(session, [event]))[event.id]
    staff = ctx.can(Perm.event_manage)
    problem = await rooms.room_conflict(session, event) if staff and event.status in ("draft", "proposed") else None
    return render(request, "event/detail.html", {
        "room_problem": problem.translated_message() if problem else None,
        "ctx": ctx, "event": event, "mine": mine, "counts": counts, "staff": ctx.can(Perm.event_manage),
        "position": await registrations.waitlist_position(session, mine) if mine else None,
        "charges": await pricing.charges_for(session, pricing.Source.registration, mine.id) if mine else [],
        "description_html": render_markdown(event.description),
        "public_url": f"/p/{ctx.space.slug}/events/{event.id}" if event.is_public else None,
    }, error=error)


@router.get("/s/{slug}/events/{event_id:int}")
async def event_page(request: Request, event: VisibleEvent, ctx: SpaceMemberCtx, session: SessionDep) -> Response:
    return await detail(request, ctx, session, event)


@router.post("/s/{slug}/events/{event_id:int}/register")
async def register(request: Request, event: VisibleEvent, ctx: SpaceMemberCtx, session: SessionDep) -> Response:
    try:
        reg = await registrations.register_member(session, ctx.space, event, ctx.account)
    except FabriqueError as exc:
        return await detail(request, ctx, session, event, error=exc)
    if reg.status == RegistrationStatus.confirmed:
        message = _("You are registered. See you there!")
    else:
        message = _("The event is full: you are number %(position)s on the waitlist.") % {
            "position": await registrations.waitlist_position(session, reg)}
    return redirect(f"/s/{ctx.space.slug}/events/{event.id}", message=message)


@router.get("/s/{slug}/events/{event_id:int}/unregister")
async def unregister_confirm(request: Request, event: VisibleEvent, ctx: SpaceMemberCtx, session: SessionDep) -> Response:
    reg = await registrations.my_registration(session, event.id, ctx.account.id)
    base = f"/s/{ctx.space.slug}/events/{event.id}"
    if reg is None:
        return redirect(base)
    return await confirm_page(request, ctx, session, "cancel_registration", {
        "action": f"{base}/unregister", "back": base, "event": event,
        "waitlisted": reg.status == RegistrationStatus.waitlisted})


@router.post("/s/{slug}/events/{event_id:int}/unregister")
async def unregister(request: Request, event: VisibleEvent, ctx: SpaceMemberCtx, session: SessionDep) -> Response:
    reg = await registrations.my_registration(session, event.id, ctx.account.id)
    if reg is not None:
        try:
            await registrations.cancel_registration(session, ctx.space, reg, actor_id=ctx.account.id)
        except FabriqueError as exc:
            return await detail(request, ctx, session, event, error=exc)
    return redirect(f"/s/{ctx.space.slug}/events/{event.id}", message=_("Your registration is cancelled."))


@router.get("/s/{slug}/events/{event_id:int}/event.ics")
async def event_calendar(event: VisibleEvent, ctx: SpaceMemberCtx) -> Response:
    return ics_response(ctx.space, event, public=False)


# -- proposals --------------------------------------------------------------------------------------

@router.get("/s/{slug}/events/propose")
async def propose_form(request: Request, ctx: EventProposeCtx, session: SessionDep) -> Response:
    await remember_spaces(request, session, ctx.account)
    return render(request, "event/form.html", await form_context(session, ctx, "propose"),
                  form={"visibility": "public"})


@router.post("/s/{slug}/events/propose")
async def propose(request: Request, ctx: EventProposeCtx, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        data = event_input_from_form(form, ctx.space.timezone)
        await service.propose_event(session, ctx.space, ctx.account, data)
    except FabriqueError as exc:
        await remember_spaces(request, session, ctx.account)
        return render(request, "event/form.html", await form_context(session, ctx, "propose"), error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/events/proposals",
                    message=_("Thank you! The animators will answer your proposal soon."))


async def proposals(
    request: Request, ctx: SpaceContext, session, *, error: FabriqueError | None = None,
    form: dict | None = None, failed_id: int | None = None,
) -> Response:
    """The proposals page: those waiting for an animator's answer (animators), and one's own.
    ``failed_id``: the proposal whose decline form is shown again with ``error``."""
    await remember_spaces(request, session, ctx.account)
    staff = ctx.can(Perm.event_manage)
    waiting = await service.list_proposals(session) if staff else []
    own = await service.list_proposals(session, proposed_by=ctx.account.id)
    return render(request, "event/proposals.html", {
        "ctx": ctx, "staff": staff, "waiting": waiting, "own": own, "failed_id": failed_id}, error=error, form=form)


@router.get("/s/{slug}/events/proposals")
async def proposals_page(request: Request, ctx: EventProposeCtx, session: SessionDep) -> Response:
    return await proposals(request, ctx, session)
