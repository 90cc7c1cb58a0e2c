"""Booking rules as pure functions: what may be booked when, how long, at what price.

Nothing here touches the database or the request: services load a resource and its space into these
plain dataclasses, call the functions, and persist what comes back. That keeps every rule testable
with a fixed ``now`` and lets the availability views reuse exactly the rules the booking endpoint
enforces.

Time conventions. Instants are aware datetimes and come back in UTC. Rules a member reads on the
wall — opening hours, the half-day boundary, granularity, weekly repeats, min/max durations — are
evaluated in the space's local wall-clock time, so a day booking shows the day's opening hours
even when a DST change inside it (clocks move at 02:00/03:00 in Paris, so only for spaces open at
night) makes it an hour shorter or longer in real time. Prices by the hour and cancellation deadlines are
counted in real elapsed time, because that is what is used and what the member was promised.

Never subtract two aware datetimes that share a ``ZoneInfo``: Python then ignores the offset change
and returns wall-clock difference. Convert to UTC first (``_utc``), or use ``_wall`` on purpose.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

from app.booking.errors import (
    BeyondHorizon,
    CancellationDeadlinePassed,
    EmptyInterval,
    InThePast,
    InvalidInterval,
    InvalidRecurrence,
    NotAllowed,
    OffGranularity,
    OutsideOpeningHours,
    ResourceArchived,
    ResourceBlocked,
    SpaceClosed,
    TooLong,
    TooManyOccurrences,
    TooShort,
)

Unit = Literal["hour", "half_day", "day"]
HalfDay = Literal["am", "pm"]
LateCancel = Literal["refuse", "charge"]
CancelOutcome = Literal["ok", "late_charge"]
Interval = tuple[datetime, datetime]

MIDNIGHT = time(0, 0)
UNITS: tuple[Unit, ...] = ("hour", "half_day", "day")


# -- configuration --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpeningHours:
    """Weekly opening hours: weekday (0 = Monday) → sorted, non-overlapping (open, close) intervals.

    A missing weekday or an empty tuple means closed. A close of ``time(0, 0)`` means midnight at the
    end of the day, so a space open around the clock is ``(time(0), time(0))``; intervals crossing
    midnight are written as two days.
    """

    days: Mapping[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        normalised: dict[int, tuple[tuple[time, time], ...]] = {}
        for weekday, intervals in self.days.items():
            if weekday not in range(7):
                raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday!r}")
            ordered = tuple(sorted((a, b) for a, b in intervals))
            previous_end = -1
            for a, b in ordered:
                start, end = _minutes(a), _minutes(b, closing=True)
                if end <= start:
                    raise ValueError(f"opening interval {a}–{b} must close after it opens")
                if start < previous_end:
                    raise ValueError(f"opening intervals overlap on weekday {weekday}")
                previous_end = end
            if ordered:
                normalised[weekday] = ordered
        object.__setattr__(self, "days", MappingProxyType(normalised))

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.days.items())))

    @classmethod
    def uniform(cls, *intervals: tuple[time, time], weekdays: Iterable[int] = range(5)) -> OpeningHours:
        """The same hours on each of ``weekdays`` (Monday to Friday unless told otherwise)."""
        return cls({weekday: tuple(intervals) for weekday in weekdays})

    def on(self, weekday: int) -> tuple[tuple[time, time], ...]:
        return self.days.get(weekday, ())


@dataclass(frozen=True)
class Closure:
    """Days the space is shut regardless of opening hours; ``end`` is inclusive (a one-off date has start == end)."""

    start: date
    end: date
    label: str = ""

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a closure must end on or after its start")

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class BookingRules:
    """A resource's booking rules. ``None`` limits and empty role/tag sets mean "no restriction"."""

    unit: Unit = "hour"
    granularity_minutes: int = 30
    min_minutes: int | None = None
    max_minutes: int | None = None
    buffer_minutes: int = 0
    horizon_days: int | None = None
    cancel_deadline_hours: int = 0
    late_cancel: LateCancel = "refuse"
    allowed_roles: frozenset[str] = frozenset()
    required_tags: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, got {self.unit!r}")
        if self.late_cancel not in ("refuse", "charge"):
            raise ValueError(f"late_cancel must be 'refuse' or 'charge', got {self.late_cancel!r}")
        if self.granularity_minutes <= 0:
            raise ValueError("granularity_minutes must be positive")
        for name in ("buffer_minutes", "cancel_deadline_hours", "min_minutes", "max_minutes", "horizon_days"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")
        if self.min_minutes and self.max_minutes and self.min_minutes > self.max_minutes:
            raise ValueError("min_minutes must not exceed max_minutes")


@dataclass(frozen=True)
class SpaceCalendar:
    """Where and when a space is open: its IANA timezone, weekly hours, closures and half-day boundary."""

    tz: str
    opening: OpeningHours
    closures: tuple[Closure, ...] = ()
    half_day_boundary: time = time(13, 0)

    def __post_init__(self) -> None:
        ZoneInfo(self.tz)  # fail at configuration time, not at the first booking
        object.__setattr__(self, "closures", tuple(self.closures))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def closure_on(self, day: date) -> Closure | None:
        return next((c for c in self.closures if c.covers(day)), None)

    def hours_on(self, day: date) -> tuple[tuple[time, time], ...]:
        """Opening intervals of ``day`` as configured for its weekday, closures not applied."""
        return self.opening.on(day.weekday())

    def is_open_on(self, day: date) -> bool:
        return bool(self.hours_on(day)) and self.closure_on(day) is None


# -- time helpers -----------------------------------------------------------------------------------


def _minutes(value: time, *, closing: bool = False) -> int:
    """Wall-clock minutes since midnight; a closing time of 00:00 is the following midnight."""
    if closing and value == MIDNIGHT:
        return 24 * 60
    return value.hour * 60 + value.minute


def _is_naive(value: datetime) -> bool:
    return value.tzinfo is None or value.tzinfo.utcoffset(value) is None


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _wall(value: datetime, zone: ZoneInfo) -> datetime:
    """The naive local wall-clock reading of an instant, for rules stated in local time."""
    return value.astimezone(zone).replace(tzinfo=None)


def _local_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    # A wall time inside a spring-forward gap resolves with the pre-change offset (fold=0), i.e. it
    # lands after the gap; in an autumn overlap it means the first (summer time) occurrence.
    return wall.replace(tzinfo=zone).astimezone(UTC)


def _wall_at(day: date, minutes: int) -> datetime:
    return datetime.combine(day, MIDNIGHT) + timedelta(minutes=minutes)


def _last_day(start_wall: datetime, end_wall: datetime) -> date:
    """The last local day an interval occupies: ending at midnight does not occupy the next day."""
    if end_wall.time() == MIDNIGHT and end_wall > start_wall:
        return end_wall.date() - timedelta(days=1)
    return end_wall.date()


def _days(first: date, last: date) -> Iterable[date]:
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


def _envelope(day: date, cal: SpaceCalendar) -> tuple[int, int] | None:
    """First opening and last closing of a day in wall minutes, or None when the day is closed."""
    hours = cal.hours_on(day)
    if not hours or cal.closure_on(day):
        return None
    return _minutes(hours[0][0]), _minutes(hours[-1][1], closing=True)


def _ensure_open(day: date, cal: SpaceCalendar) -> tuple[int, int]:
    closure = cal.closure_on(day)
    if closure:
        raise SpaceClosed(day=day, label=closure.label)
    envelope = _envelope(day, cal)
    if envelope is None:
        raise OutsideOpeningHours(day=day, hours=())
    return envelope


def _unit_blocks(day: date, unit: Unit, cal: SpaceCalendar) -> list[tuple[int, int]]:
    """The bookable blocks of a day for a half-day or day unit, in wall minutes; [] when closed.

    A day runs from first opening to last closing (a lunch break inside it is part of the day). The
    half-days split it at the space's boundary; a half that would be empty (Saturday closing at noon
    with a 13:30 boundary) does not exist.
    """
    envelope = _envelope(day, cal)
    if envelope is None:
        return []
    opens, closes = envelope
    if unit == "day":
        return [envelope]
    boundary = _minutes(cal.half_day_boundary)
    halves = [(opens, min(boundary, closes)), (max(boundary, opens), closes)]
    return [(a, b) for a, b in halves if a < b]


def _blocks_utc(day: date, unit: Unit, cal: SpaceCalendar) -> list[Interval]:
    zone = cal.zone
    return [
        (_local_to_utc(_wall_at(day, a), zone), _local_to_utc(_wall_at(day, b), zone))
        for a, b in _unit_blocks(day, unit, cal)
    ]


def _open_spans(first: date, last: date, cal: SpaceCalendar) -> list[tuple[datetime, datetime]]:
    """Open wall-clock spans from ``first`` to ``last``, closures removed and touching spans merged.

    Merging lets 9:00–12:30 + 12:30–18:00, or a 24-hour space across midnight, read as one span.
    """
    spans: list[tuple[datetime, datetime]] = []
    for day in _days(first, last):
        if cal.closure_on(day):
            continue
        for a, b in cal.hours_on(day):
            start, end = _wall_at(day, _minutes(a)), _wall_at(day, _minutes(b, closing=True))
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], end))
            else:
                spans.append((start, end))
    return spans


