"""Visitors register with a name and an e-mail address and confirm by the e-mailed link."""

from __future__ import annotations

from app.core import db
from app.event import registration as registrations
from tests.event.factories import create_event, register
from tests.fixtures.harness import link_in, mail_text


async def _register(visitor, slug, event_id, name="Eve Visitor", email="eve@example.org"):
    return await visitor.post(f"/p/{slug}/events/{event_id}/register", {"name": name, "email": email})


async def test_a_visitor_registers_confirms_by_the_link_and_can_cancel(world, web, outbox):
    event = await create_event(world.a.space, world.a.animator, title="Open repair café", price_public_cents=500,
                               price_member_cents=0)
    visitor = await web()
    r = await _register(visitor, world.a.slug, event.id)
    assert r.status_code == 303
    mails = await outbox()
    assert [m["To"] for m in mails] == ["eve@example.org"]
    assert mails[0]["Subject"] == "Confirm your registration: Open repair café"
    link = link_in(mails[0], "/r/")
    page = await visitor.get(link)
    assert page.status_code == 200 and "Waiting for e-mail confirmation" in page.text
    r = await visitor.post(f"{link}/confirm")
    assert r.status_code == 303
    page = await visitor.get(link)
    assert 'data-testid="my-status">Confirmed' in page.text
    assert "€5.00 to pay on site" in page.text or "5,00" in page.text
    confirmed = (await outbox())[-1]
    assert confirmed["Subject"] == "You are registered: Open repair café"
    assert "to pay on site" in mail_text(confirmed)
    r = await visitor.post(f"{link}/cancel")
    assert r.status_code == 303
    assert 'data-testid="my-status">Cancelled' in (await visitor.get(link)).text


async def test_a_visitor_who_has_not_confirmed_holds_no_seat(world, web, outbox):
    event = await create_event(world.a.space, world.a.animator, capacity=1)
    visitor = await web()
    await _register(visitor, world.a.slug, event.id)
    await register(world.a.space, event, world.a.member)  # takes the only seat
    link = link_in((await outbox())[0], "/r/")
    await visitor.post(f"{link}/confirm")
    assert "Waitlist, number 1" in (await visitor.get(link)).text


async def test_registering_an_address_twice_tells_its_owner_by_mail_without_telling_the_page(world, web, outbox):
    event = await create_event(world.a.space, world.a.animator, title="Conférence")
    visitor = await web()
    await _register(visitor, world.a.slug, event.id)
    await visitor.post(f"{link_in((await outbox())[0], '/r/')}/confirm")
    again = await _register(await web(), world.a.slug, event.id, name="Someone else")
    assert again.status_code == 303  # the same answer as a first registration
    last = (await outbox())[-1]
    assert last["Subject"] == "You are already registered: Conférence"
    async with db.transaction(space_id=world.a.space.id, write=False) as session:
        rows = await registrations.list_registrations(session, event)
    assert [(r.name, r.registration.status) for r in rows] == [("Eve Visitor", "confirmed")]


async def test_an_invalid_address_is_refused_beside_the_field(world, web):
    event = await create_event(world.a.space, world.a.animator)
    r = await _register(await web(), world.a.slug, event.id, email="not-an-address")
    assert r.status_code == 422
    assert 'id="e-email"' in r.text


async def test_a_tampered_link_is_a_404(world, web, outbox):
    event = await create_event(world.a.space, world.a.animator)
    visitor = await web()
    await _register(visitor, world.a.slug, event.id)
    link = link_in((await outbox())[0], "/r/")
    assert (await visitor.get(link[:-3] + "xyz")).status_code == 404
    assert (await visitor.post(f"{link[:-3]}xyz/confirm")).status_code == 404
