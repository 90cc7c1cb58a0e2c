"""Turning typed values (form fields, API payloads) into an event's validated fields.

Times typed without an offset are read in the space's timezone; everything is stored in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from app.core import money
from app.core.errors import FieldErrors
from app.core.text import require_text
from app.event.errors import (
    N_,
    DeadlineAfterStart,
    EventEndsBeforeStart,
    InvalidCapacity,
    InvalidDateTime,
    InvalidPlace,
    InvalidPrice,
)
from app.event.models import Visibility
from app.pricing import vat


@dataclass
class EventInput:
    title: str
    starts_at: datetime
    ends_at: datetime
    description: str = ""
    place: str = ""
    resource_id: int | None = None
    capacity: int | None = None
    visibility: str = Visibility.public
    price_public_cents: int = 0
    price_member_cents: int = 0
    vat_rate_bp: int | None = None  # None: the space's default rate
    registration_deadline: datetime | None = None

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


EDITABLE_FIELDS = tuple(f.name for f in fields(EventInput))


def to_utc(value: datetime, tz: str) -> datetime:
    """An aware value as UTC; a naive one is a wall-clock time in the space's timezone."""
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(UTC)




TITLE_MAX = 200
PLACE_MAX = 200
DESCRIPTION_MAX = 20000


def _check_text(data: EventInput, errors: FieldErrors) -> None:
    """The typed text: a title and a place on one line — a line break is refused beside the field
    (e-mail subjects, iCalendar properties), never flattened —, each field within its limit
    (stated, never cut)."""
    data.title = " ".join((errors.check(require_text, data.title, "title", max_length=TITLE_MAX,
                                        required=False) or "").split())
    if not data.title and "title" not in errors.fields:
        errors.add("title", N_("Give the event a title."))
    data.description = errors.check(require_text, data.description, "description", max_length=DESCRIPTION_MAX,
                                    required=False, single_line=False) or ""
    data.place = " ".join((errors.check(require_text, data.place, "place", max_length=PLACE_MAX,
                                        required=False) or "").split())
    if not data.place and data.resource_id is None and "place" not in errors.fields:
        errors.merge(InvalidPlace())


def validate(data: EventInput) -> EventInput:
    """Every field checked, every error reported at once (one ``ValidationFailed``)."""
    errors = FieldErrors()
    _check_text(data, errors)
    if data.ends_at <= data.starts_at:
        errors.merge(EventEndsBeforeStart())
    if data.registration_deadline is not None and data.registration_deadline > data.starts_at:
        errors.merge(DeadlineAfterStart())
    if data.capacity is not None and data.capacity < 1:
        errors.merge(InvalidCapacity())
    if data.visibility not in (Visibility.public, Visibility.members):
        errors.add("visibility", N_("Choose public or members only."))
    if data.price_public_cents < 0:
        errors.merge(InvalidPrice("price_public"))
    if data.price_member_cents < 0:
        errors.merge(InvalidPrice("price_member"))
    data.vat_rate_bp = errors.check(vat.check_rate, data.vat_rate_bp, "vat_rate", optional=True)
    errors.raise_if_any()
    return data


# -- form parsing (HTML pages) ------------------------------------------------------------------------

def parse_local(value: str | None, tz: str, field: str, *, required: bool = True) -> datetime | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise InvalidDateTime(fields={field: N_("This field is required.")})
        return None
    try:
        return to_utc(datetime.fromisoformat(value), tz)
    except ValueError as exc:
        raise InvalidDateTime(fields={field: N_("Enter a date and a time.")}) from exc


def parse_capacity(value: str | None) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise InvalidCapacity()
    return int(value)


def parse_int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def event_input_from_form(form: dict[str, str], tz: str) -> EventInput:
    values: dict = {}
    parsers = {
        "starts_at": lambda: parse_local(form.get("starts_at"), tz, "starts_at"),
        "ends_at": lambda: parse_local(form.get("ends_at"), tz, "ends_at"),
        "registration_deadline": lambda: parse_local(form.get("registration_deadline"), tz,
                                                     "registration_deadline", required=False),
        "capacity": lambda: parse_capacity(form.get("capacity")),
        "price_public_cents": lambda: money.parse_cents(form.get("price_public"), "price_public"),
        "price_member_cents": lambda: money.parse_cents(form.get("price_member"), "price_member"),
        "vat_rate_bp": lambda: vat.parse_rate(form.get("vat_rate"), "vat_rate", optional=True),
    }
    errors = FieldErrors()
    for name, parse in parsers.items():
        values[name] = errors.check(parse)
    if errors:  # the text fields' errors too, so that one submit shows them all
        _check_text(EventInput(title=form.get("title", ""), description=form.get("description", ""),
                               place=form.get("place", ""), resource_id=parse_int(form.get("resource_id")),
                               starts_at=datetime.now(UTC), ends_at=datetime.now(UTC)), errors)
        errors.raise_if_any()
    return EventInput(
        title=form.get("title", ""), description=form.get("description", ""), place=form.get("place", ""),
        resource_id=parse_int(form.get("resource_id")),
        visibility=form.get("visibility") or Visibility.public, **values,
    )


def local_input_value(value: datetime | None, tz: str) -> str:
    """A UTC instant as the value of an <input type="datetime-local"> in the space's timezone."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")
