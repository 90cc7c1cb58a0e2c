"""Joining a space: the visitor's request (API and page), the staff's answer, the policies."""

from __future__ import annotations

from sqlmodel import select

from app.core import db
from app.membership.models import JoinRequest
from app.space.models import SpaceMember
from tests.fixtures.concurrency import bearer, codes, fire, warm
from tests.fixtures.factories import create_account
from tests.fixtures.harness import link_in, mail_text
from tests.membership.orders_factories import create_plan, set_membership_settings


def url(world) -> str:
    return f"/api/v1/spaces/{world.a.slug}/join-requests"


def ask(email="camille@example.org", **extra) -> dict:
    return {"name": "Camille Martin", "email": email, "organisation": "Atelier Vélo", "needs": "Un bureau 2 j/sem",
            **extra}


async def _requests(world) -> list[JoinRequest]:
    async with db.transaction(space_id=world.a.space.id) as session:
        return list((await session.exec(select(JoinRequest).order_by(JoinRequest.id))).all())


async def test_a_request_waits_for_the_staff_who_are_told_by_email(client, api, world, outbox):
    plan = await create_plan(world.a.space)
    r = await client.post(url(world), json=ask(plan_id=plan.id))
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "received"
    (req,) = await _requests(world)
    assert (req.status, req.plan_id, req.organisation) == ("pending", plan.id, "Atelier Vélo")
    mails = await outbox()
    assert {m["To"] for m in mails} == {world.a.owner.email, world.a.manager.email}
    assert "Camille Martin" in mails[0]["Subject"] and "Atelier Vélo" in mail_text(mails[0])
    # the same address again while pending: the same answer, still one request
    again = await client.post(url(world), json=ask(plan_id=plan.id, email="Camille@Example.org"))
    assert again.status_code == 202 and again.json() == r.json()
    assert len(await _requests(world)) == 1
    manager = api(world.a.tokens["manager"])
    listed = (await manager.get(url(world))).json()
    assert [x["email"] for x in listed] == ["camille@example.org"]
    assert (await api(world.a.tokens["member"]).get(url(world))).status_code == 403


async def test_accepting_invites_the_person_and_the_invitation_makes_them_a_member(client, api, world, outbox, web):
    plan = await create_plan(world.a.space)
    await client.post(url(world), json=ask(plan_id=plan.id))
    (req,) = await _requests(world)
    await outbox()
    manager = api(world.a.tokens["manager"])
    r = await manager.post(f"{url(world)}/{req.id}/accept")
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    again = await api(world.a.tokens["owner"]).post(f"{url(world)}/{req.id}/accept")
    assert again.status_code == 409 and again.json()["error"]["code"] == "join_request_decided"
    declined = await manager.post(f"{url(world)}/{req.id}/decline", json={"message": "trop tard"})
    assert declined.status_code == 409
    (mail,) = [m for m in await outbox() if m["To"] == "camille@example.org"]
    path = link_in(mail, "/invitations/")
    camille = await create_account("Camille Martin", "camille@example.org")
    browser = await web(camille)
    r = await browser.post(path + "/accept")
    assert r.status_code == 303, r.text
    async with db.transaction(space_id=world.a.space.id) as session:
        member = (await session.exec(select(SpaceMember).where(SpaceMember.account_id == camille.id))).first()
    assert member is not None and member.role == "member"


async def test_declining_emails_the_message(client, api, world, outbox):
    await client.post(url(world), json=ask())
    (req,) = await _requests(world)
    await outbox()
    r = await api(world.a.tokens["manager"]).post(f"{url(world)}/{req.id}/decline",
                                                  json={"message": "Nous sommes complets jusqu'en juin."})
    assert r.status_code == 200 and r.json()["status"] == "declined"
    (mail,) = [m for m in await outbox() if m["To"] == "camille@example.org"]
    assert "complets jusqu'en juin" in mail_text(mail)
    # declined: a new request is taken again
    assert (await client.post(url(world), json=ask())).status_code == 202
    assert [r.status for r in await _requests(world)] == ["declined", "pending"]


