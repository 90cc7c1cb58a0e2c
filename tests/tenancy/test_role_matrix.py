"""The role matrix: every route × every kind of caller → the status the role table says.

Generated from ``ROLE_PERMISSIONS`` (app/core/permissions.py) and the route list, like the
cross-tenant matrix: a new route joins by itself. What a route requires is read from its
dependencies — ``space_access(Perm.x)`` (all of them, for a route that resolves an object with one
permission and acts with another), ``current_account`` (an account, with a token that is not
limited to one space) or ``superuser`` (platform operators). A route that declares none of them
fails here unless it is on the PUBLIC list below, with the reason it needs no one.

Expected, for a route of a space (A):
- a role whose permissions include what the route requires: neither 401 nor 403 (nor 404 on a GET
  whose path names no object: a member reaches only their own bookings and registrations, and an
  empty form names no resource), never a 5xx;
- a role without it: 403 (or 404 on a path naming an object that the caller may not even see);
- a member of another space (B): 404, as if the space did not exist;
- an API token limited to space A, held by A's owner: as the owner on A's routes; 403 on account
  and platform routes (such a token must not mint unlimited tokens);
- anonymous: 401 on the API, a redirect to the login page on pages.
Requests carry empty bodies (and the CSRF token on forms), so an allowed caller's request is
refused by validation and changes nothing; the few that need no body act on throwaway objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.routing import APIRoute

from app.core.permissions import ROLE_PERMISSIONS, Perm, Role
from tests.fixtures.factories import add_member, api_token, create_account, unique_email
from tests.tenancy.registry import FACTORIES
from tests.tenancy.test_cross_tenant import PARAM, _call, _fill, all_routes

# Routes open to anyone: each says why. A route missing from here and declaring nothing fails.
PUBLIC: dict[str, str] = {
    "/": "the home page: the visitor's spaces when logged in, the welcome page otherwise",
    "/healthz": "liveness probe",
    "/readyz": "readiness probe",
    "/login": "logging in",
    "/logout": "logging out (ends whatever session the cookie names)",
    "/signup": "creating an account",
    "/lang": "choosing the language (a cookie)",
    "/forgot-password": "asking for a reset link",
    "/reset-password/{token}": "the signed reset link is the capability",
    "/verify-email/{token}": "the signed verification link is the capability",
    "/invitations/{token}": "the invitation token is the capability (accepting needs an account)",
    "/feeds/{token}.ics": "the feed secret is the capability",
    "/r/{token}": "a visitor's event registration: the signed link is the capability",
    "/r/{token}/confirm": "a visitor's event registration: the signed link is the capability",
    "/r/{token}/cancel": "a visitor's event registration: the signed link is the capability",
    "/p/{slug}/events": "a space's public event list",
    "/p/{slug}/events/{event_id:int}": "a public event's page",
    "/p/{slug}/events/{event_id:int}/event.ics": "a public event's calendar file",
    "/p/{slug}/events/{event_id:int}/register": "a visitor registering for a public event",
    "/s/{slug}/join": "a visitor asking to join a space (app.membership.join): no account yet",
    "/api/v1/spaces/{slug}/join-requests": "a visitor asking to join (POST); the staff's list (GET) declares its own",
    "/api/v1/accounts": "creating an account",
    "/api/v1/auth/token": "OAuth2 password flow: trading a password for a token",
    "/api/v1/auth/password-reset": "asking for a reset link",
    "/api/v1/auth/password-reset/confirm": "the signed reset token is the capability",
    "/api/v1/auth/verify-email": "the signed verification token is the capability",
}

PRINCIPALS = ("anonymous", "other_space", "space_token", *[r.value for r in Role])
# Tokens are the API's credential: pages are tried with session cookies only.
PAGE_PRINCIPALS = tuple(p for p in PRINCIPALS if p != "space_token")


@dataclass(frozen=True)
class Requirement:
    kind: str                      # "space", "account", "superuser" or "public"
    perms: frozenset[Perm] = frozenset()


def _dependency_calls(dependant) -> list:
    calls = []
    for dep in dependant.dependencies:
        calls.append(dep.call)
        calls.extend(_dependency_calls(dep))
    return calls


def declared(route: APIRoute) -> Requirement | None:
    calls = _dependency_calls(route.dependant)
    perms = frozenset(c.permission for c in calls if isinstance(getattr(c, "permission", None), Perm))
    names = {getattr(c, "__name__", "") for c in calls}
    if perms:
        return Requirement("space", perms)
    if "superuser" in names:
        return Requirement("superuser")
    if "current_account" in names:
        return Requirement("account")
    return None


def routes_with_requirements(app) -> list[tuple[str, str, bool, Requirement | None]]:
    by_path: dict[tuple[str, str], APIRoute] = {}

    def walk(routes):
        for route in routes:
            if isinstance(route, APIRoute):
                for method in route.methods:
                    by_path[(method, route.path)] = route
            elif hasattr(route, "original_router"):
                walk(route.original_router.routes)

    walk(app.routes)
    out = []
    for method, path, is_api in all_routes(app):
        requirement = declared(by_path[(method, path)])
        if requirement is None and path in PUBLIC:
            requirement = Requirement("public")
        out.append((method, path, is_api, requirement))
    return out


def expected(requirement: Requirement, principal: str, is_api: bool, names_object: bool) -> set[int] | str:
    """A set of acceptable statuses, or "allowed" (any status but a refusal)."""
    if requirement.kind == "public":
        return "allowed"
    if principal == "anonymous":
        return {401} if is_api else {303}
    if requirement.kind == "superuser":
        return {403}
    if requirement.kind == "account":
        return {403} if principal == "space_token" else "allowed"
    if principal == "other_space":
        return {404}
    role = Role.owner if principal == "space_token" else Role(principal)
    if requirement.perms <= ROLE_PERMISSIONS[role]:
        return "allowed"
    return {403, 404} if names_object else {403}


def acceptable(status: int, want: set[int] | str, names_object: bool) -> bool:
    if status >= 500:
        return False
    if want == "allowed":
        refused = {401, 403} if names_object else {401, 403, 404}
        return status not in refused
    return status in want


def test_every_route_declares_who_may_call_it(app):
    undeclared = [f"{m} {p}" for m, p, _api, req in routes_with_requirements(app) if req is None]
    assert not undeclared, (
        "routes with no space_access(Perm.x), current_account or superuser dependency, and not on the "
        "PUBLIC list of tests/tenancy/test_role_matrix.py:\n" + "\n".join(undeclared)
    )


def test_the_public_list_names_only_routes_that_exist(app):
    paths = {p for _m, p, _a, _r in routes_with_requirements(app)}
    assert not set(PUBLIC) - paths, sorted(set(PUBLIC) - paths)


def test_the_matrix_covers_money_and_every_role():
    assert {Perm.billing_view, Perm.billing_manage} <= ROLE_PERMISSIONS[Role.manager]
    assert {Perm.billing_view, Perm.billing_manage} <= ROLE_PERMISSIONS[Role.owner]
    assert Perm.billing_view in ROLE_PERMISSIONS[Role.accountant]
    assert set(ROLE_PERMISSIONS) == set(Role)


async def _principals(world, api, web, *, pages: bool) -> dict:
    """A client (and its CSRF token, for pages) per principal, all aimed at space A."""
    a = world.a
    accountant = await create_account("A Accountant", unique_email("a-accountant"))
    a.accounts["accountant"] = accountant
    a.members["accountant"] = await add_member(a.space, accountant, Role.accountant)
    a.tokens["accountant"] = await api_token(accountant)
    out = {}
    if pages:
        for principal in PAGE_PRINCIPALS:
            account = {"anonymous": None, "other_space": world.b.owner}.get(principal, a.accounts.get(principal))
            browser = await web(account)
            out[principal] = (browser.client, await browser.csrf())
    else:
        for principal in PRINCIPALS:
            if principal == "anonymous":
                token = None
            elif principal == "other_space":
                token = world.b.tokens["owner"]
            elif principal == "space_token":
                token = await api_token(a.owner, a.space)
            else:
                token = a.tokens[principal]
            out[principal] = (api(token), None)
    return out


def _order(routes):
    # Routes that end sessions or delete accounts go last, so the other cells keep their callers.
    last = ("/logout", "/account/delete", "/api/v1/account/delete")
    return sorted(routes, key=lambda r: (r[1] in last, r[1], r[0]))


async def _run_matrix(app, world, api, web, *, pages: bool) -> list[str]:
    routes = [r for r in routes_with_requirements(app) if r[2] != pages and r[3] is not None]
    principals = await _principals(world, api, web, pages=pages)
    # A throwaway member for the routes that remove or change one: the callers stay members.
    throwaway = await create_account("Throwaway", unique_email("a-throwaway"))
    # Capability tokens (an invitation, a reset link) are unknown ones: the route's own tests use real ones.
    cache: dict = {"member_id": (await add_member(world.a.space, throwaway)).id, "token": "unknown-token"}
    for _method, path, _is_api, _req in routes:  # every object made before any route acts on one
        await _fill(path, world, world.a.slug, cache)
    failures = []
    for method, path, is_api, requirement in _order(routes):
        names_object = bool(set(PARAM.findall(path)) - {"slug"})
        url = await _fill(path, world, world.a.slug, cache)
        for principal, (client, csrf) in principals.items():
            want = expected(requirement, principal, is_api, names_object)
            try:
                r = await _call(client, method, url, is_api, csrf)
            except Exception as exc:  # the test client re-raises what the app did not handle: a 500
                failures.append(f"{method} {path} as {principal}: raised {exc!r}")
                continue
            # An allowed write whose empty form names no resource may answer 404 for that resource.
            if not acceptable(r.status_code, want, names_object or method != "GET"):
                failures.append(f"{method} {path} as {principal}: {r.status_code}, expected "
                                f"{'not a refusal' if want == 'allowed' else sorted(want)}")
    return failures


assert set(FACTORIES)  # the cross-tenant registry (and the domains' factories) are loaded


async def test_every_api_route_answers_each_role_as_the_permission_table_says(app, world, api, web):
    failures = await _run_matrix(app, world, api, web, pages=False)
    assert not failures, "\n".join(failures)


async def test_every_page_answers_each_role_as_the_permission_table_says(app, world, api, web):
    failures = await _run_matrix(app, world, api, web, pages=True)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", list(Role))
def test_every_role_has_a_translated_label(role):
    from app.core.i18n import use_locale
    from app.core.permissions import role_label, role_plural

    with use_locale("fr"):
        assert role_label(role) != role.value
        assert role_plural(role) != role.value


async def test_the_space_home_links_each_role_only_to_pages_it_may_open(world, web):
    """Derived from the same table: whatever the home page and its menu offer a role opens for it."""
    import re

    a = world.a
    accountant = await create_account("A Accountant", unique_email("a-accountant"))
    await add_member(a.space, accountant, Role.accountant)
    people = {**{r: a.accounts[r] for r in ("owner", "manager", "animator", "member")}, "accountant": accountant}
    failures = []
    for role, account in people.items():
        browser = await web(account)
        home = await browser.get(f"/s/{a.slug}")
        assert home.status_code == 200, role
        links = set(re.findall(r'href="(/s/' + re.escape(a.slug) + r'[^"#?]*)', home.text))
        assert links, role
        for link in sorted(links):
            status = (await browser.get(link)).status_code
            if status != 200:
                failures.append(f"{role}: {link} → {status}")
    assert not failures, "\n".join(failures)
