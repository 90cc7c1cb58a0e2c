"""The booking pages and credits: the confirmation says what will be used, "My bookings" what is
left. "Today" is Monday 1 March 2027 (French pages: the space's locale)."""

from __future__ import annotations

import pytest

from tests.booking.factories import TOMORROW, create_desk, freeze, paris
from tests.membership.credit_factories import left, open_allowance


@pytest.fixture(autouse=True)
def _today():
    freeze()


async def test_the_confirmation_says_what_the_allowance_pays_and_my_bookings_what_is_left(world, web):
    desk = await create_desk(world.a.space)
    bucket = await open_allowance(world.a.space, world.a.member, quantity=8, unit="day", kinds="hot_desk",
                                  label="Formule Nomade")
    browser = await web(world.a.member)
    slug = world.a.slug
    starts, ends = paris(TOMORROW, 9).isoformat(), paris(TOMORROW, 18).isoformat()
    page = await browser.get(f"/s/{slug}/book/confirm", params={"resource_id": desk.id, "starts_at": starts,
                                                                 "ends_at": ends})
    assert page.status_code == 200
    assert "Formule Nomade : 1 utilisé(s), 7 restant(s) après cette réservation" in page.text.replace("\u00a0", " ")
    assert await left(world.a.space, bucket) == 8  # shown, not taken
    r = await browser.post(f"/s/{slug}/bookings", {"resource_id": desk.id, "starts_at": starts, "ends_at": ends})
    assert r.status_code == 303
    mine = await browser.get(f"/s/{slug}/bookings/mine")
    assert 'data-testid="credits-left"' in mine.text
    assert "7 jours restants" in mine.text


async def test_staff_change_what_a_booking_uses_from_its_page_with_a_reason(world, web, api):
    desk = await create_desk(world.a.space)
    bucket = await open_allowance(world.a.space, world.a.member, quantity=3, unit="day", kinds="hot_desk")
    r = await api(world.a.tokens["member"]).post(f"/api/v1/spaces/{world.a.slug}/bookings", json={
        "resource_id": desk.id, "starts_at": paris(TOMORROW, 9).isoformat(), "ends_at": paris(TOMORROW, 18).isoformat()})
    booking_id = r.json()["id"]
    browser = await web(world.a.manager)
    page = await browser.get(f"/s/{world.a.slug}/bookings/{booking_id}/move")
    assert 'data-testid="override-form"' in page.text
    refused = await browser.post(f"/s/{world.a.slug}/bookings/{booking_id}/credits", {"use": "price", "override_reason": ""})
    assert refused.status_code == 422 and 'id="e-override_reason"' in refused.text
    assert await left(world.a.space, bucket) == 2
    done = await browser.post(f"/s/{world.a.slug}/bookings/{booking_id}/credits",
                              {"use": "price", "override_reason": "Prêt à un partenaire"})
    assert done.status_code == 303
    assert await left(world.a.space, bucket) == 3
    member = await web(world.a.member)
    assert (await member.post(f"/s/{world.a.slug}/bookings/{booking_id}/credits",
                              {"use": "credits", "override_reason": "x"})).status_code == 403
