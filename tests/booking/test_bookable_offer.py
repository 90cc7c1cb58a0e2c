"""The booking page offers only what can be booked: no duration past closing time, and a resource
the member may not book says why up front. Today: Monday 1 March 2027 (default hours 9:00–18:00)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.booking.formatting import when
from app.core.i18n import use_locale
from tests.booking.factories import TOMORROW, create_desk, create_room, freeze, insert_booking, paris
from tests.fixtures.factories import add_member, create_account


@pytest.fixture(autouse=True)
def _today():
    freeze()


def _room_form(html: str, resource_id: int) -> str:
    m = re.search(r'data-testid="room-' + str(resource_id) + r'">(.*?)</article>', html, re.S)
    assert m, "no room card"
    return m.group(1)


async def test_each_start_says_how_long_a_booking_from_it_can_last(world, web):
    room = await create_room(world.a.space)
    # Booked 11:00–12:00: from 10:00 one hour at most; from 17:30, half an hour before closing.
    await insert_booking(world.a.space, room, world.a.member, paris(TOMORROW, 11), paris(TOMORROW, 12))
    page = await (await web(world.a.member)).get(f"/s/{world.a.slug}/book?date={TOMORROW.isoformat()}")
    card = _room_form(page.text, room.id)
    starts = {hour: minutes for minutes, hour in re.findall(r'data-max-minutes="(\d+)">[^<]*?(\d\d:\d\d)', card)}
    assert starts["10:00"] == "60" and starts["17:30"] == "30" and starts["12:00"] == "360"
    assert "11:00" not in starts


async def test_no_duration_is_offered_that_no_start_can_hold(world, web):
    room = await create_room(world.a.space)
    # Free only 9:00–11:00 tomorrow: 8 hours would run into the booking, so it is not offered.
    await insert_booking(world.a.space, room, world.a.member, paris(TOMORROW, 11), paris(TOMORROW, 18))
    page = await (await web(world.a.member)).get(f"/s/{world.a.slug}/book?date={TOMORROW.isoformat()}")
    offered = [int(m) for m in re.findall(r'<option value="(\d+)"', _room_form(page.text, room.id))]
    assert offered and max(offered) == 120


async def test_a_resource_needing_a_tag_says_why_before_any_price(world, web):
    laser = await create_room(world.a.space, name="Découpeuse laser", kind="equipment", required_tags="laser")
    desk = await create_desk(world.a.space, required_tags="laser")
    page = await (await web(world.a.member)).get(f"/s/{world.a.slug}/book?date={TOMORROW.isoformat()}")
    for r in (laser, desk):
        assert f'data-testid="not-bookable-{r.id}"' in page.text
    assert "laser" in re.search(rf'data-testid="not-bookable-{laser.id}">([^<]*)', page.text).group(1)
    assert "See the price" not in _room_form(page.text, laser.id) and "prix" not in _room_form(page.text, laser.id)
    trained = await create_account()
    await add_member(world.a.space, trained, tags="laser")
    page = await (await web(trained)).get(f"/s/{world.a.slug}/book?date={TOMORROW.isoformat()}")
    assert f'data-testid="not-bookable-{laser.id}"' not in page.text
    assert 'class="slot-picker"' in _room_form(page.text, laser.id)


def test_an_interval_over_midnight_reads_as_a_sentence_not_timestamps():
    with use_locale("fr"):
        text = when(paris(TOMORROW, 17, 30), paris(TOMORROW + timedelta(days=1), 1, 30), "Europe/Paris")
    assert text == "mardi 2 mars 2027, 17:30 – mercredi 3 mars 2027, 01:30"
    assert ":00 –" not in text


async def test_the_staff_calendar_shows_a_shared_tables_places_used_and_by_whom(world, web):
    desk = await create_desk(world.a.space)  # 6 places, by the day
    people = [world.a.member, world.a.animator, world.a.manager]
    for person in people:
        await insert_booking(world.a.space, desk, person, paris(TOMORROW, 9), paris(TOMORROW, 18))
    page = await (await web(world.a.manager)).get(f"/s/{world.a.slug}/calendar?date={TOMORROW.isoformat()}")
    names = ", ".join(sorted(p.name for p in people))
    assert f"3/6 places — {names}" in page.text.replace("&#39;", "'")
