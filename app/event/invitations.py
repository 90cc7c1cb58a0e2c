"""iTIP invitations (RFC 5546) attached to event-registration e-mails.

Booking e-mails build theirs in ``app.booking.notify`` with ``Booking.sequence``. For an event, the
same UID as the event's "add to calendar" file is used, so a member who downloaded it and later
gets an invitation ends up with one entry; its SEQUENCE is per registrant
(``app.event.calendar.registration_sequence``), because one person's registration can be cancelled and made
again without the event changing.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from app.config import get_settings
from app.core import clock, ics
from app.event.calendar import feed_item, registration_sequence
from app.event.models import Event, Registration, RegistrationStatus
from app.space.models import Space

log = logging.getLogger("fabrique.calendar")

# Which e-mails carry an invitation, and which kind. A waitlisted registrant gets none: they hold
# no seat, so nothing should appear in their calendar until they are promoted.
_METHODS: dict[str, ics.Method] = {
    "event_registered": "REQUEST",
    "event_promoted": "REQUEST",
    "event_changed": "REQUEST",
    "event_cancelled": "CANCEL",
    "event_registration_cancelled": "CANCEL",
}


def _address(mail_from: str) -> str:
    return mail_from.split("<")[-1].rstrip(">").strip() if "<" in mail_from else mail_from


def registration_invitation(
    space: Space, event: Event, reg: Registration, *, email: str, name: str | None, template: str
) -> list[dict[str, Any]]:
    """The attachment for the e-mail ``template`` sent to a registrant, or [] when none applies."""
    method = _METHODS.get(template)
    if method is None:
        return []
    if method == "REQUEST" and reg.status != RegistrationStatus.confirmed:
        return []
    if method == "CANCEL" and template == "event_cancelled" and reg.status != RegistrationStatus.confirmed:
        return []
    try:
        base = get_settings().base_url.rstrip("/")
        url = f"{base}/s/{space.slug}/events/{event.id}" if reg.account_id else None
        item = dataclasses.replace(
            feed_item(space, event, url=url),
            sequence=registration_sequence(event, reg, cancelled=template == "event_registration_cancelled"),
            status="CONFIRMED",
        )
        content = ics.build_invitation(
            item, method=method, organizer_email=_address(get_settings().mail_from), organizer_name=space.name,
            attendee_email=email, attendee_name=name or None, tz=space.timezone, stamp=clock.now(),
        )
    except Exception:  # the e-mail matters more than its attachment
        log.exception("could not build the invitation of registration %s", reg.id)
        return []
    attachment = ics.invitation_attachment(method)
    return [{"filename": attachment.filename, "content_type": attachment.content_type, "content": content.decode()}]
