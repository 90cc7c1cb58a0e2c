"""Importing external calendars (Google, Outlook, Airbnb, another booking tool) that block a resource.

Two steps, kept apart so that each can be retried and tested on its own:

* ``fetch_calendar`` downloads a feed politely (conditional GET, size and time limits) and never
  raises for anything the remote side does: every failure becomes a ``FetchResult`` with a stable
  ``error_code`` and a short message a manager can act on;
* ``expand_blocks`` turns the bytes into the busy intervals of a time window: recurrences expanded,
  cancelled and "free" events left out, everything in aware UTC ready to compare with bookings.

Nothing here touches the database; the calendar-import job stores the ETag, the blocks and the
error of the last run.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime
from typing import Literal
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import httpx
import recurring_ical_events
from icalendar import Calendar, Component, vBroken

from app.core.outbound import OutboundRefused, guarded_client

__all__ = [
    "Block",
    "CalendarParseError",
    "CalendarURLError",
    "FetchResult",
    "expand_blocks",
    "fetch_calendar",
    "looks_like_calendar",
    "normalise_calendar_url",
]

logger = logging.getLogger(__name__)

FetchStatus = Literal["ok", "not_modified", "error"]
FetchErrorCode = Literal[
    "unreachable", "timeout", "http_error", "too_large", "invalid_ics", "not_calendar", "forbidden_address"
]

USER_AGENT = "Fabrique-calendar-import/1.0"
_ACCEPT = "text/calendar, text/plain;q=0.8, */*;q=0.5"
_MAX_REDIRECTS = 5
_SCHEMES = {"http": "http", "https": "https", "webcal": "https", "webcals": "https"}


@dataclass
class FetchResult:
    """What one download attempt gave; ``body`` is set only when ``status == "ok"``.

    ``etag`` and ``last_modified`` are the validators to send next time, exactly as the server
    wrote them (an HTTP-date string for ``last_modified``): echoing them verbatim is what servers
    compare against.
    """

    status: FetchStatus
    etag: str | None = None
    last_modified: str | None = None
    body: bytes | None = None
    error_code: FetchErrorCode | None = None
    error_detail: str | None = None
    http_status: int | None = None


@dataclass(frozen=True)
class Block:
    """A busy interval taken from an external calendar: ``[start, end)`` in aware UTC.

    ``(uid, recurrence_id)`` names one occurrence stably across imports: ``recurrence_id`` is the
    occurrence's original start (``20261022T080000Z``, or ``20261025`` for an all-day one) for
    events that recur or override an occurrence, and None for one-off events.
    """

    start: datetime
    end: datetime
    uid: str
    recurrence_id: str | None = None
    summary: str | None = None


class CalendarURLError(ValueError):
    """An address that Fabrique refuses to fetch (not http, https or webcal)."""


class CalendarParseError(ValueError):
    """The bytes are not a calendar Fabrique can read.

    ``code`` is ``"invalid_ics"`` for unreadable data or ``"too_many_events"`` when expanding the
    window would create more blocks than allowed; ``detail`` is safe to show a manager.
    """

    def __init__(self, detail: str, code: str = "invalid_ics") -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


# --- fetching --------------------------------------------------------------------------------


def normalise_calendar_url(url: str) -> str:
    """The URL to request, or CalendarURLError: http(s) only, ``webcal://`` read as ``https://``.

    ``webcal`` is only a hint for the operating system to open a calendar app; every provider
    serves the same path over https. Anything else (``file:``, ``ftp:``, ``gopher:``) would let a
    manager read from the server itself.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise CalendarURLError("This is not a valid web address.") from exc
    scheme = _SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise CalendarURLError("Only http://, https:// and webcal:// calendar addresses are supported.")
    if not parts.hostname:
        raise CalendarURLError("The calendar address has no host name.")
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))


def looks_like_calendar(body: bytes) -> bool:
    """Whether a response body starts like iCalendar data (a cheap sniff, not a validation).

    Servers label feeds inconsistently (``text/plain``, ``application/octet-stream``), so the
    content decides; the usual mistake it catches is a pasted link to a calendar's web page.
    """
    head = body[:512].removeprefix(b"\xef\xbb\xbf").lstrip()
    return head[:15].upper() == b"BEGIN:VCALENDAR"


