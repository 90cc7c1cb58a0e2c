"""Availability for a range of days: the bookable slots of each resource and what holds them.

Slots come from ``rules.snap_to_unit`` (the same cells ``validate_interval`` accepts), so a slot
shown free is one the booking endpoint takes. Three queries whatever the range: calendar (cached),
bookings, blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from app.booking import repository, rules
from app.booking.errors import N_
from app.booking.hours import load_calendar
from app.booking.models import Booking
from app.booking.service import Held, held_until
from app.core import clock
from app.core.errors import ValidationFailed
from app.resource.models import Resource, ResourceBlock
from app.resource.service import blocks_between
from app.space.models import Space

MAX_DAYS = 31


@dataclass
class Slot:
    starts_at: datetime
    ends_at: datetime
    free: int          # places left
    state: str         # "free", "full", "blocked" or "past"
    mine: bool = False


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
    bookings: list[Booking]
    blocks: list[ResourceBlock]


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
        raise ValidationFailed(fields={"end": N_("Ask for at most 31 days at a time.")}, code="invalid_range")


async def availability(
    session: AsyncSession,
    space: Space,
    *,
    first: date,
    last: date,
    resources: Sequence[Resource],
    account_id: int | None = None,
) -> list[ResourceAvailability]:
    check_range(first, last)
    cal = await load_calendar(session, space)
    now = clock.now()
    start, end = local_bounds(first, last, space.timezone)
    ids = [r.id for r in resources if r.id is not None]
    max_buffer = timedelta(minutes=max((r.buffer_minutes for r in resources), default=0))
    bookings = await repository.bookings_between(session, start - max_buffer, end + max_buffer,
                                                 resource_ids=ids, held=True)
    blocks = await blocks_between(session, ids, start, end)
    out = []
    for resource in resources:
        mine = [b for b in bookings if b.resource_id == resource.id]
        held: list[Held] = [(b.starts_at, b.ends_at, b.blocked_until) for b in mine]
        own = [(b.starts_at, b.ends_at) for b in mine if account_id is not None and b.account_id == account_id]
        its_blocks = [bl for bl in blocks if bl.resource_id == resource.id]
        days = []
        day = first
        while day <= last:
            closure = cal.closure_on(day)
            slots = []
            for a, b in rules.snap_to_unit(day, resource.unit, cal,  # type: ignore[arg-type]
                                           granularity_minutes=resource.granularity_minutes):
                free = resource.capacity - taken(a, held_until(resource, b), held)
                if any(rules.overlaps(a, b, bl.starts_at, bl.ends_at) for bl in its_blocks):
                    state = "blocked"
                elif a < now:
                    state = "past"
                else:
                    state = "free" if free > 0 else "full"
                slots.append(Slot(a, b, max(free, 0), state, any(rules.overlaps(a, b, s, e) for s, e in own)))
            days.append(DayAvailability(day, cal.is_open_on(day), closure.label if closure else None, slots))
            day += timedelta(days=1)
        visible = [b for b in mine if b.starts_at < end and b.ends_at > start]
        out.append(ResourceAvailability(resource, days, visible, its_blocks))
    return out
