"""What the booking domain does when an account is deleted, and what it adds to the account export."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.account.privacy import Deletion, Stage, export_section, iso, on_account_deletion
from app.booking.models import Booking, BookingSource, BookingStatus
from app.booking.service import cancel_booking
from app.core.tenancy import all_spaces, set_scope
from app.resource.models import Resource
from app.space.models import Space


@on_account_deletion(Stage.cancel)
async def cancel_coming_bookings(session: AsyncSession, account: Account, deletion: Deletion) -> None:
    """The desk is free again: each coming booking is cancelled through the booking service."""
    with all_spaces(session):
        rows = (await session.exec(select(Booking).where(
            Booking.account_id == account.id, Booking.status == BookingStatus.confirmed,
            col(Booking.source) != BookingSource.event, col(Booking.ends_at) > deletion.now,
        ).order_by(col(Booking.space_id), col(Booking.starts_at)))).all()
    for booking in rows:
        set_scope(session, booking.space_id)
        deletion.spaces.add(booking.space_id)
        space = await session.get(Space, booking.space_id)
        resource = await session.get(Resource, booking.resource_id)
        # As staff would: no cancellation deadline holds a deleted person to a desk.
        await cancel_booking(session, space=space, resource=resource, booking=booking, actor=account,
                             as_staff=True)


@export_section("bookings", tables={"booking"})
async def export_bookings(session: AsyncSession, account: Account) -> list[dict[str, Any]]:
    rows = (await session.exec(
        select(Booking, Resource).join(Resource, col(Resource.id) == Booking.resource_id)
        .where(Booking.account_id == account.id).order_by(col(Booking.starts_at))
    )).all()
    return [{
        "space_id": b.space_id, "resource": r.name, "starts_at": iso(b.starts_at),
        "ends_at": iso(b.ends_at), "status": b.status, "title": b.title, "note": b.note,
        "price_cents": b.price_cents, "price_kind": b.price_kind, "currency": b.currency,
        "booked_at": iso(b.created_at), "cancelled_at": iso(b.cancelled_at),
        "cancel_reason": b.cancel_reason, "late_cancel_charged": b.late_cancel_charged,
    } for b, r in rows]
