"""Booking rules: one test per behaviour, all in Europe/Paris in 2027 with an explicit ``now``.

DST in 2027: clocks go forward on Sunday 28 March (02:00 → 03:00) and back on Sunday 31 October
(03:00 → 02:00).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.booking import errors
from app.booking.errors import (
    BeyondHorizon,
    BookingConflict,
    CancellationDeadlinePassed,
    EmptyInterval,
    InThePast,
    InvalidInterval,
    InvalidRecurrence,
    NotAllowed,
    OffGranularity,
    OutsideOpeningHours,
    ResourceArchived,
    ResourceBlocked,
    SpaceClosed,
    TooLong,
    TooManyOccurrences,
    TooShort,
)
from app.booking.rules import (
    BookingRules,
    Closure,
    OpeningHours,
    SpaceCalendar,
    buffered,
    can_cancel,
    check_can_book,
    day_interval,
    find_conflict,
    half_day_interval,
    occurrences_weekly,
    snap_to_unit,
    units_for,
    validate_interval,
)
from app.core.errors import FabriqueError
from app.core.i18n import use_locale

PARIS = "Europe/Paris"
TZ = ZoneInfo(PARIS)
SPRING_FORWARD = date(2027, 3, 28)
FALL_BACK = date(2027, 10, 31)


def paris(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


def utc(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def shows(value: datetime) -> str:
    return value.astimezone(TZ).strftime("%H:%M")


def create_calendar(**overrides) -> SpaceCalendar:
    """Weekdays 9:00–12:30 and 13:30–19:00, Saturday mornings, closed on Sunday; half-days split at 13:30."""
    weekday = ((time(9), time(12, 30)), (time(13, 30), time(19)))
    values = {
        "tz": PARIS,
        "opening": OpeningHours(
            {0: weekday, 1: weekday, 2: weekday, 3: weekday, 4: weekday, 5: ((time(9), time(13)),)}
        ),
        "closures": (
            Closure(date(2027, 7, 14), date(2027, 7, 14), "Fête nationale"),
            Closure(date(2027, 8, 2), date(2027, 8, 20), "Fermeture estivale"),
        ),
        "half_day_boundary": time(13, 30),
    }
    return SpaceCalendar(**{**values, **overrides})


CAL = create_calendar()
# DST changes happen on Sundays: a space open every day 9–18 to see them.
EVERY_DAY = SpaceCalendar(
    PARIS, OpeningHours.uniform((time(9), time(18)), weekdays=range(7)), (), time(13, 30)
)
ROUND_THE_CLOCK = SpaceCalendar(PARIS, OpeningHours.uniform((time(0), time(0)), weekdays=range(7)))
NOW = paris(date(2027, 3, 1), 8)  # Monday 1 March 2027, 08:00 in Paris
HOURLY = BookingRules(unit="hour", granularity_minutes=30)
TUESDAY = date(2027, 3, 2)


@pytest.fixture(autouse=True)
def english():
    with use_locale("en"):
        yield


def error_body(exc: pytest.ExceptionInfo[FabriqueError]) -> dict:
    return exc.value.to_dict()["error"]


def validate(start: datetime, end: datetime, rules: BookingRules = HOURLY, cal: SpaceCalendar = CAL, **kw):
    return validate_interval(start, end, rules=rules, cal=cal, now=kw.pop("now", NOW), **kw)


# -- error classes ------------------------------------------------------------------------------------

EXPECTED_ERRORS = {
    "InvalidInterval": ("invalid_interval", 422),
    "EmptyInterval": ("empty_interval", 422),
    "InThePast": ("in_the_past", 422),
    "BeyondHorizon": ("beyond_horizon", 422),
    "OutsideOpeningHours": ("outside_opening_hours", 422),
    "SpaceClosed": ("space_closed", 422),
    "OffGranularity": ("off_granularity", 422),
    "TooShort": ("too_short", 422),
    "TooLong": ("too_long", 422),
    "ResourceArchived": ("resource_archived", 422),
    "ResourceBlocked": ("resource_blocked", 422),
    "InvalidRecurrence": ("invalid_recurrence", 422),
    "TooManyOccurrences": ("too_many_occurrences", 422),
    "NotAllowed": ("not_allowed", 403),
    "CancellationDeadlinePassed": ("cancellation_deadline_passed", 409),
    "BookingConflict": ("booking_conflict", 409),
}


@pytest.mark.parametrize(("name", "expected"), EXPECTED_ERRORS.items())
def test_each_booking_error_has_its_code_and_status(name, expected):
    cls = getattr(errors, name)
    assert issubclass(cls, FabriqueError)
    assert (cls.code, cls.status_code) == expected


def test_booking_conflict_body_carries_the_conflicting_interval_as_iso_utc():
    exc = BookingConflict(starts_at=paris(TUESDAY, 10), ends_at=paris(TUESDAY, 11))
    body = exc.to_dict()["error"]
    assert exc.status_code == 409
    assert body["code"] == "booking_conflict"
    assert body["conflict"] == {
        "starts_at": "2027-03-02T09:00:00+00:00",
        "ends_at": "2027-03-02T10:00:00+00:00",
    }


# -- interval shape -----------------------------------------------------------------------------------


def test_naive_datetimes_are_an_invalid_interval_with_a_clear_message():
    with pytest.raises(InvalidInterval) as exc:
        validate(datetime(2027, 3, 2, 10), datetime(2027, 3, 2, 11))
    assert error_body(exc)["code"] == "invalid_interval"
    assert "timezone" in error_body(exc)["message"]


def test_end_before_start_is_an_invalid_interval_on_both_fields():
    with pytest.raises(InvalidInterval) as exc:
        validate(paris(TUESDAY, 11), paris(TUESDAY, 10))
    body = error_body(exc)
    assert body["code"] == "invalid_interval"
    assert set(body["fields"]) == {"starts_at", "ends_at"}
    assert exc.value.status_code == 422


def test_zero_length_interval_is_empty():
    with pytest.raises(EmptyInterval) as exc:
        validate(paris(TUESDAY, 10), paris(TUESDAY, 10))
    assert error_body(exc)["code"] == "empty_interval"
    assert set(error_body(exc)["fields"]) == {"ends_at"}


def test_valid_interval_comes_back_in_utc():
    assert validate(paris(TUESDAY, 10), paris(TUESDAY, 11)) == (utc(TUESDAY, 9), utc(TUESDAY, 10))


# -- past and horizon ---------------------------------------------------------------------------------


def test_member_cannot_book_in_the_past():
    with pytest.raises(InThePast) as exc:
        validate(paris(TUESDAY, 10), paris(TUESDAY, 11), now=paris(TUESDAY, 10, 15))
    assert error_body(exc)["code"] == "in_the_past"
    assert set(error_body(exc)["fields"]) == {"starts_at"}


def test_staff_cannot_book_in_the_past_either():
    with pytest.raises(InThePast):
        validate(paris(TUESDAY, 10), paris(TUESDAY, 11), now=paris(TUESDAY, 12), is_staff=True)


def test_member_cannot_book_beyond_the_horizon():
    rules = BookingRules(horizon_days=30)
    with pytest.raises(BeyondHorizon) as exc:
        validate(paris(date(2027, 4, 1), 10), paris(date(2027, 4, 1), 11), rules)
    assert error_body(exc)["code"] == "beyond_horizon"
    assert "30 days" in error_body(exc)["message"]


def test_horizon_counts_local_calendar_days_so_its_last_day_is_bookable():
    rules = BookingRules(horizon_days=30)
    assert validate(paris(date(2027, 3, 31), 18), paris(date(2027, 3, 31), 19), rules)


def test_staff_may_book_beyond_the_horizon_for_a_member():
    rules = BookingRules(horizon_days=30)
    assert validate(paris(date(2027, 4, 1), 10), paris(date(2027, 4, 1), 11), rules, is_staff=True)


def test_staff_booking_beyond_the_horizon_still_respects_opening_hours():
    rules = BookingRules(horizon_days=30)
    with pytest.raises(OutsideOpeningHours):
        validate(paris(date(2027, 4, 1), 7), paris(date(2027, 4, 1), 8), rules, is_staff=True)


# -- closures and opening hours -----------------------------------------------------------------------


def test_member_cannot_book_on_a_public_holiday_closure():
    day = date(2027, 7, 14)
    with pytest.raises(SpaceClosed) as exc:
        validate(paris(day, 10), paris(day, 11))
    body = error_body(exc)
    assert body["code"] == "space_closed"
    assert "Fête nationale" in body["message"]
    assert "July 14, 2027" in body["message"]


def test_closure_range_includes_its_last_day():
    day = date(2027, 8, 20)
    with pytest.raises(SpaceClosed):
        validate(paris(day, 10), paris(day, 11))
    assert validate(paris(date(2027, 8, 23), 10), paris(date(2027, 8, 23), 11))


def test_member_cannot_book_outside_opening_hours():
    with pytest.raises(OutsideOpeningHours) as exc:
        validate(paris(TUESDAY, 18), paris(TUESDAY, 20))
    body = error_body(exc)
    assert body["code"] == "outside_opening_hours"
    assert "7:00" in body["message"]  # the day's hours are given so the member can pick again


def test_member_cannot_book_across_the_lunch_break():
    with pytest.raises(OutsideOpeningHours):
        validate(paris(TUESDAY, 12), paris(TUESDAY, 14))


def test_member_cannot_book_on_a_day_without_opening_hours():
    sunday = date(2027, 3, 7)
    with pytest.raises(OutsideOpeningHours) as exc:
        validate(paris(sunday, 10), paris(sunday, 11))
    assert "not open" in error_body(exc)["message"]


def test_adjacent_opening_intervals_read_as_one():
    cal = create_calendar(opening=OpeningHours.uniform((time(9), time(12, 30)), (time(12, 30), time(18))))
    assert validate(paris(TUESDAY, 12), paris(TUESDAY, 13), cal=cal)


def test_round_the_clock_space_accepts_a_booking_across_midnight():
    assert validate(paris(TUESDAY, 22), paris(TUESDAY + timedelta(days=1), 2), cal=ROUND_THE_CLOCK)


def test_closure_is_reported_before_opening_hours():
    day = date(2027, 7, 14)
    with pytest.raises(SpaceClosed):
        validate(paris(day, 6), paris(day, 7))


def test_opening_hours_reject_overlapping_intervals():
    with pytest.raises(ValueError, match="overlap"):
        OpeningHours({0: ((time(9), time(13)), (time(12), time(18)))})


# -- granularity --------------------------------------------------------------------------------------


def test_start_off_the_granularity_is_refused():
    with pytest.raises(OffGranularity) as exc:
        validate(paris(TUESDAY, 10, 10), paris(TUESDAY, 11))
    body = error_body(exc)
    assert body["code"] == "off_granularity"
    assert set(body["fields"]) == {"starts_at"}
    assert "30-minute" in body["message"]


def test_end_off_the_granularity_points_at_ends_at():
    with pytest.raises(OffGranularity) as exc:
        validate(paris(TUESDAY, 10), paris(TUESDAY, 11, 15))
    assert set(error_body(exc)["fields"]) == {"ends_at"}


def test_seconds_are_off_the_granularity():
    with pytest.raises(OffGranularity):
        validate(paris(TUESDAY, 10), paris(TUESDAY, 11) + timedelta(seconds=1))


def test_granularity_is_aligned_to_local_midnight_not_utc():
    # 9:45 Paris is 8:45 UTC: 585 local minutes is on a 45-minute grid, 525 UTC minutes is not.
    rules = BookingRules(granularity_minutes=45)
    assert validate(paris(TUESDAY, 9, 45), paris(TUESDAY, 11, 15), rules)


def test_granularity_on_spring_forward_day_counts_wall_clock_minutes():
    # Only 8 real hours separate local midnight from 9:45 that day; the grid still follows the wall.
    rules = BookingRules(granularity_minutes=45)
    start, end = validate(paris(SPRING_FORWARD, 9, 45), paris(SPRING_FORWARD, 11, 15), rules, cal=EVERY_DAY)
    assert (start, end) == (utc(SPRING_FORWARD, 7, 45), utc(SPRING_FORWARD, 9, 15))
    with pytest.raises(OffGranularity):
        validate(paris(SPRING_FORWARD, 10), paris(SPRING_FORWARD, 11, 15), rules, cal=EVERY_DAY)


# -- duration -----------------------------------------------------------------------------------------


def test_booking_shorter_than_the_minimum_is_too_short():
    rules = BookingRules(min_minutes=60)
    with pytest.raises(TooShort) as exc:
        validate(paris(TUESDAY, 10), paris(TUESDAY, 10, 30), rules)
    assert error_body(exc)["code"] == "too_short"
    assert "60 minutes" in error_body(exc)["message"]


def test_booking_longer_than_the_maximum_is_too_long():
    rules = BookingRules(max_minutes=120)
    with pytest.raises(TooLong) as exc:
        validate(paris(TUESDAY, 14), paris(TUESDAY, 17), rules)
    assert error_body(exc)["code"] == "too_long"
    assert "120 minutes" in error_body(exc)["message"]


def test_day_booking_fits_a_nine_hour_maximum_on_the_autumn_day():
    # Ten real hours, nine on the wall: min/max follow the wall so DST days are not refused.
    rules = BookingRules(unit="day", max_minutes=9 * 60)
    assert validate(paris(FALL_BACK, 9), paris(FALL_BACK, 18), rules, cal=EVERY_DAY)


def test_rules_are_checked_in_order_past_before_hours_before_length():
    rules = BookingRules(min_minutes=60, granularity_minutes=30)
    with pytest.raises(InThePast):
        validate(paris(TUESDAY, 7, 10), paris(TUESDAY, 7, 20), rules, now=paris(TUESDAY, 8))
    with pytest.raises(OutsideOpeningHours):
        validate(paris(TUESDAY, 7, 10), paris(TUESDAY, 7, 20), rules)
    with pytest.raises(OffGranularity):
        validate(paris(TUESDAY, 10, 10), paris(TUESDAY, 10, 20), rules)


# -- day and half-day units ---------------------------------------------------------------------------


def test_day_spans_first_opening_to_last_closing_across_the_lunch_break():
    assert day_interval(TUESDAY, CAL) == (utc(TUESDAY, 8), utc(TUESDAY, 18))


# Paris changes its clocks at 02:00/03:00 at night, so a 9:00–18:00 day is 9 real hours even on DST
# days; what must hold is that it still shows 9:00–18:00 (no shift by the offset change). Only a day
# that contains the change — a space open at night — gets shorter or longer.


def test_day_booking_on_spring_forward_day_shows_nine_to_six():
    start, end = day_interval(SPRING_FORWARD, EVERY_DAY)
    assert (start, end) == (utc(SPRING_FORWARD, 7), utc(SPRING_FORWARD, 16))
    assert (shows(start), shows(end)) == ("09:00", "18:00")


def test_day_booking_on_autumn_fall_back_day_shows_nine_to_six():
    start, end = day_interval(FALL_BACK, EVERY_DAY)
    assert (start, end) == (utc(FALL_BACK, 8), utc(FALL_BACK, 17))
    assert (shows(start), shows(end)) == ("09:00", "18:00")


def test_round_the_clock_day_on_spring_forward_day_is_twenty_three_hours():
    start, end = day_interval(SPRING_FORWARD, ROUND_THE_CLOCK)
    assert end - start == timedelta(hours=23)
    assert (shows(start), shows(end)) == ("00:00", "00:00")


def test_round_the_clock_day_on_autumn_fall_back_day_is_twenty_five_hours():
    start, end = day_interval(FALL_BACK, ROUND_THE_CLOCK)
    assert end - start == timedelta(hours=25)


def test_day_booking_across_the_spring_change_validates_and_costs_one_day():
    rules = BookingRules(unit="day", max_minutes=24 * 60)
    start, end = validate(*day_interval(SPRING_FORWARD, ROUND_THE_CLOCK), rules, cal=ROUND_THE_CLOCK)
    assert units_for(start, end, unit="day", cal=ROUND_THE_CLOCK) == 1


def test_day_interval_on_a_closure_is_space_closed():
    with pytest.raises(SpaceClosed):
        day_interval(date(2027, 7, 14), CAL)


def test_day_interval_on_a_closed_weekday_is_outside_opening_hours():
    with pytest.raises(OutsideOpeningHours):
        day_interval(date(2027, 3, 7), CAL)


def test_half_days_split_at_the_space_boundary():
    assert half_day_interval(TUESDAY, "am", CAL) == (paris(TUESDAY, 9), paris(TUESDAY, 13, 30))
    assert half_day_interval(TUESDAY, "pm", CAL) == (paris(TUESDAY, 13, 30), paris(TUESDAY, 19))


def test_afternoon_does_not_exist_on_a_day_closing_before_the_boundary():
    saturday = date(2027, 3, 6)
    assert half_day_interval(saturday, "am", CAL) == (paris(saturday, 9), paris(saturday, 13))
    with pytest.raises(OutsideOpeningHours):
        half_day_interval(saturday, "pm", CAL)


def test_half_day_booking_may_span_the_lunch_break():
    rules = BookingRules(unit="half_day")
    assert validate(*half_day_interval(TUESDAY, "am", CAL), rules)


def test_half_day_booking_must_start_on_a_half_day_boundary():
    rules = BookingRules(unit="half_day")
    with pytest.raises(OffGranularity) as exc:
        validate(paris(TUESDAY, 10), paris(TUESDAY, 13, 30), rules)
    assert "1:30" in error_body(exc)["message"]
    assert set(error_body(exc)["fields"]) == {"starts_at"}


def test_day_booking_must_cover_the_whole_day():
    rules = BookingRules(unit="day")
    with pytest.raises(OffGranularity) as exc:
        validate(paris(TUESDAY, 9), paris(TUESDAY, 13, 30), rules)
    assert error_body(exc)["code"] == "off_granularity"


def test_day_booking_starting_before_opening_is_outside_opening_hours():
    rules = BookingRules(unit="day")
    with pytest.raises(OutsideOpeningHours):
        validate(paris(TUESDAY, 8), paris(TUESDAY, 19), rules)


def test_day_booking_over_a_week_may_include_a_closed_weekend():
    rules = BookingRules(unit="day")
    friday, monday = date(2027, 3, 5), date(2027, 3, 8)
    assert validate(paris(friday, 9), paris(monday, 19), rules)


def test_day_booking_ending_on_a_closure_is_space_closed():
    rules = BookingRules(unit="day")
    with pytest.raises(SpaceClosed) as exc:
        validate(paris(date(2027, 7, 13), 9), paris(date(2027, 7, 14), 19), rules)
    assert set(error_body(exc)["fields"]) == {"ends_at"}


# -- availability slots -------------------------------------------------------------------------------


def test_hour_slots_follow_the_granularity_within_each_opening_interval():
    slots = snap_to_unit(TUESDAY, "hour", CAL, granularity_minutes=30)
    starts = [shows(a) for a, _ in slots]
    assert starts[:2] == ["09:00", "09:30"]
    assert "12:00" in starts and "12:30" not in starts and "13:00" not in starts
    assert starts[-1] == "18:30"
    assert len(slots) == 7 + 11


def test_hour_slots_start_on_the_midnight_grid_when_opening_is_off_grid():
    cal = create_calendar(opening=OpeningHours.uniform((time(8, 45), time(10))))
    assert [shows(a) for a, _ in snap_to_unit(TUESDAY, "hour", cal, granularity_minutes=30)] == [
        "09:00",
        "09:30",
    ]


def test_hour_slots_skip_the_missing_hour_on_spring_forward_night():
    slots = snap_to_unit(SPRING_FORWARD, "hour", ROUND_THE_CLOCK, granularity_minutes=60)
    assert len(slots) == 23
    assert "02:00" not in [shows(a) for a, _ in slots]


def test_half_day_and_day_slots():
    assert snap_to_unit(TUESDAY, "half_day", CAL) == [
        half_day_interval(TUESDAY, "am", CAL),
        half_day_interval(TUESDAY, "pm", CAL),
    ]
    assert snap_to_unit(TUESDAY, "day", CAL) == [day_interval(TUESDAY, CAL)]


def test_no_slots_on_a_closed_day():
    for unit in ("hour", "half_day", "day"):
        assert snap_to_unit(date(2027, 7, 14), unit, CAL) == []
        assert snap_to_unit(date(2027, 3, 7), unit, CAL) == []


# -- who may book -------------------------------------------------------------------------------------


def can_book(rules: BookingRules, **overrides) -> None:
    values = {
        "role": "member",
        "member_tags": frozenset(),
        "archived": False,
        "blocked_periods": (),
        "starts_at": paris(TUESDAY, 10),
        "ends_at": paris(TUESDAY, 11),
    }
    check_can_book(rules, **{**values, **overrides})


def test_anyone_may_book_when_no_role_or_tag_is_required():
    can_book(BookingRules())


def test_member_with_a_role_not_allowed_cannot_book():
    with pytest.raises(NotAllowed) as exc:
        can_book(BookingRules(allowed_roles=frozenset({"manager"})))
    assert error_body(exc)["code"] == "not_allowed"
    assert exc.value.status_code == 403


def test_member_without_the_required_tag_cannot_book_and_is_told_which():
    rules = BookingRules(required_tags=frozenset({"laser-trained"}))
    with pytest.raises(NotAllowed) as exc:
        can_book(rules, member_tags={"3d-printer"})
    assert error_body(exc)["missing_tags"] == ["laser-trained"]
    can_book(rules, member_tags={"laser-trained", "3d-printer"})


def test_archived_resource_cannot_be_booked_even_by_an_allowed_member():
    with pytest.raises(ResourceArchived) as exc:
        can_book(BookingRules(required_tags=frozenset({"laser-trained"})), archived=True)
    assert error_body(exc)["code"] == "resource_archived"


def test_resource_blocked_for_maintenance_cannot_be_booked():
    with pytest.raises(ResourceBlocked) as exc:
        can_book(BookingRules(), blocked_periods=[(paris(TUESDAY, 10, 30), paris(TUESDAY, 12))])
    body = error_body(exc)
    assert body["code"] == "resource_blocked"
    assert body["blocked"] == {
        "starts_at": "2027-03-02T09:30:00+00:00",
        "ends_at": "2027-03-02T11:00:00+00:00",
    }


def test_maintenance_ending_when_the_booking_starts_does_not_block():
    can_book(BookingRules(), blocked_periods=[(paris(TUESDAY, 8), paris(TUESDAY, 10))])


# -- weekly recurrence --------------------------------------------------------------------------------


def test_weekly_recurrence_keeps_local_time_across_the_october_change():
    first = date(2027, 10, 26)  # Tuesday before the change
    occurrences = occurrences_weekly(paris(first, 9), paris(first, 11), tz=PARIS, count=2)
    (a0, b0), (a1, b1) = occurrences
    assert [(shows(a), shows(b)) for a, b in occurrences] == [("09:00", "11:00"), ("09:00", "11:00")]
    assert (a0, b0) == (utc(first, 7), utc(first, 9))
    assert (a1, b1) == (utc(date(2027, 11, 2), 8), utc(date(2027, 11, 2), 10))


def test_weekly_recurrence_keeps_local_time_across_the_march_change():
    first = date(2027, 3, 23)
    occurrences = occurrences_weekly(paris(first, 9), paris(first, 11), tz=PARIS, count=2)
    assert [a for a, _ in occurrences] == [utc(first, 8), utc(date(2027, 3, 30), 7)]


def test_weekly_recurrence_until_is_an_inclusive_local_date():
    first = date(2027, 3, 2)
    occurrences = occurrences_weekly(paris(first, 9), paris(first, 11), tz=PARIS, until=date(2027, 3, 16))
    assert [a.astimezone(TZ).date() for a, _ in occurrences] == [first, date(2027, 3, 9), date(2027, 3, 16)]


def test_weekly_recurrence_needs_exactly_one_of_until_and_count():
    start, end = paris(TUESDAY, 9), paris(TUESDAY, 11)
    with pytest.raises(InvalidRecurrence) as exc:
        occurrences_weekly(start, end, tz=PARIS)
    assert error_body(exc)["code"] == "invalid_recurrence"
    with pytest.raises(InvalidRecurrence):
        occurrences_weekly(start, end, tz=PARIS, until=date(2027, 4, 1), count=3)


def test_weekly_recurrence_until_before_the_first_booking_is_refused():
    with pytest.raises(InvalidRecurrence) as exc:
        occurrences_weekly(paris(TUESDAY, 9), paris(TUESDAY, 11), tz=PARIS, until=date(2027, 3, 1))
    assert set(error_body(exc)["fields"]) == {"until"}


def test_weekly_recurrence_longer_than_the_maximum_is_refused_not_cut():
    with pytest.raises(TooManyOccurrences) as exc:
        occurrences_weekly(paris(TUESDAY, 9), paris(TUESDAY, 11), tz=PARIS, count=53)
    assert "52" in error_body(exc)["message"]
    assert len(occurrences_weekly(paris(TUESDAY, 9), paris(TUESDAY, 11), tz=PARIS, count=52)) == 52


# -- cancellation -------------------------------------------------------------------------------------


def test_cancellation_before_the_deadline_is_ok():
    rules = BookingRules(cancel_deadline_hours=24)
    assert can_cancel(paris(TUESDAY, 10), rules=rules, now=paris(TUESDAY - timedelta(days=1), 10)) == "ok"


def test_late_cancellation_is_refused_when_the_policy_is_refuse():
    rules = BookingRules(cancel_deadline_hours=24, late_cancel="refuse")
    with pytest.raises(CancellationDeadlinePassed) as exc:
        can_cancel(paris(TUESDAY, 10), rules=rules, now=paris(TUESDAY - timedelta(days=1), 10, 1))
    assert error_body(exc)["code"] == "cancellation_deadline_passed"
    assert exc.value.status_code == 409
    assert "24 hours" in error_body(exc)["message"]


def test_late_cancellation_is_charged_when_the_policy_is_charge():
    rules = BookingRules(cancel_deadline_hours=24, late_cancel="charge")
    assert can_cancel(paris(TUESDAY, 10), rules=rules, now=paris(TUESDAY, 9)) == "late_charge"


def test_started_booking_cannot_be_cancelled_even_with_a_charge_policy():
    rules = BookingRules(cancel_deadline_hours=0, late_cancel="charge")
    with pytest.raises(CancellationDeadlinePassed) as exc:
        can_cancel(paris(TUESDAY, 10), rules=rules, now=paris(TUESDAY, 10, 5))
    assert "already started" in error_body(exc)["message"]


def test_cancellation_deadline_counts_real_hours_across_the_spring_change():
    # Sunday 28 March 10:00 minus 24 real hours is Saturday 9:00 on the wall, not 10:00.
    rules = BookingRules(cancel_deadline_hours=24)
    start = paris(SPRING_FORWARD, 10)
    saturday = SPRING_FORWARD - timedelta(days=1)
    assert can_cancel(start, rules=rules, now=paris(saturday, 9)) == "ok"
    with pytest.raises(CancellationDeadlinePassed):
        can_cancel(start, rules=rules, now=paris(saturday, 9, 30))


# -- price --------------------------------------------------------------------------------------------


def test_hourly_price_rounds_a_started_hour_up():
    assert units_for(paris(TUESDAY, 10), paris(TUESDAY, 11, 30), unit="hour", cal=CAL) == 2


def test_hourly_price_counts_real_minutes_across_the_spring_change():
    # 1:00–4:00 on the wall is two real hours that night.
    start, end = paris(SPRING_FORWARD, 1), paris(SPRING_FORWARD, 4)
    assert units_for(start, end, unit="hour", cal=ROUND_THE_CLOCK) == 2


def test_half_day_price_is_one_unit_per_half_day():
    am, pm = half_day_interval(TUESDAY, "am", CAL), half_day_interval(TUESDAY, "pm", CAL)
    assert units_for(*am, unit="half_day", cal=CAL) == 1
    assert units_for(am[0], pm[1], unit="half_day", cal=CAL) == 2


def test_day_price_on_a_dst_day_is_one_unit():
    start, end = day_interval(SPRING_FORWARD, EVERY_DAY)
    assert units_for(start, end, unit="day", cal=EVERY_DAY) == 1


def test_day_price_over_a_week_skips_the_closed_sunday():
    friday, monday = date(2027, 3, 5), date(2027, 3, 8)  # Friday, Saturday morning, Monday
    assert units_for(paris(friday, 9), paris(monday, 19), unit="day", cal=CAL) == 3


# -- buffers and conflicts ----------------------------------------------------------------------------


def test_buffered_extends_the_interval_on_both_sides():
    assert buffered(paris(TUESDAY, 10), paris(TUESDAY, 11), 15) == (
        paris(TUESDAY, 9, 45),
        paris(TUESDAY, 11, 15),
    )


def test_touching_bookings_do_not_conflict_without_a_buffer():
    existing = [(paris(TUESDAY, 9), paris(TUESDAY, 10))]
    assert find_conflict(paris(TUESDAY, 10), paris(TUESDAY, 11), existing) is None


def test_buffer_makes_touching_bookings_conflict():
    existing = [(paris(TUESDAY, 9), paris(TUESDAY, 10))]
    assert find_conflict(paris(TUESDAY, 10), paris(TUESDAY, 11), existing, buffer_minutes=15) == existing[0]


def test_booking_a_full_buffer_away_does_not_conflict():
    existing = [(paris(TUESDAY, 9), paris(TUESDAY, 10))]
    assert find_conflict(paris(TUESDAY, 10, 15), paris(TUESDAY, 11), existing, buffer_minutes=15) is None
