"""``/s/{slug}``: the public page a visitor sees, and the member's home kept for members."""

from __future__ import annotations

from app.core import db
from app.core.permissions import Role
from app.core.web import templates
from app.event.models import Visibility
from app.resource import service as resources
from app.space import service as spaces
from app.space.models import Space
from tests.event.factories import create_event
from tests.fixtures.factories import add_member, create_account, create_space

ALL_BLOCKS = {"presentation", "address", "hours", "resources", "prices", "events", "join"}


async def _publish(space: Space, owner, *, blocks=frozenset(ALL_BLOCKS), text="**Bienvenue** à la Grange") -> None:
    async with db.transaction(space_id=space.id) as session:
        s = await session.get(Space, space.id)
        await spaces.set_public_page(session, s, owner, published=True, blocks=blocks, text=text)


async def _space_with_things():
    owner = await create_account("Camille Owner")
    space = await create_space(owner, name="La Grange", address="2 rue du Four", postcode="23000", town="Guéret")
    member = await create_account("Dominique Secret")
    await add_member(space, member)
    async with db.transaction(space_id=space.id) as session:
        await resources.create_resource(session, space, owner, name="Grande table", kind="hot_desk", capacity=6,
                                        unit="day", price_public_cents=1500, price_member_cents=900)
        await resources.create_resource(session, space, owner, name="Réserve du staff", kind="equipment",
                                        allowed_roles="manager,owner", price_public_cents=100)
    await create_event(space, owner, title="Atelier soudure", visibility=Visibility.public)
    await create_event(space, owner, title="Repas des membres", visibility=Visibility.members)
    return owner, space, member


async def test_a_visitor_sees_what_the_space_publishes_and_nothing_private(web):
    owner, space, member = await _space_with_things()
    await _publish(space, owner)
    r = await (await web()).get(f"/s/{space.slug}")
    assert r.status_code == 200
    page = r.text
    assert 'data-testid="public-page"' in page
    assert "<strong>Bienvenue</strong>" in page
    assert "openstreetmap.org/search?query=2+rue+du+Four" in page
    assert "Grande table" in page, page[page.find("public-page"):]
    assert "6\u00a0places" in page or "6 places" in page
    assert templates.env.filters["money"](1500, "EUR") in page  # the public price, in the space's locale
    assert templates.env.filters["money"](900, "EUR") not in page  # never the member price
    assert "Réserve du staff" not in page  # reserved to staff
    assert "Atelier soudure" in page and "Repas des membres" not in page
    assert f'href="/s/{space.slug}/join"' in page
    assert "Dominique Secret" not in page and "Camille Owner" not in page
    assert "Lundi" in page or "Monday" in page


async def test_only_the_chosen_blocks_are_shown(web):
    owner, space, _member = await _space_with_things()
    await _publish(space, owner, blocks={"resources"})
    page = (await (await web()).get(f"/s/{space.slug}")).text
    assert "Grande table" in page
    assert "Bienvenue" not in page and "openstreetmap" not in page and "Atelier soudure" not in page
    assert 'data-testid="public-price"' not in page  # prices are a block of their own
    assert "/join" not in page


async def test_an_unpublished_space_sends_visitors_to_log_in_and_strangers_to_a_404(web):
    owner, space, _member = await _space_with_things()
    r = await (await web()).get(f"/s/{space.slug}")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    stranger = await create_account()
    assert (await (await web(stranger)).get(f"/s/{space.slug}")).status_code == 404


async def test_members_keep_their_home_and_a_logged_in_stranger_sees_the_public_page(web):
    owner, space, member = await _space_with_things()
    await _publish(space, owner)
    home = await (await web(member)).get(f"/s/{space.slug}")
    assert home.status_code == 200 and 'data-testid="public-page"' not in home.text
    stranger = await create_account()
    r = await (await web(stranger)).get(f"/s/{space.slug}")
    assert r.status_code == 200 and 'data-testid="public-page"' in r.text


