"""Availability for a range of days: the bookable slots of each resource and what holds them.

Slots come from ``rules.snap_to_unit`` (the same cells ``validate_interval`` accepts), so a slot
shown free is one the booking endpoint takes. Three queries whatever the range: calendar (cached),
bookings, blocks.
"""

from __future__ import annotations

import time as time_module
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from pydantic_core import to_json
from sqlmodel.ext.asyncio.session import AsyncSession

from app.booking import repository, rules
from app.booking.errors import N_
from app.booking.service import Held
from app.booking.snapshot import snapshot_of
from app.core import clock, jobs
from app.core.errors import ValidationFailed
from app.resource.models import Resource, ResourceBlock
from app.resource.service import blocks_between
from app.space.models import Space

MAX_DAYS = 31


class Slot(NamedTuple):
    starts_at: datetime
    ends_at: datetime
    free: int          # places left
    state: str         # "free", "full", "blocked" or "past"
    mine: bool = False


class HeldRow(NamedTuple):
    """What availability needs of a booking: plain values, read once (no ORM objects)."""

    id: int
    resource_id: int
    account_id: int | None
    starts_at: datetime
    ends_at: datetime
    blocked_until: datetime
    title: str


@dataclass
class DayAvailability:
    day: date
    is_open: bool
    closure: str | None
    slots: list[Slot] = field(default_factory=list)


@dataclass
class ResourceAvailability:
    resource: Resource
    days: list[DayAvailability]
    bookings: list[HeldRow]
    blocks: list[ResourceBlock]


class _Sweep:
    """The intervals meeting a window ``[a, b)`` that only moves forward (slots come in order).

    ``items`` are ``(start, end, value)`` sorted by start. Each item enters the active list once
    and leaves it once, so a sweep over n slots and m intervals costs O(n + m) plus the (small)
    overlaps; a window that moves back restarts the sweep, which keeps it correct for any order.
    """

    __slots__ = ("active", "i", "items", "last")

    def __init__(self, items: list[tuple[datetime, datetime, Any]]) -> None:
        self.items = items
        self.i = 0
        self.active: list[tuple[datetime, datetime, Any]] = []
        self.last: tuple[datetime, datetime] | None = None

    def meeting(self, a: datetime, b: datetime) -> list[tuple[datetime, datetime, Any]]:
        if self.last is not None and (a < self.last[0] or b < self.last[1]):
            self.i, self.active = 0, []
        self.last = (a, b)
        items, i, active = self.items, self.i, self.active
        while i < len(items) and items[i][0] < b:
            active.append(items[i])
            i += 1
        self.i = i
        if active:
            active = self.active = [x for x in active if x[1] > a]
        return active


def taken(starts_at: datetime, until: datetime, held: Sequence[Held]) -> int:
    """The most places held at once during ``[starts_at, until)``."""
    events: list[tuple[datetime, int]] = []
    for s, _e, bu in held:
        a, b = max(s, starts_at), min(bu, until)
        if a < b:
            events += [(a, 1), (b, -1)]
    events.sort()
    most = current = 0
    for _at, step in events:
        current += step
        most = max(most, current)
    return most


