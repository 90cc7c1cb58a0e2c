"""iTIP invitations (RFC 5546): a REQUEST when a booking is made, a CANCEL when it is cancelled."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar

from app.core.ics import FeedItem, Party, build_invitation, invitation_attachment, make_uid

PARIS = ZoneInfo("Europe/Paris")
BOOKED = FeedItem(
    uid=make_uid("booking", 42, "tiers-lieu-perigueux"),
    start=datetime(2026, 10, 25, 9, tzinfo=PARIS),
    end=datetime(2026, 10, 25, 12, tzinfo=PARIS),
    summary="Salle Chêne",
    location="Tiers-lieu de Périgueux, Salle Chêne",
    url="https://fabrique.example/tiers-lieu-perigueux/bookings/42",
    last_modified=datetime(2026, 10, 1, 8, tzinfo=UTC),
    sequence=0,
)


def invite(item: FeedItem, method: str, *, stamp: datetime | None = None) -> bytes:
    return build_invitation(
        item,
        method=method,  # type: ignore[arg-type]
        organizer_email="accueil@tiers-lieu-perigueux.fr",
        organizer_name="Tiers-lieu de Périgueux",
        attendee_email="camille.martin@example.org",
        attendee_name="Martin, Camille",
        tz="Europe/Paris",
        stamp=stamp or datetime(2026, 10, 1, 8, 0, 5, tzinfo=UTC),
    )


def only_event(data: bytes):
    cal = Calendar.from_ical(data)
    [event] = cal.walk("VEVENT")
    return cal, event


def test_request_is_an_itip_request_with_one_event() -> None:
    cal, event = only_event(invite(BOOKED, "REQUEST"))

    assert str(cal["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == "booking-42@tiers-lieu-perigueux.fabrique"
    assert int(event["SEQUENCE"]) == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event["DTSTAMP"].dt == datetime(2026, 10, 1, 8, 0, 5, tzinfo=UTC)
    assert event.start == datetime(2026, 10, 25, 9, tzinfo=PARIS)
    assert [str(tz["TZID"]) for tz in cal.timezones] == ["Europe/Paris"]


def test_request_names_the_space_as_organizer_and_the_member_as_accepted_attendee() -> None:
    _, event = only_event(invite(BOOKED, "REQUEST"))

    organizer, attendee = event["ORGANIZER"], event["ATTENDEE"]
    assert str(organizer) == "mailto:accueil@tiers-lieu-perigueux.fr"
    assert organizer.params["CN"] == "Tiers-lieu de Périgueux"
    assert str(attendee) == "mailto:camille.martin@example.org"
    assert attendee.params["CN"] == "Martin, Camille"
    assert attendee.params["PARTSTAT"] == "ACCEPTED"
    assert attendee.params["RSVP"] == "FALSE"
    assert attendee.params["ROLE"] == "REQ-PARTICIPANT"


def test_cancel_reuses_the_uid_with_a_higher_sequence() -> None:
    request_data = invite(BOOKED, "REQUEST")
    cancelled = dataclasses.replace(BOOKED, status="CANCELLED", sequence=BOOKED.sequence + 1)

    cancel_data = invite(cancelled, "CANCEL", stamp=datetime(2026, 10, 3, 14, tzinfo=UTC))

    request_cal, request = only_event(request_data)
    cancel_cal, cancel = only_event(cancel_data)
    assert str(request_cal["METHOD"]) == "REQUEST"
    assert str(cancel_cal["METHOD"]) == "CANCEL"
    assert str(cancel["UID"]) == str(request["UID"])
    assert int(cancel["SEQUENCE"]) > int(request["SEQUENCE"])
    assert str(cancel["STATUS"]) == "CANCELLED"
    assert str(cancel["ATTENDEE"]) == "mailto:camille.martin@example.org"
    assert str(cancel["ORGANIZER"]) == "mailto:accueil@tiers-lieu-perigueux.fr"


def test_cancel_is_cancelled_even_if_the_item_was_not_marked() -> None:
    _, event = only_event(invite(dataclasses.replace(BOOKED, sequence=1), "CANCEL"))

    assert str(event["STATUS"]) == "CANCELLED"
    assert "PARTSTAT" not in event["ATTENDEE"].params


def test_a_cancelled_item_cannot_be_sent_as_a_request() -> None:
    with pytest.raises(ValueError, match="CANCEL"):
        invite(dataclasses.replace(BOOKED, status="CANCELLED"), "REQUEST")


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError):
        invite(BOOKED, "PUBLISH")


def test_invitation_ignores_the_items_own_attendees() -> None:
    """The invitation is addressed to one member; a feed item's attendee list must not leak into it."""
    item = dataclasses.replace(BOOKED, attendees=(Party("someone.else@example.org"),))

    _, event = only_event(invite(item, "REQUEST"))

    assert str(event["ATTENDEE"]) == "mailto:camille.martin@example.org"


def test_invitation_is_readable_by_vobject() -> None:
    cal = vobject.readOne(invite(BOOKED, "REQUEST").decode())

    assert cal.method.value == "REQUEST"
    assert cal.vevent.uid.value == BOOKED.uid
    assert cal.vevent.dtstart.value.astimezone(UTC) == datetime(2026, 10, 25, 8, tzinfo=UTC)
    assert cal.vevent.attendee.params["PARTSTAT"] == ["ACCEPTED"]


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_attachment_mime_parameters(method: str) -> None:
    attachment = invitation_attachment(method)  # type: ignore[arg-type]

    assert attachment.content_type == f"text/calendar; method={method}; charset=UTF-8"
    assert attachment.filename == "invite.ics"
    assert (attachment.maintype, attachment.subtype) == ("text", "calendar")


def test_attachment_parameters_fit_an_email_message() -> None:
    attachment = invitation_attachment("REQUEST")
    message = EmailMessage()
    message.set_content("Votre réservation est confirmée.")

    message.add_attachment(
        invite(BOOKED, "REQUEST"),
        maintype=attachment.maintype,
        subtype=attachment.subtype,
        filename=attachment.filename,
        params=attachment.params,
    )

    [part] = list(message.iter_attachments())
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "REQUEST"
    assert part.get_filename() == "invite.ics"
    assert part.get_payload(decode=True) == invite(BOOKED, "REQUEST")