# -- validation -------------------------------------------------------------------------------------


def validate_interval(
    starts_at: datetime,
    ends_at: datetime,
    *,
    rules: BookingRules,
    cal: SpaceCalendar,
    now: datetime,
    is_staff: bool = False,
) -> Interval:
    """Check a requested interval against the resource's rules and the space's calendar.

    Raises the first failing rule, in the order a member can act on: the shape of the interval, then
    when it is (past, horizon), then whether the space is open (closures before weekly hours, as a
    holiday explains more than "closed at 9:00"), then its alignment, then its length. Staff booking
    on a member's behalf may go beyond the horizon — planning ahead is their job — but no other rule
    bends. Returns the interval in UTC.
    """
    if _is_naive(starts_at) or _is_naive(ends_at):
        raise InvalidInterval(InvalidInterval.naive_message)
    if _is_naive(now):
        raise TypeError("now must be an aware datetime")
    starts_at, ends_at = _utc(starts_at), _utc(ends_at)
    if ends_at < starts_at:
        raise InvalidInterval()
    if ends_at == starts_at:
        raise EmptyInterval()
    if starts_at < now:
        raise InThePast()

    zone = cal.zone
    start_wall, end_wall = _wall(starts_at, zone), _wall(ends_at, zone)
    first_day, last_day = start_wall.date(), _last_day(start_wall, end_wall)

    if rules.horizon_days is not None and not is_staff:
        limit = _wall(now, zone).date() + timedelta(days=rules.horizon_days)
        if first_day > limit:
            raise BeyondHorizon(days=rules.horizon_days)
        if last_day > limit:
            raise BeyondHorizon(days=rules.horizon_days, on=("ends_at",))

    if rules.unit == "hour":
        _check_hourly(start_wall, end_wall, first_day, last_day, rules, cal)
    else:
        _check_blocks(starts_at, ends_at, start_wall, end_wall, first_day, last_day, rules, cal)

    wall_minutes = (end_wall - start_wall) // timedelta(minutes=1)
    if rules.min_minutes and wall_minutes < rules.min_minutes:
        raise TooShort(minutes=rules.min_minutes)
    if rules.max_minutes and wall_minutes > rules.max_minutes:
        raise TooLong(minutes=rules.max_minutes)
    return starts_at, ends_at


