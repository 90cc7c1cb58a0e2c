"""An event's prices and VAT rate, typed on the page or sent to the API: bad amounts are field errors."""

from __future__ import annotations

import pytest

from tests.event.test_pages import _form


@pytest.mark.parametrize("typed", ["nan", "NaN", "inf", "1e400", "12,345", "-3", "douze"])
async def test_an_event_price_that_is_not_an_amount_is_a_form_error_not_a_500(world, web, typed):
    animator = await web(world.a.animator)
    r = await animator.post(f"/s/{world.a.slug}/events/new", _form(price_public=typed))
    assert r.status_code == 422, r.text
    assert 'id="e-price_public"' in r.text and f'value="{typed}"' in r.text and 'value="Atelier soudure"' in r.text


async def test_an_event_price_typed_the_french_way_is_kept(world, web, api):
    animator = await web(world.a.animator)
    r = await animator.post(f"/s/{world.a.slug}/events/new", _form(price_public="1 012,50", price_member="8",
                                                                   vat_rate="5,5"))
    assert r.status_code == 303, r.text
    [event] = (await api(world.a.tokens["animator"]).get(f"/api/v1/spaces/{world.a.slug}/events")).json()
    assert (event["price_public_cents"], event["price_member_cents"], event["vat_rate_bp"]) == (101250, 800, 550)


async def test_an_event_vat_rate_that_is_not_a_french_rate_is_a_form_error(world, web):
    animator = await web(world.a.animator)
    r = await animator.post(f"/s/{world.a.slug}/events/new", _form(price_public="5", vat_rate="19.6"))
    assert r.status_code == 422 and 'aria-describedby="e-vat_rate"' in r.text


@pytest.mark.parametrize("raw", ['NaN', 'Infinity', '1e400', '"nan"', '12.5', '-1', '100000001'])
async def test_an_event_price_that_is_not_integer_cents_is_a_422_from_the_api(world, api, raw):
    from tests.event.test_event_api import _payload

    body = _payload()
    text = "{" + ", ".join(f'"{k}": {v!r}'.replace("'", '"') if isinstance(v, str) else f'"{k}": {v}'
                           for k, v in body.items()) + f', "price_public_cents": {raw}' + "}"
    r = await api(world.a.tokens["animator"]).post(f"/api/v1/spaces/{world.a.slug}/events", content=text,
                                                   headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert "price_public_cents" in str(r.json()["error"])


async def test_an_event_vat_rate_that_is_not_a_french_rate_is_refused_by_the_api(world, api):
    from tests.event.test_event_api import _payload

    r = await api(world.a.tokens["animator"]).post(f"/api/v1/spaces/{world.a.slug}/events",
                                                   json=_payload(price_public_cents=500, vat_rate_bp=1960))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_vat_rate"


async def test_the_attendance_list_shows_prices_as_the_reader_writes_amounts(world, api):
    from tests.event.factories import create_event, register

    event = await create_event(world.a.space, world.a.animator, price_member_cents=123450)
    await register(world.a.space, event, world.a.member)
    csv = await api(world.a.tokens["animator"]).get(f"/api/v1/spaces/{world.a.slug}/events/{event.id}/attendance.csv")
    assert ",1234.50," in csv.text and "Price (€)," in csv.text.splitlines()[0]  # a number the sheet can add up
