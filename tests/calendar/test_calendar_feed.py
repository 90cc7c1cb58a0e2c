"""Published feeds, read back by three independent parsers: icalendar, recurring-ical-events, vobject."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
import vobject
from icalendar import Calendar

from app.core.ics import (
    FeedItem,
    Party,
    anonymise,
    build_feed,
    feed_etag,
    feed_last_modified,
    make_uid,
)

PARIS = ZoneInfo("Europe/Paris")
STAMP = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)
EDITED = datetime(2026, 3, 1, 17, 45, tzinfo=UTC)


def booking(n: int, start: datetime, end: datetime, **changes: object) -> FeedItem:
    item = FeedItem(
        uid=make_uid("booking", n, "tiers-lieu-perigueux"),
        start=start,
        end=end,
        summary=f"Salle Chêne – réservation {n}",
        description="Réservé par Camille Martin",
        location="Salle Chêne",
        last_modified=EDITED,
        attendees=(Party("camille@example.org", "Camille Martin"),),
    )
    return dataclasses.replace(item, **changes)


# DST days in Paris: 2026-03-29 (02:00 -> 03:00) and 2026-10-25 (03:00 -> 02:00).
SPRING_DAY = booking(1, datetime(2026, 3, 29, 9, tzinfo=PARIS), datetime(2026, 3, 29, 18, tzinfo=PARIS))
AUTUMN_DAY = booking(2, datetime(2026, 10, 25, 9, tzinfo=PARIS), datetime(2026, 10, 25, 18, tzinfo=PARIS))
SPRING_NIGHT = booking(3, datetime(2026, 3, 28, 20, tzinfo=PARIS), datetime(2026, 3, 29, 8, tzinfo=PARIS))
AUTUMN_NIGHT = booking(4, datetime(2026, 10, 24, 20, tzinfo=PARIS), datetime(2026, 10, 25, 8, tzinfo=PARIS))
CANCELLED = booking(
    5,
    datetime(2026, 4, 2, 7, 0, tzinfo=UTC),
    datetime(2026, 4, 2, 9, 0, tzinfo=UTC),
    status="CANCELLED",
    sequence=1,
)
CLOSURE = FeedItem(
    uid=make_uid("closure", 9, "tiers-lieu-perigueux"),
    start=date(2026, 10, 25),
    end=date(2026, 10, 26),
    summary="Fermé – inventaire",
    last_modified=EDITED,
    transparent=True,
)
ITEMS = [SPRING_DAY, AUTUMN_DAY, SPRING_NIGHT, AUTUMN_NIGHT, CANCELLED, CLOSURE]


def feed(items: list[FeedItem] = ITEMS, **kwargs: object) -> bytes:
    options: dict[str, object] = {"name": "Salle Chêne", "tz": "Europe/Paris", "stamp": STAMP} | kwargs
    return build_feed(items, **options)  # type: ignore[arg-type]


def events_by_uid(data: bytes) -> dict[str, object]:
    return {str(event["UID"]): event for event in Calendar.from_ical(data).walk("VEVENT")}


def utc_span(start: datetime, end: datetime) -> tuple[datetime, datetime, timedelta]:
    """Elapsed time must be measured in UTC: subtracting two datetimes of the same zone object
    gives the wall-clock difference and would hide the hour lost or gained."""
    start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
    return start_utc, end_utc, end_utc - start_utc


# --- calendar-level properties --------------------------------------------------------------


def test_feed_is_one_calendar_with_name_zone_and_refresh_hints() -> None:
    cal = Calendar.from_ical(feed())

    assert cal.name == "VCALENDAR"
    assert str(cal["PRODID"]) == "-//Fabrique//Fabrique//FR"
    assert str(cal["X-WR-CALNAME"]) == "Salle Chêne"
    assert str(cal["X-WR-TIMEZONE"]) == "Europe/Paris"
    assert cal["REFRESH-INTERVAL"].dt == timedelta(minutes=15)
    assert cal["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert b"X-PUBLISHED-TTL:PT15M\r\n" in feed()
    assert "METHOD" not in cal
    assert len(cal.walk("VEVENT")) == len(ITEMS)


def test_refresh_interval_follows_the_argument() -> None:
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in feed(refresh_minutes=60)
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in feed(refresh_minutes=60)


def test_feed_carries_a_vtimezone_for_the_space_zone() -> None:
    cal = Calendar.from_ical(feed())

    assert [str(tz["TZID"]) for tz in cal.timezones] == ["Europe/Paris"]
    assert cal.get_missing_tzids() == set()
    # VTIMEZONE first, so that single-pass parsers know it before the events use it.
    assert cal.subcomponents[0].name == "VTIMEZONE"


def test_vtimezone_places_the_spring_change_at_0100_utc_for_an_independent_parser() -> None:
    """vobject builds its zone from our VTIMEZONE alone (dateutil tzical), not from tzdata."""
    zone = vobject.readOne(feed().decode()).vtimezone.gettzinfo()

    assert datetime(2026, 3, 29, 0, 59, tzinfo=UTC).astimezone(zone).utcoffset() == timedelta(hours=1)
    assert datetime(2026, 3, 29, 1, 30, tzinfo=UTC).astimezone(zone).utcoffset() == timedelta(hours=2)
    assert datetime(2026, 10, 25, 0, 59, tzinfo=UTC).astimezone(zone).utcoffset() == timedelta(hours=2)
    assert datetime(2026, 10, 25, 1, 30, tzinfo=UTC).astimezone(zone).utcoffset() == timedelta(hours=1)


def test_empty_feed_is_still_a_valid_calendar() -> None:
    data = feed([])

    cal = Calendar.from_ical(data)
    assert cal.walk("VEVENT") == []
    assert [str(tz["TZID"]) for tz in cal.timezones] == ["Europe/Paris"]
    assert vobject.readOne(data.decode()).vtimezone.tzid.value == "Europe/Paris"


# --- events ---------------------------------------------------------------------------------


def test_events_are_written_in_the_space_zone_with_tzid() -> None:
    data = feed()

    assert b"DTSTART;TZID=Europe/Paris:20260329T090000\r\n" in data
    assert b"DTEND;TZID=Europe/Paris:20260329T180000\r\n" in data
    # Given in UTC, shown in local time: 07:00Z on 2 April is 09:00 in Paris (CEST).
    assert b"DTSTART;TZID=Europe/Paris:20260402T090000\r\n" in data


@pytest.mark.parametrize(
    ("item", "local", "utc_start", "elapsed"),
    [
        # Daytime bookings on DST days: the change happens at night, so still 9 real hours.
        (SPRING_DAY, (9, 18), datetime(2026, 3, 29, 7, 0, tzinfo=UTC), timedelta(hours=9)),
        (AUTUMN_DAY, (9, 18), datetime(2026, 10, 25, 8, 0, tzinfo=UTC), timedelta(hours=9)),
        # Overnight bookings across the change: 20:00 -> 08:00 is 11 h in spring, 13 h in autumn.
        (SPRING_NIGHT, (20, 8), datetime(2026, 3, 28, 19, 0, tzinfo=UTC), timedelta(hours=11)),
        (AUTUMN_NIGHT, (20, 8), datetime(2026, 10, 24, 18, 0, tzinfo=UTC), timedelta(hours=13)),
    ],
)
def test_local_times_and_real_durations_survive_dst_in_three_parsers(
    item: FeedItem, local: tuple[int, int], utc_start: datetime, elapsed: timedelta
) -> None:
    data = feed()
    ical_event = events_by_uid(data)[item.uid]
    vobject_event = next(e for e in vobject.readOne(data.decode()).vevent_list if e.uid.value == item.uid)
    [expanded] = [
        e
        for e in recurring_ical_events.of(Calendar.from_ical(data)).between(utc_start, utc_start + elapsed)
        if str(e["UID"]) == item.uid
    ]

    for start, end in [
        (ical_event.start, ical_event.end),
        (vobject_event.dtstart.value, vobject_event.dtend.value),
        (expanded.start, expanded.end),
    ]:
        assert (start.hour, end.hour) == local
        assert (start.minute, end.minute) == (0, 0)
        assert utc_span(start, end) == (utc_start, utc_start + elapsed, elapsed)


def test_all_day_items_stay_dates() -> None:
    event = events_by_uid(feed())[CLOSURE.uid]

    assert event.start == date(2026, 10, 25)
    assert event.end == date(2026, 10, 26)
    assert str(event["TRANSP"]) == "TRANSPARENT"


def test_each_event_has_uid_dtstamp_sequence_status_and_last_modified() -> None:
    for uid, event in events_by_uid(feed()).items():
        assert uid.endswith("@tiers-lieu-perigueux.fabrique")
        assert event["DTSTAMP"].dt == STAMP
        assert event["LAST-MODIFIED"].dt == EDITED
        assert "SEQUENCE" in event
        assert str(event["STATUS"]) in {"CONFIRMED", "CANCELLED", "TENTATIVE"}


def test_dtstamp_is_the_stamp_passed_in_utc() -> None:
    stamp_in_paris = datetime(2026, 3, 2, 7, 30, tzinfo=PARIS)

    data = feed(stamp=stamp_in_paris)

    assert data.count(b"DTSTAMP:20260302T063000Z\r\n") == len(ITEMS)


def test_cancelled_items_stay_in_the_feed_as_cancelled() -> None:
    event = events_by_uid(feed())[CANCELLED.uid]

    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 1
    vobject_event = next(
        e for e in vobject.readOne(feed().decode()).vevent_list if e.uid.value == CANCELLED.uid
    )
    assert vobject_event.status.value == "CANCELLED"


def test_text_is_escaped_not_interpreted() -> None:
    tricky = booking(
        7,
        datetime(2026, 5, 4, 8, tzinfo=UTC),
        datetime(2026, 5, 4, 9, tzinfo=UTC),
        summary="Atelier; vélo, réparation\nEND:VEVENT",
        description="Ligne 1\r\nBEGIN:VALARM",
    )

    event = events_by_uid(feed([tricky]))[tricky.uid]

    # A summary is one line (a line break is flattened), its ; and , escaped; a description keeps its lines.
    assert str(event["SUMMARY"]) == "Atelier; vélo, réparation END:VEVENT"
    assert str(event["DESCRIPTION"]) == "Ligne 1\nBEGIN:VALARM"
    assert len(Calendar.from_ical(feed([tricky])).walk("VALARM")) == 0


def test_attendees_and_organizer_are_written_with_names() -> None:
    item = booking(
        8,
        datetime(2026, 5, 4, 8, tzinfo=UTC),
        datetime(2026, 5, 4, 9, tzinfo=UTC),
        organizer=Party("accueil@tiers-lieu.fr", "Tiers-lieu de Périgueux"),
    )

    event = events_by_uid(feed([item]))[item.uid]

    assert str(event["ORGANIZER"]) == "mailto:accueil@tiers-lieu.fr"
    assert event["ORGANIZER"].params["CN"] == "Tiers-lieu de Périgueux"
    assert str(event["ATTENDEE"]) == "mailto:camille@example.org"


# --- stability ------------------------------------------------------------------------------


def test_two_builds_are_byte_identical_whatever_the_item_order() -> None:
    first = feed(ITEMS)
    second = feed(list(reversed(ITEMS)))

    assert first == second
    assert set(events_by_uid(first)) == {item.uid for item in ITEMS}


def test_uid_is_built_from_ids() -> None:
    assert make_uid("booking", 123, "tiers-lieu-perigueux") == "booking-123@tiers-lieu-perigueux.fabrique"


def test_two_items_with_one_uid_are_refused() -> None:
    with pytest.raises(ValueError, match="share a UID"):
        feed([SPRING_DAY, dataclasses.replace(AUTUMN_DAY, uid=SPRING_DAY.uid)])


# --- ETag and Last-Modified -----------------------------------------------------------------


def test_etag_is_a_quoted_strong_validator() -> None:
    etag = feed_etag(ITEMS, "Salle Chêne", "Europe/Paris")

    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")


def test_etag_is_stable_for_the_same_items_in_any_order() -> None:
    assert feed_etag(ITEMS, "Salle Chêne", "Europe/Paris") == feed_etag(
        [dataclasses.replace(i) for i in reversed(ITEMS)], "Salle Chêne", "Europe/Paris"
    )


def test_etag_changes_when_a_sequence_changes() -> None:
    bumped = [dataclasses.replace(SPRING_DAY, sequence=SPRING_DAY.sequence + 1), *ITEMS[1:]]

    assert feed_etag(bumped, "Salle Chêne", "Europe/Paris") != feed_etag(ITEMS, "Salle Chêne", "Europe/Paris")


@pytest.mark.parametrize(
    ("items", "name", "tz", "variant"),
    [
        (
            [dataclasses.replace(SPRING_DAY, status="CANCELLED"), *ITEMS[1:]],
            "Salle Chêne",
            "Europe/Paris",
            "",
        ),
        (
            [dataclasses.replace(SPRING_DAY, last_modified=STAMP), *ITEMS[1:]],
            "Salle Chêne",
            "Europe/Paris",
            "",
        ),
        (ITEMS[1:], "Salle Chêne", "Europe/Paris", ""),
        (ITEMS, "Salle Hêtre", "Europe/Paris", ""),
        (ITEMS, "Salle Chêne", "Europe/Brussels", ""),
        (ITEMS, "Salle Chêne", "Europe/Paris", "busy:Occupé"),
    ],
    ids=["status", "last_modified", "removed_item", "name", "tz", "variant"],
)
def test_etag_changes_with_every_input_it_covers(
    items: list[FeedItem], name: str, tz: str, variant: str
) -> None:
    assert feed_etag(items, name, tz, variant=variant) != feed_etag(ITEMS, "Salle Chêne", "Europe/Paris")


def test_etag_ignores_fields_covered_by_last_modified() -> None:
    """A summary edited without touching last_modified is the caller's bug; the ETag trusts it."""
    renamed = [dataclasses.replace(SPRING_DAY, summary="Autre"), *ITEMS[1:]]

    assert feed_etag(renamed, "Salle Chêne", "Europe/Paris") == feed_etag(
        ITEMS, "Salle Chêne", "Europe/Paris"
    )


