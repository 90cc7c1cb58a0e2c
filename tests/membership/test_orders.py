"""Orders through the API: passes bought, marked paid on site (once), cancelled, who sees what."""

from __future__ import annotations

import pytest

from app.core import db
from app.membership import ledger
from app.membership.models import BucketSource
from tests.fixtures.concurrency import bearer, codes, fire, warm
from tests.fixtures.factories import api_token
from tests.membership.orders_factories import create_pass


def base(world) -> str:
    return f"/api/v1/spaces/{world.a.slug}"


async def _buy(api, world, product_id: int, role: str = "member", **extra):
    return await api(world.a.tokens[role]).post(f"{base(world)}/orders/pass",
                                                json={"pass_product_id": product_id, **extra})


async def _units(world, account) -> list[ledger.Balance]:
    async with db.transaction(space_id=world.a.space.id) as session:
        return await ledger.balances(session, account.id)


async def test_member_buys_a_pass_and_gets_its_units_when_the_manager_marks_it_paid(api, world):
    product = await create_pass(world.a.space, units=10, price_cents=12000, vat_rate_bp=2000)
    r = await _buy(api, world, product.id)
    assert r.status_code == 201, r.text
    order = r.json()["order"]
    assert order["status"] == "open" and order["purpose"] == "pass" and order["total_incl_cents"] == 12000
    assert [(x["item"], x["amount_incl_cents"], x["vat_rate_bp"]) for x in order["lines"]] == [("pass", 12000, 2000)]
    assert order["totals_per_rate"] == [{"vat_rate_bp": 2000, "excl_cents": 10000, "vat_cents": 2000,
                                         "incl_cents": 12000}]
    assert await _units(world, world.a.member) == []  # nothing granted before it is paid

    member = api(world.a.tokens["member"])
    assert (await member.post(f"{base(world)}/orders/{order['id']}/mark-paid")).status_code == 403
    paid = await api(world.a.tokens["manager"]).post(f"{base(world)}/orders/{order['id']}/mark-paid")
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid" and paid.json()["paid_method"] == "on_site"

    (balance,) = await _units(world, world.a.member)
    assert balance.left == 10 and balance.bucket.source == BucketSource.pass_
    assert balance.bucket.order_id == order["id"] and balance.bucket.pass_product_id == product.id
    months = (balance.bucket.valid_until.year - balance.bucket.valid_from.year) * 12 + \
        balance.bucket.valid_until.month - balance.bucket.valid_from.month
    assert months == 6
    mine = (await member.get(f"{base(world)}/me/membership")).json()
    assert [(c["source"], c["left"]) for c in mine["credits"]] == [("pass", 10)]
    assert mine["owed_cents"] == 0

    again = await api(world.a.tokens["owner"]).post(f"{base(world)}/orders/{order['id']}/mark-paid")
    assert again.status_code == 409 and again.json()["error"]["code"] == "order_not_open"
    assert len(await _units(world, world.a.member)) == 1


async def test_passes_not_on_sale_are_refused_with_their_code(api, world):
    private = await create_pass(world.a.space, public=False)
    archived = await create_pass(world.a.space, archived=True)
    other = await create_pass(world.b.space)
    for product_id in (private.id, archived.id, other.id, 99999):
        r = await _buy(api, world, product_id)
        assert r.status_code == 409 and r.json()["error"]["code"] == "pass_unavailable", (product_id, r.text)
    # staff may sell a private pass (paid on site at once) but never an archived one
    r = await _buy(api, world, private.id, "manager", account_id=world.a.member.id, settle="paid")
    assert r.status_code == 201 and r.json()["order"]["status"] == "paid"
    assert (await _buy(api, world, archived.id, "manager", account_id=world.a.member.id,
                       settle="paid")).status_code == 409
    assert [b.left for b in await _units(world, world.a.member)] == [10]


async def test_staff_grant_a_pass_free_with_a_reason(api, world):
    product = await create_pass(world.a.space, units=3)
    r = await _buy(api, world, product.id, "member", settle="free", reason="cadeau")
    assert r.status_code == 403
    r = await _buy(api, world, product.id, "manager", account_id=world.a.member.id, settle="free")
    assert r.status_code == 422 and r.json()["error"]["code"] == "reason_required"
    assert await _units(world, world.a.member) == []
    r = await _buy(api, world, product.id, "manager", account_id=world.a.outsider.id, settle="free", reason="x")
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_a_member"
    r = await _buy(api, world, product.id, "manager", account_id=world.a.member.id, settle="free",
                   reason="Bénévole du mois")
    assert r.status_code == 201, r.text
    assert r.json()["order"] is None and r.json()["bucket"]["left"] == 3
    (balance,) = await _units(world, world.a.member)
    assert balance.left == 3 and balance.bucket.order_id is None
    # a member cannot buy for someone else
    r = await _buy(api, world, product.id, "member", account_id=world.a.animator.id)
    assert r.status_code == 403


