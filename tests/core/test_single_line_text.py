"""Names, titles and labels are one line: the API and the pages refuse line breaks and control characters."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from app.core import db
from app.resource.models import Resource
from app.space.models import Space
from tests.booking.factories import freeze, url
from tests.fixtures.factories import create_account

BAD = ["Salle\nVerte", "Salle\r\nVerte", "Salle\x0bVerte", "Salle\x1b[31mVerte", "Salle\u2028Verte", "Salle\x00"]
MESSAGE = "Les retours à la ligne et les caractères de contrôle ne sont pas acceptés ici."  # in French, the default


@pytest.mark.parametrize("name", BAD)
async def test_the_api_refuses_a_space_name_with_a_control_character(world, api, name) -> None:
    r = await api(world.a.tokens["owner"]).post("/api/v1/spaces", json={"name": name})
    assert r.status_code == 422
    assert r.json()["error"]["fields"] == {"name": MESSAGE}


async def test_the_api_refuses_line_breaks_in_resource_profile_and_token_names(world, api) -> None:
    freeze()
    manager, member = api(world.a.tokens["manager"]), api(world.a.tokens["member"])
    room = {"name": "Salle\nVerte", "kind": "meeting_room", "unit": "hour", "capacity": 1}
    r = await manager.post(url(world, "resources"), json=room)
    assert r.status_code == 422 and r.json()["error"]["fields"] == {"name": MESSAGE}
    r = await manager.post(url(world, "resources"), json={**room, "name": "Salle Verte"})
    assert r.status_code == 201, r.text
    r = await manager.patch(url(world, f"resources/{r.json()['id']}"), json={"name": "Salle\rVerte"})
    assert r.status_code == 422 and r.json()["error"]["fields"] == {"name": MESSAGE}
    r = await member.put(url(world, "profile"), json={"display_name": "Ana", "headline": "Dev\nOps"})
    assert r.status_code == 422 and r.json()["error"]["fields"] == {"headline": MESSAGE}
    r = await member.post("/api/v1/me/tokens", json={"name": "script\n"})  # trailing whitespace is trimmed
    assert r.status_code == 201, r.text
    r = await member.post("/api/v1/me/tokens", json={"name": "scr\nipt"})
    assert r.status_code == 422 and r.json()["error"]["fields"] == {"name": MESSAGE}
    async with db.transaction(space_id=world.a.space.id, write=False) as session:
        assert [r.name for r in (await session.exec(select(Resource))).all()] == ["Salle Verte"]


async def test_the_space_form_refuses_a_line_break_beside_the_field_and_creates_nothing(web) -> None:
    b = await web(await create_account())
    r = await b.post("/spaces/new", {"name": "Mon\r\nEspace", "slug": "mon-espace", "timezone": "Europe/Paris"})
    assert r.status_code == 422
    assert 'id="e-name"' in r.text and MESSAGE in r.text and 'value="mon-espace"' in r.text
    async with db.transaction() as session:
        assert (await session.exec(select(func.count()).select_from(Space))).one() == 0


async def test_the_resource_form_refuses_a_line_break_in_the_name(world, web) -> None:
    browser = await web(world.a.manager)
    r = await browser.post(f"/s/{world.a.slug}/resources/new", {
        "name": "Salle\nVerte", "kind": "meeting_room", "unit": "hour", "capacity": "8", "granularity_minutes": "30",
        "min_minutes": "60", "max_minutes": "240", "buffer_minutes": "15", "horizon_days": "30",
        "cancel_deadline_hours": "24", "late_cancel": "refuse", "price_member": "12", "price_public": "20",
        "vat_rate": "20", "role_member": "on", "required_tags": ""})
    assert r.status_code == 422 and MESSAGE in r.text
    async with db.transaction(space_id=world.a.space.id, write=False) as session:
        assert (await session.exec(select(Resource))).all() == []


async def test_the_profile_api_refuses_a_number_as_a_boolean(world, api) -> None:
    member = api(world.a.tokens["member"])
    for value in (0, 1, "true", "yes"):
        r = await member.put(url(world, "profile"), json={"display_name": "Ana", "visible": value})
        assert r.status_code == 422 and set(r.json()["error"]["fields"]) == {"visible"}, value
    r = await member.put(url(world, "profile"), json={"display_name": "Ana", "visible": True})
    assert r.status_code == 200 and r.json()["visible"] is True


async def test_get_on_the_quote_route_is_a_405_naming_the_allowed_method(world, api) -> None:
    r = await api(world.a.tokens["member"]).get(url(world, "bookings/quote"))
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    assert r.headers["allow"] == "POST"


async def test_every_405_carries_the_methods_of_every_route_on_the_path(world, api, web) -> None:
    r = await api(world.a.tokens["member"]).delete(url(world, "bookings"))
    assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    page = await (await web(world.a.member)).client.delete("/spaces/new")
    assert page.status_code == 405 and set(page.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
