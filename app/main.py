"""create_app(): middleware, lifespan, routers and error handlers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.config import ROOT, get_settings
from app.core import db, jobs
from app.core.errors import FabriqueError, NotAuthenticated, NotFound, SpaceSuspended
from app.core.i18n import N_, gettext
from app.core.middleware import LocaleAndSecurityMiddleware
from app.core.text import TOO_LONG_MESSAGE

log = logging.getLogger("fabrique")

API_PREFIXES = ("/api/", "/healthz", "/readyz", "/openapi.json")


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(API_PREFIXES) or "application/json" in request.headers.get("accept", "") and \
        "text/html" not in request.headers.get("accept", "")


def _json_error(exc: FabriqueError) -> JSONResponse:
    return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=exc.headers or None)


def _allowed_methods(request: Request) -> str:
    """The methods every route of this path answers (RFC 9110 requires Allow on a 405).

    Starlette's own header names only the first route matched, while a path often has a GET and a
    POST handled by two functions.
    """
    # Each method is tried through the routes' own matching (FastAPI nests included routers).
    methods = {
        method for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL
               for route in request.app.router.routes)
    }
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


def _page_error(request: Request, exc: FabriqueError) -> Response:
    from app.core.web import render

    if isinstance(exc, NotAuthenticated):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    template = "errors/suspended.html" if isinstance(exc, SpaceSuspended) else "errors/error.html"
    response = render(request, template, {"error": exc, "status": exc.status_code}, status_code=exc.status_code)
    response.headers.update(exc.headers)
    return response


_VALIDATION_MESSAGES = {
    "missing": N_("This field is required."),
    "string_too_short": N_("This value is too short."),
    "string_too_long": N_("This value is too long."),
    "value_error": N_("This value is not valid."),
    "string_pattern_mismatch": N_("This value is not in the expected format."),
    "extra_forbidden": N_("This field is not expected."),
    "int_parsing": N_("A whole number is expected."),
    "datetime_parsing": N_("A date and time is expected (ISO 8601)."),
    "datetime_from_date_parsing": N_("A date and time is expected (ISO 8601)."),
    "enum": N_("This value is not one of the allowed choices."),
    "single_line": N_("Line breaks and control characters are not allowed here."),
    "bool_type": N_("true or false is expected."),
}


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or "body"


# character_not_in_repertoire, untranslatable_character: what PostgreSQL answers to a NUL in text.
_TEXT_REFUSED = frozenset({"22021", "22P05"})


def create_app() -> FastAPI:
    settings = get_settings()
    from app.core import logsafety

    logsafety.install()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db.init_engine(settings)
        queue: Any
        if settings.redis_url:
            from workers.queue import connect

            queue = await connect(settings.redis_url)
            jobs.set_queue(queue)
        else:
            from workers.inline import default_queue

            queue = default_queue()
            jobs.set_queue(queue)
            queue.start_cron()
        app.state.queue = queue
        # Jobs committed but never handed over (a crash, Redis away) go now, then periodically.
        relay = await jobs.start_relay()
        try:
            yield
        finally:
            await jobs.stop_relay(relay)
            if settings.redis_url:
                await queue.aclose()
            else:
                await queue.close()
            jobs.set_queue(None)
            await db.dispose_engine()

    app = FastAPI(
        title="Fabrique",
        version="0.1.0",
        description="Operations platform for coworking spaces and tiers-lieux. "
        "Authenticate with a personal access token or the OAuth2 password flow (Authorize button).",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.add_middleware(LocaleAndSecurityMiddleware)

    @app.exception_handler(FabriqueError)
    async def fabrique_error(request: Request, exc: FabriqueError) -> Response:
        return _json_error(exc) if _wants_json(request) else _page_error(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        fields: dict[str, str] = {}
        for err in exc.errors():
            name = _field_name(tuple(err.get("loc", ())))
            msgid = _VALIDATION_MESSAGES.get(err.get("type", ""), None)
            limit = (err.get("ctx") or {}).get("max_length")
            if err.get("type") == "string_too_long" and limit is not None:
                # The limit stated, as the pages state it (app.core.text.check_length).
                fields.setdefault(name, gettext(TOO_LONG_MESSAGE) % {"max": limit})
            fields.setdefault(name, gettext(msgid) if msgid else err.get("msg", ""))
        body = {"error": {"code": "validation_error", "message": gettext("Some fields are not valid."),
                          "fields": fields}}
        if _wants_json(request):
            return JSONResponse(body, status_code=422)
        return _page_error(request, NotFound()) if any(
            e.get("loc", ("",))[0] == "path" for e in exc.errors()
        ) else _page_error(request, FabriqueError(N_("This request is not valid."), code="validation_error"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            err: FabriqueError = NotFound()
        elif exc.status_code == 405:
            err = FabriqueError(N_("This method is not allowed here."), code="method_not_allowed",
                                headers={"Allow": _allowed_methods(request)})
            err.status_code = 405  # type: ignore[misc]
        else:
            err = FabriqueError(str(exc.detail), code="http_error")
            err.status_code = exc.status_code  # type: ignore[misc]
        return _json_error(err) if _wants_json(request) else _page_error(request, err)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> Response:
        if getattr(exc.orig, "sqlstate", None) in _TEXT_REFUSED:
            # PostgreSQL refuses NUL in text (SQLite stores it): a bad input, not our failure. The
            # transaction edge has rolled everything back already.
            err = FabriqueError(N_("Text must not contain control characters such as NUL."), code="invalid_text")
            err.status_code = 422  # type: ignore[misc]
            return _json_error(err) if _wants_json(request) else _page_error(request, err)
        return await unhandled(request, exc)

    @app.exception_handler(Exception)
    async def unhandled(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        err = FabriqueError(N_("Something went wrong on our side. The team has been told."), code="internal_error")
        err.status_code = 500  # type: ignore[misc]
        return _json_error(err) if _wants_json(request) else _page_error(request, err)

    from app.core.health import router as health_router

    app.include_router(health_router)
    from app import models as _models  # noqa: F401  (every table, before any query)

    for router in _routers():
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(ROOT / "frontend" / "static")), name="static")
    return app


def _routers() -> list:
    from app.core.discovery import domain_modules

    apis = [m.router for m in domain_modules("api")]
    pages = [m.router for m in domain_modules("pages")]
    return apis + pages
