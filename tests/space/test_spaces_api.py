from __future__ import annotations

from sqlmodel import func, select

from app.audit.models import AuditEntry
from app.core import db
from app.core.tenancy import all_spaces
from app.space.models import Space, SpaceMember
from tests.fixtures.factories import api_token, create_account
from tests.fixtures.harness import link_in


async def _counts() -> tuple[int, int]:
    async with db.transaction() as session:
        with all_spaces(session):
            spaces = (await session.exec(select(func.count()).select_from(Space))).one()
            members = (await session.exec(select(func.count()).select_from(SpaceMember))).one()
    return spaces, members


async def test_creating_a_space_makes_the_creator_its_owner(api):
    account = await create_account()
    c = api(await api_token(account))
    r = await c.post("/api/v1/spaces", json={"name": "Le Tiers-Lieu de Saint-Agrève"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["slug"] == "le-tiers-lieu-de-saint-agreve"
    assert body["timezone"] == "Europe/Paris" and body["locale"] == "fr"
    mine = (await c.get("/api/v1/spaces")).json()
    assert [(s["slug"], s["role"]) for s in mine] == [("le-tiers-lieu-de-saint-agreve", "owner")]


async def test_taken_reserved_and_invalid_slugs_each_have_their_own_error_and_create_nothing(api, world):
    c = api(world.a.tokens["outsider"])
    before = await _counts()
    cases = [
        ({"name": "Copy", "slug": world.a.slug}, 409, "slug_taken"),
        ({"name": "Admin", "slug": "admin"}, 422, "slug_reserved"),
        ({"name": "API", "slug": "api"}, 422, "slug_reserved"),
        ({"name": "Bad", "slug": "Not A Slug!"}, 422, "slug_invalid"),
        ({"name": "Zone", "slug": "zone-space", "timezone": "Mars/Olympus"}, 422, "invalid_timezone"),
    ]
    for payload, status, code in cases:
        r = await c.post("/api/v1/spaces", json=payload)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), payload
        assert r.json()["error"]["fields"]
    assert await _counts() == before


async def test_unknown_space_is_a_404(api, world):
    r = await api(world.a.tokens["owner"]).get("/api/v1/spaces/no-such-space")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


async def test_invitation_by_email_is_accepted_with_the_mailed_token(api, world, outbox):
    manager = api(world.a.tokens["manager"])
    r = await manager.post(f"/api/v1/spaces/{world.a.slug}/invitations", json={"email": "newbie@example.org", "role": "animator"})
    assert r.status_code == 201, r.text
    mails = [m for m in await outbox() if m["To"] == "newbie@example.org"]
    assert len(mails) == 1
    token = link_in(mails[0], "/invitations/").rsplit("/", 1)[1]
    newbie = await create_account(email="newbie@example.org")
    n = api(await api_token(newbie))
    r = await n.post(f"/api/v1/invitations/{token}/accept")
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "animator"
    assert (await n.get(f"/api/v1/spaces/{world.a.slug}")).status_code == 200
    # the token works once
    r = await n.post(f"/api/v1/invitations/{token}/accept")
    assert r.status_code == 410
    assert r.json()["error"]["code"] == "invitation_invalid"


async def test_a_member_cannot_invite(api, world):
    r = await api(world.a.tokens["member"]).post(
        f"/api/v1/spaces/{world.a.slug}/invitations", json={"email": "x@example.org", "role": "member"})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "permission_denied"


async def test_only_an_owner_can_make_someone_owner(api, world):
    member_id = world.a.members["member"].id
    r = await api(world.a.tokens["manager"]).patch(f"/api/v1/spaces/{world.a.slug}/members/{member_id}", json={"role": "owner"})
    assert r.status_code == 403
    r = await api(world.a.tokens["owner"]).patch(f"/api/v1/spaces/{world.a.slug}/members/{member_id}", json={"role": "owner"})
    assert r.status_code == 200
    assert r.json()["role"] == "owner"


async def test_removing_or_demoting_the_last_owner_is_refused(api, world):
    owner = api(world.a.tokens["owner"])
    owner_member = world.a.members["owner"].id
    r = await owner.delete(f"/api/v1/spaces/{world.a.slug}/members/{owner_member}")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "last_owner"
    r = await owner.patch(f"/api/v1/spaces/{world.a.slug}/members/{owner_member}", json={"role": "member"})
    assert r.status_code == 409
    assert (await owner.get(f"/api/v1/spaces/{world.a.slug}/members/{owner_member}")).json()["role"] == "owner"


async def test_manager_changes_a_role_and_removes_someone(api, world):
    m = api(world.a.tokens["manager"])
    animator = world.a.members["animator"].id
    r = await m.patch(f"/api/v1/spaces/{world.a.slug}/members/{animator}", json={"role": "member", "tags": ["Laser", "bois"]})
    assert r.status_code == 200
    assert r.json()["role"] == "member" and r.json()["tags"] == ["bois", "laser"]
    assert (await m.delete(f"/api/v1/spaces/{world.a.slug}/members/{animator}")).status_code == 204
    assert (await api(world.a.tokens["animator"]).get(f"/api/v1/spaces/{world.a.slug}")).status_code == 404


async def test_one_person_belongs_to_several_spaces_with_different_roles(api, world, outbox):
    person = world.a.member
    c = api(await api_token(person))
    r = await api(world.b.tokens["owner"]).post(f"/api/v1/spaces/{world.b.slug}/invitations",
                                               json={"email": person.email, "role": "manager"})
    assert r.status_code == 201
    mail = next(m for m in await outbox() if m["To"] == person.email)
    token = link_in(mail, "/invitations/").rsplit("/", 1)[1]
    assert (await c.post(f"/api/v1/invitations/{token}/accept")).status_code == 200
    roles = {s["slug"]: s["role"] for s in (await c.get("/api/v1/spaces")).json()}
    assert roles == {world.a.slug: "member", world.b.slug: "manager"}


async def test_switching_space_in_the_pages_shows_each_space(web, world, api, outbox):
    await api(world.b.tokens["owner"]).post(f"/api/v1/spaces/{world.b.slug}/invitations",
                                           json={"email": world.a.member.email, "role": "member"})
    token = link_in(next(m for m in await outbox() if m["To"] == world.a.member.email), "/invitations/")
    b = await web(world.a.member)
    await b.post(f"{token}/accept")
    home = await b.get(f"/s/{world.a.slug}")
    assert f'href="/s/{world.b.slug}"' in home.text  # the switcher lists the other space
    assert world.b.space.name in (await b.get(f"/s/{world.b.slug}")).text


async def test_every_mutation_is_in_the_audit_log_visible_to_managers(api, world):
    m = api(world.a.tokens["manager"])
    await m.post(f"/api/v1/spaces/{world.a.slug}/invitations", json={"email": "audit@example.org", "role": "member"})
    await m.patch(f"/api/v1/spaces/{world.a.slug}", json={"name": "Nouveau nom"})
    log = (await m.get(f"/api/v1/spaces/{world.a.slug}/audit")).json()
    actions = [e["action"] for e in log["items"]]
    assert actions[:2] == ["space.updated", "member.invited"]
    assert all(e["actor_id"] == world.a.manager.id for e in log["items"][:2])
    assert (await api(world.a.tokens["member"]).get(f"/api/v1/spaces/{world.a.slug}/audit")).status_code == 403
    async with db.transaction(space_id=world.b.space.id) as session:
        n = (await session.exec(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "member.invited"))).one()
    assert n == 0


