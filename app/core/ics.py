"""Building iCalendar data for Fabrique: published feeds and e-mailed invitations.

This module is pure: plain values in, bytes out, no database and no clock. Callers pass ``stamp``
so that building the same feed twice gives the same bytes, which keeps ETags honest and makes
golden-file tests possible.

Two shapes leave the platform:

* a **feed** (``build_feed``): one VCALENDAR without METHOD that calendar apps subscribe to and
  poll. Its cheap companions ``feed_etag`` and ``feed_last_modified`` let the HTTP layer answer
  ``304 Not Modified`` without building anything;
* an **invitation** (``build_invitation``): an iTIP message (RFC 5546) with METHOD REQUEST or
  CANCEL, attached to an e-mail so the booking lands in (or leaves) the member's own calendar.

Times are written in the space's timezone (``TZID=Europe/Paris`` plus a VTIMEZONE), not in UTC, so
that a 09:00 booking stays 09:00 in every client even across a daylight-saving change.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vCalAddress, vDuration
from icalendar.enums import STATUS, TRANSP

from app.core.text import has_line_break_or_control, multi_line, one_line

__all__ = [
    "DEFAULT_PRODID",
    "CalendarAttachment",
    "FeedItem",
    "ItemStatus",
    "Method",
    "Party",
    "anonymise",
    "assemble_feed",
    "build_event",
    "build_feed",
    "build_object",
    "build_invitation",
    "feed_etag",
    "feed_last_modified",
    "invitation_attachment",
    "make_uid",
]

DEFAULT_PRODID = "-//Fabrique//Fabrique//FR"

# Bumped whenever build_feed's output changes shape for the same inputs, so that every ETag changes
# with a deployment that changes the bytes served behind it.
FEED_FORMAT_VERSION = "1"

ItemStatus = Literal["CONFIRMED", "CANCELLED", "TENTATIVE"]
Method = Literal["REQUEST", "CANCEL"]
_STATUSES = ("CONFIRMED", "CANCELLED", "TENTATIVE")


@dataclass(frozen=True)
class Party:
    """A person or mailbox taking part in an event (ORGANIZER or ATTENDEE)."""

    email: str
    name: str | None = None

    def __post_init__(self) -> None:
        # A line break in a CAL-ADDRESS would let a user-supplied e-mail inject iCalendar lines.
        if not self.email or any(c.isspace() or ord(c) < 32 for c in self.email) or "@" not in self.email:
            raise ValueError(f"not a usable e-mail address: {self.email!r}")


@dataclass(frozen=True, kw_only=True)
class FeedItem:
    """One event as the calendar layer sees it, independent of bookings, events or closures.

    ``uid`` must stay the same for the life of the thing it describes (see ``make_uid``); calendar
    clients match updates and cancellations on it. ``sequence`` must grow with every change that
    matters to an attendee (time, place, cancellation) and ``last_modified`` with every change at
    all: ``feed_etag`` trusts them instead of looking at the other fields.

    ``start``/``end`` are aware datetimes (any zone; they are written in the feed's zone) or two
    ``date`` objects for an all-day item, ``end`` being exclusive as in iCalendar.
    """

    uid: str
    start: datetime | date
    end: datetime | date
    summary: str
    last_modified: datetime
    sequence: int = 0
    status: ItemStatus = "CONFIRMED"
    description: str | None = None
    location: str | None = None
    url: str | None = None
    transparent: bool = False
    organizer: Party | None = None
    attendees: tuple[Party, ...] = ()

    def __post_init__(self) -> None:
        # Names and titles reach here from rows stored before line breaks were refused: a line
        # break in a property would end it (icalendar refuses, the feed answered 500) and a
        # control character makes clients reject the file. Flattened, never trusted.
        object.__setattr__(self, "summary", one_line(self.summary))
        if self.location is not None:
            object.__setattr__(self, "location", one_line(self.location))
        if self.description is not None:
            object.__setattr__(self, "description", multi_line(self.description))
        if not self.uid or has_line_break_or_control(self.uid):
            raise ValueError("uid is required, on one line")
        if self.status not in _STATUSES:
            raise ValueError(f"status must be one of {_STATUSES}, not {self.status!r}")
        if self.sequence < 0:
            raise ValueError("sequence cannot be negative")
        if _is_aware(self.last_modified) is not True:
            raise ValueError("last_modified must be an aware datetime")
        start_aware, end_aware = _is_aware(self.start), _is_aware(self.end)
        if start_aware is False or end_aware is False:
            raise ValueError("start and end must be aware datetimes (or dates for an all-day item)")
        if start_aware != end_aware:
            raise ValueError("start and end must both be datetimes or both be dates")
        if not self.end > self.start:
            raise ValueError("end must be after start")

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)


@dataclass(frozen=True)
class CalendarAttachment:
    """How to attach an invitation to an e-mail.

    Gmail and Apple Mail read it as an attachment; Outlook shows its accept/decline bar more
    reliably when the same bytes are also (or instead) a ``text/calendar`` part of the
    ``multipart/alternative`` body, so the mailer may use ``content_type`` for either.
    """

    content_type: str
    maintype: str
    subtype: str
    params: dict[str, str]
    filename: str


def make_uid(kind: str, object_id: int | str, space_slug: str) -> str:
    """A UID that never changes for a given object: ``booking-123@coworking-perigueux.fabrique``.

    It is built from ids rather than random so that a feed rebuilt from the database, an
    invitation sent later and a CalDAV copy all name the same event.
    """
    if not kind or not space_slug or object_id in ("", None):
        raise ValueError("kind, object_id and space_slug are required")
    return f"{kind}-{object_id}@{space_slug}.fabrique"


def anonymise(item: FeedItem, label: str) -> FeedItem:
    """The busy/free view of an item: only when it happens, under a neutral label ("Occupé").

    Description and attendees are dropped because they say who booked and why. The organizer and
    URL go too: the organizer may be the member, and the URL names a private booking page. UID,
    times, status and sequence stay so that subscribed clients still update the right event.
    """
    return dataclasses.replace(item, summary=label, description=None, url=None, organizer=None, attendees=())


def feed_last_modified(items: Iterable[FeedItem]) -> datetime | None:
    """The latest ``last_modified`` of the items, in UTC, for the HTTP ``Last-Modified`` header.

    A removed item makes no item newer, so this alone can miss a change; ``feed_etag`` does not.
    """
    latest = max((item.last_modified for item in items), default=None)
    return latest.astimezone(UTC) if latest is not None else None


def feed_etag(items: Iterable[FeedItem], name: str, tz: str, *, variant: str = "") -> str:
    """A strong ETag for ``build_feed(items, name=name, tz=tz, ...)``, computed without building it.

    Only ``(uid, sequence, status, last_modified)`` of each item are hashed, which is what makes a
    304 cheap; the caller guarantees that ``last_modified`` moves on every edit of an item.
    Anything else that shapes the output and may change between requests (a busy label, the
    refresh interval, ``prodid``) must be folded into ``variant``. ``stamp`` should then be
    derived from the items too (``feed_last_modified``), otherwise equal ETags would cover bytes
    that differ in DTSTAMP.
    """
    digest = hashlib.sha256()
    for part in (FEED_FORMAT_VERSION, name, tz, variant):
        digest.update(part.encode())
        digest.update(b"\x1f")
    rows = sorted(
        f"{item.uid}\x1f{item.sequence}\x1f{item.status}\x1f{item.last_modified.astimezone(UTC).isoformat()}"
        for item in items
    )
    for row in rows:
        digest.update(row.encode())
        digest.update(b"\x1e")
    return f'"{digest.hexdigest()[:32]}"'


def build_feed(
    items: Iterable[FeedItem],
    *,
    name: str,
    tz: str,
    prodid: str = DEFAULT_PRODID,
    stamp: datetime,
    refresh_minutes: int = 15,
) -> bytes:
    """One subscribable VCALENDAR with every item, times in ``tz``.

    Items are sorted (start, then UID) so that the output does not depend on query order.
    Cancelled items stay in the feed with STATUS:CANCELLED for a while (the caller decides how
    long): some clients keep an event that merely disappears from a feed, none keep a cancelled one.
    """
    zone = _zone(tz)
    _require_aware(stamp, "stamp")
    if refresh_minutes <= 0:
        raise ValueError("refresh_minutes must be positive")
    ordered = sorted(items, key=lambda item: (_sort_key(item.start, zone), item.uid))
    uids = [item.uid for item in ordered]
    if len(set(uids)) != len(uids):
        raise ValueError("two feed items share a UID; a feed holds one event per UID")

    cal = _feed_calendar(ordered, name=name, tz=tz, prodid=prodid, stamp=stamp, refresh_minutes=refresh_minutes)
    for item in ordered:
        cal.add_component(_event(item, zone, stamp))
    cal.add_missing_timezones()
    cal.validate()  # type: ignore[no-untyped-call]
    return _bytes(cal.to_ical())


def _feed_calendar(
    ordered: Sequence[FeedItem], *, name: str, tz: str, prodid: str, stamp: datetime, refresh_minutes: int
) -> Calendar:
    return _empty_feed(name, tz, prodid, _years(ordered, stamp), feed_last_modified(ordered), refresh_minutes)


def _empty_feed(
    name: str, tz: str, prodid: str, years: tuple[int, int], latest: datetime | None, refresh_minutes: int
) -> Calendar:
    """The VCALENDAR of a feed with its properties and VTIMEZONE, before any event."""
    refresh = timedelta(minutes=refresh_minutes)
    cal = Calendar.new(name=one_line(name), prodid=prodid, refresh_interval=refresh)
    # Calendar.new always sets a random calendar UID, which would make every build different.
    cal.pop("UID", None)
    # RFC 7986 makes VALUE=DURATION mandatory on REFRESH-INTERVAL; icalendar leaves it out.
    cal["REFRESH-INTERVAL"].params["VALUE"] = "DURATION"
    cal.add("X-WR-TIMEZONE", tz)
    # An X- property is text unless told otherwise: a bare timedelta would be written "0:15:00".
    cal.add("X-PUBLISHED-TTL", vDuration(refresh))
    if latest is not None:
        cal.add("LAST-MODIFIED", latest)
    # The space's VTIMEZONE comes first (single-pass parsers need it before the events) and is
    # there even when no item uses it: X-WR-TIMEZONE refers to it, and an empty feed still needs
    # one component to be a valid iCalendar object.
    cal.add_component(_vtimezone(tz, years))
    return cal


@functools.lru_cache(maxsize=256)
def _feed_head(
    name: str, tz: str, prodid: str, years: tuple[int, int], latest: datetime | None, refresh_minutes: int
) -> bytes:
    """The serialised VCALENDAR of a feed without events (its VTIMEZONE alone takes milliseconds)."""
    return _bytes(_empty_feed(name, tz, prodid, years, latest, refresh_minutes).to_ical())


def build_event(item: FeedItem, *, tz: str) -> bytes:
    """One VEVENT of a feed, its DTSTAMP being the item's ``last_modified``.

    In a calendar without METHOD, DTSTAMP is when the item was last revised in the store
    (RFC 5545, 3.8.7.2), so each event can be serialised once and reused until the item changes:
    the whole of a ``FeedItem`` is a safe cache key for these bytes. See ``assemble_feed``.
    """
    return _bytes(_event(item, _zone(tz), item.last_modified).to_ical())


def assemble_feed(
    items: Iterable[FeedItem],
    *,
    name: str,
    tz: str,
    event_bytes: Callable[[FeedItem], bytes],
    prodid: str = DEFAULT_PRODID,
    refresh_minutes: int = 15,
    now: datetime,
) -> bytes:
    """A feed like ``build_feed``'s, from events serialised by ``event_bytes`` (``build_event``
    behind a cache), so that serving a large feed costs a join rather than 1,000 serialisations.

    Each event carries its own DTSTAMP (its ``last_modified``); the output is byte for byte what
    ``build_feed`` gives when every item has the same ``last_modified`` and ``stamp`` is it.
    ``now`` only dates the VTIMEZONE of an empty feed.
    """
    zone = _zone(tz)
    _require_aware(now, "now")
    if refresh_minutes <= 0:
        raise ValueError("refresh_minutes must be positive")
    ordered = sorted(items, key=lambda item: (_sort_key(item.start, zone), item.uid))
    uids = {item.uid for item in ordered}
    if len(uids) != len(ordered):
        raise ValueError("two feed items share a UID; a feed holds one event per UID")
    head = _feed_head(name, tz, prodid, _years(ordered, now), feed_last_modified(ordered), refresh_minutes)
    end = b"END:VCALENDAR\r\n"
    if not head.endswith(end):  # pragma: no cover - icalendar always ends a component so
        raise RuntimeError("unexpected VCALENDAR serialisation")
    return b"".join([head[: -len(end)], *(event_bytes(item) for item in ordered), end])


def build_invitation(
    item: FeedItem,
    *,
    method: Method,
    organizer_email: str,
    organizer_name: str | None,
    attendee_email: str,
    attendee_name: str | None,
    tz: str,
    stamp: datetime,
    prodid: str = DEFAULT_PRODID,
) -> bytes:
    """An iTIP message (RFC 5546) telling the attendee's calendar to add, update or drop an event.

    REQUEST carries the attendee as already ACCEPTED with RSVP=FALSE: the member booked it
    themselves, so clients should file it without asking for a reply. CANCEL carries
    STATUS:CANCELLED whatever the item says. Clients only apply a message whose SEQUENCE is at
    least the one they hold, so the caller bumps ``item.sequence`` on every change it announces,
    cancellation included; the UID must be the one used in the first REQUEST.
    """
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"method must be REQUEST or CANCEL, not {method!r}")
    if method == "REQUEST" and item.status == "CANCELLED":
        raise ValueError("a cancelled item is announced with method CANCEL")
    zone = _zone(tz)
    _require_aware(stamp, "stamp")
    if method == "CANCEL":
        item = dataclasses.replace(item, status="CANCELLED")

    organizer = _address(Party(organizer_email, organizer_name))
    attendee = _address(Party(attendee_email, attendee_name))
    attendee.params["CUTYPE"] = "INDIVIDUAL"
    attendee.params["ROLE"] = "REQ-PARTICIPANT"
    if method == "REQUEST":
        attendee.params["PARTSTAT"] = "ACCEPTED"
    attendee.params["RSVP"] = "FALSE"

    event = _event(dataclasses.replace(item, organizer=None, attendees=()), zone, stamp)
    event.add("ORGANIZER", organizer)
    event.add("ATTENDEE", attendee)

    cal = Calendar.new(prodid=prodid, method=method)
    cal.pop("UID", None)
    cal.add_component(event)
    cal.validate()  # type: ignore[no-untyped-call]
    return _with_vtimezone(cal.to_ical(), tz, _years([item], stamp))


def build_object(item: FeedItem, *, tz: str, prodid: str = DEFAULT_PRODID) -> bytes:
    """A CalDAV calendar object (RFC 4791, 4.1): one event, no METHOD, its DTSTAMP its last change.

    A CalDAV server stores one UID per object, so each booking is written on its own rather than
    as a slice of a feed.
    """
    zone = _zone(tz)
    cal = Calendar.new(prodid=prodid)
    cal.pop("UID", None)
    cal.add_component(_event(item, zone, item.last_modified))
    cal.validate()  # type: ignore[no-untyped-call]
    return _with_vtimezone(cal.to_ical(), tz, _years([item], item.last_modified))


def invitation_attachment(method: Method) -> CalendarAttachment:
    """MIME type and filename for an invitation built with ``method``."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"method must be REQUEST or CANCEL, not {method!r}")
    return CalendarAttachment(
        content_type=f"text/calendar; method={method}; charset=UTF-8",
        maintype="text",
        subtype="calendar",
        params={"method": method, "charset": "UTF-8"},
        filename="invite.ics",
    )


