"""Single-use invitations and the last-owner rule, raced through the real HTTP API."""

from __future__ import annotations

from sqlmodel import col, select, update

from app.core import db
from app.core.permissions import Role
from app.space import service as spaces
from app.space.models import Invitation, SpaceMember
from tests.fixtures.concurrency import bearer, codes, fire, warm
from tests.fixtures.factories import api_token, create_account


async def _members(space_id: int) -> list[SpaceMember]:
    async with db.transaction(space_id=space_id) as session:
        return list((await session.exec(select(SpaceMember))).all())


async def _make_owner(space_id: int, member_id: int) -> None:
    async with db.transaction(space_id=space_id) as session:
        await session.exec(update(SpaceMember).where(col(SpaceMember.id) == member_id).values(role=Role.owner))


async def test_one_invitation_accepted_by_six_accounts_at_once_lets_exactly_one_join(world, live_server):
    async with db.transaction(space_id=world.a.space.id) as session:
        _invitation, raw = await spaces.invite(session, world.a.space, world.a.owner, Role.owner,
                                               email="team@example.org", role=Role.manager)
    accounts = [await create_account() for _ in range(6)]
    tokens = [await api_token(a) for a in accounts]
    before = len(await _members(world.a.space.id))
    await warm(live_server, tokens)

    responses = await fire(live_server, [("POST", f"/api/v1/invitations/{raw}/accept", None, bearer(t))
                                         for t in tokens])

    assert codes(responses) == {200: 1, 410: 5}, [r.text for r in responses]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 410} == {"invitation_invalid"}
    members = await _members(world.a.space.id)
    assert len(members) == before + 1
    joined = [m for m in members if m.account_id in {a.id for a in accounts}]
    assert [m.role for m in joined] == [Role.manager]
    async with db.transaction(space_id=world.a.space.id) as session:
        invitation = (await session.exec(select(Invitation))).one()
    assert invitation.accepted_by_id == joined[0].account_id


async def test_revoking_an_invitation_while_it_is_accepted_does_one_or_the_other(world, live_server):
    async with db.transaction(space_id=world.a.space.id) as session:
        invitation, raw = await spaces.invite(session, world.a.space, world.a.owner, Role.owner,
                                              email="late@example.org", role=Role.member)
    newcomer = await create_account()
    token = await api_token(newcomer)
    await warm(live_server, [token, world.a.tokens["owner"]])
    responses = await fire(live_server, [
        ("POST", f"/api/v1/invitations/{raw}/accept", None, bearer(token)),
        ("DELETE", f"/api/v1/spaces/{world.a.slug}/invitations/{invitation.id}", None,
         bearer(world.a.tokens["owner"])),
    ])
    accepted, revoked = responses
    assert {accepted.status_code, revoked.status_code} in ({200, 404}, {410, 204}), [r.text for r in responses]
    async with db.transaction(space_id=world.a.space.id) as session:
        stored = (await session.exec(select(Invitation))).one()
    assert (stored.accepted_at is None) != (stored.revoked_at is None)
    joined = newcomer.id in {m.account_id for m in await _members(world.a.space.id)}
    assert joined == (accepted.status_code == 200)


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(world, live_server):
    first, second = world.a.members["owner"], world.a.members["manager"]
    await _make_owner(world.a.space.id, second.id)
    path = f"/api/v1/spaces/{world.a.slug}/members/"
    await warm(live_server, [world.a.tokens["owner"], world.a.tokens["manager"]])
    responses = await fire(live_server, [
        ("PATCH", f"{path}{second.id}", {"role": "member"}, bearer(world.a.tokens["owner"])),
        ("PATCH", f"{path}{first.id}", {"role": "member"}, bearer(world.a.tokens["manager"])),
    ])
    assert codes(responses)[200] == 1 and not codes(responses).keys() - {200, 403, 409}, [r.text for r in responses]
    assert [m.role for m in await _members(world.a.space.id)].count(Role.owner) == 1


async def test_two_owners_removing_each_other_at_once_leave_one_owner(world, live_server):
    first, second = world.a.members["owner"], world.a.members["manager"]
    await _make_owner(world.a.space.id, second.id)
    path = f"/api/v1/spaces/{world.a.slug}/members/"
    await warm(live_server, [world.a.tokens["owner"], world.a.tokens["manager"]])
    responses = await fire(live_server, [
        ("DELETE", f"{path}{second.id}", None, bearer(world.a.tokens["owner"])),
        ("DELETE", f"{path}{first.id}", None, bearer(world.a.tokens["manager"])),
    ])
    assert codes(responses)[204] == 1 and not codes(responses).keys() - {204, 403, 404, 409}, [r.text for r in responses]
    assert [m.role for m in await _members(world.a.space.id)].count(Role.owner) == 1
