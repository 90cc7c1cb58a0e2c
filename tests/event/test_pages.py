"""The event pages: the animator's form, registering from the event page, attendance from a phone."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from app.core import clock
from tests.event.factories import create_event, register, soon


def _form(**overrides):
    return {"title": "Atelier soudure", "description": "Apportez vos **lunettes**.",
            "starts_at": "2031-05-20T18:00", "ends_at": "2031-05-20T20:00", "place": "Fablab",
            "capacity": "2", "visibility": "public", "price_public": "", "price_member": "", "vat_rate": "",
            "registration_deadline": "", "repeat_weeks": "", "action": "publish"} | overrides


async def test_an_animator_publishes_an_event_from_the_form(world, web):
    animator = await web(world.a.animator)
    assert (await animator.get(f"/s/{world.a.slug}/events/new")).status_code == 200
    r = await animator.post(f"/s/{world.a.slug}/events/new", _form())
    assert r.status_code == 303, r.text
    page = await animator.get(r.headers["location"])
    assert "Atelier soudure" in page.text and "<strong>lunettes</strong>" in page.text
    assert "2 seats left" in page.text


async def test_the_form_keeps_what_was_typed_and_says_what_is_wrong(world, web):
    animator = await web(world.a.animator)
    r = await animator.post(f"/s/{world.a.slug}/events/new", _form(ends_at="2031-05-20T17:00", price_public="abc"))
    assert r.status_code == 422
    assert 'value="Atelier soudure"' in r.text
    assert 'id="e-price_public"' in r.text
    r = await animator.post(f"/s/{world.a.slug}/events/new", _form(ends_at="2031-05-20T17:00"))
    assert r.status_code == 422
    assert "The end must be after the start." in r.text


async def test_a_member_cannot_open_the_new_event_form(world, web):
    member = await web(world.a.member)
    assert (await member.get(f"/s/{world.a.slug}/events/new")).status_code == 403


async def test_a_member_registers_and_cancels_from_the_event_page(world, web):
    event = await create_event(world.a.space, world.a.animator, capacity=1)
    await register(world.a.space, event, world.a.manager)
    member = await web(world.a.member)
    page = await member.get(f"/s/{world.a.slug}/events/{event.id}")
    assert "Join the waitlist" in page.text
    r = await member.post(f"/s/{world.a.slug}/events/{event.id}/register")
    assert r.status_code == 303
    page = await member.get(f"/s/{world.a.slug}/events/{event.id}")
    assert "Waitlist, number 1" in page.text
    r = await member.post(f"/s/{world.a.slug}/events/{event.id}/register")
    assert r.status_code == 409 and "You are already registered for this event." in r.text
    await member.post(f"/s/{world.a.slug}/events/{event.id}/unregister")
    assert "Join the waitlist" in (await member.get(f"/s/{world.a.slug}/events/{event.id}")).text


async def test_an_animator_takes_attendance_and_downloads_the_list(world, web):
    start = soon(days=1)
    event = await create_event(world.a.space, world.a.animator, starts_at=start)
    reg = await register(world.a.space, event, world.a.member)
    clock.freeze(start + timedelta(minutes=5))
    animator = await web(world.a.animator)
    page = await animator.get(f"/s/{world.a.slug}/events/{event.id}/attendance")
    assert page.status_code == 200 and world.a.member.name in page.text
    r = await animator.post(f"/s/{world.a.slug}/events/{event.id}/registrations/{reg.id}/attendance",
                            {"attendance": "present"})
    assert r.status_code == 303
    page = await animator.get(f"/s/{world.a.slug}/events/{event.id}/attendance")
    assert "Undo present" in page.text
    csv = await animator.get(f"/s/{world.a.slug}/events/{event.id}/attendance.csv")
    assert csv.status_code == 200 and "Present" in csv.text  # a label, not the code
    member = await web(world.a.member)
    assert (await member.get(f"/s/{world.a.slug}/events/{event.id}/attendance")).status_code == 403


async def test_a_visitors_formula_looking_name_is_defused_in_the_csv(world, web, outbox):
    from tests.fixtures.harness import link_in

    event = await create_event(world.a.space, world.a.animator)
    visitor = await web()
    await visitor.post(f"/p/{world.a.slug}/events/{event.id}/register",
                       {"name": "=HYPERLINK(\"http://evil\")", "email": "x@example.org"})
    await visitor.post(f"{link_in((await outbox())[0], '/r/')}/confirm")
    csv = await (await web(world.a.animator)).get(f"/s/{world.a.slug}/events/{event.id}/attendance.csv")
    assert "'=HYPERLINK" in csv.text


async def test_a_member_proposes_an_event_from_the_form(world, web):
    member = await web(world.a.member)
    r = await member.post(f"/s/{world.a.slug}/events/propose", _form(title="Soirée jeux"))
    assert r.status_code == 303
    page = await (await web(world.a.animator)).get(f"/s/{world.a.slug}/events/proposals")
    assert "Soirée jeux" in page.text


async def test_the_events_page_is_in_the_space_navigation(world, web):
    page = await (await web(world.a.member)).get(f"/s/{world.a.slug}")
    assert f'href="/s/{world.a.slug}/events"' in page.text
    assert f'href="/s/{world.a.slug}/directory"' in page.text


async def test_an_animator_cancels_a_registration_from_the_attendance_page(world, web, outbox):
    event = await create_event(world.a.space, world.a.animator, capacity=1)
    reg = await register(world.a.space, event, world.a.member)
    await register(world.a.space, event, world.a.manager)  # waiting for the seat
    animator = await web(world.a.animator)
    page = await animator.get(f"/s/{world.a.slug}/events/{event.id}/attendance")
    action = f"/s/{world.a.slug}/events/{event.id}/registrations/{reg.id}/cancel"
    form = re.search(rf'<form method="post" action="{action}"[^>]*>(.*?)</form>', page.text, re.S)
    assert form and 'name="csrf_token"' in form.group(1)  # in the dialog the button opens
    assert f'data-testid="cancel-registration-{reg.id}"' in page.text
    confirm = await animator.get(action)  # without JavaScript, the button leads to a confirmation page
    assert confirm.status_code == 200 and world.a.member.name in confirm.text
    assert f'<form method="post" action="{action}"' in confirm.text
    r = await animator.post(action)
    assert r.status_code == 303
    page = await animator.get(r.headers["location"])
    assert "The registration is cancelled." in page.text
    assert world.a.member.name not in page.text  # gone from the list, and the seat went to the next in line
    assert world.a.manager.name in page.text and "Waitlist" not in page.text
    told = [m["To"] for m in await outbox()]
    assert world.a.member.email in told


def test_the_repeat_weeks_message_is_extracted_for_translation():
    from pathlib import Path

    from babel.messages.extract import extract_from_file

    import app.event.manage_pages as module

    msgids = {message for _line, message, _comments, _context in extract_from_file("python", Path(module.__file__))}
    assert "Between 1 and 52 weeks." in msgids


async def test_attendance_buttons_appear_on_the_event_day_only(world, web):
    start = soon(days=3)
    event = await create_event(world.a.space, world.a.animator, starts_at=start)
    await register(world.a.space, event, world.a.member)
    animator = await web(world.a.animator)
    before = await animator.get(f"/s/{world.a.slug}/events/{event.id}/attendance")
    assert 'data-testid="mark-present"' not in before.text and 'data-testid="attendance-closed"' in before.text
    clock.freeze(start - timedelta(hours=1))  # the day itself, before it starts
    on_the_day = await animator.get(f"/s/{world.a.slug}/events/{event.id}/attendance")
    assert 'data-testid="mark-present"' in on_the_day.text and "attendance-closed" not in on_the_day.text


async def test_french_pages_agree_the_registration_status_and_write_the_first_of_the_month(world, web):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from app.account.models import Account
    from app.core import db

    async with db.transaction() as session:
        account = await session.get(Account, world.a.member.id)
        account.locale = "fr"
        session.add(account)
    clock.freeze(datetime(2031, 12, 20, 10, tzinfo=ZoneInfo("Europe/Paris")))
    event = await create_event(world.a.space, world.a.animator,
                               starts_at=datetime(2032, 1, 1, 18, tzinfo=ZoneInfo("Europe/Paris")))
    await register(world.a.space, event, world.a.member)
    page = await (await web(world.a.member)).get(f"/s/{world.a.slug}/events/{event.id}")
    text = html.unescape(re.sub(r"<[^>]+>", "", page.text))
    assert re.search(r"Votre inscription\u00a0:\s+confirmée", text), text
    assert "1er janvier" in text and "1 janvier" not in text


async def test_the_event_list_shows_the_soonest_a_page_at_a_time(world, web, monkeypatch):
    from app.event import member_pages

    monkeypatch.setattr(member_pages, "EVENTS_PAGE", 2)
    for day, title in ((3, "Premier atelier"), (4, "Deuxième atelier"), (5, "Troisième atelier")):
        await create_event(world.a.space, world.a.animator, starts_at=soon(days=day), title=title)
    member = await web(world.a.member)
    first = await member.get(f"/s/{world.a.slug}/events")
    assert "Premier atelier" in first.text and "Deuxième atelier" in first.text
    assert "Troisième atelier" not in first.text and 'href="?page=2"' in first.text
    second = await member.get(f"/s/{world.a.slug}/events?page=2")
    assert "Troisième atelier" in second.text and "Premier atelier" not in second.text
    assert 'href="?page=3"' not in second.text and 'href="?page=1"' in second.text
