"""A member downloads all their data and deletes their account."""

from __future__ import annotations

import json

from sqlmodel import select

from app.account.models import Account, ApiToken, AuthSession
from app.core import db
from app.core.tenancy import all_spaces
from app.directory import service
from app.event.models import Registration
from app.space.models import SpaceMember
from tests.event.factories import create_event, register
from tests.fixtures.factories import PASSWORD


async def test_a_member_downloads_everything_about_them_as_json(world, api, web):
    event = await create_event(world.a.space, world.a.animator, title="Repair café")
    await register(world.a.space, event, world.a.member)
    async with db.transaction(space_id=world.a.space.id) as session:
        await service.save_profile(session, world.a.space, world.a.member, service.ProfileInput(
            display_name="Paul", skills=["woodwork"], visible=True))
    r = await api(world.a.tokens["member"]).get("/api/v1/account/export")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    data = r.json()
    assert data["account"]["email"] == world.a.member.email
    assert [m["space"]["slug"] for m in data["memberships"]] == [world.a.slug]
    assert data["profiles"][0]["skills"] == ["woodwork"]
    assert data["event_registrations"][0]["event"] == "Repair café"
    assert "token_hash" not in r.text and "password" not in json.dumps(data["account"]).replace(
        "password_changed_at", "")
    page = await (await web(world.a.member)).get("/account/data.json")
    assert page.status_code == 200 and page.json()["account"]["id"] == world.a.member.id


async def test_deleting_an_account_erases_personal_data_and_frees_the_seat(world, api, web, outbox):
    event = await create_event(world.a.space, world.a.animator, capacity=1, title="Repair café")
    await register(world.a.space, event, world.a.member)
    waiting = await register(world.a.space, event, world.a.manager)
    async with db.transaction(space_id=world.a.space.id) as session:
        await service.save_profile(session, world.a.space, world.a.member, service.ProfileInput(
            display_name="Paul", visible=True))
    browser = await web(world.a.member)
    r = await browser.post("/account/delete", {"password": "wrong-password-123"})
    assert r.status_code == 422
    r = await browser.post("/account/delete", {"password": PASSWORD})
    assert r.status_code == 303

    async with db.transaction() as session:
        with all_spaces(session):
            account = await session.get(Account, world.a.member.id)
            assert account.name == "Deleted account" and account.email.endswith("@deleted.invalid")
            assert account.password_hash is None and account.suspended_at is not None
            assert (await session.exec(select(SpaceMember).where(SpaceMember.account_id == account.id))).all() == []
            assert (await session.exec(select(AuthSession).where(AuthSession.account_id == account.id))).all() == []
            tokens = (await session.exec(select(ApiToken).where(ApiToken.account_id == account.id))).all()
            assert tokens and all(t.revoked_at is not None for t in tokens)
            regs = (await session.exec(select(Registration).where(Registration.event_id == event.id))).all()
            statuses = {r.id: (r.status, r.account_id, r.name) for r in regs}
    assert statuses[waiting.id] == ("confirmed", world.a.manager.id, None)
    assert ("cancelled", None, "Deleted account") in statuses.values()
    assert (await api(world.a.tokens["member"]).get("/api/v1/account/export")).status_code == 401
    assert (await browser.get(f"/s/{world.a.slug}")).status_code in (303, 404)
    login = await (await web()).login(world.a.member.email, PASSWORD)
    assert login.status_code != 303
    assert (await api(world.a.tokens["animator"]).get(f"/api/v1/spaces/{world.a.slug}/directory")).json() == []
    promoted = [m for m in await outbox() if m["To"] == world.a.manager.email and "seat" in m["Subject"]]
    assert len(promoted) == 1


async def test_the_only_owner_of_a_space_cannot_delete_their_account(world, api):
    r = await api(world.a.tokens["owner"]).post("/api/v1/account/delete", json={"password": PASSWORD})
    assert r.status_code == 409 and r.json()["error"]["code"] == "last_owner"
    assert world.a.space.name in r.json()["error"]["message"]


async def test_the_api_asks_for_the_password_too(world, api):
    r = await api(world.a.tokens["member"]).post("/api/v1/account/delete", json={})
    assert r.status_code == 422 and r.json()["error"]["code"] == "deletion_not_confirmed"
