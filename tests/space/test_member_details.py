"""A manager gives and removes tags and keeps a private note on a member from the people page."""

from __future__ import annotations

import html

from app.core import db
from app.space.models import SpaceMember


async def _member(world) -> SpaceMember:
    async with db.transaction(space_id=world.a.space.id, write=False) as session:
        return await session.get(SpaceMember, world.a.members["member"].id)


async def test_a_manager_tags_a_member_and_keeps_a_private_note_from_the_people_page(world, web):
    manager = await web(world.a.manager)
    member_id = world.a.members["member"].id
    people = await manager.get(f"/s/{world.a.slug}/members")
    assert f'href="/s/{world.a.slug}/members/{member_id}"' in people.text
    page = await manager.get(f"/s/{world.a.slug}/members/{member_id}")
    assert page.status_code == 200 and world.a.member.name in page.text

    r = await manager.post(f"/s/{world.a.slug}/members/{member_id}/details",
                           {"tags": "Laser, formé·e bois ,, laser", "note": "Vient le mardi.\nA une clé."})
    assert r.status_code == 303
    stored = await _member(world)
    assert stored.tag_set == {"laser", "formé·e bois"} and stored.note == "Vient le mardi.\nA une clé."
    people = await manager.get(f"/s/{world.a.slug}/members")
    assert "formé·e bois" in html.unescape(people.text)

    r = await manager.post(f"/s/{world.a.slug}/members/{member_id}/details", {"tags": "bois", "note": ""})
    stored = await _member(world)
    assert stored.tag_set == {"bois"} and stored.note == ""


async def test_a_tag_too_long_is_refused_beside_the_field_with_the_limit_and_nothing_is_saved(world, web):
    manager = await web(world.a.manager)
    member_id = world.a.members["member"].id
    r = await manager.post(f"/s/{world.a.slug}/members/{member_id}/details",
                           {"tags": "ok, " + "x" * 41, "note": "gardée"})
    assert r.status_code == 422
    assert 'id="e-tags"' in r.text and "au plus 40 caractères" in html.unescape(r.text)  # the limit, stated
    assert 'value="ok, ' in r.text and "gardée" in r.text  # what was typed is kept
    stored = await _member(world)
    assert stored.tags == "" and stored.note == ""


async def test_members_and_other_spaces_cannot_open_the_note(world, web):
    member_id = world.a.members["member"].id
    assert (await (await web(world.a.member)).get(f"/s/{world.a.slug}/members/{member_id}")).status_code == 403
    assert (await (await web(world.b.manager)).get(f"/s/{world.a.slug}/members/{member_id}")).status_code == 404
    other = world.b.members["member"].id
    assert (await (await web(world.a.manager)).get(f"/s/{world.a.slug}/members/{other}")).status_code == 404


async def test_the_api_sets_the_note_and_shows_it_to_managers_only(world, api):
    member_id = world.a.members["member"].id
    r = await api(world.a.tokens["manager"]).patch(f"/api/v1/spaces/{world.a.slug}/members/{member_id}",
                                                  json={"tags": ["laser"], "note": "Formée le 3 mars"})
    assert r.status_code == 200 and r.json()["note"] == "Formée le 3 mars" and r.json()["tags"] == ["laser"]
    r = await api(world.a.tokens["animator"]).get(f"/api/v1/spaces/{world.a.slug}/members/{member_id}")
    assert r.status_code == 200 and r.json()["note"] is None
