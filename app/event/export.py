"""The attendance list as CSV, for the animator's spreadsheet or the funder report."""

from __future__ import annotations

import csv
import io

from fastapi.responses import Response

from app.core import money
from app.core.i18n import _
from app.event.models import Event
from app.event.registration import RegistrationRow


def attendance_csv(event: Event, rows: list[RegistrationRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Name"), _("E-mail"), _("Status"), _("Waitlist position"), _("Price"),
                     _("Payment"), _("Attendance")])
    for row in rows:
        reg = row.registration
        writer.writerow([
            _safe(row.name), _safe(row.email or ""), reg.status, row.position or "", money.amount_input(reg.price_cents),
            reg.payment_status, reg.attendance or "",
        ])
    return out.getvalue()


def _safe(value: str) -> str:
    # A cell starting with = + - @ is a formula to spreadsheets: visitors type these names.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_filename(event: Event) -> str:
    return f"attendance-event-{event.id}.csv"


def attendance_response(event: Event, rows: list[RegistrationRow]) -> Response:
    """The attendance list as a CSV download (the API and the animator's page)."""
    return Response(attendance_csv(event, rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{csv_filename(event)}"'})
