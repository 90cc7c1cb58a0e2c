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

The account domain does not know the others' tables: each domain says, in its ``hooks.py``, what it
checks, cancels and erases when an account is deleted (``on_account_deletion``) and what it adds to
the export (``export_section``). No domain is imported from here, so none of them can form an import
cycle with ``app.account`` (which every domain imports).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any

from fastapi.responses import Response
from sqlalchemy import String, Table, cast
from sqlmodel import SQLModel, col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account import throttle
from app.account.errors import ConfirmDeletion
from app.account.models import Account, ApiToken, AuthSession
from app.audit.models import AuditEntry
from app.audit.service import log_action
from app.core import clock, security
from app.core.idempotency import IdempotencyKey
from app.core.tenancy import all_spaces, set_scope
from app.core.web import dumps

DELETED_NAME = "Deleted account"
EXPORT_FORMAT = "fabrique-account-export/2"
_SECRET_SUFFIXES = ("_hash", "secret", "token", "nonce", "password")


class Stage(IntEnum):
    """When a domain's deletion step runs, in this order, all in the request's transaction."""

    check = 1    # refuse (raise a FabriqueError) before anything changes: the last owner of a space
    cancel = 2   # give back what the person holds ahead: bookings, registrations (seats, waitlists)
    erase = 3    # erase the domain's personal data; records stay, pointing to the tombstone


@dataclass
class Deletion:
    """What the steps of one deletion share: its time, and the spaces whose logs record it."""

    now: datetime
    spaces: set[int]


