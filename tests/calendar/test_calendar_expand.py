"""expand_blocks: from an external calendar's bytes to the UTC intervals that block a resource."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from app.calendar.fetch import Block, CalendarParseError, expand_blocks

YEAR_2026 = {"window_start": datetime(2026, 1, 1, tzinfo=UTC), "window_end": datetime(2027, 1, 1, tzinfo=UTC)}
WEEKLY = "4k2l9q7vd0c1p8rj3m5s6t2b1a@google.com"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def ics(*events: str, header: str = "") -> bytes:
    """A minimal calendar around VEVENT bodies written one property per line."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Fabrique tests//EN"]
    lines += [line for line in header.splitlines() if line.strip()]
    for n, event in enumerate(events):
        body = [line.strip() for line in event.strip().splitlines()]
        if not any(line.startswith("UID") for line in body):
            body.insert(0, f"UID:event-{n}@example.org")
        lines += ["BEGIN:VEVENT", "DTSTAMP:20260101T000000Z", *body, "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def expand(body: bytes, tz_default: str = "Europe/Paris", **window: datetime) -> list[Block]:
    return expand_blocks(body, tz_default=tz_default, **(YEAR_2026 | window))


def spans(blocks: list[Block]) -> list[tuple[datetime, datetime]]:
    return [(b.start, b.end) for b in blocks]


# --- the Google Calendar export ---------------------------------------------------------------


def test_google_export_gives_exactly_the_expected_utc_blocks(google_export: bytes) -> None:
    blocks = expand(google_export)

    assert blocks == [
        # All-day Saturday-Sunday over the spring change: Paris midnight to midnight, 47 hours.
        Block(
            utc(2026, 3, 27, 23),
            utc(2026, 3, 29, 22),
            "5f7h9j1l3n5p7r9t1v3x5z7b9d@google.com",
            None,
            "Week-end Repair Café",
        ),
        # Weekly Thursday 10:00-11:30 Paris, still summer time (UTC+2).
        Block(
            utc(2026, 10, 8, 8), utc(2026, 10, 8, 9, 30), WEEKLY, "20261008T080000Z", "Réunion des bénévoles"
        ),
        # 15 October is an EXDATE. A one-off event given in UTC.
        Block(
            utc(2026, 10, 20, 13),
            utc(2026, 10, 20, 15),
            "7d1m3b5n9p0q2r4s6t8u0v2w4x@google.com",
            None,
            "Formation découpe laser",
        ),
        # 22 October moved to Friday 23, 14:00-15:30 Paris; identified by its original start.
        Block(
            utc(2026, 10, 23, 12),
            utc(2026, 10, 23, 13, 30),
            WEEKLY,
            "20261022T080000Z",
            "Réunion des bénévoles (décalée au vendredi)",
        ),
        # All-day on the autumn change: 25 hours.
        Block(
            utc(2026, 10, 24, 22),
            utc(2026, 10, 25, 23),
            "0s3fk1l8u2mh6c9q4e7r5n0v3d@google.com",
            None,
            "Fermeture – inventaire annuel",
        ),
        # Winter time (UTC+1) from 25 October: same 10:00 local, one hour later in UTC.
        Block(
            utc(2026, 10, 29, 9),
            utc(2026, 10, 29, 10, 30),
            WEEKLY,
            "20261029T090000Z",
            "Réunion des bénévoles",
        ),
        # 5 November is cancelled; the series ends with 12 November.
        Block(
            utc(2026, 11, 12, 9),
            utc(2026, 11, 12, 10, 30),
            WEEKLY,
            "20261112T090000Z",
            "Réunion des bénévoles",
        ),
    ]
    # Left out: the transparent "télétravail", the cancelled "apéro", the 2025 general assembly.


def test_window_keeps_overlapping_occurrences_whole(google_export: bytes) -> None:
    blocks = expand(google_export, window_start=utc(2026, 10, 25, 12), window_end=utc(2026, 10, 29, 9, 30))

    assert spans(blocks) == [
        (utc(2026, 10, 24, 22), utc(2026, 10, 25, 23)),
        (utc(2026, 10, 29, 9), utc(2026, 10, 29, 10, 30)),
    ]


def test_window_bounds_are_half_open(google_export: bytes) -> None:
    """A block ending exactly at the window start, or starting at its end, does not overlap it."""
    assert expand(google_export, window_start=utc(2026, 10, 20, 15), window_end=utc(2026, 10, 23, 12)) == []


# --- zones and all-day events -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "next_day", "tz_default", "start", "end"),
    [
        ("20260329", "20260330", "Europe/Paris", utc(2026, 3, 28, 23), utc(2026, 3, 29, 22)),  # 23 h
        ("20261025", "20261026", "Europe/Paris", utc(2026, 10, 24, 22), utc(2026, 10, 25, 23)),  # 25 h
        ("20260614", "20260615", "Europe/Paris", utc(2026, 6, 13, 22), utc(2026, 6, 14, 22)),  # 24 h
        ("20260308", "20260309", "America/New_York", utc(2026, 3, 8, 5), utc(2026, 3, 9, 4)),  # 23 h
    ],
)
def test_all_day_event_blocks_the_local_day_of_the_space(
    day: str, next_day: str, tz_default: str, start: datetime, end: datetime
) -> None:
    body = ics(f"DTSTART;VALUE=DATE:{day}\nDTEND;VALUE=DATE:{next_day}\nSUMMARY:Fermé")

    assert spans(expand(body, tz_default)) == [(start, end)]


