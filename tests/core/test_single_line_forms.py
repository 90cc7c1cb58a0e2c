"""One rule for single-line fields (``app.core.text``): a page form refuses a line break beside the
field, as the API does, instead of flattening it silently."""

from __future__ import annotations

import html

import pytest
from sqlmodel import select

from app.calendar.models import CalendarSource
from app.core import db
from app.directory.models import Profile
from app.event.models import Event, Registration
from app.space.models import Space
from tests.booking.factories import create_room
from tests.event.factories import create_event

MESSAGE = "Les retours à la ligne et les caractères de contrôle ne sont pas acceptés"


def _refused(r, field: str, typed: str) -> None:
    assert r.status_code == 422, r.text
    assert f'id="e-{field}"' in r.text
    assert MESSAGE in html.unescape(r.text)
    assert html.escape(typed, quote=True) in r.text or typed in html.unescape(r.text)  # what was typed is kept


async def _count(space_id: int, model) -> int:
    async with db.transaction(space_id=space_id, write=False) as session:
        return len((await session.exec(select(model))).all())


@pytest.mark.parametrize("field", ["title", "place"])
async def test_the_event_form_refuses_a_line_break_in_a_one_line_field(world, web, field):
    animator = await web(world.a.animator)
    form = {"title": "Atelier soudure", "description": "Deux\nlignes, c'est permis ici.",
            "starts_at": "2031-05-20T18:00", "ends_at": "2031-05-20T20:00", "place": "Fablab", "capacity": "",
            "visibility": "public", "price_public": "", "price_member": "", "vat_rate": "",
            "registration_deadline": "", "repeat_weeks": "", "action": "publish"}
    form[field] = "Atelier\nBCC: x@example.org"
    _refused(await animator.post(f"/s/{world.a.slug}/events/new", form), field, "Atelier")
    assert await _count(world.a.space.id, Event) == 0


@pytest.mark.parametrize("field", ["display_name", "headline"])
async def test_the_profile_form_refuses_a_line_break_in_a_one_line_field(world, web, field):
    member = await web(world.a.member)
    form = {"display_name": "Paul", "headline": "Woodworker", "bio": "Deux\nlignes", "skills": "",
            "website": "", "links": "", "visible": "on"}
    form[field] = "Paul\r\nMenuisier"
    _refused(await member.post(f"/s/{world.a.slug}/profile", form), field, "Paul")
    assert await _count(world.a.space.id, Profile) == 0


async def test_the_visitor_registration_refuses_a_line_break_in_the_name(world, web):
    event = await create_event(world.a.space, world.a.animator)
    visitor = await web()
    r = await visitor.post(f"/p/{world.a.slug}/events/{event.id}/register",
                           {"name": "Ana\nBcc: x@example.org", "email": "ana@example.org"})
    _refused(r, "name", "Ana")
    assert await _count(world.a.space.id, Registration) == 0


@pytest.mark.parametrize("field", ["legal_name", "town"])
async def test_the_settings_page_refuses_a_line_break_in_the_legal_identity(world, web, field):
    owner = await web(world.a.owner)
    form = {"name": "Atelier", "timezone": "Europe/Paris", "locale": "fr", "legal_form": "company",
            "legal_name": "Fabrique SAS", "address": "1 rue de la Paix", "postcode": "75002", "town": "Paris"}
    form[field] = "Fabrique\nSAS"
    _refused(await owner.post(f"/s/{world.a.slug}/settings", form), field, "Fabrique")
    async with db.transaction(write=False) as session:
        assert (await session.get(Space, world.a.space.id)).name != "Atelier"


async def test_the_calendar_source_form_refuses_a_line_break_in_the_label(world, web):
    room = await create_room(world.a.space)
    manager = await web(world.a.manager)
    r = await manager.post(f"/s/{world.a.slug}/resources/{room.id}/calendar/sources",
                           {"url": "https://calendar.example.org/a.ics", "label": "Google\nagenda"})
    _refused(r, "label", "Google")
    assert await _count(world.a.space.id, CalendarSource) == 0
