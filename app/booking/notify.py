"""Booking e-mails: confirmed, cancelled, moved, series. Queued here in the member's language with
a plain-data context, then rendered and sent by the ``email.send`` job after the transaction
commits (nothing is sent on a rollback), so the request pays for neither Jinja nor iCalendar.

Each message carries an iCalendar invitation (REQUEST, or CANCEL) with a stable UID, so the
booking lands in — and leaves — the member's own calendar. The job builds it from the spec made
here (``_invitation``); if that fails, the member still gets the e-mail, without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from app.account.models import Account
from app.booking.models import Booking
from app.config import get_settings
from app.core import clock
from app.core.ics import make_uid
from app.core.mail import queue_email
from app.resource.models import Resource
from app.space.models import Space


def _locale(space: Space, account: Account) -> str:
    return account.locale or space.locale


def _context(space: Space, resource: Resource, booking: Booking, account: Account, **extra: Any) -> dict[str, Any]:
    base = get_settings().base_url.rstrip("/")
    return {
        "space_name": space.name, "tz": space.timezone, "resource_name": resource.name, "name": account.name,
        "starts_at": booking.starts_at, "ends_at": booking.ends_at, "price_cents": booking.price_cents,
        "currency": booking.currency, "url": f"{base}/s/{space.slug}/bookings/mine", **extra,
    }


def _invitation(space: Space, resource: Resource, booking: Booking, account: Account, method: str) -> dict:
    """What the ``email.send`` job needs to build the .ics attachment (values read now, built there)."""
    return {
        "uid": make_uid("booking", booking.id, space.slug),
        "start": booking.starts_at, "end": booking.ends_at, "summary": f"{resource.name} · {space.name}",
        "last_modified": booking.updated_at, "sequence": booking.sequence, "location": space.address or None,
        "method": method, "organizer_name": space.name, "attendee_email": account.email,
        "attendee_name": account.name, "tz": space.timezone, "stamp": clock.now(),
    }


def _dates(items: Sequence[Any]) -> list[dict[str, datetime]]:
    return [{"starts_at": x.starts_at, "ends_at": x.ends_at} for x in items]


def booking_confirmed(session: Any, space: Space, resource: Resource, booking: Booking, account: Account) -> None:
    queue_email(session, account.email, "booking_confirmed", _context(space, resource, booking, account),
                locale=_locale(space, account), invitation=_invitation(space, resource, booking, account, "REQUEST"))


def booking_cancelled(
    session: Any, space: Space, resource: Resource, booking: Booking, account: Account, *, by_staff: bool
) -> None:
    ctx = _context(space, resource, booking, account, reason=booking.cancel_reason, by_staff=by_staff,
                   late_charged=booking.late_cancel_charged)
    queue_email(session, account.email, "booking_cancelled", ctx, locale=_locale(space, account),
                invitation=_invitation(space, resource, booking, account, "CANCEL"))


def booking_moved(
    session: Any, space: Space, resource: Resource, booking: Booking, account: Account, *,
    previous: tuple[int, datetime, datetime], reason: str,
) -> None:
    ctx = _context(space, resource, booking, account, reason=reason.strip(), previous_starts_at=previous[1],
                   previous_ends_at=previous[2])
    queue_email(session, account.email, "booking_moved", ctx, locale=_locale(space, account),
                invitation=_invitation(space, resource, booking, account, "REQUEST"))


def series_confirmed(
    session: Any, space: Space, resource: Resource, bookings: Sequence[Booking], account: Account, *,
    skipped: Sequence[Any],
) -> None:
    if not bookings:
        return
    ctx = _context(space, resource, bookings[0], account, bookings=_dates(bookings), skipped=_dates(skipped),
                   total_cents=sum(b.price_cents for b in bookings))
    queue_email(session, account.email, "booking_series_confirmed", ctx, locale=_locale(space, account))
