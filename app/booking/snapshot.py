"""What the booking rules need to know about a space, cached per process by its config version.

Every booking, quote and availability reads the space's calendar (weekly hours, closures, the
half-day boundary), the resource and its rules, the resource's blocks, and whether the space pushes
bookings to a CalDAV server: six queries whose answer only changes when a manager changes
something. ``snapshot_of(session, space)`` answers them from memory.

Why it cannot serve stale rules: any write to a ``@space_config`` model (resources, hours,
closures, settings, blocks, CalDAV targets) bumps ``space.config_version`` *in the same
transaction* (``app.core.tenancy``), and each request reads the space row — version included — at
its start. A snapshot is reused only for the same space (id and creation time), version and
timezone. Data loaded after reading the version is at least as new as the version says. A
transaction that itself changed the configuration never reads nor publishes the shared entry: it
keeps a private one, reloaded after each of its own changes.

Resources and blocks in a snapshot are *detached, read-only* copies, shared by concurrent requests:
read their rules, names and prices; to change a resource, load it with
``app.resource.service.get_resource``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.booking import rules
from app.core import clock
from app.core.errors import NotFound
from app.core.tenancy import CONFIG_DIRTY_KEY, CONFIG_LOCAL_KEY, require_scope
from app.resource.models import Resource, ResourceBlock
from app.space.models import Space

MAX_SPACES = 512                    # snapshots kept per process (least recently used dropped)
BLOCKS_FROM = timedelta(days=1)     # blocks that ended before (load time - this) are not kept

_T = TypeVar("_T")
_F = TypeVar("_F", bound=Callable[[AsyncSession], Awaitable[bool]])
_cache: OrderedDict[int, Snapshot] = OrderedDict()
_FACTS: dict[str, Callable[[AsyncSession], Awaitable[bool]]] = {}


def snapshot_fact(name: str) -> Callable[[_F], _F]:
    """Register ``async def f(session) -> bool``, run in the space's scope when a snapshot loads.

    For facts about configuration tables of other domains (marked ``@space_config``, so that a
    change to them makes a new snapshot): the domain that owns the table registers the query, and
    the booking code reads ``snapshot.facts[name]`` without importing that domain.
    """

    def register(fn: _F) -> _F:
        _FACTS[name] = fn
        return fn

    return register


@dataclass(frozen=True, eq=False)
class Snapshot:
    key: tuple[Any, ...]            # (space id, created_at, config_version, timezone)
    calendar: rules.SpaceCalendar
    resources: dict[int, Resource]  # every resource of the space, archived ones too
    ordered: tuple[Resource, ...]   # not archived, in the order lists show them
    blocks: dict[int, tuple[ResourceBlock, ...]]  # resource id -> blocks ending after blocks_from
    blocks_from: datetime
    # Facts that other domains keep here so the booking path asks no query for them, by name
    # (``snapshot_fact``): e.g. "pushes_to_caldav", whether the space writes bookings to CalDAV.
    facts: dict[str, bool]
    # Resources holding confirmed shared (non-exclusive) bookings that end after load time: booked
    # while the resource had several places. The database guard does not see those rows.
    shared_ahead: frozenset[int]

    def resource(self, resource_id: int) -> Resource:
        """The resource (archived ones too: the rules explain why they cannot be booked), or 404."""
        found = self.resources.get(resource_id)
        if found is None:
            raise NotFound()
        return found

    def covers(self, start: datetime) -> bool:
        """Whether the blocks kept answer questions about times from ``start`` on."""
        return start >= self.blocks_from

    def blocks_between(self, resource_ids: list[int], start: datetime, end: datetime) -> list[ResourceBlock]:
        """Blocks meeting ``[start, end)`` on the resources, by start (``covers(start)`` must hold)."""
        found = [b for rid in resource_ids for b in self.blocks.get(rid, ()) if b.starts_at < end and b.ends_at > start]
        found.sort(key=lambda b: (b.starts_at, b.id or 0))
        return found


def _key(space: Space) -> tuple[Any, ...]:
    return (space.id, space.created_at, space.config_version, space.timezone)


async def snapshot_of(session: AsyncSession, space: Space) -> Snapshot:
    """The space's booking configuration as of this transaction (see the module's docstring)."""
    dirty = session.info.get(CONFIG_DIRTY_KEY, 0)
    if dirty:
        local = session.info.get(CONFIG_LOCAL_KEY)
        if local is not None and local[0] == (space.id, dirty):
            return local[1]
        snap = await _load(session, space)
        session.info[CONFIG_LOCAL_KEY] = ((space.id, dirty), snap)
        return snap
    key = _key(space)
    found = _cache.get(space.id)
    if found is not None and found.key == key:
        _cache.move_to_end(space.id)
        return found
    snap = await _load(session, space)
    _cache[space.id] = snap
    _cache.move_to_end(space.id)
    while len(_cache) > MAX_SPACES:
        _cache.popitem(last=False)
    return snap


async def _copies(session: AsyncSession, model: type[_T], *where: Any, order_by: tuple[Any, ...]) -> list[_T]:
    """Rows as new objects that belong to no session: selected column by column, so that the
    session's own instances (which a caller may be changing) are neither returned nor detached."""
    columns = [getattr(model, c.key) for c in model.__table__.columns]  # type: ignore[attr-defined]
    rows = (await session.exec(select(*columns).where(*where).order_by(*order_by))).all()
    return [model(**row._mapping) for row in rows]


def clear() -> None:
    """Forget every snapshot (tests that reuse space ids; nothing else needs it)."""
    _cache.clear()


async def _load(session: AsyncSession, space: Space) -> Snapshot:
    from app.booking import hours
    from app.booking.models import Booking, BookingStatus

    require_scope(session)
    settings = await hours.get_settings_row(session)
    calendar = rules.SpaceCalendar(
        tz=space.timezone,
        opening=rules.OpeningHours(await hours.weekly_hours(session)),
        closures=tuple(rules.Closure(c.start_date, c.end_date, c.label) for c in await hours.list_closures(session)),
        half_day_boundary=settings.half_day_boundary if settings else hours.DEFAULT_BOUNDARY,
    )
    resources = await _copies(session, Resource, order_by=(Resource.position, Resource.name, Resource.id))
    blocks_from = clock.now() - BLOCKS_FROM
    block_rows = await _copies(session, ResourceBlock, col(ResourceBlock.ends_at) > blocks_from,
                               order_by=(ResourceBlock.starts_at, ResourceBlock.id))
    facts = {name: await fact(session) for name, fact in _FACTS.items()}
    shared = (await session.exec(select(col(Booking.resource_id)).distinct().where(
        col(Booking.exclusive).is_(False), col(Booking.status) == BookingStatus.confirmed,
        col(Booking.blocked_until) > clock.now()))).all()
    blocks: dict[int, list[ResourceBlock]] = {}
    for block in block_rows:
        blocks.setdefault(block.resource_id, []).append(block)
    return Snapshot(
        key=_key(space), calendar=calendar, resources={r.id: r for r in resources if r.id is not None},
        ordered=tuple(r for r in resources if not r.is_archived),
        blocks={rid: tuple(bs) for rid, bs in blocks.items()}, blocks_from=blocks_from,
        facts=facts, shared_ahead=frozenset(shared),
    )
