"""Booking errors: one class per thing a member can get wrong, each with its own code.

Messages are English msgids (marked with ``N_`` so ``pybabel extract`` finds them) translated when
the error is rendered, in the caller's language. Dates and times in the parameters are formatted
lazily for the same reason: the locale is known at render time, not when the rule fails.

Validation errors subclass ``ValidationFailed`` (422) so generic handlers treat them as such, and
name the fields they concern so a form can show the message beside the right input.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any, ClassVar

from babel.dates import format_time
from babel.support import LazyProxy

from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.core.i18n import N_, format_day, get_locale


def _lazy(func: Any, *args: Any) -> LazyProxy:
    return LazyProxy(func, *args, enable_cache=False)


def local_time(value: time) -> LazyProxy:
    """A wall-clock time shown in the reader's locale ("9:00 AM" / "09:00")."""
    return _lazy(lambda: format_time(value, "short", locale=get_locale()))


def local_date(value: date) -> LazyProxy:
    return _lazy(lambda: format_day(value, fmt="long"))


def local_hours(intervals: Iterable[tuple[time, time]]) -> LazyProxy:
    """Opening hours of a day, e.g. "9:00 AM – 12:30 PM, 1:30 PM – 7:00 PM"."""
    frozen = tuple(intervals)

    def render() -> str:
        loc = get_locale()
        return ", ".join(
            f"{format_time(a, 'short', locale=loc)} – {format_time(b, 'short', locale=loc)}"
            for a, b in frozen
        )

    return _lazy(render)


def iso_interval(starts_at: datetime, ends_at: datetime) -> dict[str, str]:
    """An interval as the API shows it: ISO 8601 strings in UTC."""
    return {
        "starts_at": starts_at.astimezone(UTC).isoformat(),
        "ends_at": ends_at.astimezone(UTC).isoformat(),
    }


class BookingValidationError(ValidationFailed):
    """Base for the 422 booking errors; ``on`` names the fields the message belongs beside."""

    default_on: ClassVar[tuple[str, ...]] = ("starts_at",)

    def __init__(self, message: str | None = None, *, on: Sequence[str] | None = None, **kwargs: Any) -> None:
        if "fields" not in kwargs:
            kwargs["fields"] = {
                name: message or self.message for name in (self.default_on if on is None else on)
            }
        super().__init__(message, **kwargs)


class InvalidInterval(BookingValidationError):
    code = "invalid_interval"
    message = N_("The end of a booking must come after its start.")
    naive_message = N_("Start and end times must include a timezone.")
    default_on = ("starts_at", "ends_at")


class EmptyInterval(BookingValidationError):
    code = "empty_interval"
    message = N_("A booking cannot end at the moment it starts. Choose a later end time.")
    default_on = ("ends_at",)


class InThePast(BookingValidationError):
    code = "in_the_past"
    message = N_("This time has already passed. Choose a slot that starts later.")


class BeyondHorizon(BookingValidationError):
    code = "beyond_horizon"
    message = N_("This resource can only be booked up to %(days)s days ahead.")

    def __init__(self, *, days: int, **kwargs: Any) -> None:
        super().__init__(params={"days": days}, **kwargs)


class SpaceClosed(BookingValidationError):
    code = "space_closed"
    message = N_("The space is closed on %(date)s.")
    labelled_message = N_("The space is closed on %(date)s (%(label)s).")

    def __init__(self, *, day: date, label: str = "", **kwargs: Any) -> None:
        params = {"date": local_date(day), "label": label}
        super().__init__(self.labelled_message if label else None, params=params, **kwargs)


class OutsideOpeningHours(BookingValidationError):
    code = "outside_opening_hours"
    message = N_("On %(date)s the space is open %(hours)s. Choose a slot within these hours.")
    closed_day_message = N_("The space is not open on %(date)s.")

    def __init__(self, *, day: date, hours: Sequence[tuple[time, time]], **kwargs: Any) -> None:
        params = {"date": local_date(day), "hours": local_hours(hours)}
        super().__init__(None if hours else self.closed_day_message, params=params, **kwargs)


class OffGranularity(BookingValidationError):
    code = "off_granularity"
    message = N_("Bookings start and end on %(minutes)s-minute steps (for example 9:00 or 9:30).")
    day_message = N_("This resource is booked by the whole day, from opening to closing time.")
    half_day_message = N_(
        "This resource is booked by the half-day: morning until %(time)s or afternoon from %(time)s."
    )

    def __init__(self, *, minutes: int | None = None, boundary: time | None = None, **kwargs: Any) -> None:
        if boundary is not None:
            super().__init__(self.half_day_message, params={"time": local_time(boundary)}, **kwargs)
        elif minutes is None:
            super().__init__(self.day_message, **kwargs)
        else:
            super().__init__(params={"minutes": minutes}, **kwargs)


