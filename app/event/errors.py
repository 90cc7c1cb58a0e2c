"""Event errors: one class per thing that can go wrong, each with its own code and message.

Messages are English msgids marked with ``N_`` for extraction and translated when rendered.
"""

from __future__ import annotations

from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.i18n import N_  # noqa: F401  (re-exported: event modules import it from here)


class EventNotFound(NotFound):
    code = "event_not_found"
    message = N_("This event does not exist or is not visible to you.")


class RegistrationNotFound(NotFound):
    code = "registration_not_found"
    message = N_("This registration does not exist.")


class EventEndsBeforeStart(ValidationFailed):
    code = "event_ends_before_start"
    message = N_("The event must end after it starts.")

    def __init__(self) -> None:
        super().__init__(fields={"ends_at": N_("The end must be after the start.")})


class DeadlineAfterStart(ValidationFailed):
    code = "deadline_after_start"
    message = N_("The registration deadline must be before the event starts.")

    def __init__(self) -> None:
        super().__init__(fields={"registration_deadline": N_("Choose a deadline before the start.")})


class InvalidPlace(ValidationFailed):
    code = "place_required"
    message = N_("Say where the event takes place: a room or an address.")

    def __init__(self) -> None:
        super().__init__(fields={"place": N_("Say where the event takes place.")})


class InvalidCapacity(ValidationFailed):
    code = "invalid_capacity"
    message = N_("The capacity must be a whole number of at least 1, or empty for no limit.")

    def __init__(self) -> None:
        super().__init__(fields={"capacity": N_("At least 1 seat, or empty for no limit.")})


class InvalidPrice(ValidationFailed):
    code = "invalid_price"
    message = N_("Prices and VAT must be positive amounts.")

    def __init__(self, field: str = "price_public") -> None:
        super().__init__(fields={field: N_("Enter a positive amount, e.g. 12.50.")})


class InvalidDateTime(ValidationFailed):
    code = "invalid_datetime"
    message = N_("Some dates are missing or not valid.")


class CapacityBelowRegistrations(Conflict):
    code = "capacity_below_registrations"
    message = N_("%(count)s people are already confirmed: the capacity cannot be lower than that.")

    def __init__(self, count: int) -> None:
        super().__init__(params={"count": count}, extra={"confirmed": count},
                         fields={"capacity": N_("At least %(count)s: people are already confirmed.")})


class EventInThePast(ValidationFailed):
    code = "event_in_the_past"
    message = N_("The start is in the past: choose a date to come.")

    def __init__(self) -> None:
        super().__init__(fields={"starts_at": N_("The start is in the past.")})


class EventNotEditable(Conflict):
    code = "event_not_editable"
    message = N_("A cancelled or past event cannot be changed.")


class EventCancelled(Conflict):
    code = "event_cancelled"
    message = N_("This event has been cancelled.")


class EventNotOpen(Conflict):
    code = "event_not_published"
    message = N_("This event is not published: registrations are not open.")


class RegistrationClosed(Conflict):
    code = "registration_closed"
    message = N_("Registrations for this event are closed.")


class AlreadyRegistered(Conflict):
    code = "already_registered"
    message = N_("You are already registered for this event.")


class NotAProposal(Conflict):
    code = "not_a_proposal"
    message = N_("This event is not a proposal waiting for an answer.")


class CannotPublish(Conflict):
    code = "cannot_publish"
    message = N_("Only a draft can be published.")


class AttendanceNotOpen(Conflict):
    code = "attendance_not_open"
    message = N_("Attendance can be taken from the day of the event, for confirmed registrations.")


class NotPaid(Conflict):
    code = "nothing_to_pay"
    message = N_("This registration has nothing to pay.")


class DeclineMessageRequired(ValidationFailed):
    code = "decline_message_required"
    message = N_("Tell the member why their proposal is declined.")

    def __init__(self) -> None:
        super().__init__(fields={"message": N_("Write a short message for the member.")})


class RoomConflict(Conflict):
    code = "room_conflict"
    message = N_("The room is already booked at that time.")
