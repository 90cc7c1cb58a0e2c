"""How the cross-tenant matrix gets an object of space A for each path parameter.

A new route with a new path parameter fails the matrix until its factory is registered here:
``@object_factory("resource_id")`` on an ``async def f(world) -> id`` creating the object in
``world.a``, in a ``tests/<domain>/tenancy_factories.py`` module (found by convention). Routes whose parameter is a secret capability (an invitation token, a feed secret)
or that are platform-wide are listed in EXEMPT with the reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from app.core import db
from app.space import service as spaces

Factory = Callable[[Any], Awaitable[Any]]
FACTORIES: dict[str, Factory] = {}

EXEMPT: dict[str, str] = {
    "/api/v1/invitations/{token}/accept": "the token is the capability: whoever holds it may accept",
    "/invitations/{token}": "the token is the capability",
    "/invitations/{token}/accept": "the token is the capability",
    "/reset-password/{token}": "signed link, not a tenant object",
    "/verify-email/{token}": "signed link, not a tenant object",
    "/feeds/{token}.ics": "the feed secret is the capability; revoked and unknown tokens are 404 (tests/calendar)",
    "/api/v1/platform/spaces/{slug}/suspend": "platform operator route: 403 for everyone else (tested apart)",
    "/api/v1/platform/spaces/{slug}/reactivate": "platform operator route",
    "/platform/spaces/{slug}/suspend": "platform operator route",
    "/platform/spaces/{slug}/reactivate": "platform operator route",
}


def object_factory(param: str) -> Callable[[Factory], Factory]:
    def decorator(fn: Factory) -> Factory:
        FACTORIES[param] = fn
        return fn

    return decorator


@object_factory("member_id")
async def _member(world) -> int:
    return world.a.members["member"].id


@object_factory("invitation_id")
async def _invitation(world) -> int:
    async with db.transaction(space_id=world.a.space.id) as session:
        invitation, _raw = await spaces.invite(
            session, world.a.space, world.a.owner, "owner", email="someone@example.org", role="member"
        )
    return invitation.id


@object_factory("token_id")
async def _token(world) -> int:
    from app.account import service as accounts

    async with db.transaction() as session:
        token, _raw = await accounts.create_api_token(session, world.a.owner, name="a's token")
    return token.id


def load_domain_factories() -> None:
    import importlib
    from pathlib import Path

    tests_dir = Path(__file__).resolve().parents[1]
    for path in sorted(tests_dir.glob("*/tenancy_factories.py")):
        importlib.import_module(f"tests.{path.parent.name}.tenancy_factories")


load_domain_factories()
