"""View models for the booking pages: day timelines and desk grids, built from availability.

Positions are fractions of the displayed hours on the wall clock, so a 9:00–18:00 booking sits at
the same place on a DST day as on any other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from app.booking import rules
from app.booking.availability import ResourceAvailability
from app.booking.formatting import when
from app.core import i18n


@dataclass
class Block:
    start: float
    span: float
    label: str
    title: str
    css: str = ""
    href: str | None = None


@dataclass
class Row:
    label: str
    blocks: list[Block] = field(default_factory=list)
    href: str | None = None
    note: str = ""


@dataclass
class Timeline:
    first_hour: int
    last_hour: int
    rows: list[Row] = field(default_factory=list)

    @property
    def hours(self) -> int:
        return self.last_hour - self.first_hour

    @property
    def labels(self) -> list[str]:
        return [f"{h:02d}" for h in range(self.first_hour, self.last_hour)]


def axis(cal: rules.SpaceCalendar, days: Iterable[date]) -> tuple[int, int]:
    """Whole wall hours from the earliest opening to the latest closing of the days shown."""
    opens, closes = 24 * 60, 0
    for day in days:
        for a, b in cal.hours_on(day):
            opens = min(opens, a.hour * 60 + a.minute)
            closes = max(closes, 24 * 60 if b == time(0) else b.hour * 60 + b.minute)
    if closes <= opens:
        return 8, 20
    return opens // 60, min(24, -(-closes // 60))


def _fraction(instant: datetime, day: date, zone: ZoneInfo, first: int, last: int) -> float:
    wall = instant.astimezone(zone).replace(tzinfo=None)
    minutes = (wall - datetime.combine(day, time(0))).total_seconds() / 60
    return min(1.0, max(0.0, (minutes - first * 60) / ((last - first) * 60)))


def place(starts_at: datetime, ends_at: datetime, day: date, tz: str, first: int, last: int) -> tuple[float, float]:
    zone = ZoneInfo(tz)
    a = _fraction(starts_at, day, zone, first, last)
    b = _fraction(ends_at, day, zone, first, last) if ends_at.astimezone(zone).date() == day else 1.0
    if starts_at.astimezone(zone).date() < day:
        a = 0.0
    return round(a, 4), round(max(b - a, 0.0), 4)


def day_row(
    label: str, avail: ResourceAvailability, day: date, tz: str, first: int, last: int, *,
    account_id: int | None, staff_names: dict[int, str] | None = None, booked_label: str, blocked_label: str,
    move_url: str | None = None, href: str | None = None,
) -> Row:
    """One resource on one day: its bookings (names for staff only) and blocks."""
    zone = ZoneInfo(tz)
    lo = datetime.combine(day, time(0), tzinfo=zone)
    hi = lo + timedelta(days=1)
    row = Row(label=label, href=href)
    info = next((d for d in avail.days if d.day == day), None)
    if info is not None and info.closure:
        row.note = info.closure
    for bl in avail.blocks:
        if bl.starts_at < hi and bl.ends_at > lo:
            start, span = place(bl.starts_at, bl.ends_at, day, tz, first, last)
            row.blocks.append(Block(start, span, bl.reason or blocked_label, when(bl.starts_at, bl.ends_at, tz),
                                    "is-closed"))
    for b in avail.bookings:
        if b.starts_at < hi and b.ends_at > lo:
            start, span = place(b.starts_at, b.ends_at, day, tz, first, last)
            mine = account_id is not None and b.account_id == account_id
            name = (staff_names or {}).get(b.account_id or 0) or b.title or None
            label_ = name if staff_names is not None and name else booked_label
            row.blocks.append(Block(start, span, label_, f"{label_} · {when(b.starts_at, b.ends_at, tz)}",
                                    "is-mine" if mine else "",
                                    move_url.format(id=b.id) if move_url else None))
    capacity = avail.resource.capacity
    if staff_names is not None and capacity > 1 and not row.note:
        # A shared table's bars stack into one: say how many places are taken, and by whom.
        held = [b for b in avail.bookings if b.starts_at < hi and b.ends_at > lo]
        if held:
            who = sorted({staff_names.get(b.account_id or 0) or b.title or booked_label for b in held})
            row.note = i18n.gettext("%(used)s/%(capacity)s places — %(names)s", used=peak_use(held),
                                    capacity=capacity, names=", ".join(who))
    return row


def peak_use(bookings: Iterable) -> int:
    """The most bookings held at one instant (half-open intervals: one ending at 12:00 and one
    starting at 12:00 never count together)."""
    events = sorted([(b.starts_at, 1) for b in bookings] + [(b.ends_at, -1) for b in bookings])
    peak = current = 0
    for _at, step in events:  # at equal instants the end (-1) sorts first
        current += step
        peak = max(peak, current)
    return peak


def confirm_url(slug: str, resource_id: int, starts_at: datetime, ends_at: datetime) -> str:
    """The confirm page of a slot (what ``urlencode`` of the three parameters gives, with each
    instant quoted once per process: a week of desks links thousands of slots, the same instants)."""
    return f"/s/{slug}/book/confirm?resource_id={resource_id}&starts_at={_quoted(starts_at)}&ends_at={_quoted(ends_at)}"


@lru_cache(maxsize=8192)
def _quoted(instant: datetime) -> str:
    return quote_plus(instant.isoformat())


def longest_runs(slots) -> dict[datetime, int]:
    """For each free slot's start, the longest booking in minutes that can start there: the run of
    free slots that follow it without a gap (a closing time, a full or blocked slot ends it)."""
    runs: dict[datetime, int] = {}
    following: tuple[datetime, int] | None = None  # (start, run) of the next slot, walking backwards
    for slot in reversed(slots):
        if slot.state != "free":
            following = None
            continue
        minutes = int((slot.ends_at - slot.starts_at).total_seconds() // 60)
        if following is not None and following[0] == slot.ends_at:
            minutes += following[1]
        runs[slot.starts_at] = minutes
        following = (slot.starts_at, minutes)
    return runs


def bookable_durations(resource, runs: dict[datetime, int]) -> list[int]:
    """The durations worth offering: those some free start can hold (none past closing time)."""
    longest = max(runs.values(), default=0)
    return [m for m in durations(resource) if m <= longest]


def durations(resource, step_limit: int = 12) -> list[int]:
    """Durations offered for an hourly resource, in minutes, within its min/max."""
    step = resource.granularity_minutes
    lo = resource.min_minutes or step
    hi = resource.max_minutes or max(lo, 8 * 60)
    values: list[int] = []
    minutes = -(-lo // step) * step
    while minutes <= hi and len(values) < 4 * step_limit:
        values.append(minutes)
        minutes += step
    return values


def week_of(day: date) -> list[date]:
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=i) for i in range(7)]