def _check_hourly(
    start_wall: datetime,
    end_wall: datetime,
    first_day: date,
    last_day: date,
    rules: BookingRules,
    cal: SpaceCalendar,
) -> None:
    for day in _days(first_day, last_day):
        closure = cal.closure_on(day)
        if closure:
            raise SpaceClosed(
                day=day, label=closure.label, on=("starts_at",) if day == first_day else ("ends_at",)
            )
    if not any(a <= start_wall and end_wall <= b for a, b in _open_spans(first_day, last_day, cal)):
        on = ("starts_at", "ends_at") if first_day == last_day else ("starts_at",)
        raise OutsideOpeningHours(day=first_day, hours=cal.hours_on(first_day), on=on)
    # Aligned to local midnight in wall-clock minutes, so 9:30 stays on a 30-minute grid on DST days.
    step = rules.granularity_minutes
    misaligned = [
        name
        for name, wall in (("starts_at", start_wall), ("ends_at", end_wall))
        if wall.second or wall.microsecond or _minutes(wall.time()) % step
    ]
    if misaligned:
        raise OffGranularity(minutes=step, on=misaligned)


def _check_blocks(
    starts_at: datetime,
    ends_at: datetime,
    start_wall: datetime,
    end_wall: datetime,
    first_day: date,
    last_day: date,
    rules: BookingRules,
    cal: SpaceCalendar,
) -> None:
    # Days and half-days may run over several days (a private office for a week); closed days in
    # between are simply not charged, but the booking must start and end on days the space is open.
    for day, on in ((first_day, "starts_at"), (last_day, "ends_at")):
        closure = cal.closure_on(day)
        if closure:
            raise SpaceClosed(day=day, label=closure.label, on=(on,))
    first_env, last_env = _envelope(first_day, cal), _envelope(last_day, cal)
    start_minutes = _minutes(start_wall.time())
    end_minutes = 24 * 60 if end_wall.date() > last_day else _minutes(end_wall.time())
    if first_env is None or not first_env[0] <= start_minutes < first_env[1]:
        raise OutsideOpeningHours(day=first_day, hours=cal.hours_on(first_day), on=("starts_at",))
    if last_env is None or not last_env[0] < end_minutes <= last_env[1]:
        raise OutsideOpeningHours(day=last_day, hours=cal.hours_on(last_day), on=("ends_at",))
    starts = {a for a, _ in _blocks_utc(first_day, rules.unit, cal)}
    ends = {b for _, b in _blocks_utc(last_day, rules.unit, cal)}
    misaligned = [
        name for name, ok in (("starts_at", starts_at in starts), ("ends_at", ends_at in ends)) if not ok
    ]
    if misaligned:
        boundary = cal.half_day_boundary if rules.unit == "half_day" else None
        raise OffGranularity(boundary=boundary, on=misaligned)


