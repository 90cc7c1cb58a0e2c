"""External calendars that make a resource unavailable: adding them, importing them into blocks.

An import runs in three steps so that no database lock is held while a remote server answers
(SQLite serialises every write transaction): read the source, download and expand it with no
transaction open, then store the result in a short write transaction. A failure of any kind is
recorded on the source and keeps the blocks of its last good import.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.audit.service import audit_labels, log_action
from app.calendar.fetch import (
    Block,
    CalendarParseError,
    CalendarURLError,
    expand_blocks,
    fetch_calendar,
    normalise_calendar_url,
)
from app.calendar.models import CalendarSource
from app.core import clock, db, jobs, outbound
from app.core.errors import NotFound, ValidationFailed
from app.core.i18n import N_, _, _l
from app.core.tenancy import all_spaces, require_scope
from app.core.text import require_one_line
from app.resource.models import Resource, ResourceBlock
from app.space.models import Space

# What the audit page calls the actions logged here.
audit_labels({
    "calendar.source_added": _l("Outside calendar added"),
    "calendar.source_removed": _l("Outside calendar removed"),
})

log = logging.getLogger("fabrique.calendar")

MAX_SOURCES_PER_RESOURCE = 5
FETCH_TIMEOUT = 15.0
MAX_BYTES = 5_000_000
MAX_BLOCKS = 50_000
IMPORT_EVERY = timedelta(minutes=30)
DEFAULT_HORIZON_DAYS = 365
MAX_HORIZON_DAYS = 730

# What a manager reads when an import fails, by error code (English msgids, shown translated).
ERROR_MESSAGES = {
    "unreachable": N_("The calendar's server could not be reached. Check the address."),
    "timeout": N_("The calendar's server did not answer in time."),
    "too_large": N_("The calendar is too large to import (more than 5 MB)."),
    "not_calendar": N_("This address does not return a calendar: use the calendar's iCal (.ics) address."),
    "invalid_ics": N_("The file at this address is not a valid calendar."),
    "too_many_events": N_("The calendar has too many events in the imported period."),
    "internal": N_("The import failed unexpectedly. It will be tried again."),
    "forbidden_address": N_("This address leads to an internal network, which Fabrique does not fetch."),
}
HTTP_ERROR_MESSAGE = N_("The calendar's server answered with an error (HTTP %(status)s).")


def error_message(source: CalendarSource) -> str | None:
    """The last error of ``source`` in plain words, in the current language."""
    if source.last_error_code is None:
        return None
    if source.last_error_code == "http_error":
        return _(HTTP_ERROR_MESSAGE, status=source.last_error_status or "?")
    return _(ERROR_MESSAGES.get(source.last_error_code, ERROR_MESSAGES["internal"]))


# -- managing sources ---------------------------------------------------------------------------


async def list_sources(session: AsyncSession, resource_id: int | None = None) -> list[CalendarSource]:
    require_scope(session)
    stmt = select(CalendarSource)
    if resource_id is not None:
        stmt = stmt.where(CalendarSource.resource_id == resource_id)
    return list((await session.exec(stmt.order_by(CalendarSource.id))).all())


async def get_source(session: AsyncSession, resource: Resource, source_id: int) -> CalendarSource:
    require_scope(session)
    source = (await session.exec(select(CalendarSource).where(
        CalendarSource.id == source_id, CalendarSource.resource_id == resource.id))).first()
    if source is None:
        raise NotFound()
    return source


async def add_source(
    session: AsyncSession, space: Space, actor: Account, resource: Resource, *, url: str, label: str = ""
) -> CalendarSource:
    """Attach an external calendar to ``resource`` and import it right after the commit."""
    label = require_one_line(label, "label")
    try:
        normalised = normalise_calendar_url(url or "")
    except CalendarURLError as exc:
        message = N_("Enter the calendar's address, starting with https:// or webcal://.")
        raise ValidationFailed(fields={"url": message}, code="invalid_calendar_url") from exc
    if len(normalised) > 2000:
        raise ValidationFailed(fields={"url": N_("This address is too long.")}, code="invalid_calendar_url")
    try:
        await outbound.check_url(normalised)
    except outbound.OutboundRefused as exc:
        raise ValidationFailed(fields={"url": ERROR_MESSAGES["forbidden_address"]},
                               code="forbidden_calendar_url") from exc
    if len(await list_sources(session, resource.id)) >= MAX_SOURCES_PER_RESOURCE:
        raise ValidationFailed(fields={"url": N_("A resource can import at most 5 calendars.")},
                               code="too_many_sources")
    source = CalendarSource(resource_id=resource.id, url=normalised, label=label[:120],
                            created_by_id=actor.id, created_at=clock.now())
    session.add(source)
    await session.flush()
    # The address is not logged: private calendar addresses embed a secret.
    log_action(session, "calendar.source_added", space_id=space.id, actor_id=actor.id, obj=source,
               resource_id=resource.id, label=source.label)
    enqueue_import(session, space.id, source.id, reason="added")
    return source


async def remove_source(session: AsyncSession, space: Space, actor: Account, source: CalendarSource) -> None:
    """Forget a source and the blocks it produced."""
    await session.exec(delete(ResourceBlock).where(ResourceBlock.source == source.block_source))
    await session.delete(source)
    await session.flush()
    log_action(session, "calendar.source_removed", space_id=space.id, actor_id=actor.id, obj=source,
               resource_id=source.resource_id)


def enqueue_import(session: Any, space_id: int, source_id: int, *, reason: str = "") -> None:
    jobs.enqueue(session, "calendar.import_source", space_id, source_id)


async def source_blocks(session: AsyncSession, source: CalendarSource, *, since: datetime,
                        limit: int = 50) -> list[ResourceBlock]:
    require_scope(session)
    return list((await session.exec(select(ResourceBlock).where(
        ResourceBlock.source == source.block_source, col(ResourceBlock.ends_at) > since,
    ).order_by(ResourceBlock.starts_at).limit(limit))).all())


# -- importing ----------------------------------------------------------------------------------


@dataclass
class Attempt:
    """The outcome of download + expansion, computed with no transaction open."""

    status: str  # "ok", "not_modified" or "error"
    blocks: list[Block] | None = None
    etag: str | None = None
    last_modified: str | None = None
    window_end: datetime | None = None
    error_code: str | None = None
    error_status: int | None = None
    error_detail: str | None = None


def import_window(resource: Resource, now: datetime) -> tuple[datetime, datetime]:
    """From yesterday to the end of the booking horizon (a year when the resource has none)."""
    days = min(resource.horizon_days or DEFAULT_HORIZON_DAYS, MAX_HORIZON_DAYS)
    return now - timedelta(days=1), now + timedelta(days=days + 1)


async def attempt(source: CalendarSource, resource: Resource, space: Space, now: datetime,
                  *, client: Any = None) -> Attempt:
    window_start, window_end = import_window(resource, now)
    # Validators are only worth sending while the stored blocks still cover the horizon.
    fresh_enough = source.expanded_until is not None and source.expanded_until >= window_end - timedelta(days=1)
    result = await fetch_calendar(
        source.url, etag=source.etag if fresh_enough else None,
        last_modified=source.http_last_modified if fresh_enough else None,
        timeout=FETCH_TIMEOUT, max_bytes=MAX_BYTES, client=client,
    )
    if result.status == "not_modified":
        return Attempt("not_modified", etag=result.etag, last_modified=result.last_modified)
    if result.status == "error" or result.body is None:
        return Attempt("error", error_code=result.error_code or "unreachable", error_status=result.http_status,
                       error_detail=result.error_detail)
    try:
        blocks = await asyncio.to_thread(expand_blocks, result.body, window_start=window_start,
                                         window_end=window_end, tz_default=space.timezone, max_blocks=MAX_BLOCKS)
    except CalendarParseError as exc:
        return Attempt("error", error_code=exc.code, error_detail=exc.detail)
    # Our own bookings pushed to a shared calendar (CalDAV) must not come back as blocks.
    own = f"@{space.slug}.fabrique"
    blocks = [b for b in blocks if not b.uid.endswith(own)]
    return Attempt("ok", blocks=blocks, etag=result.etag, last_modified=result.last_modified,
                   window_end=window_end)


def _external_uid(block: Block) -> str:
    key = f"{block.uid}|{block.recurrence_id}" if block.recurrence_id else block.uid
    return key if len(key) <= 255 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


async def store(session: AsyncSession, source: CalendarSource, result: Attempt, now: datetime) -> None:
    """Record an attempt on its source; on success replace the source's blocks (by difference)."""
    source.last_attempt_at = now
    if result.status == "error":
        source.last_error_at = now
        source.last_error_code = result.error_code
        source.last_error_status = result.error_status
        source.last_error_detail = (result.error_detail or "")[:500] or None
        source.failures += 1
        session.add(source)
        await session.flush()
        return
    source.last_success_at = now
    source.last_error_code = source.last_error_detail = source.last_error_status = None
    source.failures = 0
    source.etag, source.http_last_modified = (result.etag or None), (result.last_modified or None)
    if result.status == "ok" and result.blocks is not None:
        await _replace_blocks(session, source, result.blocks)
        source.expanded_until = result.window_end
        source.block_count = len(result.blocks)
    session.add(source)
    await session.flush()


