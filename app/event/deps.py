"""Dependencies that resolve an event or a registration of the request's space, or 404.

Object lookups happen here, before the body is read, so another space's id is a 404 whatever the
payload (the cross-tenant matrix sends empty bodies).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.core.permissions import Perm
from app.core.web import SessionDep
from app.event import registration as registrations
from app.event import service
from app.event.errors import EventNotFound, RegistrationNotFound
from app.event.models import Event, Registration
from app.space.deps import SpaceContext, space_access

SpaceMemberCtx = Annotated[SpaceContext, Depends(space_access(Perm.space_view))]
EventManageCtx = Annotated[SpaceContext, Depends(space_access(Perm.event_manage))]
EventProposeCtx = Annotated[SpaceContext, Depends(space_access(Perm.event_propose))]


async def visible_event(event_id: int, ctx: SpaceMemberCtx, session: SessionDep) -> Event:
    event = await service.get_event(session, event_id)
    if not service.can_see(event, account_id=ctx.account.id, member=True, staff=ctx.can(Perm.event_manage)):
        raise EventNotFound()
    return event


async def managed_event(event_id: int, ctx: EventManageCtx, session: SessionDep) -> Event:
    return await service.get_event(session, event_id)


async def managed_registration(
    registration_id: int, event: Annotated[Event, Depends(managed_event)], session: SessionDep
) -> Registration:
    reg = await registrations.get_registration(session, registration_id)
    if reg.event_id != event.id:
        raise RegistrationNotFound()
    return reg


async def own_registration(registration_id: int, ctx: SpaceMemberCtx, session: SessionDep) -> Registration:
    """A registration the caller may act on: their own, or any one for animators."""
    reg = await registrations.get_registration(session, registration_id)
    if reg.account_id != ctx.account.id and not ctx.can(Perm.event_manage):
        raise RegistrationNotFound()
    return reg


VisibleEvent = Annotated[Event, Depends(visible_event)]
ManagedEvent = Annotated[Event, Depends(managed_event)]
ManagedRegistration = Annotated[Registration, Depends(managed_registration)]
OwnRegistration = Annotated[Registration, Depends(own_registration)]