async def fetch_calendar(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | datetime | None = None,
    timeout: float = 10.0,  # noqa: ASYNC109 - one budget for the whole attempt, see docstring
    max_bytes: int = 5_000_000,
    client: httpx.AsyncClient | None = None,
) -> FetchResult:
    """Download an external calendar, answering "not_modified" when the validators still match.

    ``timeout`` bounds the whole attempt (connection, redirects and body), not each read, so a
    server dripping one byte at a time cannot hold a worker. ``max_bytes`` is checked against
    Content-Length before reading and against the decoded bytes while reading, which also stops a
    gzip bomb.

    Security: the URL is typed by a space manager and fetched from the server's network (a
    server-side request forgery risk). The default client is ``app.core.outbound``'s: every
    connection, to the first host and to each redirect's, is made only to a checked public address
    (error code "forbidden_address" otherwise). Redirects are followed here, at most
    ``_MAX_REDIRECTS``, each target normalised like the first (http or https only). A ``client``
    passed in (tests) is used as it is.
    """
    try:
        target = normalise_calendar_url(url)
    except CalendarURLError as exc:
        return _error("unreachable", str(exc))
    host = urlsplit(target).hostname or "the server"

    headers = {"Accept": _ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if isinstance(last_modified, datetime):
        last_modified = format_datetime(last_modified.astimezone(UTC), usegmt=True)
    if last_modified:
        headers["If-Modified-Since"] = last_modified

    owned = client is None
    if client is None:
        client = guarded_client(headers={"User-Agent": USER_AGENT})
    try:
        async with asyncio.timeout(timeout):
            return await _download(client, target, headers, timeout, max_bytes, etag, last_modified, host)
    except OutboundRefused:
        return _error("forbidden_address", f"{host} leads to an internal address, which Fabrique does not fetch.")
    except (TimeoutError, httpx.TimeoutException):
        return _error("timeout", f"{host} did not send the calendar within {timeout:g} seconds.")
    except httpx.TooManyRedirects:
        return _error("unreachable", f"{host} redirected too many times.")
    except httpx.UnsupportedProtocol:
        return _error("unreachable", f"{host} redirected to an address that is not http or https.")
    except httpx.ConnectError as exc:
        return _error("unreachable", _connect_error_detail(exc, host))
    except httpx.DecodingError:
        return _error("http_error", f"{host} sent a response that could not be decoded.")
    except httpx.TransportError:
        return _error("unreachable", f"The connection to {host} failed.")
    except httpx.InvalidURL:
        return _error("unreachable", "This is not a valid web address.")
    finally:
        if owned:
            await client.aclose()


async def _download(
    client: httpx.AsyncClient,
    target: str,
    headers: dict[str, str],
    read_timeout: float,
    max_bytes: int,
    etag: str | None,
    last_modified: str | None,
    host: str,
) -> FetchResult:
    for _hop in range(_MAX_REDIRECTS + 1):
        async with client.stream("GET", target, headers=headers, timeout=read_timeout,
                                 follow_redirects=False) as resp:
            if resp.is_redirect and "Location" in resp.headers:
                try:
                    target = normalise_calendar_url(str(resp.url.join(resp.headers["Location"])))
                except CalendarURLError:
                    raise httpx.UnsupportedProtocol("redirect to a scheme that is not http") from None
                continue
            return await _read(resp, max_bytes, etag, last_modified, host)
    raise httpx.TooManyRedirects("too many redirects", request=resp.request)


async def _read(resp: httpx.Response, max_bytes: int, etag: str | None, last_modified: str | None,
                host: str) -> FetchResult:
    status = resp.status_code
    if status == 304:
        return FetchResult(
            status="not_modified",
            etag=resp.headers.get("ETag", etag),
            last_modified=resp.headers.get("Last-Modified", last_modified),
            http_status=status,
        )
    if not 200 <= status < 300:
        return _error("http_error", _http_error_detail(status, host), http_status=status)

    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        return _too_large(max_bytes, status)
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            return _too_large(max_bytes, status)
        chunks.append(chunk)
    body = b"".join(chunks)

    if not looks_like_calendar(body):
        detail = "The address did not return a calendar."
        if "html" in resp.headers.get("Content-Type", "").lower():
            detail = (
                "The address returned a web page, not a calendar: use the calendar's iCal (.ics) link."
            )
        return _error("not_calendar", detail, http_status=status)
    return FetchResult(
        status="ok",
        etag=resp.headers.get("ETag"),
        last_modified=resp.headers.get("Last-Modified"),
        body=body,
        http_status=status,
    )


def _connect_error_detail(exc: httpx.ConnectError, host: str) -> str:
    """Tell apart the three connection failures a manager can do something about."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return f"The host name {host} could not be found. Check the address."
        if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(cause):
            return f"The secure connection to {host} failed: its certificate is not valid."
        cause = cause.__cause__ or cause.__context__
    return f"Could not connect to {host}. Check the address."


def _http_error_detail(status: int, host: str) -> str:
    if status in (401, 403):
        return f"{host} refused access (HTTP {status}): the calendar is private. Use its secret iCal address."
    if status in (404, 410):
        return f"{host} has no calendar at this address (HTTP {status}): it was deleted or the link changed."
    if status == 429:
        return f"{host} is limiting requests (HTTP 429). This is usually temporary."
    if status >= 500:
        return f"{host} had a server error (HTTP {status}). This is usually temporary."
    return f"{host} answered HTTP {status} instead of a calendar."


def _too_large(max_bytes: int, status: int) -> FetchResult:
    return _error(
        "too_large", f"The calendar is larger than {max_bytes / 1_000_000:g} MB.", http_status=status
    )


def _error(code: FetchErrorCode, detail: str, *, http_status: int | None = None) -> FetchResult:
    return FetchResult(status="error", error_code=code, error_detail=detail, http_status=http_status)


# --- expanding -------------------------------------------------------------------------------

# Far enough on both sides to catch every occurrence overlapping the window whatever its zone
# (offsets reach ±14 h) and all-day occurrences, which the library compares as whole dates.
_QUERY_MARGIN = timedelta(days=2)
# Sub-hourly rules make no sense for rooms and would explode into millions of occurrences.
_REFUSED_FREQUENCIES = {"SECONDLY", "MINUTELY"}
_PERIODS = {
    "YEARLY": timedelta(days=365),
    "MONTHLY": timedelta(days=28),
    "WEEKLY": timedelta(weeks=1),
    "DAILY": timedelta(days=1),
    "HOURLY": timedelta(hours=1),
    "MINUTELY": timedelta(minutes=1),
    "SECONDLY": timedelta(seconds=1),
}
# BYDAY=MO means every Monday of the period: up to 5 a month, 53 a year.
_BYDAY_SPREAD = {"MONTHLY": 5, "YEARLY": 53}
_BY_PARTS = ("BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY", "BYHOUR", "BYMINUTE", "BYSECOND")
# expand_blocks refuses before expanding when the upper bound exceeds max_blocks this many times.
_ESTIMATE_SLACK = 2


def expand_blocks(
    body: bytes,
    *,
    window_start: datetime,
    window_end: datetime,
    tz_default: str,
    max_blocks: int = 50_000,
) -> list[Block]:
    """The busy intervals of ``body`` overlapping ``[window_start, window_end)``, sorted, in UTC.

    Recurrences are expanded by recurring-ical-events (RRULE, RDATE, EXDATE, moved and cancelled
    occurrences, DST-correct). Events marked TRANSP:TRANSPARENT ("show as free") or
    STATUS:CANCELLED do not block; TENTATIVE ones do, because a room must not be double-booked on
    a maybe. Occurrences are returned whole, not clipped to the window.

    Times without a zone: an all-day event blocks from local midnight to local midnight in
    ``tz_default`` (the space's zone, so 23 or 25 hours on DST days); a floating time is read in
    the calendar's own X-WR-TIMEZONE when it declares a valid one, as Google and Apple do, and in
    ``tz_default`` otherwise; so is a TZID that is neither an IANA name nor defined in the file.

    One bad entry does not hide the rest: an event whose start cannot be read is skipped, and a
    broken end or recurrence detail is ignored (see ``_repair``); data that cannot be read at all
    raises CalendarParseError, and so does a window holding more than ``max_blocks`` occurrences
    (code "too_many_events"), refused up front when a rough upper bound shows it.

    This is CPU-bound (2,000 events over three months: 2.5 to 4 s on a 2-CPU machine, a third of it
    parsing): call it through ``asyncio.to_thread`` from async code, or from the worker.
    """
    for value, what in ((window_start, "window_start"), (window_end, "window_end")):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{what} must be an aware datetime")
    if window_end <= window_start:
        raise ValueError("window_end must be after window_start")
    zone = ZoneInfo(tz_default)
    window_start, window_end = window_start.astimezone(UTC), window_end.astimezone(UTC)

    calendars = _parse(body)
    for calendar in calendars:
        _drop_unusable_events(calendar)
    # Expansion materialises every occurrence before anything can be counted, so a hostile or
    # broken feed (FREQ=DAILY;BYMINUTE=0,...,59) is refused on an upper bound computed first.
    estimate = sum(
        _occurrence_bound(event, window_start, window_end, zone)
        for c in calendars
        for event in c.walk("VEVENT")
    )
    if estimate > max_blocks * _ESTIMATE_SLACK:
        raise _too_many(max_blocks)

    blocks: dict[tuple[datetime, datetime, str, str | None], Block] = {}
    for calendar in calendars:
        for block in _calendar_blocks(calendar, window_start, window_end, zone):
            blocks.setdefault((block.start, block.end, block.uid, block.recurrence_id), block)
            if len(blocks) > max_blocks:
                raise _too_many(max_blocks)
    return sorted(blocks.values(), key=lambda b: (b.start, b.end, b.uid, b.recurrence_id or ""))


def _too_many(max_blocks: int) -> CalendarParseError:
    return CalendarParseError(
        f"The calendar has more than {max_blocks} events in the imported period.", code="too_many_events"
    )


def _occurrence_bound(event: Component, window_start: datetime, window_end: datetime, zone: ZoneInfo) -> int:
    """An upper bound of the event's occurrences in the window (cheap, deliberately rough)."""
    rdates = event.get("RDATE", [])
    bound = 1 + sum(len(value.dts) for value in (rdates if isinstance(rdates, list) else [rdates]))
    first = max(window_start - _QUERY_MARGIN, _to_utc(event["DTSTART"].dt, zone))
    rules = event.get("RRULE", [])
    for rule in rules if isinstance(rules, list) else [rules]:
        last = window_end + _QUERY_MARGIN
        if rule.get("UNTIL"):
            last = min(last, _to_utc(rule["UNTIL"][0], zone) + _QUERY_MARGIN)
        if last <= first:
            continue
        freq = str(rule.get("FREQ", ["DAILY"])[0]).upper()
        interval = max(int(rule.get("INTERVAL", [1])[0] or 1), 1)
        per_period = 1
        for part in _BY_PARTS:
            spread = _BYDAY_SPREAD.get(freq, 1) if part == "BYDAY" else 1
            per_period *= max(len(rule.get(part, [])) * spread, 1)
        if rule.get("BYSETPOS"):
            per_period = min(per_period, len(rule["BYSETPOS"]))
        periods = (last - first) // (_PERIODS.get(freq, timedelta(days=1)) * interval) + 2
        occurrences = periods * per_period
        bound += min(occurrences, int(rule["COUNT"][0])) if rule.get("COUNT") else occurrences
    return bound


def _parse(body: bytes) -> list[Calendar]:
    text = _decode(body)
    try:
        components = Calendar.from_ical(text, multiple=True)
    # Untrusted input: whatever the parser trips on is the file's fault, reported as such.
    except Exception as exc:
        raise CalendarParseError("The file is not valid iCalendar data.") from exc
    calendars = [c for c in components if c.name == "VCALENDAR"]
    if not calendars:
        raise CalendarParseError("The file contains no calendar (no VCALENDAR).")
    return calendars


def _decode(body: bytes) -> str:
    """Text of the feed: UTF-8 as RFC 5545 requires, else Windows-1252, the usual offender."""
    body = body.removeprefix(b"\xef\xbb\xbf")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")


def _calendar_blocks(
    calendar: Calendar, window_start: datetime, window_end: datetime, zone: ZoneInfo
) -> Iterable[Block]:
    _drop_unknown_wr_timezone(calendar)
    recurring = {
        str(event.get("UID"))
        for event in calendar.walk("VEVENT")
        if any(name in event for name in ("RRULE", "RDATE", "RECURRENCE-ID"))
    }
    try:
        query = recurring_ical_events.of(calendar, skip_bad_series=True)
        occurrences = query.between(window_start - _QUERY_MARGIN, window_end + _QUERY_MARGIN)
    except Exception as exc:
        raise CalendarParseError("The calendar's events could not be read.") from exc

    for occurrence in occurrences:
        if str(occurrence.get("STATUS", "")).upper() == "CANCELLED":
            continue
        if str(occurrence.get("TRANSP", "")).upper() == "TRANSPARENT":
            continue
        try:
            start, end = occurrence.start, occurrence.end
        # An occurrence whose times cannot be computed blocks nothing we could place.
        except Exception:
            continue
        start_utc, end_utc = _to_utc(start, zone), _to_utc(end, zone)
        # A zero-length event (DTSTART alone) occupies no time; a block must have some.
        if end_utc <= start_utc or end_utc <= window_start or start_utc >= window_end:
            continue
        uid = str(occurrence["UID"]) if "UID" in occurrence else _synthetic_uid(start_utc, occurrence)
        recurrence_id = None
        if uid in recurring and "RECURRENCE-ID" in occurrence:
            recurrence_id = _recurrence_id(occurrence["RECURRENCE-ID"].dt, zone)
        summary = str(occurrence["SUMMARY"]) if "SUMMARY" in occurrence else None
        yield Block(start=start_utc, end=end_utc, uid=uid, recurrence_id=recurrence_id, summary=summary)


def _drop_unusable_events(calendar: Calendar) -> int:
    """Repair or remove the VEVENTs the expansion library would crash on instead of skipping."""
    kept = [c for c in calendar.subcomponents if c.name != "VEVENT" or _repair(c)]
    dropped = len(calendar.subcomponents) - len(kept)
    calendar.subcomponents = kept
    if dropped:
        logger.info("calendar import: skipped %d events without a readable start", dropped)
    return dropped


def _repair(event: Component) -> bool:
    """Whether the event can be used, after dropping the parts of it that cannot be read.

    icalendar keeps unparsable values as vBroken. Without a start (or, for a moved occurrence,
    its original start) nothing can be placed. A broken end or recurrence detail is dropped, so
    that what is certain still blocks: a rule that cannot be read leaves the first occurrence, a
    broken EXDATE blocks more rather than less. Sub-hourly rules are dropped the same way.
    """
    if any(_broken(event, name) for name in ("DTSTART", "RECURRENCE-ID")) or "DTSTART" not in event:
        return False
    for name in ("DTEND", "DURATION", "RRULE", "RDATE", "EXDATE"):
        if _broken(event, name):
            event.pop(name)
    rules = event.get("RRULE", [])
    for rule in rules if isinstance(rules, list) else [rules]:
        if any(str(freq).upper() in _REFUSED_FREQUENCIES for freq in rule.get("FREQ", [])):
            event.pop("RRULE")
            break
    return True


def _broken(event: Component, name: str) -> bool:
    values = event.get(name, [])
    return any(isinstance(value, vBroken) for value in (values if isinstance(values, list) else [values]))


def _drop_unknown_wr_timezone(calendar: Calendar) -> None:
    """Remove an X-WR-TIMEZONE that is not an IANA name; the expansion would raise on it."""
    value = calendar.get("X-WR-TIMEZONE")
    if value is None:
        return
    try:
        ZoneInfo(str(value))
    except (KeyError, ValueError, TypeError):
        del calendar["X-WR-TIMEZONE"]


def _to_utc(value: datetime | date, zone: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), tzinfo=zone).astimezone(UTC)
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=zone).astimezone(UTC)
    return value.astimezone(UTC)


def _recurrence_id(value: datetime | date, zone: ZoneInfo) -> str:
    if not isinstance(value, datetime):
        return value.strftime("%Y%m%d")
    return _to_utc(value, zone).strftime("%Y%m%dT%H%M%SZ")


def _synthetic_uid(start: datetime, event: Component) -> str:
    """A stable stand-in for a missing UID (RFC 5545 requires one; some exporters forget)."""
    seed = f"{start.isoformat()}|{event.get('SUMMARY', '')}".encode()
    return f"no-uid-{hashlib.sha256(seed).hexdigest()[:16]}"
