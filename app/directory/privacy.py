"""A person's own data: download all of it (JSON), or delete the account.

Deletion erases personal data in one transaction and keeps what others legitimately rely on,
anonymised: the account row stays as a tombstone ("Deleted account", an unusable address, no
password) so that audit entries, past registrations and, later, invoices keep pointing at
something. Invoices will be kept with the legal minimum once billing exists (see docs/events.md).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from fastapi.responses import Response
from sqlalchemy import Table
from sqlmodel import SQLModel, col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account, ApiToken, AuthSession, LoginAttempt
from app.audit.service import log_action
from app.core import clock, security
from app.core.permissions import Role
from app.core.tenancy import all_spaces, set_scope
from app.core.web import dumps
from app.directory.errors import ConfirmDeletion, LastOwnerOfSpace
from app.directory.models import Profile
from app.event.models import Event, Registration, RegistrationStatus
from app.event.registration import cancel_registration
from app.space.models import Invitation, Space, SpaceMember

DELETED_NAME = "Deleted account"
# Tables exported field by field below; any other table with an ``account_id`` column (bookings,
# subscriptions... as they appear) is exported generically, minus secrets.
_HANDLED = {"account", "space_member", "profile", "registration", "api_token", "auth_session", "login_attempt",
            "event", "audit_entry", "invitation"}


def _value(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else v


async def export_response(session: AsyncSession, account: Account) -> Response:
    """``export_account`` as a JSON download (the API and the "my data" link)."""
    return Response(dumps(await export_account(session, account)), media_type="application/json",
                    headers={"Content-Disposition": 'attachment; filename="fabrique-my-data.json"'})


async def export_account(session: AsyncSession, account: Account) -> dict[str, Any]:
    """Everything Fabrique holds about the account, across spaces, as JSON-ready data."""
    with all_spaces(session):
        spaces = {s.id: s for s in (await session.exec(select(Space))).all()}

        def space_ref(space_id: int) -> dict[str, Any]:
            s = spaces.get(space_id)
            return {"slug": s.slug, "name": s.name} if s else {"id": space_id}

        memberships = (await session.exec(select(SpaceMember).where(SpaceMember.account_id == account.id))).all()
        profiles = (await session.exec(select(Profile).where(Profile.account_id == account.id))).all()
        regs = (await session.exec(
            select(Registration, Event).join(Event, col(Event.id) == Registration.event_id)
            .where(Registration.account_id == account.id).order_by(col(Registration.created_at))
        )).all()
        proposals = (await session.exec(select(Event).where(Event.proposed_by_id == account.id))).all()
        tokens = (await session.exec(select(ApiToken).where(ApiToken.account_id == account.id))).all()
        sessions = (await session.exec(select(AuthSession).where(AuthSession.account_id == account.id))).all()
        other = await _other_tables(session, account.id)
    return {
        "format": "fabrique-account-export/1",
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
        "event_registrations": [{
            "space": space_ref(r.space_id), "event": e.title, "starts_at": _value(e.starts_at), "status": r.status,
            "price_cents": r.price_cents, "payment_status": r.payment_status, "attendance": r.attendance,
            "registered_at": _value(r.created_at), "cancelled_at": _value(r.cancelled_at),
        } for r, e in regs],
        "event_proposals": [{"space": space_ref(e.space_id), "title": e.title, "status": e.status,
                             "starts_at": _value(e.starts_at), "decline_message": e.decline_message}
                            for e in proposals],
        "api_tokens": [{"name": t.name, "prefix": t.prefix, "created_at": _value(t.created_at),
                        "last_used_at": _value(t.last_used_at), "revoked_at": _value(t.revoked_at)} for t in tokens],
        "sessions": [{"created_at": _value(s.created_at), "last_seen_at": _value(s.last_seen_at),
                      "user_agent": s.user_agent} for s in sessions],
        "other": other,
    }


async def _other_tables(session: AsyncSession, account_id: int) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for table in SQLModel.metadata.sorted_tables:
        if table.name in _HANDLED or "account_id" not in table.c:
            continue
        rows = (await session.exec(select(table).where(table.c.account_id == account_id))).all()  # type: ignore[call-overload]
        if rows:
            out[table.name] = [_row(table, r) for r in rows]
    return out


def _row(table: Table, row: Any) -> dict[str, Any]:
    return {c.name: _value(v) for c, v in zip(table.c, row, strict=False)
            if not c.name.endswith(("_hash", "secret", "token"))}


async def delete_account(session: AsyncSession, account: Account, *, password: str | None) -> None:
    """Erase the account's personal data. Refused while it is the last owner of a space."""
    if account.password_hash is not None and not security.verify_password(password or "", account.password_hash):
        raise ConfirmDeletion()
    now = clock.now()
    with all_spaces(session):
        memberships = (await session.exec(select(SpaceMember).where(SpaceMember.account_id == account.id))).all()
        for m in memberships:
            if m.role == Role.owner:
                owners = (await session.exec(select(SpaceMember.id).where(
                    SpaceMember.space_id == m.space_id, SpaceMember.role == Role.owner))).all()
                if len(owners) <= 1:
                    space = await session.get(Space, m.space_id)
                    raise LastOwnerOfSpace(params={"space": space.name if space else m.space_id})
        active = (await session.exec(select(Registration).join(Event, col(Event.id) == Registration.event_id).where(
            Registration.account_id == account.id,
            col(Registration.status).in_([RegistrationStatus.confirmed, RegistrationStatus.waitlisted]),
            col(Event.starts_at) > now,
        ))).all()
    # Seats held for coming events go to the people waiting, as for any cancellation.
    for reg in active:
        set_scope(session, reg.space_id)
        space = await session.get(Space, reg.space_id)
        await cancel_registration(session, space, reg, actor_id=account.id)
    set_scope(session, None)
    with all_spaces(session):
        await session.exec(update(Registration).where(col(Registration.account_id) == account.id).values(
            account_id=None, name=DELETED_NAME, email=None, locale=None))
        await session.exec(delete(Profile).where(col(Profile.account_id) == account.id))
        await session.exec(delete(SpaceMember).where(col(SpaceMember.account_id) == account.id))
        await session.exec(delete(Invitation).where(col(Invitation.email) == account.email,
                                                    col(Invitation.accepted_at).is_(None)))
        await session.exec(delete(AuthSession).where(col(AuthSession.account_id) == account.id))
        await session.exec(update(ApiToken).where(col(ApiToken.account_id) == account.id,
                                                  col(ApiToken.revoked_at).is_(None)).values(revoked_at=now))
        await session.exec(delete(LoginAttempt).where(col(LoginAttempt.email) == account.email))
        for m in memberships:
            log_action(session, "account.deleted", space_id=m.space_id, actor_id=account.id, obj=account)
        account.name = DELETED_NAME
        account.email = f"deleted-{account.id}-{secrets.token_hex(6)}@deleted.invalid"
        account.password_hash = None
        account.locale = None
        account.email_verified_at = None
        account.is_superuser = False
        account.suspended_at = now
        session.add(account)
        log_action(session, "account.deleted", actor_id=account.id, obj=account)
        await session.flush()
