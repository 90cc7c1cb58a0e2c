"""The adhésion: tiers, the year per the space's setting, paid → current, renewing, reminders."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.core import clock, db
from app.membership import adhesion as adhesions
from app.membership.models import AdhesionYear
from tests.membership.orders_factories import create_pass, create_tier, set_membership_settings


def base(world) -> str:
    return f"/api/v1/spaces/{world.a.slug}"


@pytest.mark.parametrize(("kind", "today", "expected"), [
    (AdhesionYear.calendar, date(2027, 3, 15), (date(2027, 1, 1), date(2028, 1, 1))),
    (AdhesionYear.calendar, date(2027, 12, 31), (date(2027, 1, 1), date(2028, 1, 1))),
    (AdhesionYear.school, date(2027, 3, 15), (date(2026, 9, 1), date(2027, 9, 1))),
    (AdhesionYear.school, date(2027, 9, 1), (date(2027, 9, 1), date(2028, 9, 1))),
    (AdhesionYear.school, date(2027, 8, 31), (date(2026, 9, 1), date(2027, 9, 1))),
    (AdhesionYear.rolling, date(2027, 3, 15), (date(2027, 3, 15), date(2028, 3, 15))),
    (AdhesionYear.rolling, date(2028, 2, 29), (date(2028, 2, 29), date(2029, 2, 28))),
])
def test_the_adhesion_year(kind, today, expected):
    assert adhesions.period_containing(kind, today) == expected


async def _current(world, account) -> bool:
    async with db.transaction(space_id=world.a.space.id) as session:
        return await adhesions.is_current(session, account.id, adhesions.local_today(world.a.space))


async def test_tiers_are_managed_by_staff_and_members_see_the_public_ones(api, world):
    manager, member = api(world.a.tokens["manager"]), api(world.a.tokens["member"])
    r = await manager.post(f"{base(world)}/adhesion-tiers", json={"name": "Solidaire", "kind": "reduced",
                                                                  "price_cents": 500})
    assert r.status_code == 201, r.text
    hidden = (await manager.post(f"{base(world)}/adhesion-tiers", json={"name": "Structure", "kind": "organisation",
                                                                        "price_cents": 10000, "public": False})).json()
    free = (await manager.post(f"{base(world)}/adhesion-tiers", json={"name": "Bénévole", "kind": "free",
                                                                      "price_cents": 900})).json()
    assert free["price_cents"] == 0  # a free tier costs nothing, whatever was typed
    assert (await member.post(f"{base(world)}/adhesion-tiers", json={"name": "X"})).status_code == 403
    bad = await manager.post(f"{base(world)}/adhesion-tiers", json={"name": "X", "kind": "gold"})
    assert bad.status_code == 422
    assert [t["name"] for t in (await member.get(f"{base(world)}/adhesion-tiers")).json()] == ["Solidaire", "Bénévole"]
    r = await manager.patch(f"{base(world)}/adhesion-tiers/{free['id']}", json={"archived": True})
    assert r.status_code == 200 and r.json()["archived"] is True
    assert [t["name"] for t in (await member.get(f"{base(world)}/adhesion-tiers")).json()] == ["Solidaire"]
    assert len((await manager.get(f"{base(world)}/adhesion-tiers")).json()) == 3
    taken = await member.post(f"{base(world)}/adhesions", json={"tier_id": hidden["id"]})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "tier_unavailable"
    other = await api(world.b.tokens["owner"]).patch(f"/api/v1/spaces/{world.b.slug}/adhesion-tiers/{free['id']}",
                                                    json={"name": "Pirate"})
    assert other.status_code == 404


async def test_joining_the_association_is_current_once_paid(api, world):
    clock.freeze(datetime(2027, 3, 15, 10, tzinfo=UTC))
    tier = await create_tier(world.a.space, price_cents=2000)
    member = api(world.a.tokens["member"])
    r = await member.post(f"{base(world)}/adhesions", json={"tier_id": tier.id})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["adhesion"]["starts_on"], body["adhesion"]["ends_on"]) == ("2027-01-01", "2028-01-01")
    assert body["order"]["purpose"] == "adhesion" and body["order"]["total_incl_cents"] == 2000
    assert body["order"]["lines"][0]["item"] == "adhesion" and body["order"]["lines"][0]["vat_rate_bp"] == 0
    assert not await _current(world, world.a.member)
    mine = (await member.get(f"{base(world)}/me/membership")).json()
    assert mine["adhesion"]["current"] is False and mine["owed_cents"] == 2000

    again = await member.post(f"{base(world)}/adhesions", json={"tier_id": tier.id})
    assert again.status_code == 409 and again.json()["error"]["code"] == "adhesion_exists"

    paid = await api(world.a.tokens["manager"]).post(f"{base(world)}/orders/{body['order']['id']}/mark-paid")
    assert paid.status_code == 200
    assert await _current(world, world.a.member)
    mine = (await member.get(f"{base(world)}/me/membership")).json()
    assert mine["adhesion"]["current"] is True and mine["adhesion"]["renew_from"] == "2028-01-01"
    assert mine["adhesion"]["tier_name"] == "Individuelle"


async def test_renewing_takes_the_next_year_only_near_the_end(api, world):
    await set_membership_settings(world.a.space, adhesion_year="school", reminder_days=30)
    tier = await create_tier(world.a.space, kind="free", price_cents=0)
    member = api(world.a.tokens["member"])
    clock.freeze(datetime(2027, 3, 15, 10, tzinfo=UTC))
    r = await member.post(f"{base(world)}/adhesions", json={"tier_id": tier.id})
    assert r.status_code == 201 and r.json()["order"] is None  # free: no order, current at once
    assert r.json()["adhesion"]["starts_on"] == "2026-09-01"
    assert await _current(world, world.a.member)
    early = await member.post(f"{base(world)}/adhesions", json={"tier_id": tier.id})
    assert early.status_code == 409 and early.json()["error"]["code"] == "adhesion_exists"
    clock.freeze(datetime(2027, 8, 10, 10, tzinfo=UTC))  # within 30 days of 1 September
    r = await member.post(f"{base(world)}/adhesions", json={"tier_id": tier.id})
    assert r.status_code == 201 and r.json()["adhesion"]["starts_on"] == "2027-09-01"
    assert r.json()["adhesion"]["ends_on"] == "2028-09-01"
    twice = await member.post(f"{base(world)}/adhesions", json={"tier_id": tier.id})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "adhesion_exists"


async def test_a_cancelled_adhesion_order_is_never_current_and_can_be_taken_again(api, world):
    tier = await create_tier(world.a.space, price_cents=1500)
    member, manager = api(world.a.tokens["member"]), api(world.a.tokens["manager"])
    first = (await member.post(f"{base(world)}/adhesions", json={"tier_id": tier.id})).json()
    assert (await manager.post(f"{base(world)}/orders/{first['order']['id']}/cancel")).status_code == 200
    rows = (await member.get(f"{base(world)}/adhesions")).json()
    assert rows[0]["cancelled_at"] is not None
    second = await member.post(f"{base(world)}/adhesions", json={"tier_id": tier.id})
    assert second.status_code == 201, second.text
    assert second.json()["adhesion"]["id"] == first["adhesion"]["id"]
    assert second.json()["adhesion"]["cancelled_at"] is None
    await manager.post(f"{base(world)}/orders/{second.json()['order']['id']}/mark-paid")
    assert await _current(world, world.a.member)


async def test_staff_take_the_adhesion_for_a_member(api, world):
    tier = await create_tier(world.a.space, public=False, price_cents=3000)
    manager = api(world.a.tokens["manager"])
    r = await manager.post(f"{base(world)}/adhesions", json={"tier_id": tier.id, "account_id": world.a.member.id})
    assert r.status_code == 201 and r.json()["adhesion"]["account_id"] == world.a.member.id
    r = await api(world.a.tokens["member"]).post(f"{base(world)}/adhesions",
                                                 json={"tier_id": tier.id, "account_id": world.a.animator.id})
    assert r.status_code == 403
    listed = (await manager.get(f"{base(world)}/adhesions")).json()
    assert [a["account_id"] for a in listed] == [world.a.member.id]


async def test_reminders_before_an_adhesion_or_a_pass_ends_are_sent_once(api, world, outbox):
    from app.membership.reminder_tasks import remind, send_reminders

    clock.freeze(datetime(2027, 12, 20, 7, tzinfo=UTC))  # 8:00 in Paris: before the reminder hour
    tier = await create_tier(world.a.space, kind="free", price_cents=0)
    member = api(world.a.tokens["member"])
    assert (await member.post(f"{base(world)}/adhesions", json={"tier_id": tier.id})).status_code == 201
    product = await create_pass(world.a.space, units=5, price_cents=0, valid_months=1, name="Pass du mois")
    clock.freeze(datetime(2027, 11, 25, 10, tzinfo=UTC))
    assert (await api(world.a.tokens["animator"]).post(f"{base(world)}/orders/pass",
                                                       json={"pass_product_id": product.id})).status_code == 201
    clock.freeze(datetime(2027, 12, 20, 7, tzinfo=UTC))
    async with db.transaction() as session:
        assert await send_reminders(session, clock.now()) == 0  # 8:00 local: not yet
    clock.freeze(datetime(2027, 12, 20, 9, tzinfo=UTC))
    async with db.transaction() as session:
        assert await send_reminders(session, clock.now()) >= 1
    async with db.transaction() as session:
        assert await send_reminders(session, clock.now()) == 0  # once per space and day
    await outbox()
    for _ in range(2):  # the job run twice sends nothing more
        async with db.transaction(space_id=world.a.space.id) as session:
            await remind(session)
    mails = await outbox()
    to = sorted((m["To"], m["Subject"]) for m in mails)
    assert [t for t, _s in to] == sorted([world.a.member.email, world.a.animator.email])
    assert any("adhésion" in s for _t, s in to) and any("pass" in s.lower() for _t, s in to)
