"""A person downloads all their data and deletes their account; the records stay, anonymised."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlmodel import select

from app.account import privacy
from app.account.models import Account, ApiToken, AuthSession
from app.audit.models import AuditEntry
from app.booking.models import Booking, BookingSeries
from app.calendar.models import CalendarFeed, FeedKind
from app.core import db
from app.core.errors import Conflict
from app.core.permissions import Role
from app.core.tenancy import all_spaces
from app.directory import service as directory
from app.directory.models import Profile
from app.event.models import Registration
from app.space.models import SpaceMember
from tests.booking.factories import (
    TODAY,
    TOMORROW,
    create_desk,
    create_room,
    freeze,
    insert_booking,
    iso,
    paris,
)
from tests.calendar.helpers import create_feed
from tests.event.factories import create_event, register
from tests.fixtures.factories import PASSWORD, add_member, api_token, create_account

YESTERDAY = TODAY - timedelta(days=1)


@pytest.fixture(autouse=True)
def _today():
    freeze()


async def _give_the_member_a_life(world) -> dict:
    """Bookings (one past, one coming), a registration, a calendar feed, a profile, a token."""
    room = await create_room(world.a.space)
    past = await insert_booking(world.a.space, room, world.a.member, paris(YESTERDAY, 10), paris(YESTERDAY, 11), price_cents=1500)
    coming = await insert_booking(world.a.space, room, world.a.member, paris(TOMORROW, 10), paris(TOMORROW, 11),
                                  price_cents=1500)
    event = await create_event(world.a.space, world.a.animator, title="Repair café")
    reg = await register(world.a.space, event, world.a.member)
    feed_path = await create_feed(world.a.space, world.a.member, FeedKind.member, account_id=world.a.member.id)
    async with db.transaction(space_id=world.a.space.id) as session:
        session.add(BookingSeries(resource_id=room.id, account_id=world.a.member.id, starts_at=paris(TOMORROW, 9),
                                  ends_at=paris(TOMORROW, 10), count=0))
        await directory.save_profile(session, world.a.space, world.a.member, directory.ProfileInput(
            display_name="Paul", skills=["woodwork"], visible=True))
    return {"room": room, "past": past, "coming": coming, "event": event, "reg": reg, "feed_path": feed_path}


async def test_a_member_with_bookings_feeds_and_a_profile_downloads_everything_but_secrets(world, api, web):
    life = await _give_the_member_a_life(world)
    r = await api(world.a.tokens["member"]).get("/api/v1/account/export")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    data = r.json()
    assert data["account"]["email"] == world.a.member.email
    assert [m["space"]["slug"] for m in data["memberships"]] == [world.a.slug]
    assert data["profiles"][0]["skills"] == ["woodwork"]
    assert data["event_registrations"][0]["event"] == "Repair café"
    assert [(b["resource"], b["price_cents"]) for b in data["bookings"]] == [("Salle Lumière", 1500)] * 2
    assert [f["kind"] for f in data["calendar_feeds"]] == ["member"]
    assert [s["account_id"] for s in data["other"]["booking_series"]] == [world.a.member.id]  # tables not listed
    assert data["api_tokens"] and data["api_tokens"][0]["prefix"]
    # No secret: token hashes, the feed's secret URL, the password.
    feed_secret = life["feed_path"].rstrip("/").rsplit("/", 1)[-1].removesuffix(".ics")
    async with db.transaction() as session:
        with all_spaces(session):
            hashes = [t.token_hash for t in (await session.exec(select(ApiToken))).all()]
            feed = (await session.exec(select(CalendarFeed))).one()
    for secret in [*hashes, feed.token_hash, feed.nonce, feed_secret]:
        assert secret not in r.text
    assert "password" not in json.dumps(data["account"]).replace("password_changed_at", "")
    page = await (await web(world.a.member)).get("/account/data.json")
    assert page.status_code == 200 and page.json()["account"]["id"] == world.a.member.id


async def test_every_account_of_the_space_can_download_its_data(world, api):
    await _give_the_member_a_life(world)
    for role in ("owner", "manager", "animator", "member"):
        assert (await api(world.a.tokens[role]).get("/api/v1/account/export")).status_code == 200


async def test_deleting_an_account_frees_its_desks_and_seats_and_keeps_the_records_anonymised(
        world, api, web, outbox):
    life = await _give_the_member_a_life(world)
    full = await create_event(world.a.space, world.a.animator, capacity=1, title="Soldering")
    await register(world.a.space, full, world.a.member)
    waiting = await register(world.a.space, full, world.a.manager)
    invited = await api(world.b.tokens["manager"]).post(f"/api/v1/spaces/{world.b.slug}/invitations",
                                                        json={"email": world.a.member.email})
    assert invited.status_code == 201
    told_before = [m for m in await outbox() if m["To"] == world.a.manager.email]
    browser = await web(world.a.member)
    r = await browser.post("/account/delete", {"password": "wrong-password-123"})
    assert r.status_code == 422
    r = await browser.post("/account/delete", {"password": PASSWORD})
    assert r.status_code == 303

    # The desk the deleted person had booked is free again (it stayed held before the fix).
    r = await api(world.a.tokens["animator"]).post(f"/api/v1/spaces/{world.a.slug}/bookings", json={
        "resource_id": life["room"].id, "starts_at": iso(TOMORROW, 10), "ends_at": iso(TOMORROW, 11)})
    assert r.status_code == 201, r.text
    aid = world.a.member.id
    async with db.transaction() as session:
        with all_spaces(session):
            account = await session.get(Account, aid)
            assert account.name == "Deleted account" and account.email.endswith("@deleted.invalid")
            assert account.password_hash is None and account.suspended_at is not None
            for model in (SpaceMember, AuthSession, ApiToken, CalendarFeed, Profile):
                assert (await session.exec(select(model).where(model.account_id == aid))).all() == [], model
            bookings = {b.id: b for b in (await session.exec(select(Booking).where(Booking.account_id == aid))).all()}
            regs = {r.id: r for r in (await session.exec(select(Registration))).all()}
            entries = (await session.exec(select(AuditEntry).where(AuditEntry.actor_id == aid))).all()
            all_entries = (await session.exec(select(AuditEntry))).all()
    # The records stay, pointing to the anonymised account: past booking as it was, coming one cancelled.
    assert bookings[life["past"].id].status == "confirmed" and bookings[life["past"].id].price_cents == 1500
    assert bookings[life["coming"].id].status == "cancelled"
    assert regs[life["reg"].id].status == "cancelled" and regs[life["reg"].id].account_id == aid
    assert regs[waiting.id].status == "confirmed"  # the waitlist moved up
    assert {e.action for e in entries} >= {"account.deleted", "booking.cancelled", "event.registration_cancelled"}
    assert "member.invited" in {e.action for e in all_entries}  # kept, without the address:
    assert not [e for e in all_entries if world.a.member.email in json.dumps(e.data)]
    assert (await api(world.a.tokens["member"]).get("/api/v1/account/export")).status_code == 401
    assert (await browser.get(f"/s/{world.a.slug}")).status_code in (303, 404)
    assert (await (await web()).login(world.a.member.email, PASSWORD)).status_code != 303
    assert (await api(world.a.tokens["animator"]).get(f"/api/v1/spaces/{world.a.slug}/directory")).json() == []
    assert (await (await web()).get(life["feed_path"])).status_code == 404
    told = [m for m in await outbox() if m["To"] == world.a.manager.email]
    assert len(told) == len(told_before) + 1  # their seat is confirmed


async def test_a_failure_half_way_through_a_deletion_writes_nothing(world, api, monkeypatch):
    life = await _give_the_member_a_life(world)

    async def broken(*_args, **_kwargs):
        raise Conflict()

    # The registrations' step breaks, after the bookings' step has cancelled the coming booking.
    steps = [(stage, key, broken if key.endswith("cancel_coming_registrations") else fn)
             for stage, key, fn in privacy._STEPS]
    assert steps != privacy._STEPS
    monkeypatch.setattr(privacy, "_STEPS", steps)
    r = await api(world.a.tokens["member"]).post("/api/v1/account/delete", json={"password": PASSWORD})
    assert r.status_code == 409
    async with db.transaction(space_id=world.a.space.id) as session:
        assert (await session.get(Booking, life["coming"].id)).status == "confirmed"
        assert (await session.get(Account, world.a.member.id)).email == world.a.member.email
    assert (await api(world.a.tokens["member"]).get("/api/v1/account/export")).status_code == 200


async def test_the_only_owner_of_a_space_cannot_delete_their_account(world, api):
    r = await api(world.a.tokens["owner"]).post("/api/v1/account/delete", json={"password": PASSWORD})
    assert r.status_code == 409 and r.json()["error"]["code"] == "last_owner"
    assert world.a.space.name in r.json()["error"]["message"]


async def test_two_owners_deleting_their_accounts_at_once_leave_one_owner(world, api):
    """Raced through the API: the owner rows are locked, so the second deletion sees the first."""
    second = await create_account("Second owner")
    await add_member(world.a.space, second, Role.owner)
    tokens = [world.a.tokens["owner"], await api_token(second)]
    await create_desk(world.a.space)  # the space has records: it must keep an owner
    results = await asyncio.gather(*(
        api(t).post("/api/v1/account/delete", json={"password": PASSWORD}) for t in tokens))
    assert sorted(r.status_code for r in results) == [204, 409], [r.text for r in results]
    async with db.transaction(space_id=world.a.space.id) as session:
        owners = (await session.exec(select(SpaceMember).where(SpaceMember.role == Role.owner))).all()
    assert len(owners) == 1


async def test_the_api_asks_for_the_password_too(world, api):
    r = await api(world.a.tokens["member"]).post("/api/v1/account/delete", json={})
    assert r.status_code == 422 and r.json()["error"]["code"] == "deletion_not_confirmed"


async def test_the_export_lists_the_person_s_charges(world, api):
    room = await create_room(world.a.space)  # 15 € an hour for members
    member = api(world.a.tokens["member"])
    r = await member.post(f"/api/v1/spaces/{world.a.slug}/bookings", json={
        "resource_id": room.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 11)})
    assert r.status_code == 201, r.text
    assert (await member.post(f"/api/v1/spaces/{world.a.slug}/bookings/{r.json()['id']}/cancel", json={})
            ).status_code == 200
    charges = (await member.get("/api/v1/account/export")).json()["charges"]
    assert [(c["amount_incl_cents"], c["reversal"], c["space"]["slug"]) for c in charges] == [
        (3000, False, world.a.slug), (-3000, True, world.a.slug)]


async def test_deleting_an_account_erases_its_login_and_mail_counters(world, api, client):
    from app.account.models import LoginThrottle

    email = world.a.member.email
    for _ in range(3):  # wrong passwords, then a reset mail: counters that name the address
        await client.post("/api/v1/auth/token", data={"username": email, "password": "wrong-wrong-wrong"})
    await client.post("/api/v1/auth/password-reset", json={"email": email})
    async with db.transaction(write=False) as session:
        before = {t.key for t in (await session.exec(select(LoginThrottle))).all()}

    r = await api(world.a.tokens["member"]).post("/api/v1/account/delete", json={"password": PASSWORD})
    assert r.status_code == 204, r.text

    async with db.transaction(write=False) as session:
        after = {t.key for t in (await session.exec(select(LoginThrottle))).all()}
    erased = before - after
    assert len(erased) == 3  # account + address, account, reset mails to the address
    assert len(after) == 2  # the requesting address's own counters (login, reset mails) stay
