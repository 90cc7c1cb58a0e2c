"""Booking e-mails: confirmed, cancelled, moved, series. Rendered now in the member's language,
sent by the ``email.send`` job after the transaction commits (nothing is sent on a rollback).

Each message carries an iCalendar invitation (REQUEST, or CANCEL) with a stable UID, so the
booking lands in — and leaves — the member's own calendar.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from app.account.models import Account
from app.booking import formatting  # noqa: F401  (registers the "when" filter)
from app.booking.models import Booking
from app.config import get_settings
from app.core import clock
from app.core.mail import queue_email
from app.resource.models import Resource
from app.space.models import Space

log = logging.getLogger("fabrique.booking")


def _locale(space: Space, account: Account) -> str:
    return account.locale or space.locale


def _context(space: Space, resource: Resource, booking: Booking, account: Account, **extra: Any) -> dict[str, Any]:
    base = get_settings().base_url.rstrip("/")
    return {
        "space_name": space.name, "tz": space.timezone, "resource_name": resource.name, "name": account.name,
        "starts_at": booking.starts_at, "ends_at": booking.ends_at, "price_cents": booking.price_cents,
        "currency": booking.currency, "url": f"{base}/s/{space.slug}/bookings/mine", **extra,
    }


def _invitation(space: Space, resource: Resource, booking: Booking, account: Account, method: str) -> list[dict]:
    """The .ics attachment; a failure here must never cost the member their e-mail."""
    try:
        from app.calendar.ics import FeedItem, build_invitation, invitation_attachment, make_uid

        item = FeedItem(
            uid=make_uid("booking", booking.id, space.slug), start=booking.starts_at, end=booking.ends_at,
            summary=f"{resource.name} · {space.name}", last_modified=booking.updated_at,
            sequence=booking.sequence, location=space.address or None,
        )
        settings = get_settings()
        content = build_invitation(
            item, method=method, organizer_email=_address(settings.mail_from), organizer_name=space.name,  # type: ignore[arg-type]
            attendee_email=account.email, attendee_name=account.name, tz=space.timezone, stamp=clock.now(),
        )
        att = invitation_attachment(method)  # type: ignore[arg-type]
        return [{"filename": att.filename, "content_type": att.content_type, "content": content.decode()}]
    except Exception:  # pragma: no cover - defensive: the e-mail matters more than the attachment
        log.exception("could not build the calendar invitation of booking %s", booking.id)
        return []


def _address(mail_from: str) -> str:
    return mail_from.split("<")[-1].rstrip(">").strip() if "<" in mail_from else mail_from


def booking_confirmed(session: Any, space: Space, resource: Resource, booking: Booking, account: Account) -> None:
    queue_email(session, account.email, "booking_confirmed", _context(space, resource, booking, account),
                locale=_locale(space, account),
                attachments=_invitation(space, resource, booking, account, "REQUEST"))


def booking_cancelled(
    session: Any, space: Space, resource: Resource, booking: Booking, account: Account, *, by_staff: bool
) -> None:
    ctx = _context(space, resource, booking, account, reason=booking.cancel_reason, by_staff=by_staff,
                   late_charged=booking.late_cancel_charged)
    queue_email(session, account.email, "booking_cancelled", ctx, locale=_locale(space, account),
                attachments=_invitation(space, resource, booking, account, "CANCEL"))


def booking_moved(
    session: Any, space: Space, resource: Resource, booking: Booking, account: Account, *,
    previous: tuple[int, datetime, datetime], reason: str,
) -> None:
    ctx = _context(space, resource, booking, account, reason=reason.strip(), previous_starts_at=previous[1],
                   previous_ends_at=previous[2])
    queue_email(session, account.email, "booking_moved", ctx, locale=_locale(space, account),
                attachments=_invitation(space, resource, booking, account, "REQUEST"))


def series_confirmed(
    session: Any, space: Space, resource: Resource, bookings: Sequence[Booking], account: Account, *,
    skipped: Sequence[Any],
) -> None:
    if not bookings:
        return
    ctx = _context(space, resource, bookings[0], account, bookings=list(bookings), skipped=list(skipped),
                   total_cents=sum(b.price_cents for b in bookings))
    queue_email(session, account.email, "booking_series_confirmed", ctx, locale=_locale(space, account))
