"""Dependencies of the booking routes: who may act, and the objects named in the path.

Object lookups happen here, in the space's scope, so another space's id is a 404 before any body
is validated. A member reaches only their own bookings; staff reach every booking of the space.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.account.models import Account
from app.booking import hours, repository
from app.booking.errors import NotForOthers
from app.booking.models import Booking, Closure
from app.core.errors import NotFound
from app.core.permissions import Perm
from app.core.schemas import IdPath
from app.core.web import SessionDep
from app.space import service as spaces
from app.space.deps import SpaceContext, SpaceView, space_access
from app.space.models import SpaceMember

BookingCreate = Annotated[SpaceContext, Depends(space_access(Perm.booking_create))]
BookingManage = Annotated[SpaceContext, Depends(space_access(Perm.booking_manage))]
MembershipManage = Annotated[SpaceContext, Depends(space_access(Perm.membership_manage))]  # what a booking uses


async def valid_booking(booking_id: IdPath, ctx: SpaceView, session: SessionDep) -> Booking:
    booking = await repository.get_booking(session, booking_id)
    if not ctx.is_staff and booking.account_id != ctx.account.id:
        raise NotFound()
    return booking


async def valid_closure(closure_id: IdPath, ctx: SpaceView, session: SessionDep) -> Closure:
    return await hours.get_closure(session, closure_id)


ValidBooking = Annotated[Booking, Depends(valid_booking)]
ValidClosure = Annotated[Closure, Depends(valid_closure)]


async def beneficiary(session, ctx: SpaceContext, member_id: int | None) -> tuple[SpaceMember, Account]:
    """The member a booking is for: oneself, or (staff only) the member named by ``member_id``."""
    if member_id is None or member_id == ctx.member.id:
        return ctx.member, ctx.account
    if not ctx.is_staff:
        raise NotForOthers()
    member = await spaces.get_member(session, member_id)
    account = await session.get(Account, member.account_id)
    if account is None:  # pragma: no cover - the foreign key forbids it
        raise NotFound()
    return member, account
