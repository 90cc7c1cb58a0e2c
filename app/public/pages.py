"""``/s/{slug}``: the space's home for its members, its public page for everyone else.

One address to give out. A member (any role) gets the member area's home, as before; a visitor
(anonymous, or logged in without belonging to the space) gets the public page if the manager has
published it — and otherwise what they got before: the login page, or a 404 for a logged-in
stranger (as if the space did not exist). Staff preview the public page, published or not, with
``?view=public``.

The public page shows only the blocks the manager chose (``Space.public_blocks``), and nothing a
visitor should not read: no member, no booking, no member price, no resource reserved to staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Annotated
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import Response

from app.account.deps import OptionalAccount
from app.booking import hours
from app.core import clock
from app.core.errors import NotAuthenticated, NotFound
from app.core.i18n import _l
from app.core.markdown import render_markdown
from app.core.permissions import Perm, Role
from app.core.web import SessionDep, page_router, render
from app.event import service as events
from app.event.public_pages import public_space
from app.membership.models import JoinPolicy
from app.membership.settings import settings_of
from app.resource.models import Resource
from app.resource.service import list_resources
from app.space import service as spaces
from app.space.deps import SpaceContext, space_access
from app.space.models import PUBLIC_BLOCKS, Space
from app.space.pages import member_home

router = page_router()

WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"),
            _l("Sunday"))
PER_UNIT = {"hour": _l("%(price)s per hour"), "half_day": _l("%(price)s per half-day"), "day": _l("%(price)s per day")}
EVENTS_SHOWN = 5
CLOSURES_SHOWN = 10

_member_access = space_access(Perm.space_view)


@dataclass
class SpaceHome:
    space: Space
    member: SpaceContext | None  # None: a visitor


async def space_home_access(request: Request, session: SessionDep, slug: str) -> SpaceHome:
    """A member's context, or the space as a visitor sees it when it publishes a public page."""
    try:
        ctx = await _member_access(request, session, slug)
    except (NotAuthenticated, NotFound):
        space = await public_space(request, session, slug)
        if not space.public_page:
            raise
        return SpaceHome(space=space, member=None)
    return SpaceHome(space=ctx.space, member=ctx)


# Members get the space's home (space_view); the role matrix reads this like space_access's own.
space_home_access.permission = Perm.space_view  # type: ignore[attr-defined]
SpaceHomeDep = Annotated[SpaceHome, Depends(space_home_access)]


@router.get("/s/{slug}")
async def space_home(request: Request, home: SpaceHomeDep, session: SessionDep, account: OptionalAccount) -> Response:
    ctx = home.member
    preview = ctx is not None and request.query_params.get("view") == "public"
    if ctx is not None and not (preview and ctx.can(Perm.space_manage)) and not (preview and home.space.public_page):
        return await member_home(request, ctx, session)
    if account is not None and ctx is None:
        request.state.my_spaces = await spaces.spaces_of(session, account.id)
    elif ctx is not None:
        request.state.my_spaces = await spaces.spaces_of(session, ctx.account.id)
    return render(request, "public/space.html", await public_context(session, home.space, preview=preview))


def _visible(resource: Resource) -> bool:
    """A resource a visitor may hear of: not one reserved to staff roles."""
    roles = resource.role_list
    return not roles or Role.member.value in roles


def price_label(space: Space, resource: Resource) -> str:
    from app.core.money import format_money

    if resource.price_public_cents <= 0:
        return str(_l("Free"))
    return str(PER_UNIT.get(resource.unit, PER_UNIT["hour"])) % {
        "price": format_money(resource.price_public_cents, space.currency)}


def map_link(space: Space) -> str | None:
    parts = [p for p in (space.address, space.postcode, space.town) if p]
    if not parts:
        return None
    return "https://www.openstreetmap.org/search?query=" + quote_plus(", ".join(parts))


def _hours_rows(weekly: dict[int, tuple[tuple[time, time], ...]]) -> list[tuple[str, list[tuple[time, time]]]]:
    return [(str(WEEKDAYS[d]), list(weekly.get(d, ()))) for d in range(7)]


async def public_context(session: SessionDep, space: Space, *, preview: bool = False) -> dict[str, object]:
    """What the public page shows: only the chosen blocks are read from the database."""
    if space.public_page:
        blocks = space.public_block_set
    else:  # a manager's preview of a page not published yet
        blocks = frozenset(b for b in space.public_blocks.split(",") if b in PUBLIC_BLOCKS)
    today: date = clock.now().astimezone(ZoneInfo(space.timezone)).date()
    out: dict[str, object] = {"space": space, "blocks": blocks, "preview": preview, "map_link": map_link(space),
                              "price_label": lambda r: price_label(space, r)}
    if "presentation" in blocks:
        out["presentation_html"] = render_markdown(space.public_text)
    if "hours" in blocks:
        out["hours"] = _hours_rows(await hours.weekly_hours(session))
        out["closures"] = (await hours.list_closures(session, since=today))[:CLOSURES_SHOWN]
    if "resources" in blocks:
        out["resources"] = [r for r in await list_resources(session) if _visible(r)]
    if "events" in blocks:
        out["events"] = await events.list_events(session, member=False, staff=False, limit=EVENTS_SHOWN)
    if "join" in blocks:
        out["join_policy"] = (await settings_of(session)).join_policy
        out["JoinPolicy"] = JoinPolicy
    return out
