"""The treasurer (accountant role): given like any role, in the pages and the API; sees the people
and the audit log; changes nothing else. The role matrix (tests/tenancy/test_role_matrix.py) checks
every route for it; these follow the journeys a manager and a treasurer take."""

from __future__ import annotations

from tests.fixtures.factories import api_token
from tests.fixtures.harness import link_in


async def test_a_manager_makes_someone_treasurer_from_the_members_page(web, world):
    manager = await web(world.a.manager)
    page = await manager.get(f"/s/{world.a.slug}/members")
    assert 'value="accountant"' in page.text and "trésorier·e" in page.text  # offered, in French

    member_id = world.a.members["member"].id
    r = await manager.post(f"/s/{world.a.slug}/members/{member_id}/role", {"role": "accountant"})
    assert r.status_code == 303
    page = await manager.get(f"/s/{world.a.slug}/members")
    assert 'badge-accountant">trésorier·e<' in page.text

    treasurer = await web(world.a.member)
    assert (await treasurer.get(f"/s/{world.a.slug}/audit")).status_code == 200
    assert (await treasurer.get(f"/s/{world.a.slug}/members")).status_code == 200
    assert (await treasurer.get(f"/s/{world.a.slug}/book")).status_code == 403
    assert (await treasurer.get(f"/s/{world.a.slug}/settings")).status_code == 403


async def test_a_treasurer_invited_through_the_api_joins_with_that_role(api, world, outbox):
    owner = api(world.a.tokens["owner"])
    r = await owner.post(f"/api/v1/spaces/{world.a.slug}/invitations",
                         json={"email": world.b.member.email, "role": "accountant"})
    assert r.status_code == 201 and r.json()["role"] == "accountant"
    mail = next(m for m in await outbox() if m["To"] == world.b.member.email)
    token = link_in(mail, "/invitations/").rsplit("/", 1)[1]
    person = api(await api_token(world.b.member))
    assert (await person.post(f"/api/v1/invitations/{token}/accept")).status_code == 200
    roles = {s["slug"]: s["role"] for s in (await person.get("/api/v1/spaces")).json()}
    assert roles[world.a.slug] == "accountant"

    treasurer = api(await api_token(world.b.member, world.a.space))
    assert (await treasurer.get(f"/api/v1/spaces/{world.a.slug}/audit")).status_code == 200
    r = await treasurer.post(f"/api/v1/spaces/{world.a.slug}/bookings", json={})
    assert r.status_code == 403
    r = await treasurer.patch(f"/api/v1/spaces/{world.a.slug}", json={"name": "Renamed"})
    assert r.status_code == 403
