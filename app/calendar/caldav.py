"""CalDAV push: each booking of a resource written to a shared calendar server, one object each.

Writing an object is two WebDAV verbs (RFC 4791, 5.3.2): ``PUT <calendar>/<uid>.ics`` to create or
replace, ``DELETE`` to remove. They are sent with httpx directly: the ``caldav`` client library
would bring ``niquests``/``urllib3-future``, which replaces ``urllib3`` for every other library in
the process. Like imports, a push talks to the server with no transaction open and records the
outcome in a short one afterwards.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.audit.readable import audit_fields
from app.audit.service import audit_labels, log_action
from app.booking.models import Booking, BookingSource, BookingStatus
from app.calendar.feeds import booking_item
from app.calendar.fetch import CalendarURLError, normalise_calendar_url
from app.calendar.models import CaldavObject, CaldavTarget
from app.core import clock, db, i18n, ics, jobs, outbound
from app.core.crypto import decrypt_secret, encrypt_secret
from app.core.errors import ValidationFailed
from app.core.i18n import N_, _, _l
from app.core.tenancy import require_scope
from app.resource.models import Resource
from app.space.models import Space

# What the audit page calls the actions logged here.
audit_labels({
    "calendar.caldav_saved": _l("Writing bookings to a CalDAV calendar set up"),
    "calendar.caldav_removed": _l("Writing bookings to CalDAV stopped"),
})
audit_fields({"enabled": _l("On"), "show_names": _l("Names shown")})

log = logging.getLogger("fabrique.calendar")

TIMEOUT = 15.0

ERROR_MESSAGES = {
    "unreachable": N_("The CalDAV server could not be reached. Check the address."),
    "timeout": N_("The CalDAV server did not answer in time."),
    "auth": N_("The CalDAV server refused the user name or password."),
    "not_found": N_("There is no calendar at this address on the CalDAV server."),
    "password": N_("The saved password can no longer be read: enter it again."),
    "forbidden_address": N_("This address leads to an internal network, which Fabrique does not reach."),
}
HTTP_ERROR_MESSAGE = N_("The CalDAV server answered with an error (HTTP %(status)s).")


def error_message(target: CaldavTarget) -> str | None:
    code = target.last_error
    if not code:
        return None
    if code.startswith("http:"):
        return _(HTTP_ERROR_MESSAGE, status=code.removeprefix("http:"))
    return _(ERROR_MESSAGES.get(code, ERROR_MESSAGES["unreachable"]))


# -- the password at rest -----------------------------------------------------------------------
# Encrypted with app.core.crypto under its own purpose (the key used since the first release).
PASSWORD_PURPOSE = "caldav-password"


# -- settings -----------------------------------------------------------------------------------


async def get_target(session: AsyncSession, resource_id: int) -> CaldavTarget | None:
    require_scope(session)
    return (await session.exec(select(CaldavTarget).where(CaldavTarget.resource_id == resource_id))).first()


async def targets_by_resource(session: AsyncSession) -> dict[int, CaldavTarget]:
    """Every CalDAV target of the space, by resource id (one query; at most one per resource)."""
    require_scope(session)
    return {t.resource_id: t for t in (await session.exec(select(CaldavTarget))).all()}


async def save_target(
    session: AsyncSession, space: Space, actor: Account, resource: Resource, *,
    url: str, username: str, password: str, show_names: bool, enabled: bool,
) -> CaldavTarget:
    """Create or change the CalDAV calendar of ``resource``; an empty password keeps the saved one.

    Saving (re)writes every booking to come, so a new calendar starts complete.
    """
    try:
        normalised = normalise_calendar_url(url or "")
    except CalendarURLError as exc:
        raise ValidationFailed(fields={"caldav_url": N_("Enter the calendar's address, starting with https://.")},
                               code="invalid_caldav_url") from exc
    if not normalised.endswith("/"):
        normalised += "/"
    try:
        await outbound.check_url(normalised)
    except outbound.OutboundRefused as exc:
        raise ValidationFailed(fields={"caldav_url": ERROR_MESSAGES["forbidden_address"]},
                               code="forbidden_caldav_url") from exc
    found = await get_target(session, resource.id)
    # Two first saves at once: one row, the second saves over the first.
    target: CaldavTarget = found if found is not None else await db.insert_or_existing(
        session, CaldavTarget(resource_id=resource.id, url=normalised[:2000], created_at=clock.now()),
        lambda: get_target(session, resource.id))
    target.url = normalised[:2000]
    target.username = (username or "").strip()[:200]
    if password:
        target.password_encrypted = encrypt_secret(PASSWORD_PURPOSE, password)
    target.show_names, target.enabled = show_names, enabled
    target.last_error = None
    target.updated_at = clock.now()
    session.add(target)
    await session.flush()
    # Neither the address nor the credentials go to the audit log.
    log_action(session, "calendar.caldav_saved", space_id=space.id, actor_id=actor.id, obj=target,
               resource_id=resource.id, enabled=enabled, show_names=show_names)
    if enabled:
        jobs.enqueue(session, "calendar.caldav_sync_resource", space.id, resource.id)
    return target


async def remove_target(session: AsyncSession, space: Space, actor: Account, target: CaldavTarget) -> None:
    """Stop pushing. What was written stays in the remote calendar (it may be shared and edited)."""
    await session.delete(target)
    await session.flush()
    log_action(session, "calendar.caldav_removed", space_id=space.id, actor_id=actor.id, obj=target,
               resource_id=target.resource_id)


def enqueue_push(session: Any, space_id: int, booking_id: int) -> None:
    jobs.enqueue(session, "calendar.caldav_push", space_id, booking_id)


# -- pushing ------------------------------------------------------------------------------------


@dataclass
class _Write:
    target_id: int
    url: str
    auth: tuple[str, str] | None
    body: bytes | None  # None: delete
    href: str
    sequence: int = 0


def object_href(target: CaldavTarget, uid: str) -> str:
    return target.url + quote(uid, safe="@.-_") + ".ics"


def _auth(target: CaldavTarget) -> tuple[str, str] | None | bool:
    password = decrypt_secret(PASSWORD_PURPOSE, target.password_encrypted)
    if password is None:
        return False
    return (target.username, password) if target.username else None


async def _send(client: httpx.AsyncClient, write: _Write) -> tuple[str | None, str | None]:
    """Send one PUT or DELETE; returns (etag, error code)."""
    if write.body is None:
        request = client.build_request("DELETE", write.href)
    else:
        request = client.build_request("PUT", write.href, content=write.body,
                                       headers={"Content-Type": "text/calendar; charset=utf-8"})
    try:
        # TIMEOUT bounds the whole request, not each read; only the status and headers are used,
        # so the body is never read (a server cannot make us download anything).
        async with asyncio.timeout(TIMEOUT):
            r = await client.send(request, auth=write.auth or httpx.USE_CLIENT_DEFAULT, stream=True)
            await r.aclose()
    except outbound.OutboundRefused:
        return None, "forbidden_address"
    except (TimeoutError, httpx.TimeoutException):
        return None, "timeout"
    except httpx.HTTPError:
        return None, "unreachable"
    if write.body is None and r.status_code in (200, 204, 404, 410):
        return None, None
    if write.body is not None and r.status_code in (200, 201, 204):
        return r.headers.get("ETag"), None
    if r.status_code in (401, 403):
        return None, "auth"
    if r.status_code in (404, 409):  # 409: the parent collection does not exist
        return None, "not_found"
    return None, f"http:{r.status_code}"


async def push_booking(space_id: int, booking_id: int, *, client: httpx.AsyncClient | None = None) -> int:
    """Bring every CalDAV copy of one booking in line with it. Returns how many writes were sent."""
    writes: list[_Write] = []
    async with db.transaction(write=False, space_id=space_id) as session:
        booking = (await session.exec(select(Booking).where(Booking.id == booking_id))).first()
        space = await session.get(Space, space_id)
        if booking is None or space is None:
            return 0
        placed = (await session.exec(select(CaldavObject, CaldavTarget).join(
            CaldavTarget, col(CaldavTarget.id) == CaldavObject.target_id).where(CaldavObject.booking_id == booking_id)
        )).all()
        target = await get_target(session, booking.resource_id)
        wanted = target if target is not None and target.enabled and booking.status == BookingStatus.confirmed \
            else None
        for obj, where in placed:
            if wanted is None or where.id != wanted.id:
                auth = _auth(where)
                writes.append(_Write(where.id, where.url, auth or None, None, obj.href))
        if wanted is not None:
            auth = _auth(wanted)
            if auth is False:
                await _record(space_id, {wanted.id: "password"}, [], booking_id)
                return 0
            resource = (await session.exec(select(Resource).where(Resource.id == booking.resource_id))).one()
            body = await _object_body(session, space, booking, resource, show_names=wanted.show_names)
            uid = ics.make_uid("booking", booking.id, space.slug)
            writes.append(_Write(wanted.id, wanted.url, auth, body, object_href(wanted, uid),
                                 booking.sequence))
    if not writes:
        return 0
    owned = client is None
    client = client or outbound.guarded_client(timeout=TIMEOUT, headers={"User-Agent": "Fabrique-caldav/1.0"})
    errors: dict[int, str] = {}
    done: list[tuple[_Write, str | None]] = []
    try:
        for write in writes:
            etag, error = await _send(client, write)
            if error:
                errors[write.target_id] = error
            else:
                done.append((write, etag))
    finally:
        if owned:
            await client.aclose()
    await _record(space_id, errors, done, booking_id)
    return len(writes)


async def _object_body(session: AsyncSession, space: Space, booking: Booking, resource: Resource, *,
                       show_names: bool) -> bytes:
    with i18n.use_locale(space.locale):
        if booking.source == BookingSource.event:
            who = booking.title or _("Event")
        elif show_names and booking.account_id is not None:
            account = await session.get(Account, booking.account_id)
            who = account.name if account is not None else _("Booked")
        else:
            who = _("Booked")
        item = booking_item(space, booking, resource, summary=f"{who} · {resource.name}")
        if not show_names:
            item = ics.anonymise(item, f"{who} · {resource.name}")
    return ics.build_object(item, tz=space.timezone)


async def _record(space_id: int, errors: dict[int, str], done: list[tuple[_Write, str | None]],
                  booking_id: int) -> None:
    now = clock.now()
    async with db.transaction(space_id=space_id) as session:
        for write, etag in done:
            obj = (await session.exec(select(CaldavObject).where(
                CaldavObject.target_id == write.target_id, CaldavObject.booking_id == booking_id))).first()
            if write.body is None:
                if obj is not None:
                    await session.delete(obj)
                continue
            if obj is None:
                obj = CaldavObject(target_id=write.target_id, booking_id=booking_id, href=write.href)
            obj.href, obj.etag, obj.sequence, obj.pushed_at = write.href, etag, write.sequence, now
            session.add(obj)
        ids = {w.target_id for w, _etag in done} | set(errors)
        for target in (await session.exec(select(CaldavTarget).where(col(CaldavTarget.id).in_(ids)))).all():
            if target.id in errors:
                target.last_error, target.last_error_at = errors[target.id], now
                log.warning("caldav push booking=%s target=%s error=%s", booking_id, target.id, errors[target.id])
            else:
                target.last_error, target.last_success_at = None, now
            session.add(target)


async def bookings_to_sync(session: AsyncSession, resource_id: int, now: datetime) -> list[int]:
    """Bookings to come on the resource, and every booking already written for it (to fix or drop)."""
    upcoming = (await session.exec(select(Booking.id).where(
        Booking.resource_id == resource_id, Booking.status == BookingStatus.confirmed, col(Booking.ends_at) > now,
    ))).all()
    target = await get_target(session, resource_id)
    placed = [] if target is None else (await session.exec(
        select(CaldavObject.booking_id).where(CaldavObject.target_id == target.id))).all()
    return sorted(set(upcoming) | set(placed))
