"""The cross-tenant matrix: every registered API route and page, called by a user of space B
with space A's slug or space A's object ids, answers 404. New routes are covered automatically."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from tests.tenancy.registry import EXEMPT, FACTORIES

PARAM = re.compile(r"{([a-zA-Z_]+)(?::[a-z]+)?}")


def all_routes(app) -> list[tuple[str, str, bool]]:
    """(method, path, is_api) for every route, through FastAPI's included routers."""
    out: list[tuple[str, str, bool]] = []

    def walk(routes, prefix=""):
        for route in routes:
            if isinstance(route, APIRoute):
                for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                    out.append((method, prefix + route.path, route.path.startswith("/api/") or
                                (prefix + route.path).startswith("/api/")))
            elif hasattr(route, "original_router"):
                walk(route.original_router.routes, prefix + (route.include_context.prefix or "")
                     if hasattr(route.include_context, "prefix") else prefix)

    walk(app.routes)
    return sorted(set(out))


def tenant_routes(app) -> list[tuple[str, str, bool]]:
    return [r for r in all_routes(app) if PARAM.search(r[1]) and r[1] not in EXEMPT]


async def _fill(path: str, world, slug: str, cache: dict) -> str:
    async def value(name: str) -> str:
        if name == "slug":
            return slug
        if name not in FACTORIES and name not in cache:
            pytest.fail(f"no object factory for path parameter {name!r} (route {path}): "
                        "register one in tests/tenancy/registry.py")
        if name not in cache:
            cache[name] = await FACTORIES[name](world)
        return str(cache[name])

    result = path
    for name in PARAM.findall(path):
        result = re.sub(r"{" + name + r"(?::[a-z]+)?}", await value(name), result)
    return result


async def _call(client, method: str, url: str, is_api: bool, csrf: str | None):
    if is_api:
        return await client.request(method, url, json={} if method in ("POST", "PUT", "PATCH") else None)
    data = {"csrf_token": csrf} if method != "GET" else None
    return await client.request(method, url, data=data)


def test_the_matrix_sees_the_routes_of_every_domain(app):
    paths = {p for _m, p, _a in tenant_routes(app)}
    assert "/api/v1/spaces/{slug}/members/{member_id}" in paths
    assert "/s/{slug}/members" in paths


async def test_another_spaces_slug_is_a_404_for_every_route(app, world, api, web):
    routes = tenant_routes(app)
    cache: dict = {}
    b_api = api(world.b.tokens["owner"])
    b_web = await web(world.b.owner)
    csrf = await b_web.csrf()
    failures = []
    for method, path, is_api in routes:
        if "{slug}" not in path:
            continue
        url = await _fill(path, world, world.a.slug, cache)
        r = await _call(b_api if is_api else b_web.client, method, url, is_api, csrf)
        if r.status_code != 404:
            failures.append(f"{method} {path} → {r.status_code}")
    assert not failures, "routes that reveal another space:\n" + "\n".join(failures)


async def test_another_spaces_object_ids_are_a_404_within_ones_own_space(app, world, api, web):
    routes = [r for r in tenant_routes(app) if set(PARAM.findall(r[1])) - {"slug"}]
    cache: dict = {}
    b_api = api(world.b.tokens["owner"])
    b_web = await web(world.b.owner)
    csrf = await b_web.csrf()
    failures = []
    for method, path, is_api in routes:
        url = await _fill(path, world, world.b.slug, cache)
        r = await _call(b_api if is_api else b_web.client, method, url, is_api, csrf)
        if r.status_code != 404:
            failures.append(f"{method} {path} → {r.status_code}")
    assert not failures, "routes that reach another space's objects:\n" + "\n".join(failures)


async def test_a_non_member_sees_a_404_even_for_the_space_home(world, web):
    outsider = await web(world.a.outsider)
    r = await outsider.get(f"/s/{world.a.slug}")
    assert r.status_code == 404
    r = await outsider.get(f"/s/{world.a.slug}-does-not-exist")
    assert r.status_code == 404