def test_all_day_event_without_end_lasts_one_day() -> None:
    body = ics("DTSTART;VALUE=DATE:20260329")

    assert spans(expand(body)) == [(utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))]


def test_floating_time_is_read_in_the_space_zone() -> None:
    body = ics(
        "DTSTART:20260115T100000\nDTEND:20260115T113000", "DTSTART:20260715T100000\nDTEND:20260715T113000"
    )

    assert spans(expand(body)) == [
        (utc(2026, 1, 15, 9), utc(2026, 1, 15, 10, 30)),
        (utc(2026, 7, 15, 8), utc(2026, 7, 15, 9, 30)),
    ]


def test_floating_time_follows_the_calendars_declared_zone() -> None:
    body = ics("DTSTART:20260115T100000\nDTEND:20260115T110000", header="X-WR-TIMEZONE:America/New_York")

    assert spans(expand(body)) == [(utc(2026, 1, 15, 15), utc(2026, 1, 15, 16))]


def test_unknown_declared_zone_is_ignored() -> None:
    body = ics(
        "DTSTART:20260115T100000Z\nDTEND:20260115T110000Z", header="X-WR-TIMEZONE:Pacific Standard Time"
    )

    assert spans(expand(body)) == [(utc(2026, 1, 15, 10), utc(2026, 1, 15, 11))]


def test_undefined_tzid_falls_back_to_the_space_zone() -> None:
    body = ics("DTSTART;TZID=Mars/Olympus:20260115T100000\nDTEND;TZID=Mars/Olympus:20260115T110000")

    assert spans(expand(body)) == [(utc(2026, 1, 15, 9), utc(2026, 1, 15, 10))]


def test_outlook_zone_names_are_understood() -> None:
    body = ics(
        'DTSTART;TZID="(UTC+01:00) Brussels, Copenhagen, Madrid, Paris":20260701T100000\n'
        'DTEND;TZID="(UTC+01:00) Brussels, Copenhagen, Madrid, Paris":20260701T110000',
        "DTSTART;TZID=Romance Standard Time:20260115T100000\nDTEND;TZID=Romance Standard Time:20260115T110000",
        header="""
            BEGIN:VTIMEZONE
            TZID:(UTC+01:00) Brussels\\, Copenhagen\\, Madrid\\, Paris
            BEGIN:STANDARD
            DTSTART:16010101T030000
            TZOFFSETFROM:+0200
            TZOFFSETTO:+0100
            RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
            END:STANDARD
            BEGIN:DAYLIGHT
            DTSTART:16010101T020000
            TZOFFSETFROM:+0100
            TZOFFSETTO:+0200
            RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
            END:DAYLIGHT
            END:VTIMEZONE
        """.replace("            ", ""),
    )

    assert spans(expand(body, "America/New_York")) == [
        (utc(2026, 1, 15, 9), utc(2026, 1, 15, 10)),
        (utc(2026, 7, 1, 8), utc(2026, 7, 1, 9)),
    ]


# --- recurrence -----------------------------------------------------------------------------


