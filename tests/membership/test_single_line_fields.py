"""A line break typed into a one-line field of a membership form (a plan's, a pass's or a tier's
name, a visitor's name or organisation, a reason) is refused beside that field, with what was typed
kept — never flattened, never a 500, nothing written."""

from __future__ import annotations

from datetime import date

from markupsafe import escape

from app.core.i18n import _, use_locale
from app.core.text import SINGLE_LINE_MESSAGE
from app.membership.models import (
    AdhesionTier,
    CreditBucket,
    JoinRequest,
    PassProduct,
    Plan,
    SubscriptionPause,
)
from tests.booking.factories import freeze
from tests.membership.factories_plans import create_plan, read, start
from tests.membership.orders_factories import create_pass

BROKEN = "Atelier\nbis"


def _refused_beside(r, field: str) -> None:
    assert r.status_code == 422, (field, r.status_code, r.text[:300])
    assert f'id="e-{field}"' in r.text, field
    with use_locale("fr"):
        assert str(escape(_(SINGLE_LINE_MESSAGE))) in r.text
    assert "Atelier\nbis" in r.text  # what was typed, kept as typed


async def test_staff_forms_refuse_a_line_break_beside_the_field(world, web):
    freeze(date(2027, 3, 16))
    slug = world.a.slug
    browser = await web(world.a.accounts["manager"])
    _refused_beside(await browser.post(f"/s/{slug}/plans/new", {"name": BROKEN, "period": "month", "price": "310"}),
                    "name")
    plan = await create_plan(world.a.space)
    _refused_beside(await browser.post(f"/s/{slug}/plans/{plan.id}", {"name": BROKEN, "period": "month",
                                                                       "price": "310"}), "name")
    _refused_beside(await browser.post(f"/s/{slug}/pass-products/new", {
        "name": BROKEN, "units": "10", "valid_months": "6", "price": "120"}), "name")
    _refused_beside(await browser.post(f"/s/{slug}/manage/adhesion-tiers", {
        "name": BROKEN, "price": "20", "kind": "individual"}), "name")
    product = await create_pass(world.a.space)
    _refused_beside(await browser.post(f"/s/{slug}/manage/memberships/sell-pass", {
        "email": world.a.member.email, "pass_product_id": str(product.id), "settle": "free", "reason": BROKEN}),
        "reason")
    sub = await start(world.a.space, world.a.member, plan, date(2027, 3, 1))
    _refused_beside(await browser.post(f"/s/{slug}/subscriptions/{sub.id}/pause", {
        "starts_on": "2027-07-01", "ends_on": "2027-08-01", "reason": BROKEN}), "reason")
    _refused_beside(await browser.post(f"/s/{slug}/subscriptions/{sub.id}/end", {
        "ends_on": "2027-05-01", "reason": BROKEN}), "reason")
    assert [p.name for p in await read(world.a.space, Plan)] == ["Résident"]
    assert [p.name for p in await read(world.a.space, PassProduct)] == [product.name]
    assert await read(world.a.space, AdhesionTier) == []
    assert await read(world.a.space, CreditBucket, CreditBucket.source == "pass") == []
    assert await read(world.a.space, SubscriptionPause) == []
    (plan_row,) = await read(world.a.space, Plan)
    assert plan_row.name == "Résident"


async def test_the_join_form_refuses_a_line_break_in_the_name_or_organisation(world, web):
    visitor = await web()
    for field in ("name", "organisation"):
        form = {"name": "Camille", "email": "camille@example.org", "organisation": "Atelier", field: BROKEN}
        _refused_beside(await visitor.post(f"/s/{world.a.slug}/join", form), field)
    assert await read(world.a.space, JoinRequest) == []
