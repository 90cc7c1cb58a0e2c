"""Visitors' pages: a space's public agenda, a public event, registering with name and e-mail,
and the registration page that the e-mailed (signed) link opens."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from app.account.api import client_ip
from app.account.deps import OptionalAccount
from app.core import i18n, security
from app.core.errors import FabriqueError, FieldErrors, NotFound, SpaceSuspended
from app.core.i18n import _
from app.core.markdown import render_markdown
from app.core.tenancy import set_scope
from app.core.text import column_limit, require_text
from app.core.web import LANG_COOKIE, SessionDep, form_data, form_email, redirect, render
from app.event import notify, service
from app.event import registration as registrations
from app.event.calendar import ics_response
from app.event.errors import EventNotFound, RegistrationNotFound
from app.event.models import Event, Registration, RegistrationStatus
from app.event.web import remember_spaces, router
from app.pricing import service as pricing
from app.space import service as spaces
from app.space.models import Space


async def public_space(request: Request, session: SessionDep, slug: str) -> Space:
    space = await spaces.get_space(session, slug)
    set_scope(session, space.id)
    if space.suspended_at is not None:
        raise SpaceSuspended()
    if not request.cookies.get(LANG_COOKIE):
        i18n.set_locale(space.locale)  # a visitor who has not chosen reads the space's language
    return space


PublicSpace = Annotated[Space, Depends(public_space)]


async def public_event(event_id: int, space: PublicSpace, session: SessionDep) -> Event:
    """A public, published (or cancelled) event of this space; anything else is a 404."""
    event = await service.get_event(session, event_id)
    if not service.can_see(event, account_id=None, member=False, staff=False):
        raise EventNotFound()
    return event


PublicEvent = Annotated[Event, Depends(public_event)]


@router.get("/p/{slug}/events")
async def agenda(request: Request, space: PublicSpace, session: SessionDep, account: OptionalAccount) -> Response:
    await remember_spaces(request, session, account)
    events = await service.list_events(session, member=False, staff=False)
    counts = await registrations.counts_for(session, events)
    return render(request, "event/public_list.html", {"space": space, "events": events, "counts": counts})


async def _public_detail(request: Request, space: Space, event: Event, session, account, **extra) -> Response:
    await remember_spaces(request, session, account)
    is_member = account is not None and await spaces.membership(session, account.id) is not None
    counts = (await registrations.counts_for(session, [event]))[event.id]
    error = extra.pop("error", None)
    form = extra.pop("form", None)
    if form is None and account is not None:
        form = {"name": account.name, "email": account.email}
    return render(request, "event/public_detail.html", {
        "space": space, "event": event, "counts": counts, "is_member": is_member,
        "description_html": render_markdown(event.description), **extra,
    }, error=error, form=form)


@router.get("/p/{slug}/events/{event_id:int}")
async def public_event_page(
    request: Request, space: PublicSpace, event: PublicEvent, session: SessionDep, account: OptionalAccount
) -> Response:
    return await _public_detail(request, space, event, session, account)


def _visitor_fields(form: dict[str, str]) -> tuple[str, str]:
    errors = FieldErrors()
    # It becomes an e-mail header's display name: a line break is refused, never flattened.
    name = " ".join((errors.check(require_text, form.get("name", ""), "name",
                                  max_length=column_limit(Registration, "name")) or "").split())
    email = errors.check(form_email, form.get("email"))
    errors.raise_if_any()
    return name, email


@router.post("/p/{slug}/events/{event_id:int}/register")
async def visitor_register(
    request: Request, space: PublicSpace, event: PublicEvent, session: SessionDep, account: OptionalAccount
) -> Response:
    form = await form_data(request)
    try:
        name, email = _visitor_fields(form)
        await registrations.register_visitor(session, space, event, name=name, email=email,
                                             locale=i18n.get_locale(), ip=client_ip(request))
    except FabriqueError as exc:
        return await _public_detail(request, space, event, session, account, error=exc, form=form)
    return redirect(f"/p/{space.slug}/events/{event.id}", message=_(
        "Almost done: open the link we sent to %(email)s to confirm your registration.") % {"email": email})


@router.get("/p/{slug}/events/{event_id:int}/event.ics")
async def public_calendar(space: PublicSpace, event: PublicEvent) -> Response:
    return ics_response(space, event, public=True)


# -- the e-mailed link ----------------------------------------------------------------------------------

async def _from_token(request: Request, session, token: str) -> tuple[Space, Event, Registration]:
    """The signed link is the capability: it names the registration and its space."""
    try:
        reg_id, space_id = notify.read_registration_token(token)
    except security.LinkInvalid as exc:
        raise NotFound() from exc
    space = await session.get(Space, space_id)
    if space is None:
        raise NotFound()
    set_scope(session, space.id)
    if space.suspended_at is not None:
        raise SpaceSuspended()
    reg = await registrations.get_registration(session, reg_id)
    if reg.locale and not request.cookies.get(LANG_COOKIE):
        i18n.set_locale(reg.locale)
    if reg.account_id is not None:
        raise RegistrationNotFound()  # members manage theirs from the member pages
    return space, await service.get_event(session, reg.event_id), reg


async def _registration_page(request: Request, session, token: str, *, error=None) -> Response:
    space, event, reg = await _from_token(request, session, token)
    return render(request, "event/registration.html", {
        "space": space, "event": event, "reg": reg, "token": token,
        "position": await registrations.waitlist_position(session, reg),
        "charges": await pricing.charges_for(session, pricing.Source.registration, reg.id),
    }, error=error)


@router.get("/r/{token}")
async def registration_page(request: Request, token: str, session: SessionDep) -> Response:
    return await _registration_page(request, session, token)


@router.post("/r/{token}/confirm")
async def confirm(request: Request, token: str, session: SessionDep) -> Response:
    space, _event, reg = await _from_token(request, session, token)
    try:
        await registrations.confirm_visitor(session, space, reg)
    except FabriqueError as exc:
        return await _registration_page(request, session, token, error=exc)
    return redirect(f"/r/{token}", message=_("Thank you, your registration is recorded."))


@router.get("/r/{token}/cancel")
async def cancel_confirm(request: Request, token: str, session: SessionDep) -> Response:
    _space, event, reg = await _from_token(request, session, token)
    return render(request, "confirm/page.html", {"kind": "cancel_registration", "args": {
        "action": f"/r/{token}/cancel", "back": f"/r/{token}", "event": event,
        "waitlisted": reg.status == RegistrationStatus.waitlisted}})


@router.post("/r/{token}/cancel")
async def cancel(request: Request, token: str, session: SessionDep) -> Response:
    space, _event, reg = await _from_token(request, session, token)
    try:
        await registrations.cancel_registration(session, space, reg, actor_id=None)
    except FabriqueError as exc:
        return await _registration_page(request, session, token, error=exc)
    return redirect(f"/r/{token}", message=_("Your registration is cancelled."))