def access_refusal(rules: BookingRules, *, role: str, member_tags: Iterable[str]) -> NotAllowed | None:
    """Why this member may not book this resource at all (their role, or tags they lack), or None.
    The booking page asks it up front, so that a member is not offered what will be refused."""
    if rules.allowed_roles and role not in rules.allowed_roles:
        return NotAllowed()
    missing = rules.required_tags - frozenset(member_tags)
    if missing:
        return NotAllowed(missing_tags=missing)
    return None


def check_can_book(
    rules: BookingRules,
    *,
    role: str,
    member_tags: Iterable[str],
    archived: bool,
    blocked_periods: Iterable[Interval],
    starts_at: datetime,
    ends_at: datetime,
) -> None:
    """May this member book this resource for this interval at all?

    Archived comes first because nobody may book it (telling the member they lack a tag would send
    them chasing a training for a desk that no longer exists). Blocked periods are half-open, so a
    maintenance slot ending at 9:00 does not block a booking starting at 9:00.
    """
    if archived:
        raise ResourceArchived()
    refusal = access_refusal(rules, role=role, member_tags=member_tags)
    if refusal is not None:
        raise refusal
    for block_start, block_end in blocked_periods:
        if overlaps(starts_at, ends_at, block_start, block_end):
            raise ResourceBlocked(starts_at=block_start, ends_at=block_end)


# -- days, half-days and slots -----------------------------------------------------------------------


def day_interval(day: date, cal: SpaceCalendar) -> Interval:
    """A whole-day booking: first opening to last closing of ``day`` in local time, returned in UTC.

    It keeps the wall-clock times members see on DST days too: 9:00–18:00 stays 9:00–18:00 (9 real
    hours, as the change happens at night), and a round-the-clock day is 23 or 25 real hours. Raises ``space_closed`` / ``outside_opening_hours`` on a day
    the space is shut.
    """
    _ensure_open(day, cal)
    return _blocks_utc(day, "day", cal)[0]


def half_day_interval(day: date, which: HalfDay, cal: SpaceCalendar) -> Interval:
    """Morning (opening → boundary) or afternoon (boundary → closing) of ``day``, in UTC."""
    if which not in ("am", "pm"):
        raise ValueError(f"which must be 'am' or 'pm', got {which!r}")
    opens, closes = _ensure_open(day, cal)
    boundary = _minutes(cal.half_day_boundary)
    a, b = (opens, min(boundary, closes)) if which == "am" else (max(boundary, opens), closes)
    if a >= b:
        raise OutsideOpeningHours(day=day, hours=cal.hours_on(day))
    zone = cal.zone
    return _local_to_utc(_wall_at(day, a), zone), _local_to_utc(_wall_at(day, b), zone)


def snap_to_unit(
    day: date, unit: Unit, cal: SpaceCalendar, *, granularity_minutes: int = 60
) -> list[Interval]:
    """The bookable intervals of ``day`` for a unit, in UTC, for availability views; [] when closed.

    Hour units give one slot per granularity step inside each opening interval, on the grid anchored
    at local midnight (so the same cells validate_interval accepts); half-days give morning and
    afternoon; a day gives the whole day. Wall times that do not exist (spring-forward gap) are
    skipped rather than shown twice.
    """
    if unit != "hour":
        return _blocks_utc(day, unit, cal)
    if granularity_minutes <= 0:
        raise ValueError("granularity_minutes must be positive")
    if not cal.is_open_on(day):
        return []
    zone, step = cal.zone, granularity_minutes
    slots: list[Interval] = []
    for a, b in cal.hours_on(day):
        opens, closes = _minutes(a), _minutes(b, closing=True)
        cursor = math.ceil(opens / step) * step
        while cursor + step <= closes:
            start_wall = _wall_at(day, cursor)
            start = _local_to_utc(start_wall, zone)
            if _wall(start, zone) == start_wall:
                slots.append((start, _local_to_utc(_wall_at(day, cursor + step), zone)))
            cursor += step
    return slots


