"""The attendance list as CSV, for the animator's spreadsheet or the funder report."""

from __future__ import annotations

from fastapi.responses import Response

from app.core.i18n import _, pgettext
from app.core.spreadsheet import Cents, csv_response, money_header
from app.event.models import Event
from app.event.registration import RegistrationRow


def _labels() -> dict[str, str]:
    """The words of the pages for the codes stored (in the reader's language, at call time)."""
    return {
        "confirmed": pgettext("registration", "Confirmed"), "waitlisted": pgettext("registration", "Waitlist"),
        "pending": pgettext("registration", "Waiting for e-mail confirmation"),
        "cancelled": pgettext("registration", "Cancelled"),
        "free": _("Free"), "to_pay": _("To pay on site"), "paid": _("Paid"),
        "present": _("Present"), "absent": _("Absent"),
    }


def attendance_rows(rows: list[RegistrationRow]) -> list[list]:
    labels = _labels()

    def label(code: str | None) -> str:
        return labels.get(code or "", code or "")

    return [[row.name, row.email or "", label(row.registration.status), row.position,
             Cents(row.registration.price_cents), label(row.registration.payment_status),
             label(row.registration.attendance)] for row in rows]


def csv_filename(event: Event) -> str:
    return f"attendance-event-{event.id}.csv"


def attendance_response(event: Event, rows: list[RegistrationRow], currency: str = "EUR") -> Response:
    """The attendance list as a CSV download (the API and the animator's page)."""
    header = [_("Name"), _("E-mail"), _("Status"), _("Waitlist position"), money_header(_("Price"), currency),
              _("Payment"), _("Attendance")]
    return csv_response(csv_filename(event), header, attendance_rows(rows))