async def test_a_free_pass_is_paid_at_once(api, world):
    product = await create_pass(world.a.space, units=1, price_cents=0, name="Journée découverte")
    r = await _buy(api, world, product.id)
    assert r.status_code == 201 and r.json()["order"]["status"] == "paid"
    assert r.json()["order"]["paid_method"] == "free"
    assert [b.left for b in await _units(world, world.a.member)] == [1]


async def test_cancelling_an_open_order_reverses_its_lines_and_grants_nothing(api, world):
    product = await create_pass(world.a.space, price_cents=5000)
    order = (await _buy(api, world, product.id)).json()["order"]
    manager = api(world.a.tokens["manager"])
    r = await manager.post(f"{base(world)}/orders/{order['id']}/cancel", json={"reason": "erreur"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "cancelled"
    assert [x["amount_incl_cents"] for x in body["lines"]] == [5000, -5000]
    assert body["lines"][1]["reverses_id"] == body["lines"][0]["id"]
    assert sum(t["incl_cents"] for t in body["totals_per_rate"]) == 0
    for action in ("cancel", "mark-paid"):
        again = await manager.post(f"{base(world)}/orders/{order['id']}/{action}")
        assert again.status_code == 409 and again.json()["error"]["code"] == "order_not_open"
    assert await _units(world, world.a.member) == []
    # the member may cancel an open order of their own, not someone else's; a paid one stays paid
    own = (await _buy(api, world, product.id)).json()["order"]
    other = (await _buy(api, world, product.id, "animator")).json()["order"]
    member = api(world.a.tokens["member"])
    assert (await member.post(f"{base(world)}/orders/{other['id']}/cancel")).status_code == 404
    assert (await member.post(f"{base(world)}/orders/{own['id']}/cancel")).status_code == 200
    paid = (await _buy(api, world, product.id)).json()["order"]
    assert (await manager.post(f"{base(world)}/orders/{paid['id']}/mark-paid")).status_code == 200
    r = await manager.post(f"{base(world)}/orders/{paid['id']}/cancel")
    assert r.status_code == 409 and r.json()["error"]["code"] == "order_not_open"
    assert [b.left for b in await _units(world, world.a.member)] == [10]


async def test_who_sees_which_orders(api, world):
    product = await create_pass(world.a.space)
    mine = (await _buy(api, world, product.id)).json()["order"]
    theirs = (await _buy(api, world, product.id, "animator")).json()["order"]
    member = api(world.a.tokens["member"])
    assert [o["id"] for o in (await member.get(f"{base(world)}/orders")).json()] == [mine["id"]]
    assert (await member.get(f"{base(world)}/orders/{theirs['id']}")).status_code == 404
    assert (await member.get(f"{base(world)}/orders/{mine['id']}")).json()["lines"][0]["item"] == "pass"
    # the treasurer (billing.view) and the manager see everyone's, and filter by status
    from app.core.permissions import Role
    from tests.fixtures.factories import add_member, create_account

    treasurer = await create_account("Trésorière")
    await add_member(world.a.space, treasurer, Role.accountant)
    t = api(await api_token(treasurer))
    assert {o["id"] for o in (await t.get(f"{base(world)}/orders")).json()} == {mine["id"], theirs["id"]}
    assert (await t.post(f"{base(world)}/orders/{mine['id']}/mark-paid")).status_code == 403
    manager = api(world.a.tokens["manager"])
    await manager.post(f"{base(world)}/orders/{mine['id']}/mark-paid")
    assert [o["id"] for o in (await manager.get(f"{base(world)}/orders?status=open")).json()] == [theirs["id"]]
    # another space's staff see nothing of it
    assert (await api(world.b.tokens["owner"]).get(f"/api/v1/spaces/{world.b.slug}/orders/{mine['id']}")
            ).status_code == 404


@pytest.mark.parametrize("n", [10])
async def test_concurrent_mark_paid_marks_once_and_opens_one_bucket(live_server, world, n):
    product = await create_pass(world.a.space, units=10)
    import httpx

    async with httpx.AsyncClient(base_url=live_server) as c:
        r = await c.post(f"{base(world)}/orders/pass", json={"pass_product_id": product.id},
                         headers=bearer(world.a.tokens["member"]))
        order_id = r.json()["order"]["id"]
    tokens = [world.a.tokens["manager"], world.a.tokens["owner"]]
    await warm(live_server, tokens)
    responses = await fire(live_server, [("POST", f"{base(world)}/orders/{order_id}/mark-paid", None,
                                          bearer(tokens[i % 2])) for i in range(n)])
    assert codes(responses) == {200: 1, 409: n - 1}, [r.text for r in responses if r.status_code not in (200, 409)]
    assert all(r.json()["error"]["code"] == "order_not_open" for r in responses if r.status_code == 409)
    assert [b.left for b in await _units(world, world.a.member)] == [10]