# -- recurrence -------------------------------------------------------------------------------------


def occurrences_weekly(
    starts_at: datetime,
    ends_at: datetime,
    *,
    tz: str,
    until: date | None = None,
    count: int | None = None,
    max_count: int = 52,
) -> list[Interval]:
    """Weekly repeats of an interval, keeping its local wall-clock times across DST changes.

    "Tuesday 9–11" stays 9–11 on the wall after the clock changes (and so moves by an hour in UTC).
    ``until`` is a local date, inclusive; exactly one of ``until`` / ``count`` is required, and a
    series longer than ``max_count`` is refused rather than silently cut. The first occurrence is
    the given interval. Each occurrence still has to pass validate_interval.
    """
    if (until is None) == (count is None):
        raise InvalidRecurrence()
    if _is_naive(starts_at) or _is_naive(ends_at):
        raise InvalidInterval(InvalidInterval.naive_message)
    zone = ZoneInfo(tz)
    start_wall, end_wall = _wall(starts_at, zone), _wall(ends_at, zone)
    if count is not None:
        if count < 1:
            raise InvalidRecurrence(InvalidRecurrence.count_message, on=("count",))
        total = count
    else:
        assert until is not None
        if until < start_wall.date():
            raise InvalidRecurrence(InvalidRecurrence.until_before_start_message, on=("until",))
        total = (until - start_wall.date()).days // 7 + 1
    if total > max_count:
        raise TooManyOccurrences(count=max_count, on=("count",) if count is not None else ("until",))
    week = timedelta(weeks=1)
    return [
        (_local_to_utc(start_wall + week * i, zone), _local_to_utc(end_wall + week * i, zone))
        for i in range(total)
    ]


# -- cancellation, units, conflicts ----------------------------------------------------------------


def can_cancel(starts_at: datetime, *, rules: BookingRules, now: datetime) -> CancelOutcome:
    """Whether a booking may be cancelled now: "ok", "late_charge", or raises.

    The deadline is counted in real hours before the start. A booking that has started can no
    longer be cancelled under either policy: what remains is ending it early, a different act.
    """
    if starts_at <= now:
        raise CancellationDeadlinePassed(hours=rules.cancel_deadline_hours, started=True)
    if _utc(now) <= _utc(starts_at) - timedelta(hours=rules.cancel_deadline_hours):
        return "ok"
    if rules.late_cancel == "charge":
        return "late_charge"
    raise CancellationDeadlinePassed(hours=rules.cancel_deadline_hours)


def units_for(starts_at: datetime, ends_at: datetime, *, unit: Unit, cal: SpaceCalendar) -> int:
    """How many units an interval uses, the quantity a booking is priced by (``app.pricing``).

    Hours are counted in real elapsed minutes and any started hour is due (90 minutes = 2 hours;
    a night across the spring change is an hour shorter). Half-days and days count the blocks the
    interval covers, so a week of days skips the weekend the space is closed.
    """
    start, end = _utc(starts_at), _utc(ends_at)
    if end <= start:
        raise ValueError("units_for needs a non-empty interval")
    if unit == "hour":
        return -((start - end) // timedelta(hours=1))  # ceiling, in exact integer arithmetic
    zone = cal.zone
    start_wall, end_wall = _wall(start, zone), _wall(end, zone)
    units = sum(
        1
        for day in _days(start_wall.date(), _last_day(start_wall, end_wall))
        for a, b in _blocks_utc(day, unit, cal)
        if start <= a and b <= end
    )
    if not units:
        raise ValueError(f"interval does not cover a whole {unit.replace('_', '-')}")
    return units


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open overlap ``[a) ∩ [b)``: touching intervals do not overlap, as in the database guard."""
    return a_start < b_end and b_start < a_end


def buffered(starts_at: datetime, ends_at: datetime, buffer_minutes: int) -> Interval:
    """The interval widened by the buffer on both sides, for conflict checks.

    Widen only the new booking and compare with existing bookings as stored: widening both would
    demand twice the buffer between them.
    """
    pad = timedelta(minutes=buffer_minutes)
    return starts_at - pad, ends_at + pad


def find_conflict(
    starts_at: datetime, ends_at: datetime, existing: Iterable[Interval], *, buffer_minutes: int = 0
) -> Interval | None:
    """The first existing interval that overlaps the new one once buffered, or None.

    For capacity-1 resources in code paths without the database guard (previews, series planning);
    raise ``BookingConflict(starts_at=..., ends_at=...)`` with the result.
    """
    start, end = buffered(starts_at, ends_at, buffer_minutes)
    return next((iv for iv in existing if overlaps(start, end, iv[0], iv[1])), None)
