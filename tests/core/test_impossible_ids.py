"""An id no row can have is a 404 on every route, whatever way the route declares its id."""

from __future__ import annotations

import pytest

HUGE = "99999999999999999999"


@pytest.mark.parametrize("path", [
    "/p/{slug}/events/" + HUGE,             # {event_id:int}: converted by the router
    "/s/{slug}/directory/" + HUGE,          # {profile_id:int}
    "/api/v1/spaces/{slug}/bookings/" + HUGE,
    "/api/v1/spaces/{slug}/resources/" + HUGE,
])
async def test_an_id_beyond_any_row_is_a_404_not_a_crash(world, web, path):
    browser = await web(world.a.member)
    r = await browser.get(path.format(slug=world.a.slug), headers={"Authorization": f"Bearer {world.a.tokens['member']}"})
    assert r.status_code == 404, r.text