def test_rdate_adds_an_occurrence_to_a_series() -> None:
    body = ics(
        "DTSTART;TZID=Europe/Paris:20260105T090000\nDTEND;TZID=Europe/Paris:20260105T100000\n"
        "RRULE:FREQ=WEEKLY;COUNT=2\nRDATE;TZID=Europe/Paris:20260107T140000"
    )

    blocks = expand(body)

    assert spans(blocks) == [
        (utc(2026, 1, 5, 8), utc(2026, 1, 5, 9)),
        (utc(2026, 1, 7, 13), utc(2026, 1, 7, 14)),
        (utc(2026, 1, 12, 8), utc(2026, 1, 12, 9)),
    ]
    assert [b.recurrence_id for b in blocks] == ["20260105T080000Z", "20260107T130000Z", "20260112T080000Z"]


def test_a_cancelled_series_blocks_nothing() -> None:
    body = ics("DTSTART:20260105T090000Z\nDTEND:20260105T100000Z\nRRULE:FREQ=DAILY;COUNT=5\nSTATUS:CANCELLED")

    assert expand(body) == []


def test_tentative_events_block() -> None:
    body = ics("DTSTART:20260105T090000Z\nDTEND:20260105T100000Z\nSTATUS:TENTATIVE")

    assert spans(expand(body)) == [(utc(2026, 1, 5, 9), utc(2026, 1, 5, 10))]


def test_duration_instead_of_end() -> None:
    body = ics("DTSTART:20260105T090000Z\nDURATION:PT2H30M")

    assert spans(expand(body)) == [(utc(2026, 1, 5, 9), utc(2026, 1, 5, 11, 30))]


def test_zero_length_events_block_nothing() -> None:
    assert expand(ics("DTSTART:20260105T090000Z")) == []


# --- de-duplication and order ---------------------------------------------------------------


def test_the_same_event_twice_gives_one_block() -> None:
    event = "UID:dup@example.org\nDTSTART:20260105T090000Z\nDTEND:20260105T100000Z"

    assert len(expand(ics(event, event))) == 1


def test_concatenated_calendars_are_merged_and_deduplicated() -> None:
    one = ics("UID:a@example.org\nDTSTART:20260105T090000Z\nDTEND:20260105T100000Z")
    two = ics(
        "UID:a@example.org\nDTSTART:20260105T090000Z\nDTEND:20260105T100000Z",
        "UID:b@example.org\nDTSTART:20260104T090000Z\nDTEND:20260104T100000Z",
    )

    assert [b.uid for b in expand(one + two)] == ["b@example.org", "a@example.org"]


def test_different_events_at_the_same_time_are_kept_and_sorted_by_uid() -> None:
    body = ics(
        "UID:z@example.org\nDTSTART:20260105T090000Z\nDTEND:20260105T100000Z",
        "UID:a@example.org\nDTSTART:20260105T090000Z\nDTEND:20260105T100000Z",
        "UID:m@example.org\nDTSTART:20260105T080000Z\nDTEND:20260105T100000Z",
    )

    assert [b.uid for b in expand(body)] == ["m@example.org", "a@example.org", "z@example.org"]


def test_missing_uid_gets_a_stable_stand_in() -> None:
    body = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

    [first], [second] = expand(body), expand(body)

    assert first.uid.startswith("no-uid-") and first.uid == second.uid


# --- robustness -----------------------------------------------------------------------------


def test_events_without_a_readable_start_are_skipped_and_the_rest_kept() -> None:
    body = ics(
        "SUMMARY:no start",
        "DTSTART:2026XX05\nSUMMARY:broken start",
        "DTSTART:20260106T090000Z\nDTEND:20260106T100000Z\nSUMMARY:fine",
    )

    assert [b.summary for b in expand(body)] == ["fine"]