async def _replace_blocks(session: AsyncSession, source: CalendarSource, blocks: list[Block]) -> None:
    rows = (await session.exec(select(  # type: ignore[call-overload]
        ResourceBlock.id, ResourceBlock.external_uid, ResourceBlock.starts_at, ResourceBlock.ends_at,
        ResourceBlock.reason,
    ).where(ResourceBlock.source == source.block_source))).all()
    existing = {(uid, start, end, reason): block_id for block_id, uid, start, end, reason in rows}
    wanted = {(_external_uid(b), b.start, b.end, (b.summary or "")[:300]) for b in blocks}
    gone = [block_id for key, block_id in existing.items() if key not in wanted]
    for i in range(0, len(gone), 500):
        await session.exec(delete(ResourceBlock).where(col(ResourceBlock.id).in_(gone[i:i + 500])))
    new = [
        {"space_id": source.space_id, "resource_id": source.resource_id, "starts_at": start, "ends_at": end,
         "reason": reason, "source": source.block_source, "external_uid": uid, "created_at": clock.now()}
        for uid, start, end, reason in wanted - existing.keys()
    ]
    for i in range(0, len(new), 1000):
        await session.exec(insert(ResourceBlock), params=new[i:i + 1000])


async def import_source(space_id: int, source_id: int, *, client: Any = None) -> str | None:
    """Download, expand and store one source. Returns the attempt's status (None: source gone)."""
    now = clock.now()
    async with db.transaction(write=False, space_id=space_id) as session:
        source = (await session.exec(select(CalendarSource).where(CalendarSource.id == source_id))).first()
        if source is None:
            return None
        resource = (await session.exec(select(Resource).where(Resource.id == source.resource_id))).first()
        space = await session.get(Space, space_id)
        if resource is None or space is None:
            return None
    try:
        result = await attempt(source, resource, space, now, client=client)
    except Exception:  # a bug must not stop the other sources, nor hide that this one fails
        log.exception("calendar import of source %s failed", source_id)
        result = Attempt("error", error_code="internal")
    async with db.transaction(space_id=space_id) as session:
        current = (await session.exec(
            select(CalendarSource).where(CalendarSource.id == source_id).with_for_update()
        )).first()
        if current is None:  # removed while we were downloading
            return None
        await store(session, current, result, now)
    log.info("calendar import source=%s status=%s code=%s", source_id, result.status, result.error_code)
    return result.status


def retry_interval(source: CalendarSource) -> timedelta:
    """Every 30 minutes; after failures 1, 2, 4 … hours, at most 12 (a dead URL is not hammered)."""
    if source.failures <= 1:
        return IMPORT_EVERY
    return min(IMPORT_EVERY * 2 ** (source.failures - 1), timedelta(hours=12))


async def due_sources(session: AsyncSession, now: datetime) -> list[tuple[int, int]]:
    """(space id, source id) of every source due for an import, across spaces."""
    with all_spaces(session):
        rows = (await session.exec(
            select(CalendarSource).join(Space, col(Space.id) == CalendarSource.space_id).where(
                col(Space.suspended_at).is_(None))
        )).all()
    return [(s.space_id, s.id) for s in rows  # type: ignore[misc]
            if s.last_attempt_at is None or s.last_attempt_at + retry_interval(s) <= now]