async def test_platform_operator_lists_and_suspends_spaces(api, world, web):
    op = await create_account(superuser=True)
    c = api(await api_token(op))
    slugs = {s["slug"] for s in (await c.get("/api/v1/platform/spaces")).json()}
    assert {world.a.slug, world.b.slug} <= slugs
    assert (await api(world.a.tokens["owner"]).get("/api/v1/platform/spaces")).status_code == 403
    r = await c.post(f"/api/v1/platform/spaces/{world.a.slug}/suspend", json={"reason": "unpaid"})
    assert r.status_code == 204
    r = await api(world.a.tokens["member"]).get(f"/api/v1/spaces/{world.a.slug}")
    assert r.status_code == 423
    assert r.json()["error"]["code"] == "space_suspended"
    page = await (await web(world.a.member)).get(f"/s/{world.a.slug}")
    assert page.status_code == 423 and "suspend" in page.text.lower()
    assert (await api(world.b.tokens["member"]).get(f"/api/v1/spaces/{world.b.slug}")).status_code == 200
    assert (await c.post(f"/api/v1/platform/spaces/{world.a.slug}/reactivate")).status_code == 204
    assert (await api(world.a.tokens["member"]).get(f"/api/v1/spaces/{world.a.slug}")).status_code == 200


async def test_suspended_account_cannot_log_in(client):
    account = await create_account(email="susp@example.org")
    from app.account.models import Account
    from app.core import clock

    async with db.transaction() as session:
        a = await session.get(Account, account.id)
        a.suspended_at = clock.now()
        session.add(a)
    r = await client.post("/api/v1/auth/token", data={"username": "susp@example.org", "password": "correct-horse-battery"})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "account_suspended"


async def test_updating_a_space_with_an_empty_or_unknown_timezone_is_refused(api, world):
    owner = api(world.a.tokens["owner"])
    for tz in ("", "Europe/Nowhere", "../../etc/passwd"):
        r = await owner.patch(f"/api/v1/spaces/{world.a.slug}", json={"timezone": tz})
        assert r.status_code == 422, tz
        assert r.json()["error"]["code"] == "invalid_timezone"
    assert (await owner.get(f"/api/v1/spaces/{world.a.slug}")).json()["timezone"] == "Europe/Paris"