def test_unreadable_recurrence_details_still_leave_what_is_certain() -> None:
    """A broken or sub-hourly rule leaves the first occurrence; a broken EXDATE removes nothing."""
    body = ics(
        "DTSTART:20260105T090000Z\nDTEND:20260105T100000Z\nRRULE:FREQ=SOMETIMES\nSUMMARY:broken rule",
        "DTSTART:20260106T090000Z\nDTEND:20260106T091000Z\nRRULE:FREQ=MINUTELY\nSUMMARY:every minute",
        "DTSTART:20260107T090000Z\nDTEND:20260107T100000Z\nRRULE:FREQ=DAILY;COUNT=2\nEXDATE:garbage\n"
        "SUMMARY:broken exdate",
    )

    assert [(b.start, b.summary) for b in expand(body)] == [
        (utc(2026, 1, 5, 9), "broken rule"),
        (utc(2026, 1, 6, 9), "every minute"),
        (utc(2026, 1, 7, 9), "broken exdate"),
        (utc(2026, 1, 8, 9), "broken exdate"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        bytes(range(256)) * 4,
        b"<!doctype html><html><body>Sign in</body></html>",
        b"BEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260105T090000Z\r\nEND:VEVENT\r\n",
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\n",
    ],
    ids=["empty", "binary", "html", "no_vcalendar", "truncated"],
)
def test_unreadable_data_raises_invalid_ics(body: bytes) -> None:
    with pytest.raises(CalendarParseError) as caught:
        expand(body)

    assert caught.value.code == "invalid_ics"
    assert caught.value.detail and "\n" not in caught.value.detail


def test_windows_1252_text_is_decoded() -> None:
    body = ics("DTSTART:20260105T090000Z\nDTEND:20260105T100000Z\nSUMMARY:Réunion").decode().encode("cp1252")

    assert [b.summary for b in expand(body)] == ["Réunion"]


def test_utf8_byte_order_mark_is_accepted() -> None:
    body = b"\xef\xbb\xbf" + ics("DTSTART:20260105T090000Z\nDTEND:20260105T100000Z")

    assert len(expand(body)) == 1


def test_too_many_occurrences_are_refused() -> None:
    body = ics("DTSTART:20260101T090000Z\nDTEND:20260101T100000Z\nRRULE:FREQ=HOURLY")

    with pytest.raises(CalendarParseError) as caught:
        expand_blocks(body, tz_default="Europe/Paris", max_blocks=100, **YEAR_2026)

    assert caught.value.code == "too_many_events"


def test_too_many_occurrences_found_while_expanding_are_refused() -> None:
    """Under the up-front bound (a COUNT caps it) but over the limit once expanded."""
    body = ics("DTSTART:20260101T090000Z\nDTEND:20260101T100000Z\nRRULE:FREQ=DAILY;COUNT=150")

    with pytest.raises(CalendarParseError) as caught:
        expand_blocks(body, tz_default="Europe/Paris", max_blocks=100, **YEAR_2026)

    assert caught.value.code == "too_many_events"


def test_an_exploding_rule_is_refused_before_expanding() -> None:
    minutes = ",".join(str(m) for m in range(60))
    body = ics(
        f"DTSTART:20260101T090000Z\nDTEND:20260101T090100Z\nRRULE:FREQ=DAILY;BYHOUR=8,9,10,11,12,13,14,15,16,17;BYMINUTE={minutes}"
    )

    started = time.perf_counter()
    with pytest.raises(CalendarParseError) as caught:
        expand(body)

    assert caught.value.code == "too_many_events"
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize(
    "window",
    [
        {"window_start": datetime(2026, 1, 1), "window_end": utc(2027, 1, 1)},
        {"window_start": utc(2026, 1, 1), "window_end": datetime(2027, 1, 1)},
        {"window_start": utc(2026, 1, 2), "window_end": utc(2026, 1, 1)},
    ],
    ids=["naive_start", "naive_end", "reversed"],
)
def test_window_must_be_aware_and_ordered(window: dict[str, datetime], google_export: bytes) -> None:
    with pytest.raises(ValueError):
        expand_blocks(google_export, tz_default="Europe/Paris", **window)


# --- volume ---------------------------------------------------------------------------------


def test_two_thousand_events_with_recurrences_expand_in_seconds(many_events_ics: bytes) -> None:
    window = {"window_start": utc(2026, 6, 1), "window_end": utc(2026, 9, 1)}

    started = time.perf_counter()
    blocks = expand_blocks(many_events_ics, tz_default="Europe/Paris", **window)
    elapsed = time.perf_counter() - started

    # 2.5-4 s on a shared 2-CPU development machine; the bound only catches pathological slowdowns.
    assert elapsed < 20, f"2,000 events took {elapsed:.1f} s"
    assert len(blocks) > 5_000
    keys = [(b.start, b.end, b.uid, b.recurrence_id or "") for b in blocks]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert all(b.end > window["window_start"] and b.start < window["window_end"] for b in blocks)
    assert all(b.start.tzinfo is UTC and b.end - b.start == timedelta(hours=1) for b in blocks)