async def test_a_closed_space_takes_no_request_and_an_open_one_accepts_at_once(client, world, outbox):
    await set_membership_settings(world.a.space, join_policy="closed")
    r = await client.post(url(world), json=ask())
    assert r.status_code == 409 and r.json()["error"]["code"] == "join_closed"
    assert await _requests(world) == []
    await set_membership_settings(world.a.space, join_policy="open")
    assert (await client.post(url(world), json=ask())).status_code == 202
    (req,) = await _requests(world)
    assert req.status == "accepted"
    mails = await outbox()
    assert [m["To"] for m in mails] == ["camille@example.org"]
    assert "/invitations/" in mail_text(mails[0])


async def test_bad_requests_have_their_codes_and_reveal_nothing(client, world, outbox):
    private = await create_plan(world.a.space, public=False)
    r = await client.post(url(world), json=ask(plan_id=private.id))
    assert r.status_code == 404 and r.json()["error"]["code"] == "plan_not_available"
    r = await client.post(url(world), json=ask(email="not-an-address"))
    assert r.status_code == 422
    assert (await client.post("/api/v1/spaces/nowhere/join-requests", json=ask())).status_code == 404
    # an address that is already a member gets the same answer, and no invitation goes out
    r = await client.post(url(world), json=ask(email=world.a.member.email))
    assert r.status_code == 202
    assert len(await _requests(world)) == 1


async def test_too_many_requests_from_one_address_are_not_recorded(client, world):
    from app.config import get_settings

    limit = get_settings().mail_max_per_address
    for i in range(limit + 2):
        assert (await client.post(url(world), json=ask(email=f"p{i}@example.org"))).status_code == 202
    assert len(await _requests(world)) == limit


async def test_concurrent_accepts_accept_once(live_server, client, world):
    await client.post(url(world), json=ask())
    (req,) = await _requests(world)
    tokens = [world.a.tokens["manager"], world.a.tokens["owner"]]
    await warm(live_server, tokens)
    responses = await fire(live_server, [("POST", f"{url(world)}/{req.id}/accept", None, bearer(tokens[i % 2]))
                                         for i in range(8)])
    assert codes(responses) == {200: 1, 409: 7}, [r.text for r in responses if r.status_code >= 500]


async def test_concurrent_requests_from_one_address_make_one(live_server, world):
    responses = await fire(live_server, [("POST", url(world), ask(), {}) for _ in range(6)])
    assert codes(responses) == {202: 6}
    assert len(await _requests(world)) == 1


async def test_the_join_page(web, world, outbox):
    plan = await create_plan(world.a.space, name="Nomade")
    visitor = await web()
    page = await visitor.get(f"/s/{world.a.slug}/join")
    assert page.status_code == 200 and "Nomade" in page.text
    r = await visitor.post(f"/s/{world.a.slug}/join", {"name": "", "email": "nope", "organisation": "Coop",
                                                       "plan_id": str(plan.id)})
    assert r.status_code == 422 and "Coop" in r.text and 'aria-invalid="true"' in r.text
    r = await visitor.post(f"/s/{world.a.slug}/join", {"name": "Lou", "email": "lou@example.org",
                                                       "plan_id": str(plan.id), "needs": "Un poste"})
    assert r.status_code == 303
    (req,) = await _requests(world)
    assert (req.name, req.plan_id) == ("Lou", plan.id)
    await set_membership_settings(world.a.space, join_policy="closed")
    closed = await visitor.get(f"/s/{world.a.slug}/join")
    assert closed.status_code == 200 and "join-closed" in closed.text and "join-form" not in closed.text


async def test_an_existing_account_may_ask_too(client, world):
    someone = await create_account("Déjà Inscrite")
    assert (await client.post(url(world), json=ask(email=someone.email))).status_code == 202