class TooShort(BookingValidationError):
    code = "too_short"
    message = N_("This resource must be booked for at least %(minutes)s minutes.")
    default_on = ("ends_at",)

    def __init__(self, *, minutes: int, **kwargs: Any) -> None:
        super().__init__(params={"minutes": minutes}, **kwargs)


class TooLong(BookingValidationError):
    code = "too_long"
    message = N_("This resource can be booked for at most %(minutes)s minutes at a time.")
    default_on = ("ends_at",)

    def __init__(self, *, minutes: int, **kwargs: Any) -> None:
        super().__init__(params={"minutes": minutes}, **kwargs)


class ResourceArchived(BookingValidationError):
    code = "resource_archived"
    message = N_("This resource is no longer offered for booking.")
    default_on = ()


class ResourceBlocked(BookingValidationError):
    """The resource is out of service (maintenance) during part of the interval; the body says when."""

    code = "resource_blocked"
    message = N_("This resource is unavailable during this period (maintenance). Choose another time.")

    def __init__(self, *, starts_at: datetime, ends_at: datetime, **kwargs: Any) -> None:
        super().__init__(extra={"blocked": iso_interval(starts_at, ends_at)}, **kwargs)


class InvalidRecurrence(BookingValidationError):
    code = "invalid_recurrence"
    message = N_("A repeating booking needs either an end date or a number of occurrences.")
    until_before_start_message = N_("The repeat end date must not be before the first booking.")
    count_message = N_("A repeating booking needs at least one occurrence.")
    default_on = ("until", "count")


class TooManyOccurrences(BookingValidationError):
    code = "too_many_occurrences"
    message = N_("A repeating booking can have at most %(count)s occurrences.")
    default_on = ("until", "count")

    def __init__(self, *, count: int, **kwargs: Any) -> None:
        super().__init__(params={"count": count}, **kwargs)


class NotAllowed(PermissionDenied):
    """The member's role or tags do not open this resource; ``missing_tags`` tells them what would."""

    code = "not_allowed"
    message = N_("This resource is reserved for some members. Ask the team if you need access.")

    def __init__(self, *, missing_tags: Iterable[str] = (), **kwargs: Any) -> None:
        tags = sorted(missing_tags)
        super().__init__(extra={"missing_tags": tags} if tags else None, **kwargs)


class CancellationDeadlinePassed(Conflict):
    code = "cancellation_deadline_passed"
    message = N_("Bookings can only be cancelled up to %(hours)s hours before they start.")
    started_message = N_("This booking has already started and can no longer be cancelled.")

    def __init__(self, *, hours: int, started: bool = False, **kwargs: Any) -> None:
        super().__init__(self.started_message if started else None, params={"hours": hours}, **kwargs)


class BookingConflict(Conflict):
    """Someone else holds an overlapping slot; the body carries it so the UI can show it."""

    code = "booking_conflict"
    message = N_("This slot is already booked. Choose another time.")

    def __init__(self, *, starts_at: datetime, ends_at: datetime, **kwargs: Any) -> None:
        super().__init__(extra={"conflict": iso_interval(starts_at, ends_at)}, **kwargs)


class PlaceAlreadyHeld(Conflict):
    """One person, one place of a resource at a time (staff may book more for guests)."""

    code = "place_already_held"
    message = N_("You already have a place here at this time: one place per person. Choose another time.")


class BookingNotActive(Conflict):
    code = "booking_not_active"
    message = N_("This booking is already cancelled.")
    ended_message = N_("This booking has already ended.")


class SeriesConflict(Conflict):
    """Some occurrences of a weekly booking cannot be booked; the body lists them with the reason."""

    code = "series_conflict"
    message = N_("Some dates of this repeating booking are not available. Book the free ones or none.")
    none_free_message = N_("None of the dates of this repeating booking is available.")

    def __init__(self, *, occurrences: Sequence[Any], none_free: bool = False, **kwargs: Any) -> None:
        listed = [
            {**iso_interval(o.starts_at, o.ends_at), "status": o.status, "code": o.code}
            for o in occurrences
        ]
        super().__init__(self.none_free_message if none_free else None, extra={"occurrences": listed}, **kwargs)


class NotForOthers(PermissionDenied):
    code = "not_for_others"
    message = N_("Only the team can book on behalf of another member.")
