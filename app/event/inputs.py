"""Turning typed values (form fields, API payloads) into an event's validated fields.

Times typed without an offset are read in the space's timezone; everything is stored in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from app.core import money
from app.core.errors import ValidationFailed
from app.core.text import clean_text, require_one_line
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




def validate(data: EventInput) -> EventInput:
    data.description = clean_text(data.description)
    # One line (e-mail subjects, iCalendar properties): refused like the API's SingleLine, not flattened.
    single = {}
    for name in ("title", "place"):
        try:
            setattr(data, name, " ".join(require_one_line(getattr(data, name), name).split()))
        except ValidationFailed as exc:
            single.update(exc.fields)
    if single:
        raise ValidationFailed(fields=single, code="invalid_text")
    if not data.title:
        raise ValidationFailed(fields={"title": N_("Give the event a title.")})
    if len(data.title) > 200:
        raise ValidationFailed(fields={"title": N_("This value is too long.")})
    if len(data.description or "") > 20000:
        raise ValidationFailed(fields={"description": N_("This value is too long.")})
    data.place = (data.place or "").strip()[:200]
    if not data.place and data.resource_id is None:
        raise InvalidPlace()
    if data.ends_at <= data.starts_at:
        raise EventEndsBeforeStart()
    if data.registration_deadline is not None and data.registration_deadline > data.starts_at:
        raise DeadlineAfterStart()
    if data.capacity is not None and data.capacity < 1:
        raise InvalidCapacity()
    if data.visibility not in (Visibility.public, Visibility.members):
        raise ValidationFailed(fields={"visibility": N_("Choose public or members only.")})
    if data.price_public_cents < 0:
        raise InvalidPrice("price_public")
    if data.price_member_cents < 0:
        raise InvalidPrice("price_member")
    data.vat_rate_bp = vat.check_rate(data.vat_rate_bp, "vat_rate", optional=True)
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
    errors: dict[str, str] = {}
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
    first_error: ValidationFailed | None = None
    for name, parse in parsers.items():
        try:
            values[name] = parse()
        except ValidationFailed as exc:
            errors.update(exc.fields)
            first_error = first_error or exc
    if first_error is not None:
        first_error.fields = errors
        raise first_error
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