def local_bounds(first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    """UTC instants of local midnight starting ``first`` and ending ``last``."""
    zone = ZoneInfo(tz)
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def check_range(first: date, last: date, *, max_days: int = MAX_DAYS) -> None:
    if first.year not in range(2000, 2201) or last.year not in range(2000, 2201):
        raise ValidationFailed(fields={"start": N_("Choose dates between the years 2000 and 2200.")},
                               code="invalid_range")
    if last < first:
        raise ValidationFailed(fields={"end": N_("The end date must not be before the start date.")},
                               code="invalid_range")
    if (last - first).days >= max_days:
        raise ValidationFailed(fields={"end": N_("Ask for at most %(days)s days at a time.")},
                               params={"days": max_days}, code="invalid_range")


async def availability(
    session: AsyncSession,
    space: Space,
    *,
    first: date,
    last: date,
    resources: Sequence[Resource],
    account_id: int | None = None,
    with_slots: bool = True,
) -> list[ResourceAvailability]:
    """Per resource: its days (open, closure, and unless ``with_slots`` is false the slots with
    their state), the bookings and blocks met. Cost: one sweep over slots + bookings per resource."""
    check_range(first, last)
    snap = await snapshot_of(session, space)
    cal = snap.calendar
    now = clock.now()
    start, end = local_bounds(first, last, space.timezone)
    ids = [r.id for r in resources if r.id is not None]
    max_buffer = timedelta(minutes=max((r.buffer_minutes for r in resources), default=0))
    rows = await repository.held_rows_between(session, start - max_buffer, end + max_buffer, resource_ids=ids)
    bookings = [HeldRow(*row) for row in rows]
    blocks = snap.blocks_between(ids, start, end) if snap.covers(start) else await blocks_between(session, ids, start, end)
    by_resource: dict[int, list[HeldRow]] = {}
    for b in bookings:
        by_resource.setdefault(b.resource_id, []).append(b)
    blocks_by_resource: dict[int, list[ResourceBlock]] = {}
    for bl in blocks:
        blocks_by_resource.setdefault(bl.resource_id, []).append(bl)
    # The same cells for every resource of a unit and step: computed once per day.
    cells: dict[tuple[date, str, int], list[tuple[datetime, datetime]]] = {}
    calendar_days = []
    day = first
    while day <= last:
        closure = cal.closure_on(day)
        calendar_days.append((day, cal.is_open_on(day), closure.label if closure else None))
        day += timedelta(days=1)
    out = []
    for resource in resources:
        mine = by_resource.get(resource.id, [])
        its_blocks = blocks_by_resource.get(resource.id, [])
        unit, step, capacity = resource.unit, resource.granularity_minutes, resource.capacity
        buffer = timedelta(minutes=resource.buffer_minutes)
        # The held intervals, swept in slot order (inlined: this loop runs once per slot).
        held = [(b.starts_at, b.blocked_until, (b.starts_at, b.ends_at, b.blocked_until)) for b in mine]
        n_held, i = len(held), 0
        active: list[tuple[datetime, datetime, tuple[datetime, datetime, datetime]]] = []
        previous: tuple[datetime, datetime] | None = None  # the last cell swept
        own = _Sweep([(b.starts_at, b.ends_at, None) for b in mine
                      if account_id is not None and b.account_id == account_id])
        blocked = _Sweep(sorted(((bl.starts_at, bl.ends_at, None) for bl in its_blocks), key=lambda x: x[0]))
        days = []
        for day, is_open, closure_label in calendar_days:
            key = (day, unit, step)
            if not with_slots:
                days.append(DayAvailability(day, is_open, closure_label, []))
                continue
            if key not in cells:
                cells[key] = rules.snap_to_unit(day, unit, cal, granularity_minutes=step)
            slots = []
            for a, z in cells[key]:  # a cell from a to z
                until = z + buffer
                if previous is not None and (a < previous[0] or until < previous[1]):
                    i, active = 0, []  # not in order: start the sweep again
                previous = (a, until)
                while i < n_held and held[i][0] < until:
                    active.append(held[i])
                    i += 1
                if active:
                    active = [x for x in active if x[1] > a]
                if not active:
                    free = capacity
                elif capacity == 1:
                    free = 0
                else:
                    free = max(capacity - taken(a, until, [x[2] for x in active]), 0)
                if blocked.items and blocked.meeting(a, z):
                    state = "blocked"
                elif a < now:
                    state = "past"
                else:
                    state = "free" if free > 0 else "full"
                slots.append(Slot(a, z, free, state, bool(own.items) and bool(own.meeting(a, z))))
            days.append(DayAvailability(day, is_open, closure_label, slots))
        visible = [b for b in mine if b.starts_at < end and b.ends_at > start]
        out.append(ResourceAvailability(resource, days, visible, its_blocks))
    return out


# -- the API's answer, cached per process ----------------------------------------------------------
# A week of 50 resources is ~1,100 bookings read and ~8,400 slots swept: milliseconds of CPU for an
# answer that only changes when a booking does. The JSON is kept per (space snapshot, range,
# resource, slots, staff or not) with the space's "bookings" change counter it was built under
# (``app.core.jobs.counter``, bumped after every commit that touches a booking; read *before* the
# bookings, so a later commit always makes the entry old). It is viewer-independent: what is the
# viewer's own travels in "mine", spliced in front. An entry also ends when its first future slot
# turns past, and after CACHE_TTL whatever happens (a write made outside the application).

CACHE_TTL = 60.0
CACHE_MAX = 256
_FAR = datetime.max.replace(tzinfo=UTC)


@dataclass
class _Answer:
    counter: int
    body: bytes                                  # the JSON object, without "mine"
    mine: dict[int, list[dict[str, Any]]]        # account id -> its bookings shown
    valid_until: datetime
    expires: float


_answers: OrderedDict[tuple[Any, ...], _Answer] = OrderedDict()


def clear_cache() -> None:
    _answers.clear()


async def availability_json(
    session: AsyncSession, space: Space, *, first: date, last: date, resource_id: int | None,
    with_slots: bool, staff: bool, account_id: int,
) -> bytes:
    """The body of ``GET availability`` (``AvailabilityRead``), from the cache when it is current."""
    check_range(first, last)
    snap = await snapshot_of(session, space)
    resources = [snap.resource(resource_id)] if resource_id else list(snap.ordered)
    counter = await jobs.counter("bookings", space.id)
    key = (snap.key, first, last, resource_id, with_slots, staff)
    now = clock.now()
    answer = _answers.get(key)
    if answer is None or counter is None or answer.counter != counter or now >= answer.valid_until \
            or time_module.monotonic() >= answer.expires:
        answer = await _build(session, space, first=first, last=last, resources=resources,
                              with_slots=with_slots, staff=staff, counter=counter or 0, now=now)
        if counter is not None:
            _answers[key] = answer
            while len(_answers) > CACHE_MAX:
                _answers.popitem(last=False)
    else:
        _answers.move_to_end(key)
    return b'{"mine":' + to_json(answer.mine.get(account_id, [])) + b"," + answer.body[1:]


def cells(slots: Sequence[Slot]) -> list[dict[str, Any]]:
    """Each cell as it is: a day or half-day resource's cells are not a regular grid (the half-day
    boundary is a space setting), so merging them would hide where one ends."""
    return [{"starts_at": a, "ends_at": b, "free": free, "state": state} for a, b, free, state, _mine in slots]


def runs(slots: Sequence[Slot]) -> list[dict[str, Any]]:
    """An hourly resource's consecutive cells in the same state (places left and state) as one run: a
    free morning of a room on a 30-minute grid is one item, not eight (``step_minutes`` tells the
    grid). A week of 50 rooms: ~1,300-1,700 runs for 8,400 cells."""
    out: list[dict[str, Any]] = []
    for a, b, free, state, _mine in slots:
        if out and out[-1]["ends_at"] == a and out[-1]["free"] == free and out[-1]["state"] == state:
            out[-1]["ends_at"] = b
        else:
            out.append({"starts_at": a, "ends_at": b, "free": free, "state": state})
    return out


async def _build(
    session: AsyncSession, space: Space, *, first: date, last: date, resources: list[Resource],
    with_slots: bool, staff: bool, counter: int, now: datetime,
) -> _Answer:
    rows = await availability(session, space, first=first, last=last, resources=resources, with_slots=with_slots)
    names = await repository.accounts_by_id(session, [b.account_id for r in rows for b in r.bookings]) if staff else {}
    mine: dict[int, list[dict[str, Any]]] = {}
    valid_until = _FAR
    out = []
    for r in rows:
        for b in r.bookings:
            if b.account_id is not None:
                mine.setdefault(b.account_id, []).append(
                    {"resource_id": r.resource.id, "booking_id": b.id, "starts_at": b.starts_at, "ends_at": b.ends_at})
        days = []
        for d in r.days:
            for s in d.slots:
                if s[0] >= now:
                    valid_until = min(valid_until, s[0])
                    break
            days.append({"date": d.day, "open": d.is_open, "closure": d.closure,
                         "slots": runs(d.slots) if r.resource.unit == "hour" else cells(d.slots)})
        out.append({
            "resource_id": r.resource.id, "name": r.resource.name, "kind": r.resource.kind,
            "unit": r.resource.unit, "capacity": r.resource.capacity,
            "step_minutes": r.resource.granularity_minutes if r.resource.unit == "hour" else None, "days": days,
            "busy": [{"starts_at": b.starts_at, "ends_at": b.ends_at,
                      "booking_id": b.id if staff else None,
                      "member_name": (names[b.account_id].name if b.account_id in names else b.title or None)
                      if staff else None}
                     for b in r.bookings],
            "blocks": [{"starts_at": bl.starts_at, "ends_at": bl.ends_at, "reason": bl.reason} for bl in r.blocks],
        })
    body = to_json({"start": first, "end": last, "timezone": space.timezone, "resources": out})
    return _Answer(counter, body, mine, valid_until, time_module.monotonic() + CACHE_TTL)
