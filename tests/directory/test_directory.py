"""The member directory: opt-in, members of the space only, search by name or skill."""

from __future__ import annotations

from app.core import db
from app.directory import service
from app.space import service as spaces


async def _profile(space, account, **fields):
    data = service.ProfileInput(**({"display_name": account.name} | fields))
    async with db.transaction(space_id=space.id) as session:
        return await service.save_profile(session, space, account, data)


async def test_a_profile_is_hidden_until_its_member_opts_in(world, api):
    member = api(world.a.tokens["member"])
    mine = (await member.get(f"/api/v1/spaces/{world.a.slug}/profile")).json()
    assert mine["visible"] is False and mine["display_name"] == world.a.member.name
    r = await member.put(f"/api/v1/spaces/{world.a.slug}/profile", json={
        "display_name": "Marie Curie", "headline": "Physicist", "skills": ["Radioactivity", " chemistry "]})
    assert r.status_code == 200 and r.json()["skills"] == ["chemistry", "radioactivity"]
    other = api(world.a.tokens["manager"])
    assert (await other.get(f"/api/v1/spaces/{world.a.slug}/directory", params={"q": "curie"})).json() == []
    assert (await other.get(f"/api/v1/spaces/{world.a.slug}/directory/{r.json()['id']}")).status_code == 404
    await member.put(f"/api/v1/spaces/{world.a.slug}/profile", json={
        "display_name": "Marie Curie", "skills": ["radioactivity"], "visible": True})
    found = (await other.get(f"/api/v1/spaces/{world.a.slug}/directory", params={"q": "curie"})).json()
    assert [p["display_name"] for p in found] == ["Marie Curie"]


async def test_members_are_found_by_skill(world, api):
    await _profile(world.a.space, world.a.member, skills=["woodwork", "welding"], visible=True)
    await _profile(world.a.space, world.a.manager, skills=["python"], visible=True)
    await _profile(world.a.space, world.a.owner, skills=["woodwork"], visible=False)
    client = api(world.a.tokens["animator"])
    by_skill = (await client.get(f"/api/v1/spaces/{world.a.slug}/directory", params={"skill": "woodwork"})).json()
    assert [p["account_id"] for p in by_skill] == [world.a.member.id]
    by_q = (await client.get(f"/api/v1/spaces/{world.a.slug}/directory", params={"q": "PYTH"})).json()
    assert [p["account_id"] for p in by_q] == [world.a.manager.id]


async def test_a_profile_is_never_shown_to_another_space_or_to_visitors(world, api, web):
    profile = await _profile(world.a.space, world.a.member, visible=True, skills=["woodwork"])
    r = await api(world.b.tokens["owner"]).get(f"/api/v1/spaces/{world.b.slug}/directory/{profile.id}")
    assert r.status_code == 404
    assert (await api(world.b.tokens["owner"]).get(f"/api/v1/spaces/{world.a.slug}/directory")).status_code == 404
    visitor = await web()
    r = await visitor.get(f"/s/{world.a.slug}/directory")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    outsider = await web(world.a.outsider)
    assert (await outsider.get(f"/s/{world.a.slug}/directory/{profile.id}")).status_code == 404


async def test_a_person_who_left_the_space_disappears_from_its_directory(world, api):
    await _profile(world.a.space, world.a.member, visible=True, skills=["woodwork"])
    async with db.transaction(space_id=world.a.space.id) as session:
        member = await spaces.membership(session, world.a.member.id)
        await spaces.remove_member(session, world.a.space, world.a.owner, "owner", member)
    r = await api(world.a.tokens["animator"]).get(f"/api/v1/spaces/{world.a.slug}/directory")
    assert r.json() == []


async def test_links_must_be_web_addresses_and_the_bio_is_sanitised(world, api, web):
    member = api(world.a.tokens["member"])
    url = f"/api/v1/spaces/{world.a.slug}/profile"
    r = await member.put(url, json={"display_name": "X", "website": "javascript:alert(1)"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_profile"
    assert "website" in r.json()["error"]["fields"]
    r = await member.put(url, json={"display_name": "X", "links": ["data:text/html,<script>1</script>"]})
    assert r.status_code == 422
    r = await member.put(url, json={"display_name": "X", "links": ["\x05e]\x97 http://[::1"]})
    assert r.status_code == 422
    r = await member.put(url, json={"display_name": "X", "website": "fabrique.example", "visible": True,
                                    "bio": "<script>alert(1)</script> **hi** <img src=x onerror=alert(1)>"})
    assert r.status_code == 200
    assert r.json()["website"] == "https://fabrique.example"
    assert r.json()["bio_html"] == ("<p>&lt;script&gt;alert(1)&lt;/script&gt; <strong>hi</strong> "
                                    "&lt;img src=x onerror=alert(1)&gt;</p>\n")
    page = await (await web(world.a.manager)).get(f"/s/{world.a.slug}/directory/{r.json()['id']}")
    assert "<script>alert" not in page.text and "<strong>hi</strong>" in page.text


async def test_a_member_turns_on_visibility_from_the_profile_page_and_is_found(world, web):
    member = await web(world.a.member)
    assert (await member.get(f"/s/{world.a.slug}/profile")).status_code == 200
    r = await member.post(f"/s/{world.a.slug}/profile", {
        "display_name": "Paul Menuisier", "headline": "Woodworker", "bio": "", "skills": "woodwork, CNC",
        "website": "", "links": "", "visible": "on"})
    assert r.status_code == 303
    other = await web(world.a.manager)
    page = await other.get(f"/s/{world.a.slug}/directory", params={"q": "cnc"})
    assert "Paul Menuisier" in page.text
    page = await other.get(f"/s/{world.a.slug}/directory", params={"q": "nobody-has-this"})
    assert "Paul Menuisier" not in page.text and "Nobody matches this search." in page.text


async def test_control_characters_are_dropped_not_sent_to_the_database(world, api):
    member = api(world.a.tokens["member"])
    r = await member.put(f"/api/v1/spaces/{world.a.slug}/profile", json={
        "display_name": "Pa\u0000ul", "headline": "z\u001a", "bio": "a"})
    assert r.status_code == 422 and set(r.json()["error"]["fields"]) == {"display_name", "headline"}  # one line
    r = await member.put(f"/api/v1/spaces/{world.a.slug}/profile", json={
        "display_name": "Paul", "headline": "z", "skills": ["wood\u0000work"], "bio": "a\u0000\nb"})
    assert r.status_code == 200
    assert (r.json()["display_name"], r.json()["headline"], r.json()["skills"], r.json()["bio"]) == (
        "Paul", "z", ["woodwork"], "a\nb")


async def test_one_submit_tells_every_problem_web_addresses_included(world, web, api):
    member = await web(world.a.member)
    r = await member.post(f"/s/{world.a.slug}/profile", {
        "display_name": " ", "headline": "", "bio": "", "skills": "", "website": "javascript:alert(1)",
        "links": "https://ok.example data:text/html,x"})
    assert r.status_code == 422
    for name in ("display_name", "website", "links"):
        assert f'id="e-{name}"' in r.text, name
    r = await api(world.a.tokens["member"]).put(f"/api/v1/spaces/{world.a.slug}/profile", json={
        "display_name": "X", "website": "ftp://example.org", "links": ["javascript:alert(1)"]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_profile"
    assert set(r.json()["error"]["fields"]) == {"website", "links"}
