"""What the event domain does when an account is deleted, and what it adds to the account export."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.account.privacy import Deletion, Stage, export_section, iso, on_account_deletion
from app.core.tenancy import all_spaces, set_scope
from app.event.models import ACTIVE_STATUSES, Event, Registration
from app.event.registration import cancel_registration
from app.space.models import Space


@on_account_deletion(Stage.cancel)
async def cancel_coming_registrations(session: AsyncSession, account: Account, deletion: Deletion) -> None:
    """Seats are given back and the waitlist promoted, through the registration service."""
    with all_spaces(session):
        rows = (await session.exec(select(Registration).join(Event, col(Event.id) == Registration.event_id).where(
            Registration.account_id == account.id, col(Registration.status).in_(ACTIVE_STATUSES),
            col(Event.starts_at) > deletion.now,
        ).order_by(col(Registration.space_id), col(Registration.id)))).all()
    for reg in rows:
        set_scope(session, reg.space_id)
        deletion.spaces.add(reg.space_id)
        space = await session.get(Space, reg.space_id)
        await cancel_registration(session, space, reg, actor_id=account.id)


@on_account_deletion(Stage.erase)
async def erase_visitor_fields(session: AsyncSession, account: Account, deletion: Deletion) -> None:
    """The registrations stay (records); a member's name and address come from the account."""
    with all_spaces(session):
        await session.exec(update(Registration).where(col(Registration.account_id) == account.id).values(
            name=None, email=None, locale=None))


@export_section("event_registrations", tables={"registration"})
async def export_registrations(session: AsyncSession, account: Account) -> list[dict[str, Any]]:
    rows = (await session.exec(
        select(Registration, Event).join(Event, col(Event.id) == Registration.event_id)
        .where(Registration.account_id == account.id).order_by(col(Registration.created_at))
    )).all()
    return [{
        "space_id": r.space_id, "event": e.title, "starts_at": iso(e.starts_at), "status": r.status,
        "price_cents": r.price_cents, "payment_status": r.payment_status, "attendance": r.attendance,
        "registered_at": iso(r.created_at), "cancelled_at": iso(r.cancelled_at),
    } for r, e in rows]


@export_section("event_proposals", tables={"event"})
async def export_proposals(session: AsyncSession, account: Account) -> list[dict[str, Any]]:
    rows = (await session.exec(select(Event).where(Event.proposed_by_id == account.id)
                               .order_by(col(Event.id)))).all()
    return [{"space_id": e.space_id, "title": e.title, "status": e.status, "starts_at": iso(e.starts_at),
             "decline_message": e.decline_message} for e in rows]
