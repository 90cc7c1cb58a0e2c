"""Plans, pass products and membership settings through the API."""

from __future__ import annotations

import pytest


def url(world, path: str, space: str = "a") -> str:
    return f"/api/v1/spaces/{getattr(world, space).slug}/{path}"


PLAN = {"name": "Résident", "period": "month", "price_cents": 31000, "vat_rate_bp": 2000, "public": True,
        "rollover_periods": 1, "min_commitment_periods": 3,
        "allowances": [{"resource_kinds": ["hot_desk"], "unit": "day", "quantity": 8},
                       {"resource_kinds": ["meeting_room"], "unit": "hour", "quantity": 4, "weekdays_only": True}]}


async def test_a_manager_defines_a_plan_and_members_see_only_public_ones(world, api):
    manager = api(world.a.tokens["manager"])
    r = await manager.post(url(world, "plans"), json=PLAN)
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["allowances"][0] == {"resource_kinds": ["hot_desk"], "unit": "day", "quantity": 8,
                                     "weekdays_only": False}
    private = (await manager.post(url(world, "plans"), json={**PLAN, "name": "Sur mesure", "public": False})).json()
    member = api(world.a.tokens["member"])
    assert [p["id"] for p in (await member.get(url(world, "plans"))).json()] == [plan["id"]]
    r = await member.get(url(world, f"plans/{private['id']}"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "plan_not_available"
    r = await member.get(url(world, "plans/999999"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "plan_not_found"
    assert len((await manager.get(url(world, "plans"))).json()) == 2
    # Another space's plan does not exist here.
    assert (await api(world.b.tokens["manager"]).get(url(world, f"plans/{plan['id']}", "b"))).status_code == 404


async def test_a_plan_is_changed_and_archived_never_deleted(world, api):
    manager = api(world.a.tokens["manager"])
    plan = (await manager.post(url(world, "plans"), json=PLAN)).json()
    r = await manager.patch(url(world, f"plans/{plan['id']}"), json={
        "price_cents": 32000, "allowances": [{"unit": "day", "quantity": None}]})
    assert r.status_code == 200, r.text
    assert r.json()["price_cents"] == 32000 and r.json()["allowances"][0]["quantity"] is None
    assert (await manager.post(url(world, f"plans/{plan['id']}/archive"))).json()["archived"] is True
    assert (await manager.get(url(world, "plans"))).json() == []
    assert len((await manager.get(url(world, "plans?include_archived=true"))).json()) == 1


@pytest.mark.parametrize(("change", "field"), [
    ({"name": ""}, "name"),
    ({"period": "week"}, "period"),
    ({"price_cents": -1}, "price_cents"),
    ({"price_cents": 12.5}, "price_cents"),
    ({"vat_rate_bp": 1900}, "vat_rate_bp"),
    ({"rollover_periods": 13}, "rollover_periods"),
    ({"allowances": [{"unit": "week"}]}, "allowances.0.unit"),
    ({"allowances": [{"unit": "day", "quantity": 0}]}, "allowances.0.quantity"),
])
async def test_bad_plans_are_refused_on_the_field_at_fault(world, api, change, field):
    r = await api(world.a.tokens["manager"]).post(url(world, "plans"), json={**PLAN, **change})
    assert r.status_code == 422, r.text
    assert field in r.json()["error"]["fields"]


async def test_members_and_animators_cannot_define_plans(world, api):
    for role in ("member", "animator"):
        assert (await api(world.a.tokens[role]).post(url(world, "plans"), json=PLAN)).status_code == 403


async def test_pass_products_with_their_rates(world, api):
    manager = api(world.a.tokens["manager"])
    body = {"name": "Carnet 10 demi-journées", "units": 10, "valid_months": 6, "price_cents": 15000,
            "rates": [{"resource_kind": "hot_desk", "unit": "half_day", "units_per": 1},
                      {"resource_kind": "private_office", "unit": "half_day", "units_per": 2}]}
    r = await manager.post(url(world, "pass-products"), json=body)
    assert r.status_code == 201, r.text
    assert [x["units_per"] for x in r.json()["rates"]] == [1, 2]
    dup = {**body, "rates": [body["rates"][0], body["rates"][0]]}
    bad = await manager.post(url(world, "pass-products"), json=dup)
    assert bad.status_code == 422 and "rates.1.resource_kind" in bad.json()["error"]["fields"]
    listed = (await api(world.a.tokens["member"]).get(url(world, "pass-products"))).json()
    assert [p["name"] for p in listed] == ["Carnet 10 demi-journées"]


async def test_membership_settings_are_read_with_defaults_and_saved(world, api):
    manager = api(world.a.tokens["manager"])
    got = (await manager.get(url(world, "membership-settings"))).json()
    assert got["max_pause_days"] == 92 and got["join_policy"] == "request"
    r = await manager.patch(url(world, "membership-settings"), json={"max_pause_days": 60, "join_policy": "open"})
    assert r.status_code == 200 and r.json()["max_pause_days"] == 60
    assert (await manager.get(url(world, "membership-settings"))).json()["join_policy"] == "open"
    bad = await manager.patch(url(world, "membership-settings"), json={"max_pause_days": 400})
    assert bad.status_code == 422
    assert (await api(world.a.tokens["member"]).get(url(world, "membership-settings"))).status_code == 403
