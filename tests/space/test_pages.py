"""The server-rendered journey of the foundation, through forms like a browser sends them."""

from __future__ import annotations

import re

from sqlmodel import func, select

from app.core import db
from app.space.models import Space
from tests.fixtures.factories import PASSWORD, create_account
from tests.fixtures.harness import link_in


async def test_home_page_explains_fabrique_in_french_by_default(web):
    r = await (await web()).get("/")
    assert r.status_code == 200
    assert 'lang="fr"' in r.text
    assert "Fabrique" in r.text


async def test_sign_up_then_the_mailed_link_logs_in_create_a_space_and_land_on_its_home(web, outbox):
    b = await web()
    r = await b.post("/signup", {"name": "Camille", "email": "camille@example.org", "password": PASSWORD})
    assert r.status_code == 200 and "fabrique_session" not in r.headers.get("set-cookie", "")
    assert "camille@example.org" in r.text
    link = link_in((await outbox())[-1], "/verify-email/")
    r = await b.get(link)
    assert r.status_code == 303 and r.headers["location"] == "/spaces/new"
    r = await b.post("/spaces/new", {"name": "La Grange Numérique", "timezone": "Europe/Paris", "locale": "fr"})
    assert r.status_code == 303
    assert r.headers["location"] == "/s/la-grange-numerique"
    home = await b.get("/s/la-grange-numerique")
    assert home.status_code == 200
    assert "La Grange Numérique" in home.text


async def test_the_verification_link_logs_in_only_once(web, outbox):
    b = await web()
    await b.post("/signup", {"name": "Camille", "email": "camille@example.org", "password": PASSWORD})
    link = link_in((await outbox())[-1], "/verify-email/")
    assert (await b.get(link)).headers["location"] == "/spaces/new"
    other = await web()
    r = await other.get(link)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert (await other.get("/account")).status_code in (303, 401)


async def test_sign_up_page_is_the_same_whether_the_address_has_an_account_or_not(web, outbox):
    await create_account(email="dup@example.org")
    pages = []
    for email in ("dup@example.org", "new@example.org"):
        b = await web()
        r = await b.post("/signup", {"name": "Dominique", "email": email, "password": PASSWORD})
        assert r.status_code == 200 and "fabrique_session" not in r.headers.get("set-cookie", "")
        assert PASSWORD not in r.text  # a password is never echoed back
        pages.append(re.sub(r'value="[^"]*"', "", r.text.replace(email, "@")))
    assert pages[0] == pages[1]
    assert sorted(m["To"] for m in await outbox()) == ["dup@example.org", "new@example.org"]


async def test_sign_up_form_errors_are_shown_beside_the_field_and_keep_what_was_typed(web):
    b = await web()
    r = await b.post("/signup", {"name": "Dominique", "email": "not-an-address", "password": PASSWORD})
    assert r.status_code == 422
    assert 'id="e-email"' in r.text and 'aria-invalid="true"' in r.text
    assert 'value="Dominique"' in r.text and 'value="not-an-address"' in r.text
    assert PASSWORD not in r.text  # a password is never echoed back


async def test_space_form_with_a_reserved_slug_keeps_the_typed_values_and_creates_nothing(web):
    b = await web(await create_account())
    r = await b.post("/spaces/new", {"name": "Mon Espace", "slug": "static", "timezone": "Europe/Paris"})
    assert r.status_code == 422
    assert 'id="e-slug"' in r.text and 'value="Mon Espace"' in r.text
    async with db.transaction() as session:
        assert (await session.exec(select(func.count()).select_from(Space))).one() == 0


async def test_a_post_without_csrf_token_is_refused_with_a_clear_message(web):
    b = await web(await create_account())
    r = await b.post("/spaces/new", {"name": "Sans jeton"}, csrf=False)
    assert r.status_code == 403
    assert "Reload the page" in r.text or "Rechargez" in r.text


async def test_a_post_with_a_forged_csrf_token_is_refused(web):
    b = await web(await create_account())
    await b.csrf()
    r = await b.client.post("/spaces/new", data={"name": "Forged", "csrf_token": "forged.token"})
    assert r.status_code == 403


async def test_login_with_a_wrong_password_shows_the_message_and_keeps_the_email(web):
    await create_account(email="who@example.org")
    b = await web()
    r = await b.login("who@example.org", "not-the-password")
    assert r.status_code == 401
    assert 'value="who@example.org"' in r.text
    assert "not-the-password" not in r.text