# --- internals -------------------------------------------------------------------------------


def _bytes(ical: Any) -> bytes:
    """``to_ical()`` is typed loosely by icalendar; it always returns bytes."""
    assert isinstance(ical, bytes)
    return ical


def _event(item: FeedItem, zone: ZoneInfo, stamp: datetime) -> Event:
    start: date | datetime
    end: date | datetime
    if item.all_day:
        start, end = item.start, item.end
    else:
        assert isinstance(item.start, datetime) and isinstance(item.end, datetime)
        start, end = item.start.astimezone(zone), item.end.astimezone(zone)
    event = Event.new(
        uid=item.uid,
        start=start,
        end=end,
        stamp=stamp.astimezone(UTC),
        summary=item.summary,
        description=item.description,
        location=item.location,
        url=item.url,
        sequence=item.sequence,
        status=STATUS(item.status),
        transparency=TRANSP.TRANSPARENT if item.transparent else TRANSP.OPAQUE,
        last_modified=item.last_modified.astimezone(UTC),
    )
    if item.organizer is not None:
        event.add("ORGANIZER", _address(item.organizer))
    for attendee in item.attendees:
        event.add("ATTENDEE", _address(attendee))
    return event


def _address(party: Party) -> vCalAddress:
    address = vCalAddress(f"mailto:{party.email}")
    if party.name:
        # A line break cannot be escaped inside a parameter value; flatten it.
        address.params["CN"] = one_line(party.name)
    return address


