"""A person's own data: download all of it (JSON), or delete the account.

Deletion runs in one transaction (the request's): a refusal or a failure writes nothing.
1. It is refused while the account is the last owner of a space; the owner rows of those spaces
   are locked (``SELECT ... FOR UPDATE``), so two owners deleting their accounts at once cannot
   both pass the check (the same lock guards demoting or removing an owner, ``app.space.service``).
2. The person's coming bookings and event registrations are cancelled through the booking and
   event services, as if they had cancelled them: the desk or seat is freed, the waitlist promoted,
   the cancellation logged and told as those services do.
3. Personal data is erased: name, e-mail address, password, profiles, memberships, sessions, API
   tokens, calendar feeds, pending invitations, login attempts. Records (``app.core.records``:
   bookings, registrations, the audit log, later charges and invoices) stay, pointing to the
   account row, which stays as an anonymised tombstone ("Deleted account", an unusable address,
   no password, suspended); the address is taken out of the audit entries' data.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from fastapi.responses import Response
from sqlalchemy import String, Table, cast
from sqlmodel import SQLModel, col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.errors import ConfirmDeletion, LastOwnerOfSpace
from app.account.models import Account, ApiToken, AuthSession, LoginAttempt
from app.audit.models import AuditEntry
from app.audit.service import log_action
from app.booking.models import Booking, BookingSource, BookingStatus, IdempotencyKey
from app.booking.service import cancel_booking
from app.calendar.models import CalendarFeed
from app.core import clock, security
from app.core.tenancy import all_spaces, set_scope
from app.core.web import dumps
from app.directory.models import Profile
from app.event.models import ACTIVE_STATUSES, Event, Registration
from app.event.registration import cancel_registration
from app.resource.models import Resource
from app.space.models import Invitation, Role, Space, SpaceMember

DELETED_NAME = "Deleted account"
EXPORT_FORMAT = "fabrique-account-export/2"
# Tables exported field by field below; any other table with an ``account_id`` column is exported
# generically, minus the columns that hold secrets.
_HANDLED = {"account", "space_member", "profile", "registration", "api_token", "auth_session", "login_attempt",
            "event", "audit_entry", "invitation", "booking", "calendar_feed", "idempotency_key"}
_SECRET_SUFFIXES = ("_hash", "secret", "token", "nonce", "password")


def _value(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else v


async def export_response(session: AsyncSession, account: Account) -> Response:
    """``export_account`` as a JSON download (the API and the "my data" link)."""
    return Response(dumps(await export_account(session, account)), media_type="application/json",
                    headers={"Content-Disposition": 'attachment; filename="fabrique-my-data.json"'})


async def export_account(session: AsyncSession, account: Account) -> dict[str, Any]:
    """Everything Fabrique holds about the account, across spaces, as JSON-ready data (no secrets:
    token hashes, feed nonces and passwords are never in it)."""
    aid = account.id
    with all_spaces(session):
        memberships = (await session.exec(select(SpaceMember).where(SpaceMember.account_id == aid))).all()
        profiles = (await session.exec(select(Profile).where(Profile.account_id == aid))).all()
        regs = (await session.exec(
            select(Registration, Event).join(Event, col(Event.id) == Registration.event_id)
            .where(Registration.account_id == aid).order_by(col(Registration.created_at))
        )).all()
        bookings = (await session.exec(
            select(Booking, Resource).join(Resource, col(Resource.id) == Booking.resource_id)
            .where(Booking.account_id == aid).order_by(col(Booking.starts_at))
        )).all()
        feeds = (await session.exec(select(CalendarFeed).where(CalendarFeed.account_id == aid))).all()
        proposals = (await session.exec(select(Event).where(Event.proposed_by_id == aid))).all()
        tokens = (await session.exec(select(ApiToken).where(ApiToken.account_id == aid))).all()
        sessions = (await session.exec(select(AuthSession).where(AuthSession.account_id == aid))).all()
        space_ids = {r.space_id for r in [*memberships, *profiles, *feeds, *proposals]} \
            | {r.space_id for r, _e in regs} | {b.space_id for b, _r in bookings}
        spaces = {s.id: s for s in (await session.exec(select(Space).where(col(Space.id).in_(space_ids)))).all()}
        other = await _other_tables(session, aid)

    def space_ref(space_id: int) -> dict[str, Any]:
        s = spaces.get(space_id)
        return {"slug": s.slug, "name": s.name} if s else {"id": space_id}

    return {
        "format": EXPORT_FORMAT,
        "exported_at": clock.now().isoformat(),
        "account": {
            "id": account.id, "name": account.name, "email": account.email, "locale": account.locale,
            "created_at": _value(account.created_at), "email_verified_at": _value(account.email_verified_at),
            "password_changed_at": _value(account.password_changed_at),
        },
        "memberships": [{"space": space_ref(m.space_id), "role": m.role, "tags": sorted(m.tag_set),
                         "joined_at": _value(m.created_at)} for m in memberships],
        "profiles": [{"space": space_ref(p.space_id), "display_name": p.display_name, "headline": p.headline,
                      "bio": p.bio, "skills": p.skill_list, "website": p.website, "links": p.links,
                      "visible": p.visible, "updated_at": _value(p.updated_at)} for p in profiles],
        "bookings": [{
            "space": space_ref(b.space_id), "resource": r.name, "starts_at": _value(b.starts_at),
            "ends_at": _value(b.ends_at), "status": b.status, "title": b.title, "note": b.note,
            "price_cents": b.price_cents, "price_kind": b.price_kind, "currency": b.currency,
            "booked_at": _value(b.created_at), "cancelled_at": _value(b.cancelled_at),
            "cancel_reason": b.cancel_reason, "late_cancel_charged": b.late_cancel_charged,
        } for b, r in bookings],
        "event_registrations": [{
            "space": space_ref(r.space_id), "event": e.title, "starts_at": _value(e.starts_at), "status": r.status,
            "price_cents": r.price_cents, "payment_status": r.payment_status, "attendance": r.attendance,
            "registered_at": _value(r.created_at), "cancelled_at": _value(r.cancelled_at),
        } for r, e in regs],
        "event_proposals": [{"space": space_ref(e.space_id), "title": e.title, "status": e.status,
                             "starts_at": _value(e.starts_at), "decline_message": e.decline_message}
                            for e in proposals],
        "calendar_feeds": [{"space": space_ref(f.space_id), "kind": f.kind, "created_at": _value(f.created_at),
                            "revoked_at": _value(f.revoked_at)} for f in feeds],
        "api_tokens": [{"name": t.name, "prefix": t.prefix, "created_at": _value(t.created_at),
                        "last_used_at": _value(t.last_used_at), "expires_at": _value(t.expires_at),
                        "revoked_at": _value(t.revoked_at)} for t in tokens],
        "sessions": [{"created_at": _value(s.created_at), "last_seen_at": _value(s.last_seen_at),
                      "user_agent": s.user_agent} for s in sessions],
        "other": other,
    }


async def _other_tables(session: AsyncSession, account_id: int) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for table in SQLModel.metadata.sorted_tables:
        if table.name in _HANDLED or "account_id" not in table.c:
            continue
        # Every column named: ``exec(select(table))`` gave the first column only (each row an int:
        # the 500 this export used to be for every account with a booking or a calendar feed).
        rows = (await session.exec(
            select(*table.c).where(table.c.account_id == account_id).execution_options(all_spaces=True))).all()
        if rows:
            out[table.name] = [_row(table, r) for r in rows]
    return out


def _row(table: Table, row: Any) -> dict[str, Any]:
    return {c.name: _value(v) for c, v in zip(table.c, row, strict=False)
            if not c.name.endswith(_SECRET_SUFFIXES)}


async def _refuse_if_last_owner(session: AsyncSession, memberships: list[SpaceMember]) -> None:
    """The database decides: the owner rows of each space the account owns are locked until the
    transaction ends, so a concurrent deletion, demotion or removal of another owner waits, then
    sees this one's outcome."""
    for m in sorted(memberships, key=lambda m: m.space_id):
        if m.role != Role.owner:
            continue
        owners = (await session.exec(
            select(SpaceMember.id).where(SpaceMember.space_id == m.space_id, SpaceMember.role == Role.owner)
            .order_by(col(SpaceMember.id)).with_for_update()
        )).all()
        if len(owners) <= 1:
            space = await session.get(Space, m.space_id)
            raise LastOwnerOfSpace(params={"space": space.name if space else m.space_id})