DeletionStep = Callable[[AsyncSession, Account, Deletion], Awaitable[None]]
# rows of one export section; each row may carry ``space_id``, replaced by the space's slug and name
ExportRows = Callable[[AsyncSession, Account], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class _Section:
    name: str
    rows: ExportRows
    tables: frozenset[str]


_STEPS: list[tuple[Stage, str, DeletionStep]] = []
_SECTIONS: list[_Section] = []
# Tables this module exports or erases itself; the domains' sections name theirs.
_OWN_TABLES = {"account", "api_token", "auth_session", "audit_entry", "idempotency_key"}


def on_account_deletion(stage: Stage) -> Callable[[DeletionStep], DeletionStep]:
    """Register ``fn(session, account, deletion)`` to run at ``stage`` of every account deletion.
    A step that finds the person in a space adds it to ``deletion.spaces`` (the deletion is logged
    there)."""

    def register(fn: DeletionStep) -> DeletionStep:
        key = f"{fn.__module__}.{fn.__qualname__}"
        if all(k != key for _s, k, _f in _STEPS):
            _STEPS.append((stage, key, fn))
        return fn

    return register


def export_section(name: str, *, tables: set[str]) -> Callable[[ExportRows], ExportRows]:
    """Register the export's section ``name``, made from ``tables`` (left out of the generic part)."""

    def register(fn: ExportRows) -> ExportRows:
        if all(s.name != name for s in _SECTIONS):
            _SECTIONS.append(_Section(name, fn, frozenset(tables)))
        return fn

    return register


def iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else v


async def export_response(session: AsyncSession, account: Account) -> Response:
    """``export_account`` as a JSON download (the API and the "my data" link)."""
    return Response(dumps(await export_account(session, account)), media_type="application/json",
                    headers={"Content-Disposition": 'attachment; filename="fabrique-my-data.json"'})


async def export_account(session: AsyncSession, account: Account) -> dict[str, Any]:
    """Everything Fabrique holds about the account, across spaces, as JSON-ready data (no secrets:
    token hashes, feed nonces and passwords are never in it)."""
    aid = account.id
    sections: dict[str, list[dict[str, Any]]] = {}
    with all_spaces(session):
        for section in sorted(_SECTIONS, key=lambda s: s.name):
            sections[section.name] = await section.rows(session, account)
        tokens = (await session.exec(select(ApiToken).where(ApiToken.account_id == aid))).all()
        sessions = (await session.exec(select(AuthSession).where(AuthSession.account_id == aid))).all()
        other = await _other_tables(session, aid)
        spaces = await _space_names(
            session, {r["space_id"] for rows in sections.values() for r in rows if "space_id" in r})
    for rows in sections.values():
        for row in rows:
            if "space_id" in row:
                sid = row.pop("space_id")
                row["space"] = spaces.get(sid, {"id": sid})
    return {
        "format": EXPORT_FORMAT,
        "exported_at": clock.now().isoformat(),
        "account": {
            "id": account.id, "name": account.name, "email": account.email, "locale": account.locale,
            "created_at": iso(account.created_at), "email_verified_at": iso(account.email_verified_at),
            "password_changed_at": iso(account.password_changed_at),
        },
        **sections,
        "api_tokens": [{"name": t.name, "prefix": t.prefix, "created_at": iso(t.created_at),
                        "last_used_at": iso(t.last_used_at), "expires_at": iso(t.expires_at),
                        "revoked_at": iso(t.revoked_at)} for t in tokens],
        "sessions": [{"created_at": iso(s.created_at), "last_seen_at": iso(s.last_seen_at),
                      "user_agent": s.user_agent} for s in sessions],
        "other": other,
    }


async def _space_names(session: AsyncSession, space_ids: set[int]) -> dict[int, dict[str, Any]]:
    if not space_ids:
        return {}
    # The space table through the metadata, not the space domain's model (see the module docstring);
    # ``space`` is a platform table, not a tenant one.
    space = SQLModel.metadata.tables["space"]
    rows = (await session.exec(select(space.c.id, space.c.slug, space.c.name)
                               .where(space.c.id.in_(space_ids)))).all()
    return {r[0]: {"slug": r[1], "name": r[2]} for r in rows}


async def _other_tables(session: AsyncSession, account_id: int) -> dict[str, list[dict[str, Any]]]:
    handled = _OWN_TABLES.union(*(s.tables for s in _SECTIONS))
    out: dict[str, list[dict[str, Any]]] = {}
    for table in SQLModel.metadata.sorted_tables:
        if table.name in handled or "account_id" not in table.c:
            continue
        # Every column named: ``exec(select(table))`` gave the first column only (each row an int:
        # the 500 this export used to be for every account with a booking or a calendar feed).
        rows = (await session.exec(
            select(*table.c).where(table.c.account_id == account_id).execution_options(all_spaces=True))).all()
        if rows:
            out[table.name] = [_row(table, r) for r in rows]
    return out


def _row(table: Table, row: Any) -> dict[str, Any]:
    return {c.name: iso(v) for c, v in zip(table.c, row, strict=False)
            if not c.name.endswith(_SECRET_SUFFIXES)}


async def _scrub_audit_data(session: AsyncSession, email: str) -> None:
    """The audit entries stay, without the address (e.g. ``member.invited``'s ``email``)."""
    entries = (await session.exec(
        select(AuditEntry).where(cast(AuditEntry.data, String).contains(email, autoescape=True)))).all()
    for entry in entries:
        entry.data = {k: (DELETED_NAME if v == email else v) for k, v in entry.data.items()}
        session.add(entry)


async def delete_account(session: AsyncSession, account: Account, *, password: str | None) -> None:
    """Check, cancel what the account holds ahead, then erase its personal data (see the module
    docstring). Refused while it is the last owner of a space."""
    if account.password_hash is not None and not await security.verify_password_async(password or "", account.password_hash):
        raise ConfirmDeletion()
    deletion = Deletion(now=clock.now(), spaces=set())
    aid = account.id
    for _stage, _key, step in sorted(_STEPS, key=lambda s: (s[0], s[1])):
        await step(session, account, deletion)
        set_scope(session, None)
    email = account.email
    with all_spaces(session):
        await session.exec(delete(IdempotencyKey).where(col(IdempotencyKey.account_id) == aid))
        await session.exec(delete(AuthSession).where(col(AuthSession.account_id) == aid))
        await session.exec(delete(ApiToken).where(col(ApiToken.account_id) == aid))
        await throttle.forget(session, email)
        await _scrub_audit_data(session, email)
        for space_id in sorted(deletion.spaces):
            log_action(session, "account.deleted", space_id=space_id, actor_id=aid, obj=account)
        account.name = DELETED_NAME
        account.email = f"deleted-{aid}-{secrets.token_hex(6)}@deleted.invalid"
        account.password_hash = None
        account.locale = None
        account.email_verified_at = None
        account.password_changed_at = None
        account.is_superuser = False
        account.suspended_at = deletion.now
        session.add(account)
        log_action(session, "account.deleted", actor_id=aid, obj=account)
        await session.flush()