_EVENT_BEGIN = b"\r\nBEGIN:VEVENT\r\n"


def _with_vtimezone(calendar: bytes, tz: str, years: tuple[int, int]) -> bytes:
    """``calendar`` (one VEVENT in ``tz``, no VTIMEZONE) with the VTIMEZONE spliced in before the
    event: the bytes ``add_component(_vtimezone(...))`` first would give, without building and
    folding the zone for every message (it was two thirds of an invitation's cost)."""
    at = calendar.index(_EVENT_BEGIN) + 2
    return calendar[:at] + _vtimezone_bytes(tz, years) + calendar[at:]


@functools.lru_cache(maxsize=256)
def _vtimezone_bytes(tz: str, years: tuple[int, int]) -> bytes:
    """The serialised VTIMEZONE of ``tz`` for ``years`` (immutable bytes, safe to share)."""
    return _bytes(_vtimezone(tz, years).to_ical())


def _vtimezone(tz: str, years: tuple[int, int]) -> Timezone:
    """The VTIMEZONE for ``tz`` covering whole years around the items.

    Bounding the range keeps the component a few hundred bytes instead of icalendar's default
    1970-2038 (several kilobytes of RDATEs repeated in every feed and e-mail).
    """
    first, last = years
    component = Timezone.from_tzid(tz, first_date=date(first, 1, 1), last_date=date(last, 1, 1))
    _fix_daylight_onsets(component, _zone(tz))
    return component


