"""The pages: "My membership" (buy a pass, renew the adhésion), an order marked paid on site, the
managers' overview with its filters, adhésion tiers and requests to join."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.core import clock, db
from app.core.money import format_money
from app.membership import ledger
from app.membership.models import Adhesion, BucketSource, CreditBucket
from app.pricing.models import Charge
from tests.fixtures.factories import add_member, create_account
from tests.membership.orders_factories import create_pass, create_tier


async def test_member_buys_a_carnet_and_sees_its_units_once_the_manager_marks_it_paid(web, world):
    product = await create_pass(world.a.space, units=10, price_cents=9000, name="Carnet 10 demi-journées")
    member = await web(world.a.member)
    page = await member.get(f"/s/{world.a.slug}/membership")
    assert page.status_code == 200 and "Carnet 10 demi-journées" in page.text
    r = await member.post(f"/s/{world.a.slug}/membership/pass", {"pass_product_id": str(product.id)})
    assert r.status_code == 303
    page = await member.get(f"/s/{world.a.slug}/membership")
    assert 'data-testid="credit-left"' not in page.text and format_money(9000, "EUR", "fr") in page.text
    order_url = page.text.split(f'href="/s/{world.a.slug}/orders/')[1].split('"')[0]
    manager = await web(world.a.manager)
    detail = await manager.get(f"/s/{world.a.slug}/orders/{order_url}")
    assert detail.status_code == 200 and 'data-testid="mark-paid"' in detail.text
    assert 'data-testid="mark-paid"' not in (await member.get(f"/s/{world.a.slug}/orders/{order_url}")).text
    assert (await manager.post(f"/s/{world.a.slug}/orders/{order_url}/mark-paid")).status_code == 303
    twice = await manager.post(f"/s/{world.a.slug}/orders/{order_url}/mark-paid")
    assert twice.status_code == 409 and 'data-testid="form-error"' in twice.text
    page = await member.get(f"/s/{world.a.slug}/membership")
    assert '<td class="num" data-testid="credit-left">10</td>' in page.text
    bad = await member.post(f"/s/{world.a.slug}/membership/pass", {"pass_product_id": "abc"})
    assert bad.status_code == 422


async def test_member_renews_the_adhesion_from_the_page(web, world):
    tier = await create_tier(world.a.space, name="Solidaire", kind="reduced", price_cents=500)
    member = await web(world.a.member)
    assert (await member.post(f"/s/{world.a.slug}/membership/adhesion", {"tier_id": str(tier.id)})).status_code == 303
    page = await member.get(f"/s/{world.a.slug}/membership")
    assert "Solidaire" in page.text and 'data-testid="adhesion-current"' not in page.text
    again = await member.post(f"/s/{world.a.slug}/membership/adhesion", {"tier_id": str(tier.id)})
    assert again.status_code == 409
    async with db.transaction(space_id=world.a.space.id) as session:
        from sqlmodel import select

        assert len((await session.exec(select(Adhesion))).all()) == 1  # nothing partial written


async def _seed_overview(world):
    """The member: a pass ending this month and an allowance used up with a booking priced since;
    the animator: an adhésion that lapsed; the manager: nothing."""
    now = clock.now()
    tier = await create_tier(world.a.space, kind="free", price_cents=0)
    async with db.transaction(space_id=world.a.space.id) as session:
        await ledger.open_bucket(session, account_id=world.a.member.id, source=BucketSource.pass_, label="Pass",
                                 quantity=4, valid_from=now - timedelta(days=20), valid_until=now + timedelta(hours=2))
        allowance = await ledger.open_bucket(
            session, account_id=world.a.member.id, source=BucketSource.allowance, label="8 jours", quantity=1,
            valid_from=now - timedelta(days=3), valid_until=now + timedelta(days=20), unit="day")
        ledger.add_entry(session, allowance, "debit", -1)
        session.add(Charge(space_id=world.a.space.id, account_id=world.a.member.id, source_type="booking", source_id=1,
                           item="booking", label="Bureau", quantity=1, unit="day", unit_price_cents=2000,
                           prices_include_vat=True, vat_rate_bp=2000, price_kind="member", currency="EUR",
                           amount_excl_cents=1667, vat_cents=333, amount_incl_cents=2000, created_at=now))
        session.add(Adhesion(space_id=world.a.space.id, account_id=world.a.animator.id, tier_id=tier.id,
                             starts_on=(now - timedelta(days=500)).date(), ends_on=(now - timedelta(days=135)).date()))


async def test_the_overview_shows_everyone_at_a_glance_and_filters(api, web, world):
    clock.freeze(datetime(2027, 5, 10, 10, tzinfo=UTC))
    await _seed_overview(world)
    manager = api(world.a.tokens["manager"])
    base = f"/api/v1/spaces/{world.a.slug}/memberships"
    everyone = (await manager.get(base)).json()
    assert everyone["total"] == 4
    row = next(r for r in everyone["rows"] if r["account_id"] == world.a.member.id)
    assert (row["pass_left"], row["allowance_left"]) == (4, 0)

    def names(body):
        return sorted(r["account_id"] for r in body["rows"])

    assert names((await manager.get(f"{base}?filter=expiring")).json()) == [world.a.member.id]
    assert names((await manager.get(f"{base}?filter=over")).json()) == [world.a.member.id]
    assert names((await manager.get(f"{base}?filter=lapsed")).json()) == [world.a.animator.id]
    assert names((await manager.get(f"{base}?filter=lapsed&filter=over")).json()) == []
    assert (await manager.get(f"{base}?filter=nonsense")).status_code == 422
    assert (await api(world.a.tokens["member"]).get(base)).status_code == 403
    page = await (await web(world.a.manager)).get(f"/s/{world.a.slug}/manage/memberships?filter=over")
    assert page.status_code == 200 and page.text.count('data-testid="overview-row"') == 1
    assert world.a.member.name in page.text


async def test_the_overview_pages_through_many_people_with_a_fixed_number_of_queries(api, world):
    from sqlalchemy import event

    for i in range(60):
        await add_member(world.a.space, await create_account(f"Personne {i:02d}"))
    manager = api(world.a.tokens["manager"])
    statements: list[str] = []

    def count(*args, **kwargs):
        statements.append(args[2])

    engine = db.get_engine().sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        first = (await manager.get(f"/api/v1/spaces/{world.a.slug}/memberships")).json()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert first["total"] == 64 and first["pages"] == 2 and len(first["rows"]) == 50
    assert len(statements) < 15  # the same for 50 rows as for 5: no query per person
    second = (await manager.get(f"/api/v1/spaces/{world.a.slug}/memberships?page=2")).json()
    assert len(second["rows"]) == 14


async def test_tiers_and_join_requests_pages(web, world, client):
    manager = await web(world.a.manager)
    page = await manager.get(f"/s/{world.a.slug}/manage/adhesion-tiers")
    assert page.status_code == 200
    r = await manager.post(f"/s/{world.a.slug}/manage/adhesion-tiers", {"name": "", "kind": "individual",
                                                                         "price": "abc"})
    assert r.status_code == 422 and 'aria-invalid="true"' in r.text
    r = await manager.post(f"/s/{world.a.slug}/manage/adhesion-tiers", {"name": "Structure", "kind": "organisation",
                                                                         "price": "50,00", "public": "1"})
    assert r.status_code == 303
    page = await manager.get(f"/s/{world.a.slug}/manage/adhesion-tiers")
    assert "Structure" in page.text and format_money(5000, "EUR", "fr") in page.text
    member = await web(world.a.member)
    assert (await member.get(f"/s/{world.a.slug}/manage/adhesion-tiers")).status_code == 403

    await client.post(f"/api/v1/spaces/{world.a.slug}/join-requests", json={"name": "Noa", "email": "noa@example.org"})
    page = await manager.get(f"/s/{world.a.slug}/manage/join-requests")
    assert page.text.count('data-testid="join-request"') == 1
    req_id = page.text.split("/manage/join-requests/")[1].split("/")[0]
    r = await manager.post(f"/s/{world.a.slug}/manage/join-requests/{req_id}/decline", {"message": "Complet"})
    assert r.status_code == 303
    page = await manager.get(f"/s/{world.a.slug}/manage/join-requests")
    assert 'data-testid="join-request"' not in page.text and "noa@example.org" in page.text


async def test_orders_page_for_the_treasurer(web, world, api):
    from app.core.permissions import Role

    product = await create_pass(world.a.space, price_cents=3000)
    await api(world.a.tokens["member"]).post(f"/api/v1/spaces/{world.a.slug}/orders/pass",
                                             json={"pass_product_id": product.id})
    treasurer = await create_account("Trésorière")
    await add_member(world.a.space, treasurer, Role.accountant)
    page = await (await web(treasurer)).get(f"/s/{world.a.slug}/manage/orders")
    assert page.status_code == 200 and page.text.count('data-testid="order-row"') == 1
    assert (await (await web(world.a.member)).get(f"/s/{world.a.slug}/manage/orders")).status_code == 403
    async with db.transaction(space_id=world.a.space.id) as session:
        from sqlmodel import select

        assert (await session.exec(select(CreditBucket))).first() is None


async def test_staff_sell_or_grant_a_pass_and_record_the_adhesion_for_a_member(web, world):
    from app.membership import adhesion as adhesions

    product = await create_pass(world.a.space, units=5, public=False, name="Pass privé")
    tier = await create_tier(world.a.space, price_cents=1000)
    manager = await web(world.a.manager)
    page = await manager.get(f"/s/{world.a.slug}/manage/memberships/sell")
    assert page.status_code == 200 and "Pass privé" in page.text
    url = f"/s/{world.a.slug}/manage/memberships"
    r = await manager.post(f"{url}/sell-pass", {"email": world.a.outsider.email, "pass_product_id": str(product.id),
                                                "settle": "paid"})
    assert r.status_code == 422 and world.a.outsider.email in r.text  # not a member: kept in the form
    r = await manager.post(f"{url}/sell-pass", {"email": world.a.member.email, "pass_product_id": str(product.id),
                                                "settle": "free", "reason": ""})
    assert r.status_code == 422 and 'aria-invalid="true"' in r.text
    r = await manager.post(f"{url}/sell-pass", {"email": world.a.member.email, "pass_product_id": str(product.id),
                                                "settle": "paid"})
    assert r.status_code == 303
    r = await manager.post(f"{url}/sell-pass", {"email": world.a.member.email, "pass_product_id": str(product.id),
                                                "settle": "free", "reason": "Aide au ménage"})
    assert r.status_code == 303
    async with db.transaction(space_id=world.a.space.id) as session:
        assert [b.left for b in await ledger.balances(session, world.a.member.id)] == [5, 5]
    r = await manager.post(f"{url}/adhesion", {"email": world.a.member.email, "tier_id": str(tier.id), "paid": "1"})
    assert r.status_code == 303
    async with db.transaction(space_id=world.a.space.id) as session:
        assert await adhesions.is_current(session, world.a.member.id, adhesions.local_today(world.a.space))
    assert (await (await web(world.a.member)).get(f"{url}/sell")).status_code == 403