async def test_login_lands_on_the_only_space_of_the_person(web, world):
    b = await web()
    r = await b.login(world.a.member.email, PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == f"/s/{world.a.slug}"
    cookie = r.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookie if c.startswith("fabrique_session="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie.replace("Lax", "lax")


async def test_next_parameter_cannot_send_people_to_another_site(web, world):
    b = await web()
    r = await b.post("/login", {"email": world.a.member.email, "password": PASSWORD, "next": "//evil.example/x"})
    assert r.status_code == 303 and r.headers["location"] == "/"


async def test_language_switch_is_remembered(web, world):
    b = await web(world.a.member)
    r = await b.post("/lang", {"locale": "en", "next": f"/s/{world.a.slug}"})
    assert r.status_code == 303
    page = await b.get(f"/s/{world.a.slug}")
    assert 'lang="en"' in page.text
    # remembered on the account too: another browser of the same person gets English
    other = await web(world.a.member)
    assert 'lang="en"' in (await other.get(f"/s/{world.a.slug}")).text


async def test_manager_invites_from_the_people_page_and_the_invitee_signs_up_and_joins(web, world, outbox):
    manager = await web(world.a.manager)
    r = await manager.post(f"/s/{world.a.slug}/members/invite", {"email": "joiner@example.org", "role": "member"})
    assert r.status_code == 303
    mail = next(m for m in await outbox() if m["To"] == "joiner@example.org")
    path = link_in(mail, "/invitations/")
    guest = await web()
    page = await guest.get(path)
    assert page.status_code == 200 and world.a.space.name in page.text
    r = await guest.post("/signup", {"name": "Joiner", "email": "joiner@example.org", "password": PASSWORD, "next": path})
    assert r.status_code == 200
    r = await guest.get(link_in((await outbox())[-1], "/verify-email/"))
    assert r.headers["location"] == path
    r = await guest.post(f"{path}/accept")
    assert r.status_code == 303 and r.headers["location"] == f"/s/{world.a.slug}"
    people = await manager.get(f"/s/{world.a.slug}/members")
    assert "joiner@example.org" in people.text


async def test_invite_form_with_a_bad_address_shows_the_error_beside_the_field(web, world):
    manager = await web(world.a.manager)
    r = await manager.post(f"/s/{world.a.slug}/members/invite", {"email": "not-an-address", "role": "member"})
    assert r.status_code == 422
    assert 'id="e-email"' in r.text and 'value="not-an-address"' in r.text


async def test_removing_the_last_owner_from_the_page_shows_why(web, world):
    owner = await web(world.a.owner)
    r = await owner.post(f"/s/{world.a.slug}/members/{world.a.members['owner'].id}/remove")
    assert r.status_code == 409
    assert "owner" in r.text.lower() or "propriétaire" in r.text.lower()


async def test_member_does_not_see_management_pages(web, world):
    member = await web(world.a.member)
    assert (await member.get(f"/s/{world.a.slug}/settings")).status_code == 403
    assert (await member.get(f"/s/{world.a.slug}/audit")).status_code == 403
    home = await member.get(f"/s/{world.a.slug}")
    assert f"/s/{world.a.slug}/settings" not in home.text


async def test_manager_sees_the_activity_log(web, world):
    manager = await web(world.a.manager)
    await manager.post(f"/s/{world.a.slug}/settings", {"name": "Renamed", "timezone": "Europe/Paris", "locale": "fr"})
    r = await manager.get(f"/s/{world.a.slug}/audit")
    assert r.status_code == 200
    assert "Paramètres de l’espace modifiés" in r.text and "space.updated" not in r.text  # words, not codes


async def test_the_activity_log_names_only_members_of_the_space(web, world):
    """Actors are named from the entries shown; someone who is not a member (here: a member of another
    space only) is not named."""
    from app.audit.service import log_action

    async with db.transaction(space_id=world.a.space.id) as session:
        for actor in (world.a.member, world.b.owner):
            log_action(session, "space.updated", space_id=world.a.space.id, actor_id=actor.id, obj=world.a.space)
    r = await (await web(world.a.manager)).get(f"/s/{world.a.slug}/audit")
    assert r.status_code == 200
    assert world.a.member.name in r.text and world.b.owner.name not in r.text
    assert "Une personne qui n’est plus dans l’espace" in r.text


async def test_the_activity_log_pages_without_counting_every_entry(web, world):
    from app.audit.service import log_action

    async with db.transaction(space_id=world.a.space.id) as session:
        for _n in range(51):
            log_action(session, "space.updated", space_id=world.a.space.id, actor_id=world.a.owner.id,
                       obj=world.a.space)
    manager = await web(world.a.manager)
    first = await manager.get(f"/s/{world.a.slug}/audit")
    assert 'href="?page=2"' in first.text and 'href="?page=0"' not in first.text
    second = await manager.get(f"/s/{world.a.slug}/audit?page=2")
    assert second.status_code == 200 and 'href="?page=1"' in second.text and 'href="?page=3"' not in second.text


async def test_anonymous_visitor_is_sent_to_login_with_the_page_to_come_back_to(web, world):
    r = await (await web()).get(f"/s/{world.a.slug}/members")
    assert r.status_code == 303
    assert r.headers["location"] == f"/login?next=/s/{world.a.slug}/members"


async def test_unknown_page_is_a_friendly_404(web):
    r = await (await web()).get("/no/such/page")
    assert r.status_code == 404
    assert "<html" in r.text and 'data-testid="error-message"' in r.text


async def test_security_headers_are_set(client):
    r = await client.get("/")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"


async def test_health_and_readiness(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"]["database"] == "ok"


async def test_openapi_declares_the_oauth2_password_flow(client):
    spec = (await client.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    flow = next(iter(schemes.values()))
    assert flow["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
    assert (await client.get("/docs")).status_code == 200