def _fix_daylight_onsets(component: Timezone, zone: ZoneInfo) -> None:
    """Rewrite each spring-forward onset as RFC 5545 defines it: the local time *before* the change.

    icalendar 7.3 writes the first wall-clock time *after* the gap (03:00 for Europe/Paris) where
    RFC 5545 reads DTSTART with TZOFFSETFROM (02:00), which places the change one hour late for a
    client converting UTC to local time with our VTIMEZONE. Every candidate is checked against the
    zone's real transitions, so output from a fixed icalendar is left as it is.
    """
    for sub in component.subcomponents:
        offset_from, offset_to = sub.TZOFFSETFROM, sub.TZOFFSETTO
        if offset_to <= offset_from:
            continue
        if isinstance(sub.DTSTART, datetime):
            sub.DTSTART = _onset(sub.DTSTART, zone, offset_from, offset_to)
        if "RDATE" in sub:
            values = sub.pop("RDATE")
            values = values if isinstance(values, list) else [values]
            sub.add(
                "RDATE", [_onset(leaf.dt, zone, offset_from, offset_to) for v in values for leaf in v.dts]
            )


def _onset(local: datetime, zone: ZoneInfo, offset_from: timedelta, offset_to: timedelta) -> datetime:
    for candidate in (local, local - (offset_to - offset_from)):
        instant = (candidate - offset_from).replace(tzinfo=UTC)
        before = _offset(zone, instant - timedelta(seconds=1))
        if before == offset_from and _offset(zone, instant) == offset_to:
            return candidate
    return local


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta | None:
    return instant.astimezone(zone).utcoffset()


def _years(items: Sequence[FeedItem], stamp: datetime) -> tuple[int, int]:
    if not items:
        year = stamp.astimezone(UTC).year
        return year, year + 2
    first = min(_as_date(item.start) for item in items)
    last = max(_as_date(item.end) for item in items)
    return first.year - 1, last.year + 2


def _as_date(value: datetime | date) -> date:
    return value.astimezone(UTC).date() if isinstance(value, datetime) else value


def _sort_key(value: datetime | date, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.combine(value, time(0), tzinfo=zone).astimezone(UTC)


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"unknown timezone {tz!r}") from exc


def _is_aware(value: object) -> bool | None:
    """True/False for an aware/naive datetime, None for a plain date."""
    if isinstance(value, datetime):
        return value.tzinfo is not None and value.utcoffset() is not None
    if isinstance(value, date):
        return None
    raise TypeError(f"expected a date or datetime, got {type(value).__name__}")


def _require_aware(value: datetime, what: str) -> None:
    if _is_aware(value) is not True:
        raise ValueError(f"{what} must be an aware datetime")
