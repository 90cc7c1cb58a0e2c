"""The booking pages, driven like a browser (forms carry the CSRF token). Today: Monday 1 March 2027."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import unquote

import pytest

from tests.booking.factories import (
    TOMORROW,
    count_bookings,
    create_desk,
    create_room,
    freeze,
    insert_booking,
    paris,
    tick,
)
from tests.fixtures.harness import mail_text


@pytest.fixture(autouse=True)
def _today():
    freeze()


def _link(html: str, testid: str) -> str:
    m = re.search(r'href="([^"]+)"[^>]*data-testid="' + testid + '"', html)
    assert m, f"no {testid} link"
    return m.group(1).replace("&amp;", "&")


async def test_member_books_a_desk_for_tomorrow_from_the_grid_and_cancels_it(world, web, outbox):
    desk = await create_desk(world.a.space)
    browser = await web(world.a.member)
    page = await browser.get(f"/s/{world.a.slug}/book?date={TOMORROW.isoformat()}")
    assert page.status_code == 200
    assert "Grande table" in page.text and 'data-testid="desk-grid"' in page.text
    confirm = await browser.get(_link(page.text, "slot-free"))
    assert confirm.status_code == 200, confirm.text
    assert "12,00" in confirm.text or "12.00" in confirm.text  # the member price, shown before confirming
    starts = re.search(r'name="starts_at" value="([^"]+)"', confirm.text).group(1)
    ends = re.search(r'name="ends_at" value="([^"]+)"', confirm.text).group(1)
    r = await browser.post(f"/s/{world.a.slug}/bookings", {"resource_id": desk.id, "starts_at": starts,
                                                            "ends_at": ends})
    assert r.status_code == 303 and r.headers["location"] == f"/s/{world.a.slug}/bookings/mine"
    mine = await browser.get(r.headers["location"])
    assert "Grande table" in mine.text
    booking_id = int(re.search(r'data-testid="booking-(\d+)"', mine.text).group(1))
    assert f'data-testid="cancel-{booking_id}"' in mine.text
    tick()
    r = await browser.post(f"/s/{world.a.slug}/bookings/{booking_id}/cancel")
    assert r.status_code == 303
    assert await count_bookings(world.a.space) == 0
    assert len(await outbox()) == 2


async def test_the_grid_shows_my_booking_and_full_places(world, web):
    desk = await create_desk(world.a.space, capacity=1)
    other = await create_desk(world.a.space, name="Poste fenêtre", capacity=1)
    await insert_booking(world.a.space, desk, world.a.member, paris(TOMORROW, 9), paris(TOMORROW, 18))
    await insert_booking(world.a.space, other, world.a.animator, paris(TOMORROW, 9), paris(TOMORROW, 18))
    page = await (await web(world.a.member)).get(f"/s/{world.a.slug}/book?date={TOMORROW.isoformat()}")
    assert 'data-testid="slot-mine"' in page.text
    assert "Full" in page.text or "Complet" in page.text
    assert 'data-testid="slot-free"' not in page.text


async def test_rooms_show_as_a_timeline_with_a_slot_picker(world, web):
    room = await create_room(world.a.space)
    await insert_booking(world.a.space, room, world.a.animator, paris(TOMORROW, 10), paris(TOMORROW, 12))
    page = await (await web(world.a.member)).get(f"/s/{world.a.slug}/book?date={TOMORROW.isoformat()}")
    assert f'data-testid="timeline-{room.id}"' in page.text
    assert 'class="timeline-block ' in page.text and 'data-start="0.1111"' in page.text  # 10:00 on a 9–18 axis
    assert world.a.animator.name not in page.text  # members do not see who booked
    assert 'name="starts_at"' in page.text and 'src="/static/booking.js"' in page.text
    assert "style=" not in re.sub(r"<style.*?</style>", "", page.text)  # the CSP forbids inline styles


async def test_a_room_confirm_page_computes_the_end_from_a_duration(world, web):
    room = await create_room(world.a.space)
    browser = await web(world.a.member)
    r = await browser.get(f"/s/{world.a.slug}/book/confirm", params={
        "resource_id": room.id, "starts_at": paris(TOMORROW, 14).isoformat(), "minutes": "90"})
    assert r.status_code == 200, r.text
    assert 'data-testid="price"' in r.text and ("30,00" in r.text or "30.00" in r.text)  # 2 started hours


async def test_a_taken_slot_shows_the_conflict_on_the_confirm_page_and_books_nothing(world, web):
    room = await create_room(world.a.space)
    await insert_booking(world.a.space, room, world.a.animator, paris(TOMORROW, 10), paris(TOMORROW, 12))
    browser = await web(world.a.member)
    r = await browser.post(f"/s/{world.a.slug}/bookings", {
        "resource_id": room.id, "starts_at": paris(TOMORROW, 11).isoformat(), "ends_at": paris(TOMORROW, 12).isoformat()})
    assert r.status_code == 409
    assert 'data-testid="form-error"' in r.text
    assert await count_bookings(world.a.space) == 1


async def test_member_repeats_a_room_weekly_and_books_the_free_dates(world, web):
    room = await create_room(world.a.space, horizon_days=90)
    await insert_booking(world.a.space, room, world.a.animator, paris(TOMORROW + timedelta(weeks=1), 9),
                         paris(TOMORROW + timedelta(weeks=1), 11))
    browser = await web(world.a.member)
    values = {"resource_id": room.id, "starts_at": paris(TOMORROW, 9).isoformat(),
              "ends_at": paris(TOMORROW, 11).isoformat(), "count": "3"}
    preview = await browser.post(f"/s/{world.a.slug}/book/series", values)
    assert preview.status_code == 200, preview.text
    assert preview.text.count("badge-confirmed") == 2 and preview.text.count("badge-cancelled") == 1
    r = await browser.post(f"/s/{world.a.slug}/book/series/confirm", {**values, "until": ""})
    assert r.status_code == 303, r.text
    assert await count_bookings(world.a.space) == 3


async def test_my_bookings_hides_the_cancel_button_after_the_deadline(world, web):
    room = await create_room(world.a.space, cancel_deadline_hours=48)
    booking = await insert_booking(world.a.space, room, world.a.member, paris(TOMORROW, 9), paris(TOMORROW, 10))
    page = await (await web(world.a.member)).get(f"/s/{world.a.slug}/bookings/mine")
    assert f'data-testid="booking-{booking.id}"' in page.text
    assert f'data-testid="cancel-{booking.id}"' not in page.text


async def test_manager_sees_the_calendar_with_names_and_cancels_with_a_reason(world, web, outbox):
    room = await create_room(world.a.space)
    booking = await insert_booking(world.a.space, room, world.a.member, paris(TOMORROW, 9), paris(TOMORROW, 10))
    browser = await web(world.a.manager)
    page = await browser.get(f"/s/{world.a.slug}/calendar?date={TOMORROW.isoformat()}")
    assert page.status_code == 200
    assert world.a.member.name in page.text and f'calendar-booking-{booking.id}' in page.text
    r = await browser.post(f"/s/{world.a.slug}/bookings/{booking.id}/cancel", {
        "reason": "Salle réquisitionnée", "next": f"/s/{world.a.slug}/calendar"})
    assert r.status_code == 303 and r.headers["location"] == f"/s/{world.a.slug}/calendar"
    [mail] = await outbox()
    assert "Salle réquisitionnée" in mail_text(mail)


async def test_members_cannot_open_the_calendar(world, web):
    page = await (await web(world.a.member)).get(f"/s/{world.a.slug}/calendar")
    assert page.status_code == 403


async def test_manager_books_on_behalf_of_a_member_from_the_calendar(world, web):
    room = await create_room(world.a.space)
    browser = await web(world.a.manager)
    r = await browser.post(f"/s/{world.a.slug}/calendar/book", {
        "member_id": world.a.members["member"].id, "resource_id": room.id, "date": TOMORROW.isoformat(),
        "start": "14:00", "end": "15:30"})
    assert r.status_code == 303, r.text
    assert "Booked for" in unquote(r.headers.get("set-cookie", "")) or r.headers["location"].startswith(
        f"/s/{world.a.slug}/calendar")
    assert await count_bookings(world.a.space) == 1


async def test_booking_on_behalf_outside_opening_hours_shows_the_error(world, web):
    room = await create_room(world.a.space)
    r = await (await web(world.a.manager)).post(f"/s/{world.a.slug}/calendar/book", {
        "member_id": world.a.members["member"].id, "resource_id": room.id, "date": TOMORROW.isoformat(),
        "start": "19:00", "end": "20:00"})
    assert r.status_code == 422 and 'data-testid="form-error"' in r.text
    assert 'value="19:00"' in r.text  # the typed values are kept


async def test_manager_moves_a_booking_from_its_page(world, web, outbox):
    room = await create_room(world.a.space)
    booking = await insert_booking(world.a.space, room, world.a.member, paris(TOMORROW, 9), paris(TOMORROW, 10))
    browser = await web(world.a.manager)
    page = await browser.get(f"/s/{world.a.slug}/bookings/{booking.id}/move")
    assert page.status_code == 200 and 'value="09:00"' in page.text
    r = await browser.post(f"/s/{world.a.slug}/bookings/{booking.id}/move", {
        "resource_id": room.id, "date": TOMORROW.isoformat(), "start": "15:00", "end": "16:00",
        "reason": "Ménage le matin"})
    assert r.status_code == 303, r.text
    [mail] = await outbox()
    assert "Ménage le matin" in mail_text(mail)


async def test_a_desk_booked_by_the_hour_shows_its_hours_not_all_day(world, web):
    await create_desk(world.a.space, name="Poste", unit="hour", granularity_minutes=60, capacity=2)
    page = await (await web(world.a.member)).get(f"/s/{world.a.slug}/book?date={TOMORROW.isoformat()}")
    assert page.status_code == 200
    assert "All day" not in page.text and "Toute la journée" not in page.text
    assert "09:00" in page.text or "9:00" in page.text


async def test_the_calendar_says_who_had_booked_a_cancelled_booking(world, web):
    room = await create_room(world.a.space)
    await insert_booking(world.a.space, room, world.a.animator, paris(TOMORROW, 9), paris(TOMORROW, 10),
                         status="cancelled")
    page = await (await web(world.a.manager)).get(f"/s/{world.a.slug}/calendar?date={TOMORROW.isoformat()}")
    row = page.text.split('data-testid="calendar-booking-', 1)[1].split("</tr>", 1)[0]
    assert world.a.animator.name in row


async def test_a_move_onto_a_taken_slot_from_the_page_shows_the_conflict_and_moves_nothing(world, web):
    room = await create_room(world.a.space)
    booking = await insert_booking(world.a.space, room, world.a.member, paris(TOMORROW, 9), paris(TOMORROW, 10))
    await insert_booking(world.a.space, room, world.a.animator, paris(TOMORROW, 15), paris(TOMORROW, 16))
    r = await (await web(world.a.manager)).post(f"/s/{world.a.slug}/bookings/{booking.id}/move", {
        "resource_id": room.id, "date": TOMORROW.isoformat(), "start": "15:00", "end": "16:00", "reason": ""})
    assert r.status_code == 409 and 'data-testid="form-error"' in r.text
    assert 'value="15:00"' in r.text  # what was typed is kept
    page = await (await web(world.a.manager)).get(f"/s/{world.a.slug}/bookings/{booking.id}/move")
    assert 'value="09:00"' in page.text  # still where it was


async def test_staff_book_and_move_a_half_day_not_the_whole_day(world, web):
    desk = await create_desk(world.a.space, unit="half_day", capacity=4, price_member_cents=1000)
    browser = await web(world.a.manager)
    r = await browser.post(f"/s/{world.a.slug}/calendar/book", {
        "member_id": world.a.members["member"].id, "resource_id": desk.id, "date": TOMORROW.isoformat(),
        "start": "09:00", "end": "13:00"})
    assert r.status_code == 303, r.text
    [booking] = await bookings_of(world.a.space)
    assert (booking.starts_at, booking.ends_at) == (utc_of(paris(TOMORROW, 9)), utc_of(paris(TOMORROW, 13)))
    assert booking.price_cents == 1000
    r = await browser.post(f"/s/{world.a.slug}/bookings/{booking.id}/move", {
        "resource_id": desk.id, "date": TOMORROW.isoformat(), "start": "13:00", "end": "18:00", "reason": ""})
    assert r.status_code == 303, r.text
    [moved] = await bookings_of(world.a.space)
    assert (moved.starts_at, moved.ends_at) == (utc_of(paris(TOMORROW, 13)), utc_of(paris(TOMORROW, 18)))
    assert moved.price_cents == 1000
    # Without times, a half-day resource is booked for the whole day.
    r = await browser.post(f"/s/{world.a.slug}/calendar/book", {
        "member_id": world.a.members["animator"].id, "resource_id": desk.id, "date": TOMORROW.isoformat()})
    assert r.status_code == 303, r.text
    assert max(b.ends_at - b.starts_at for b in await bookings_of(world.a.space)) == timedelta(hours=9)


async def bookings_of(space):
    from sqlmodel import select

    from app.booking.models import Booking
    from app.core import db

    async with db.transaction(space_id=space.id, write=False) as session:
        return list((await session.exec(select(Booking).order_by(Booking.id))).all())


def utc_of(value):
    from datetime import UTC

    return value.astimezone(UTC)


# -- resources, hours and closures pages ----------------------------------------------------------


async def test_manager_creates_a_meeting_room_with_hourly_rules(world, web, api):
    browser = await web(world.a.manager)
    assert (await browser.get(f"/s/{world.a.slug}/resources/new")).status_code == 200
    r = await browser.post(f"/s/{world.a.slug}/resources/new", {
        "name": "Salle Verte", "kind": "meeting_room", "unit": "hour", "capacity": "8", "granularity_minutes": "30",
        "min_minutes": "60", "max_minutes": "240", "buffer_minutes": "15", "horizon_days": "30",
        "cancel_deadline_hours": "24", "late_cancel": "refuse", "price_member": "12,50", "price_public": "20",
        "vat_rate": "20", "role_member": "on", "role_manager": "on", "required_tags": ""})
    assert r.status_code == 303, r.text
    [room] = (await api(world.a.tokens["member"]).get(f"/api/v1/spaces/{world.a.slug}/resources")).json()
    assert room["name"] == "Salle Verte" and room["price_member_cents"] == 1250 and room["capacity"] == 8
    assert room["allowed_roles"] == ["manager", "member"] and room["buffer_minutes"] == 15


async def test_a_resource_form_with_min_above_max_is_shown_again_with_the_error(world, web):
    browser = await web(world.a.manager)
    r = await browser.post(f"/s/{world.a.slug}/resources/new", {
        "name": "Salle", "kind": "meeting_room", "unit": "hour", "capacity": "1", "granularity_minutes": "30",
        "min_minutes": "120", "max_minutes": "60", "price_member": "1", "price_public": "1", "vat_rate": "20"})
    assert r.status_code == 422 and 'aria-invalid="true"' in r.text and 'value="Salle"' in r.text


@pytest.mark.parametrize(("field", "typed"), [("price_member", "nan"), ("price_public", "inf"),
                                              ("price_member", "1e400"), ("price_public", "12,345"),
                                              ("price_member", "-5")])
async def test_a_price_that_is_not_a_number_is_shown_again_with_the_error(world, web, field, typed):
    values = {"name": "Salle", "kind": "meeting_room", "unit": "hour", "capacity": "1", "granularity_minutes": "30",
              "price_member": "1", "price_public": "1", "vat_rate": "20"}
    r = await (await web(world.a.manager)).post(f"/s/{world.a.slug}/resources/new", {**values, field: typed})
    assert r.status_code == 422, r.text
    assert 'aria-invalid="true"' in r.text and f'value="{typed}"' in r.text


@pytest.mark.parametrize("typed", ["NaN", "7", "19.6"])
async def test_a_vat_rate_that_is_not_a_french_rate_is_refused_beside_the_field(world, web, typed):
    values = {"name": "Salle", "kind": "meeting_room", "unit": "hour", "capacity": "1", "granularity_minutes": "30",
              "price_member": "1", "price_public": "1", "vat_rate": typed}
    r = await (await web(world.a.manager)).post(f"/s/{world.a.slug}/resources/new", values)
    assert r.status_code == 422, r.text
    assert 'aria-describedby="e-vat_rate"' in r.text and 'value="Salle"' in r.text


async def test_manager_blocks_a_resource_for_maintenance_and_it_cannot_be_booked(world, web, api):
    room = await create_room(world.a.space)
    browser = await web(world.a.manager)
    r = await browser.post(f"/s/{world.a.slug}/resources/{room.id}/blocks", {
        "block_start_date": TOMORROW.isoformat(), "block_end_date": TOMORROW.isoformat(), "block_reason": "Peinture"})
    assert r.status_code == 303, r.text
    page = await browser.get(f"/s/{world.a.slug}/resources/{room.id}")
    assert "Peinture" in page.text
    r = await api(world.a.tokens["member"]).post(f"/api/v1/spaces/{world.a.slug}/bookings", json={
        "resource_id": room.id, "starts_at": paris(TOMORROW, 9).isoformat(), "ends_at": paris(TOMORROW, 10).isoformat()})
    assert r.json()["error"]["code"] == "resource_blocked"


async def test_manager_archives_a_resource_and_members_no_longer_see_it(world, web, api):
    room = await create_room(world.a.space)
    r = await (await web(world.a.manager)).post(f"/s/{world.a.slug}/resources/{room.id}/archive")
    assert r.status_code == 303
    assert (await api(world.a.tokens["member"]).get(f"/api/v1/spaces/{world.a.slug}/resources")).json() == []
    page = await (await web(world.a.manager)).get(f"/s/{world.a.slug}/resources")
    assert "Salle Lumière" in page.text


async def test_manager_sets_opening_hours_and_a_closure(world, web, api):
    browser = await web(world.a.manager)
    page = await browser.get(f"/s/{world.a.slug}/opening-hours")
    assert page.status_code == 200 and 'value="09:00"' in page.text  # the defaults, Monday to Friday
    form = {"half_day_boundary": "13:30", "d1_0_opens": "08:30", "d1_0_closes": "12:30", "d1_1_opens": "14:00",
            "d1_1_closes": "19:00", "d5_0_opens": "10:00", "d5_0_closes": "13:00"}
    r = await browser.post(f"/s/{world.a.slug}/opening-hours", form)
    assert r.status_code == 303, r.text
    hours = (await api(world.a.tokens["member"]).get(f"/api/v1/spaces/{world.a.slug}/booking-hours")).json()
    assert hours["half_day_boundary"] == "13:30"
    assert [d["intervals"] for d in hours["days"]][0] == []  # Monday now closed
    assert hours["days"][1]["intervals"] == [{"opens": "08:30", "closes": "12:30"},
                                             {"opens": "14:00", "closes": "19:00"}]
    r = await browser.post(f"/s/{world.a.slug}/closures", {"start_date": "2027-05-13", "label": "Ascension"})
    assert r.status_code == 303
    page = await browser.get(f"/s/{world.a.slug}/opening-hours")
    assert "Ascension" in page.text


async def test_overlapping_opening_hours_are_refused(world, web):
    r = await (await web(world.a.manager)).post(f"/s/{world.a.slug}/opening-hours", {
        "d0_0_opens": "09:00", "d0_0_closes": "13:00", "d0_1_opens": "12:00", "d0_1_closes": "18:00"})
    assert r.status_code == 422 and 'data-testid="form-error"' in r.text


async def test_a_badly_typed_opening_time_says_why_next_to_the_table(world, web):
    r = await (await web(world.a.manager)).post(f"/s/{world.a.slug}/opening-hours", {
        "d0_0_opens": "9h", "d0_0_closes": "18:00"})
    assert r.status_code == 422
    assert 'data-testid="hours-error"' in r.text and 'value="18:00"' in r.text


async def test_a_refused_closure_keeps_what_was_typed(world, web):
    r = await (await web(world.a.manager)).post(f"/s/{world.a.slug}/closures", {
        "start_date": "2027-08-20", "end_date": "2027-08-01", "label": "Fermeture d’été"})
    assert r.status_code == 422
    assert 'value="2027-08-20"' in r.text and 'value="2027-08-01"' in r.text and "Fermeture d’été" in r.text


async def test_members_cannot_manage_resources(world, web):
    browser = await web(world.a.member)
    assert (await browser.get(f"/s/{world.a.slug}/resources")).status_code == 403
    assert (await browser.get(f"/s/{world.a.slug}/opening-hours")).status_code == 403


async def test_the_space_menu_offers_booking_to_members_and_management_to_managers(world, web):
    member_home = await (await web(world.a.member)).get(f"/s/{world.a.slug}")
    assert f'href="/s/{world.a.slug}/book"' in member_home.text
    assert f'href="/s/{world.a.slug}/calendar"' not in member_home.text
    manager_home = await (await web(world.a.manager)).get(f"/s/{world.a.slug}")
    for suffix in ("book", "bookings/mine", "calendar", "resources", "opening-hours"):
        assert f'href="/s/{world.a.slug}/{suffix}"' in manager_home.text


async def test_a_big_space_books_on_behalf_through_a_member_search(world, web, monkeypatch):
    """Beyond MEMBER_SELECT_MAX members the form has a search field instead of a select of them all:
    one match books; several are listed to choose from, with what was typed kept; none is a field error."""
    from app.booking import pages

    monkeypatch.setattr(pages, "MEMBER_SELECT_MAX", 2)
    room = await create_room(world.a.space)
    browser = await web(world.a.manager)
    page = await browser.get(f"/s/{world.a.slug}/calendar")
    assert 'name="member"' in page.text and 'name="member_id"' not in page.text
    slot = {"resource_id": room.id, "date": TOMORROW.isoformat(), "start": "14:00", "end": "15:00"}

    several = await browser.post(f"/s/{world.a.slug}/calendar/book", {"member": "a m", **slot})
    assert several.status_code == 422 and "Plusieurs membres correspondent" in several.text
    assert 'value="a m"' in several.text
    listed = re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', several.text.split('id="b-member-match"')[1])
    assert {int(i) for i, _name in listed[:2]} == {world.a.members["manager"].id, world.a.members["member"].id}

    none = await browser.post(f"/s/{world.a.slug}/calendar/book", {"member": "nobody-here", **slot})
    assert none.status_code == 422 and "Aucun membre ne correspond" in none.text
    assert await count_bookings(world.a.space) == 0

    chosen = await browser.post(f"/s/{world.a.slug}/calendar/book", {
        "member": "a m", "member_id": world.a.members["member"].id, **slot})
    assert chosen.status_code == 303, chosen.text
    by_email = await browser.post(f"/s/{world.a.slug}/calendar/book", {
        "member": world.a.manager.email.upper(), **slot, "start": "16:00", "end": "17:00"})
    assert by_email.status_code == 303, by_email.text
    assert await count_bookings(world.a.space) == 2


async def test_the_calendar_lists_its_bookings_a_page_at_a_time(world, web, monkeypatch):
    from app.booking import pages

    monkeypatch.setattr(pages, "CALENDAR_LIST_PAGE", 1)
    room = await create_room(world.a.space)
    first = await insert_booking(world.a.space, room, world.a.member, paris(TOMORROW, 9), paris(TOMORROW, 10))
    second = await insert_booking(world.a.space, room, world.a.member, paris(TOMORROW, 11), paris(TOMORROW, 12))
    browser = await web(world.a.manager)
    url = f"/s/{world.a.slug}/calendar?date={TOMORROW.isoformat()}&view=week"
    one = await browser.get(url)
    assert f"calendar-booking-{first.id}" in one.text and f"calendar-booking-{second.id}" not in one.text
    assert "page=2" in one.text.split('data-testid="calendar-pages"')[1]
    two = await browser.get(url + "&page=2")
    assert f"calendar-booking-{second.id}" in two.text and f"calendar-booking-{first.id}" not in two.text
