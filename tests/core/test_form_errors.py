"""Forms report every error at once, once, beside its field; limits are stated, the same for the
pages and the API, and text is never cut silently."""

from __future__ import annotations

import re

from app.core.errors import FieldErrors, ValidationFailed
from app.core.i18n import use_locale
from app.core.text import check_length
from tests.event.factories import soon


def _field_errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'<small id="e-([\w.]+)" class="field-error">([^<]*)</small>', html))


def _banner(html: str) -> str:
    m = re.search(r'data-testid="form-error">([^<]*)</div>', html)
    return m.group(1) if m else ""


def test_field_errors_keep_each_fields_own_limit():
    errors = FieldErrors()
    errors.check(check_length, "x" * 121, "name", 120)
    errors.check(check_length, "y" * 2001, "description", 2000)
    try:
        errors.raise_if_any()
    except ValidationFailed as exc:
        with use_locale("en"):
                assert exc.translated_fields() == {"name": "120 characters at most.",
                                               "description": "2000 characters at most."}
    else:
        raise AssertionError("no error raised")


async def test_sign_up_shows_every_error_at_once_and_the_banner_does_not_repeat_them(web):
    b = await web()
    r = await b.post("/signup", {"name": "", "email": "not-an-address", "password": "short"})
    assert r.status_code == 422
    errors = _field_errors(r.text)
    assert set(errors) == {"name", "email", "password"}, errors
    banner = _banner(r.text)
    assert banner and all(message not in banner for message in errors.values())


async def test_sign_up_refuses_a_3000_character_name_and_says_the_limit(web):
    from tests.fixtures.factories import PASSWORD

    r = await (await web()).post("/signup", {"name": "N" * 3000, "email": "long@example.org", "password": PASSWORD})
    assert r.status_code == 422
    assert _field_errors(r.text)["name"] == "120 caractères au maximum."


async def test_a_resource_name_over_the_limit_is_refused_with_the_limit_on_the_page_and_the_api(world, web, api):
    manager = await web(world.a.manager)
    r = await manager.post(f"/s/{world.a.slug}/resources/new", {
        "name": "R" * 121, "kind": "meeting_room", "unit": "hour", "capacity": "abc", "price_public": "x",
        "price_member": "", "vat_rate": ""})
    assert r.status_code == 422
    errors = _field_errors(r.text)
    assert errors["name"] == "120 caractères au maximum."
    assert {"capacity", "price_public"} <= set(errors)  # every error of the submit at once
    r = await api(world.a.tokens["manager"]).post(f"/api/v1/spaces/{world.a.slug}/resources", json={
        "name": "R" * 121, "kind": "meeting_room", "unit": "hour"}, headers={"Accept-Language": "en"})
    assert r.status_code == 422
    assert "120 characters at most" in r.json()["error"]["fields"]["name"]


async def test_the_profile_states_the_limit_of_the_bio(world, web):
    member = await web(world.a.member)
    r = await member.post(f"/s/{world.a.slug}/profile", {"display_name": "Dominique", "bio": "b" * 4001})
    assert r.status_code == 422
    assert _field_errors(r.text)["bio"] == "4000 caractères au maximum."


async def test_an_event_in_the_past_says_its_start_is_in_the_past(world, web, api):
    animator = await web(world.a.animator)
    r = await animator.post(f"/s/{world.a.slug}/events/new", {
        "title": "Atelier d'hier", "starts_at": "2020-01-10T18:00", "ends_at": "2020-01-10T20:00", "place": "Fablab",
        "visibility": "public", "action": "publish"})
    assert r.status_code == 422
    assert _field_errors(r.text)["starts_at"] == "Le début est déjà passé."
    past = soon(days=-3)
    r = await api(world.a.tokens["animator"]).post(f"/api/v1/spaces/{world.a.slug}/events", json={
        "title": "Hier", "starts_at": past.isoformat(), "ends_at": (past.replace(hour=23)).isoformat(),
        "place": "Fablab"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "event_in_the_past"


async def test_the_event_form_shows_every_error_at_once(world, web):
    animator = await web(world.a.animator)
    r = await animator.post(f"/s/{world.a.slug}/events/new", {
        "title": "", "starts_at": "2031-05-20T18:00", "ends_at": "", "place": "", "price_public": "abc",
        "visibility": "public", "action": "publish"})
    assert r.status_code == 422
    assert {"title", "ends_at", "place", "price_public"} <= set(_field_errors(r.text))