def test_feed_last_modified_is_the_latest_item_edit_in_utc() -> None:
    later = dataclasses.replace(SPRING_DAY, last_modified=datetime(2026, 3, 5, 12, tzinfo=PARIS))

    assert feed_last_modified([later, *ITEMS[1:]]) == datetime(2026, 3, 5, 11, tzinfo=UTC)
    assert feed_last_modified([]) is None


# --- busy/free ------------------------------------------------------------------------------


def test_anonymised_item_shows_only_a_label_and_the_time() -> None:
    item = dataclasses.replace(SPRING_DAY, organizer=Party("camille@example.org"), url="https://x.test/b/1")

    busy = anonymise(item, "Occupé")
    data = feed([busy])

    assert (busy.uid, busy.start, busy.end, busy.sequence) == (item.uid, item.start, item.end, item.sequence)
    event = events_by_uid(data)[item.uid]
    assert str(event["SUMMARY"]) == "Occupé"
    for name in ("DESCRIPTION", "ATTENDEE", "ORGANIZER", "URL"):
        assert name not in event
    assert b"Camille" not in data and b"camille" not in data


# --- input validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"start": datetime(2026, 3, 29, 9), "end": datetime(2026, 3, 29, 18)},
        {"start": date(2026, 3, 29), "end": datetime(2026, 3, 30, tzinfo=UTC)},
        {"end": datetime(2026, 3, 29, 9, tzinfo=PARIS)},
        {"status": "MAYBE"},
        {"sequence": -1},
        {"last_modified": datetime(2026, 3, 1)},
        {"uid": ""},
    ],
    ids=["naive", "mixed", "empty_interval", "status", "sequence", "naive_last_modified", "uid"],
)
def test_feed_items_refuse_inconsistent_values(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        dataclasses.replace(SPRING_DAY, **changes)


@pytest.mark.parametrize("email", ["a@b.fr\r\nATTENDEE:mailto:evil@x.fr", "no-at-sign", "", "a b@c.fr"])
def test_party_refuses_addresses_that_could_inject_lines(email: str) -> None:
    with pytest.raises(ValueError):
        Party(email)


def test_unknown_timezone_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown timezone"):
        feed(tz="Europe/Perigueux")


def test_naive_stamp_is_refused() -> None:
    with pytest.raises(ValueError, match="stamp"):
        feed(stamp=datetime(2026, 3, 2))
