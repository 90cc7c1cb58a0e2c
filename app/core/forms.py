"""Reading HTML form values: local dates and times in the space's timezone, whole numbers.

Browsers send wall-clock values ("2027-03-02", "09:30"); the space's timezone turns them into
aware instants (amounts: ``app.core.money``). Each parser raises a field error the form shows beside the input.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from app.core.errors import ValidationFailed
from app.core.i18n import N_

YEARS = range(2000, 2201)


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(fields={field: message})


def parse_date(value: str | None, field: str, *, default: date | None = None) -> date:
    if not value:
        if default is not None:
            return default
        raise _invalid(field, N_("Choose a date."))
    try:
        parsed = date.fromisoformat(value.strip())
    except ValueError as exc:
        raise _invalid(field, N_("Choose a date.")) from exc
    if parsed.year not in YEARS:
        raise _invalid(field, N_("Choose a date."))
    return parsed


def parse_time(value: str | None, field: str) -> time:
    try:
        parsed = time.fromisoformat((value or "").strip())
    except ValueError as exc:
        raise _invalid(field, N_("Give a time such as 09:30.")) from exc
    return parsed.replace(second=0, microsecond=0)


def parse_optional_time(value: str | None, field: str) -> time | None:
    return parse_time(value, field) if (value or "").strip() else None


def local_datetime(day: date, at: time, tz: str) -> datetime:
    """A wall-clock reading in the space's timezone as an aware instant (a time inside the spring
    gap resolves after the gap, as in the rules engine)."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(tz))


def parse_instant(value: str | None, field: str) -> datetime:
    """An ISO instant carried in a link or hidden field (with its offset)."""
    try:
        parsed = datetime.fromisoformat((value or "").strip())
    except ValueError as exc:
        raise _invalid(field, N_("Choose a slot.")) from exc
    if parsed.tzinfo is None or parsed.year not in YEARS:
        raise _invalid(field, N_("Choose a slot."))
    return parsed


def parse_int(value: str | None, field: str, *, default: int | None = None, minimum: int = 0,
              maximum: int = 1_000_000) -> int | None:
    text = (value or "").strip()
    if not text:
        return default
    try:
        number = int(text)
    except ValueError as exc:
        raise _invalid(field, N_("A whole number is expected.")) from exc
    if not minimum <= number <= maximum:
        raise _invalid(field, N_("This number is out of range."))
    return number