async def test_a_closed_space_says_so_instead_of_offering_to_join(web):
    from app.membership.models import JoinPolicy, MembershipSettings

    owner, space, _member = await _space_with_things()
    await _publish(space, owner)
    async with db.transaction(space_id=space.id) as session:
        session.add(MembershipSettings(join_policy=JoinPolicy.closed))
    page = (await (await web()).get(f"/s/{space.slug}")).text
    assert f"/s/{space.slug}/join" not in page
    assert 'data-testid="public-join"' in page


async def test_the_manager_publishes_from_the_settings_and_previews_first(web):
    owner, space, _member = await _space_with_things()
    b = await web(owner)
    preview = await b.get(f"/s/{space.slug}?view=public")
    assert preview.status_code == 200 and 'data-testid="public-preview-note"' in preview.text
    form = {"name": "La Grange", "timezone": "Europe/Paris", "locale": "fr", "default_vat_rate": "20",
            "prices_include_vat": "included", "public_page": "on", "block_presentation": "on", "block_hours": "on",
            "public_text": "Un *tiers-lieu* rural"}
    r = await b.post(f"/s/{space.slug}/settings", form)
    assert r.status_code == 303, r.text
    page = (await (await web()).get(f"/s/{space.slug}")).text
    assert "<em>tiers-lieu</em>" in page and 'data-testid="public-hours"' in page
    assert "Grande table" not in page


async def test_a_presentation_over_the_limit_says_the_limit_and_changes_nothing(web):
    owner, space, _member = await _space_with_things()
    b = await web(owner)
    form = {"name": "", "timezone": "Europe/Paris", "public_page": "on", "public_text": "x" * 5001}
    r = await b.post(f"/s/{space.slug}/settings", form)
    assert r.status_code == 422
    # Both errors at once, each beside its field.
    assert 'id="e-name"' in r.text and 'id="e-public_text"' in r.text
    assert "5000" in r.text.replace("\u202f", "").replace("\xa0", "")
    async with db.transaction(space_id=space.id) as session:
        assert (await session.get(Space, space.id)).public_page is False


async def test_the_home_page_lists_only_spaces_that_publish_a_page(web):
    owner, space, _member = await _space_with_things()
    hidden = await create_space(owner, name="Espace discret")
    await _publish(space, owner)
    page = (await (await web()).get("/")).text
    assert f'href="/s/{space.slug}"' in page
    assert f'href="/s/{hidden.slug}"' not in page


async def test_another_spaces_events_never_show(web):
    owner, space, _member = await _space_with_things()
    other_owner = await create_account()
    other = await create_space(other_owner)
    await create_event(other, other_owner, title="Fête de l'autre", visibility=Visibility.public)
    await _publish(space, owner)
    page = (await (await web()).get(f"/s/{space.slug}")).text
    assert "Fête de l'autre" not in page


async def test_roles_of_the_space_all_keep_the_member_home(web):
    owner, space, _member = await _space_with_things()
    await _publish(space, owner)
    for role in (Role.manager, Role.animator):
        person = await create_account()
        await add_member(space, person, role)
        r = await (await web(person)).get(f"/s/{space.slug}")
        assert r.status_code == 200 and 'data-testid="public-page"' not in r.text


async def test_the_api_publishes_the_page_and_refuses_an_unknown_block(world, api, web):
    owner = api(world.a.tokens["owner"])
    r = await owner.patch(f"/api/v1/spaces/{world.a.slug}", json={
        "public_page": True, "public_blocks": ["presentation", "events"], "public_text": "Bonjour *à tous*"})
    assert r.status_code == 200, r.text
    assert r.json()["public_page"] is True and r.json()["public_blocks"] == ["presentation", "events"]
    page = (await (await web()).get(f"/s/{world.a.slug}")).text
    assert "<em>à tous</em>" in page
    r = await owner.patch(f"/api/v1/spaces/{world.a.slug}", json={"public_blocks": ["members"]})
    assert r.status_code == 422 and "public_blocks.0" in r.json()["error"]["fields"]
    r = await owner.patch(f"/api/v1/spaces/{world.a.slug}", json={"public_text": "x" * 5001})
    assert r.status_code == 422 and "5000" in r.json()["error"]["fields"]["public_text"]
    r = await api(world.a.tokens["member"]).patch(f"/api/v1/spaces/{world.a.slug}", json={"public_page": False})
    assert r.status_code == 403
