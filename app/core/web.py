"""The request edge: one transaction per request, templates, forms, flashes.

``TxRoute`` wraps every endpoint in a transaction: it commits when the response is a success and
rolls back otherwise (a form re-rendered with errors leaves no partial write), then dispatches
the jobs buffered during the request. A page that handled an error and answers with a redirect
(``redirect(..., category="error")``, or any response passed to ``mark_failed``) is a failure
too: what was flushed before the error is rolled back, though the status is a 303. Routers are
built with ``api_router()`` / ``page_router()``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, cast

import jinja2
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import escape
from pydantic import BaseModel, ConfigDict
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import ROOT, get_settings
from app.core import db, i18n, jobs, money
from app.core.errors import FabriqueError, NotFound
from app.core.i18n import N_
from app.core.security import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, csrf_token_valid, new_csrf_token

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FAILED_ATTR = "fabrique_failed"  # set on a response by mark_failed(): TxRoute rolls back
FLASH_COOKIE = "fabrique_flash"
LANG_COOKIE = "fabrique_lang"


class TxRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def transactional(request: Request) -> Response:
            _reject_impossible_ids(request)
            token = db.set_write_intent(request.method not in SAFE_METHODS)
            try:
                async with db.sessionmaker()() as session:
                    request.state.session = session
                    try:
                        response = await handler(request)
                    except BaseException:
                        jobs.discard(session)
                        # Keep loaded objects readable for the error page rendered after us.
                        session.expunge_all()
                        await session.rollback()
                        raise
                    if response.status_code < 400 and not getattr(response, FAILED_ATTR, False):
                        await session.commit()
                        await jobs.dispatch(session)
                    else:
                        jobs.discard(session)
                        await session.rollback()
                    return response
            finally:
                db._write_intent.reset(token)

        return transactional


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None

    model_config = ConfigDict(extra="allow")


class ErrorBody(BaseModel):
    error: ErrorDetail


# Every API route may answer these; documenting them keeps the OpenAPI contract honest.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "Bad request"), (401, "Not authenticated"), (403, "Not allowed for this role"),
        (404, "Not found (or another space's object)"), (409, "Conflict with the current state"),
        (410, "Link or invitation no longer valid"), (422, "Invalid input"), (423, "Space suspended"),
        (429, "Too many attempts"),
    )
}


MAX_ID = 2**31 - 1  # integer primary keys (int4 on PostgreSQL)


def _reject_impossible_ids(request: Request) -> None:
    """An ``..._id`` path parameter no row can have is a 404, before any query could overflow."""
    for name, value in request.path_params.items():
        if not name.endswith("_id"):
            continue
        if isinstance(value, int):  # a route written {event_id:int} has converted it already
            number = value
        elif isinstance(value, str) and value.lstrip("-").isdecimal():
            number = int(value)
        else:
            continue
        if not 0 < number <= MAX_ID:
            raise NotFound()


def api_router(**kwargs: Any) -> APIRouter:
    responses = {**ERROR_RESPONSES, **kwargs.pop("responses", {})}
    return APIRouter(route_class=TxRoute, responses=responses, **kwargs)


async def get_session(request: Request) -> AsyncSession:
    # Set by TxRoute around every endpoint; Starlette's ``request.state`` is untyped.
    return cast(AsyncSession, request.state.session)


SessionDep = Annotated[AsyncSession, Depends(get_session)]


# -- templates ----------------------------------------------------------------------------------

def _raw_gettext(message: str) -> str:
    return i18n.translations(i18n.get_locale()).gettext(message)


def _raw_ngettext(singular: str, plural: str, n: int) -> str:
    return i18n.translations(i18n.get_locale()).ngettext(singular, plural, n)


def _raw_pgettext(context: str, message: str) -> str:
    return str(i18n.translations(i18n.get_locale()).pgettext(context, message))


def _raw_npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return str(i18n.translations(i18n.get_locale()).npgettext(context, singular, plural, n))


templates = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(ROOT / "frontend" / "templates")),
    extensions=["jinja2.ext.i18n"],
    autoescape=jinja2.select_autoescape(["html", "xml"]),
))
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    _raw_gettext, _raw_ngettext, newstyle=True, pgettext=_raw_pgettext, npgettext=_raw_npgettext)
templates.env.globals.update(
    get_locale=i18n.get_locale,
    LOCALES=i18n.LOCALES,
    locale_name=i18n.locale_display_name,
)
templates.env.filters.update(
    money=lambda cents, currency="EUR": money.format_money(cents, currency),
    amount=money.amount_input,
    vat_rate=money.format_rate,
    number=i18n.format_number,
    dt=lambda value, tz, fmt="medium": i18n.format_dt(value, tz, fmt) if value else "",
    day=lambda value, tz=None, fmt="full": i18n.format_day(value, tz, fmt) if value else "",
    hour=lambda value, tz: i18n.format_hour(value, tz) if value else "",
    clock_time=i18n.format_clock,
)


# Domains add their pages to the space navigation with register_space_nav(); the menu shows
# only what the caller's role permits. ``group="manage"`` puts an item in the staff's "Manage"
# disclosure, so that the menu fits a laptop's width without scrolling sideways.
_SPACE_NAV: list[tuple[int, str | None, Any, str, str]] = []


def register_space_nav(order: int, perm: str | None, label: Any, suffix: str, *, group: str = "main") -> None:
    _SPACE_NAV.append((order, perm, label, suffix, group))
    _SPACE_NAV.sort(key=lambda item: item[0])


def _is_under(path: str, url: str) -> bool:
    """Whether ``path`` is ``url`` or below it, segment by segment (``/bookings`` is not under ``/book``)."""
    return path == url or path.startswith(url.rstrip("/") + "/")


def space_nav_items(ctx: Any, here: str | None = None) -> list[dict[str, Any]]:
    """The menu items the caller may open; with ``here`` (the request's path), the one item that
    contains it — the deepest match — is ``current``."""
    items: list[dict[str, Any]] = [
        {"url": f"/s/{ctx.space.slug}/{suffix}", "label": str(label), "group": group, "current": False}
        for _order, perm, label, suffix, group in _SPACE_NAV
        if perm is None or ctx.can(perm)
    ]
    if here is not None:
        matches = [item for item in items if _is_under(here, item["url"])]
        if matches:
            max(matches, key=lambda item: len(item["url"]))["current"] = True
    return items


templates.env.globals["space_nav_items"] = space_nav_items


def _install_domain_helpers() -> None:
    from app.core.permissions import role_label, role_plural

    templates.env.globals.update(role_label=role_label, role_plural=role_plural)
    templates.env.filters.update(
        # "Prix :" in French (no-break space before the colon), "Price:" in English.
        colon=lambda label: f"{label}\u00a0:" if i18n.get_locale() == "fr" else f"{label}:",
        pair=lambda value: (value, value),
        role_option=lambda value: (value, role_label(value)),
    )


_install_domain_helpers()


def csrf_token(request: Request) -> str:
    token = getattr(request.state, "csrf_token", None)
    if token is None:
        existing = request.cookies.get(CSRF_COOKIE)
        token = existing if existing and csrf_token_valid(existing, existing) else new_csrf_token()
        request.state.csrf_token = token
    return token


def _flash_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().resolved_secret_key(), salt="flash")


def flash(response: Response, message: str, category: str = "success") -> None:
    response.set_cookie(
        FLASH_COOKIE, _flash_serializer().dumps([category, message]), httponly=True, samesite="lax",
        secure=get_settings().secure_cookies, max_age=60,
    )


def _pop_flash(request: Request) -> tuple[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        category, message = _flash_serializer().loads(raw)
    except (BadSignature, ValueError):
        return None
    request.state.flash_consumed = True
    return category, message


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    error: FabriqueError | None = None,
    form: Any = None,
) -> HTMLResponse:
    ctx: dict[str, Any] = {
        "request": request,
        "csrf_token": csrf_token(request),
        "csrf_field": CSRF_FIELD,
        "flash": _pop_flash(request),
        "account": getattr(request.state, "account", None),
        "space_ctx": getattr(request.state, "space_ctx", None),
        "my_spaces": getattr(request.state, "my_spaces", []),
        "errors": {},
        "form": {},
        "error_message": None,
    }
    if form is not None:
        ctx["form"] = dict(form)
    fields: dict[str, str] = {}
    if error is not None:
        ctx["errors"] = fields = error.translated_fields()
        # Field errors are shown beside their fields: the banner only says how many to correct,
        # never the same message a second time.
        ctx["error_message"] = _fields_summary(len(fields)) if fields else error.translated_message()
        status_code = error.status_code if status_code == 200 else status_code
    ctx.update(context or {})
    response = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    if fields:
        # A field this page does not show (an API-only name, a hidden input): its message goes
        # in the banner rather than nowhere.
        body = bytes(response.body).decode()
        unshown = list(dict.fromkeys(m for m in fields.values() if str(escape(m)) not in body))
        if unshown:
            ctx["error_message"] = " ".join([*([] if len(unshown) == len(fields) else [ctx["error_message"]]),
                                             *unshown])
            response = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    finish_page_response(request, response)
    return response


def _fields_summary(count: int) -> str:
    return i18n.translations(i18n.get_locale()).ngettext(
        "Correct the field marked below.", "Correct the %(num)d fields marked below.", count) % {"num": count}


def finish_page_response(request: Request, response: Response) -> None:
    settings = get_settings()
    token = getattr(request.state, "csrf_token", None)
    if token and request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="lax", secure=settings.secure_cookies)
    if getattr(request.state, "flash_consumed", False):
        response.delete_cookie(FLASH_COOKIE)


def mark_failed(response: Response) -> Response:
    """Mark a response that reports a handled error: its request's transaction is rolled back."""
    setattr(response, FAILED_ATTR, True)
    return response


def redirect(url: str, *, message: str | None = None, category: str = "success") -> RedirectResponse:
    """A 303 to ``url`` with a flash. ``category="error"`` says the request failed: nothing it
    wrote before the error is kept."""
    response = RedirectResponse(url, status_code=303)
    if message:
        flash(response, message, category)
    if category == "error":
        mark_failed(response)
    return response


class CsrfFailed(FabriqueError):
    status_code = 403
    code = "csrf_failed"
    message = N_("This form has expired or was not sent from Fabrique. Reload the page and try again.")


async def csrf_protect(request: Request) -> None:
    """Every unsafe page request must echo the signed CSRF cookie, in the form or a header."""
    if request.method in SAFE_METHODS:
        return
    cookie = request.cookies.get(CSRF_COOKIE)
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            submitted = value if isinstance(value, str) else None
    if not csrf_token_valid(cookie, submitted):
        raise CsrfFailed()


def page_router(**kwargs: Any) -> APIRouter:
    deps = list(kwargs.pop("dependencies", []))
    return APIRouter(
        route_class=TxRoute, include_in_schema=False, default_response_class=HTMLResponse,
        dependencies=[Depends(csrf_protect), *deps], **kwargs,
    )


def form_email(value: str | None, field: str = "email") -> str:
    """The normalised address typed in a form, or a field error the form shows beside it."""
    from email_validator import EmailNotValidError, validate_email

    from app.core.errors import ValidationFailed
    from app.core.i18n import N_

    try:
        return validate_email(value or "", check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationFailed(fields={field: N_("This e-mail address is not valid.")}) from exc


async def form_data(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