async def _cancel_coming_bookings(session: AsyncSession, account: Account, now: datetime) -> None:
    with all_spaces(session):
        rows = (await session.exec(select(Booking).where(
            Booking.account_id == account.id, Booking.status == BookingStatus.confirmed,
            col(Booking.source) != BookingSource.event, col(Booking.ends_at) > now,
        ).order_by(col(Booking.space_id), col(Booking.starts_at)))).all()
    for booking in rows:
        set_scope(session, booking.space_id)
        space = await session.get(Space, booking.space_id)
        resource = await session.get(Resource, booking.resource_id)
        # As staff would: no cancellation deadline holds a deleted person to a desk.
        await cancel_booking(session, space=space, resource=resource, booking=booking, actor=account,
                             as_staff=True)


async def _cancel_coming_registrations(session: AsyncSession, account: Account, now: datetime) -> None:
    with all_spaces(session):
        rows = (await session.exec(select(Registration).join(Event, col(Event.id) == Registration.event_id).where(
            Registration.account_id == account.id, col(Registration.status).in_(ACTIVE_STATUSES),
            col(Event.starts_at) > now,
        ).order_by(col(Registration.space_id), col(Registration.id)))).all()
    for reg in rows:
        set_scope(session, reg.space_id)
        space = await session.get(Space, reg.space_id)
        await cancel_registration(session, space, reg, actor_id=account.id)


