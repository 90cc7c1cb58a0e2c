"""The activity log says what happened to plans, passes and credits in words, never as keys."""

from __future__ import annotations

from datetime import date

from app.audit.models import AuditEntry
from app.audit.readable import readable
from app.core import db
from app.core.i18n import use_locale
from tests.booking.factories import freeze
from tests.membership.factories_plans import create_plan, start


async def test_a_subscription_and_a_plan_named_by_id_read_as_sentences(world, web):
    freeze(date(2027, 3, 16))
    plan = await create_plan(world.a.space, name="Résident")
    await start(world.a.space, world.a.member, plan, date(2027, 3, 16))
    page = await (await web(world.a.manager)).get(f"/s/{world.a.slug}/audit", headers={"Accept-Language": "fr"})
    assert page.status_code == 200
    row = next(line for line in page.text.split("<tr>") if "Abonnement commencé" in line)
    assert "Formule\xa0: Résident" in row and "Commence le\xa0: 16 mars 2027" in row and "starts_on" not in page.text
    async with db.transaction(space_id=world.a.space.id) as session:
        entry = AuditEntry(space_id=world.a.space.id, action="join.plan_assigned", object_type="join_request",
                           object_id="1", data={"plan_id": plan.id, "method": "on_site"})
        with use_locale("fr"):
            (sentence,) = await readable(session, [entry], tz="Europe/Paris", currency="EUR", actors={})
            assert sentence.details == [("Formule", "Résident"), ("Payé", "sur place")]