async def _scrub_audit_data(session: AsyncSession, email: str) -> None:
    """The audit entries stay, without the address (e.g. ``member.invited``'s ``email``)."""
    entries = (await session.exec(
        select(AuditEntry).where(cast(AuditEntry.data, String).contains(email, autoescape=True)))).all()
    for entry in entries:
        entry.data = {k: (DELETED_NAME if v == email else v) for k, v in entry.data.items()}
        session.add(entry)


async def delete_account(session: AsyncSession, account: Account, *, password: str | None) -> None:
    """Cancel what the account holds ahead, then erase its personal data (see the module docstring).
    Refused while it is the last owner of a space."""
    if account.password_hash is not None and not security.verify_password(password or "", account.password_hash):
        raise ConfirmDeletion()
    now = clock.now()
    aid = account.id
    with all_spaces(session):
        memberships = list((await session.exec(select(SpaceMember).where(SpaceMember.account_id == aid))).all())
        await _refuse_if_last_owner(session, memberships)
    await _cancel_coming_bookings(session, account, now)
    await _cancel_coming_registrations(session, account, now)
    set_scope(session, None)
    email = account.email
    with all_spaces(session):
        # Visitor fields of the kept registrations (members' come from their account).
        await session.exec(update(Registration).where(col(Registration.account_id) == aid).values(
            name=None, email=None, locale=None))
        await session.exec(delete(Profile).where(col(Profile.account_id) == aid))
        await session.exec(delete(SpaceMember).where(col(SpaceMember.account_id) == aid))
        await session.exec(delete(CalendarFeed).where(col(CalendarFeed.account_id) == aid))
        await session.exec(delete(IdempotencyKey).where(col(IdempotencyKey.account_id) == aid))
        await session.exec(delete(Invitation).where(col(Invitation.email) == email,
                                                    col(Invitation.accepted_at).is_(None)))
        await session.exec(delete(AuthSession).where(col(AuthSession.account_id) == aid))
        await session.exec(delete(ApiToken).where(col(ApiToken.account_id) == aid))
        await session.exec(delete(LoginAttempt).where(col(LoginAttempt.email) == email))
        await _scrub_audit_data(session, email)
        for m in memberships:
            log_action(session, "account.deleted", space_id=m.space_id, actor_id=aid, obj=account)
        account.name = DELETED_NAME
        account.email = f"deleted-{aid}-{secrets.token_hex(6)}@deleted.invalid"
        account.password_hash = None
        account.locale = None
        account.email_verified_at = None
        account.password_changed_at = None
        account.is_superuser = False
        account.suspended_at = now
        session.add(account)
        log_action(session, "account.deleted", actor_id=aid, obj=account)
        await session.flush()
