from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from app.account import privacy, service, throttle
from app.account.api import client_ip
from app.account.deps import SESSION_COOKIE, CurrentAccount, OptionalAccount
from app.account.errors import WeakPassword
from app.account.models import Account
from app.account.schemas import MAX_TOKEN_DAYS
from app.config import get_settings
from app.core import i18n, security
from app.core.errors import FabriqueError, FieldErrors, ValidationFailed
from app.core.i18n import N_, _
from app.core.text import column_limit, require_text
from app.core.web import LANG_COOKIE, SessionDep, form_data, form_email, page_router, redirect, render
from app.space import service as spaces

router = page_router()


def safe_next(value: str | None, default: str = "/") -> str:
    """Only same-site relative paths, so ?next= cannot send people to another site."""
    if not value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return default
    return value


def set_session_cookie(response: Response, raw: str) -> None:
    settings = get_settings()
    response.set_cookie(
        SESSION_COOKIE, raw, max_age=settings.session_days * 86400, httponly=True, samesite="lax",
        secure=settings.secure_cookies, path="/",
    )


async def _after_login_target(session, account: Account, next_url: str | None) -> str:
    if next_url:
        return safe_next(next_url)
    choices = await spaces.spaces_of(session, account.id)
    if len(choices) == 1:
        return f"/s/{choices[0].space.slug}"
    return "/"


@router.get("/")
async def home(request: Request, account: OptionalAccount, session: SessionDep) -> Response:
    my = await spaces.spaces_of(session, account.id) if account else []
    request.state.my_spaces = my
    # Only the spaces whose manager published a public page are listed to everyone.
    return render(request, "public/home.html", {"choices": my, "public_spaces": await spaces.public_spaces(session)})


def _require(form: dict[str, str], *names: str) -> None:
    missing = {n: N_("This field is required.") for n in names if not form.get(n, "").strip()}
    if missing:
        raise ValidationFailed(fields=missing)


@router.get("/signup")
async def signup_form(request: Request, account: OptionalAccount) -> Response:
    return render(request, "account/signup.html", {"next": request.query_params.get("next", "")},
                  form={"email": request.query_params.get("email", "")})


@router.post("/signup")
async def signup(request: Request, session: SessionDep) -> Response:
    """The same page whether the address already has an account or not (``service.sign_up``): the
    e-mail tells which, and the link in it logs a new account in."""
    form = await form_data(request)
    next_url = safe_next(form.get("next"), "") or None
    try:
        # Every field checked before anything is written, so that one submit shows every error.
        errors = FieldErrors()
        errors.check(_require, form, "name", "email", "password")
        errors.check(require_text, form.get("name"), "name", max_length=column_limit(Account, "name"))
        email = errors.check(form_email, form.get("email")) if "email" not in errors.fields else None
        weakness = security.password_weakness(form.get("password", ""), email=email or "", name=form.get("name", ""))
        if weakness and "password" not in errors.fields:
            errors.merge(WeakPassword(weakness))
        errors.raise_if_any()
        await service.sign_up(session, name=form["name"], email=email, password=form["password"],
                              locale=i18n.get_locale(), ip=client_ip(request), next_url=next_url)
    except FabriqueError as exc:
        form.pop("password", None)
        return render(request, "account/signup.html", {"next": next_url}, error=exc, form=form)
    form.pop("password", None)
    return render(request, "account/signup.html", {"sent": True, "email": email}, form=form)


@router.get("/login")
async def login_form(request: Request) -> Response:
    return render(request, "account/login.html", {"next": request.query_params.get("next", "")})


@router.post("/login")
async def login(request: Request, session: SessionDep) -> Response:
    form = await form_data(request)
    next_url = form.get("next")
    try:
        _require(form, "email", "password")
        account_id = await service.authenticate(form["email"], form["password"], ip=client_ip(request),
                                                device_cookie=request.cookies.get(throttle.DEVICE_COOKIE))
    except FabriqueError as exc:
        form.pop("password", None)
        return render(request, "account/login.html", {"next": next_url}, error=exc, form=form)
    account = await session.get(Account, account_id)
    raw = await service.start_session(session, account, user_agent=request.headers.get("user-agent"))
    response = redirect(await _after_login_target(session, account, next_url))
    set_session_cookie(response, raw)
    # This browser is now known: the throttle lets it through when others have locked the account.
    response.set_cookie(throttle.DEVICE_COOKIE, throttle.new_device_cookie(account.id),
                        max_age=throttle.DEVICE_DAYS * 86400, httponly=True, samesite="lax",
                        secure=get_settings().secure_cookies, path="/")
    if account.locale:
        response.set_cookie(LANG_COOKIE, account.locale, max_age=365 * 86400, samesite="lax",
                            secure=get_settings().secure_cookies)
    return response


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        await service.end_session(session, raw)
    response = redirect("/", message=_("You are logged out."))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/lang")
async def switch_language(request: Request, account: OptionalAccount, session: SessionDep) -> Response:
    form = await form_data(request)
    locale = i18n.normalize_locale(form.get("locale")) or i18n.DEFAULT_LOCALE
    if account is not None:
        await service.set_locale(session, account, locale)
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    response.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, samesite="lax",
                        secure=get_settings().secure_cookies)
    return response


@router.get("/forgot-password")
async def forgot_form(request: Request) -> Response:
    return render(request, "account/forgot.html")


@router.post("/forgot-password")
async def forgot(request: Request, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        _require(form, "email")
    except FabriqueError as exc:
        return render(request, "account/forgot.html", error=exc, form=form)
    await service.request_password_reset(session, form["email"], ip=client_ip(request))
    return render(request, "account/forgot.html", {"sent": True}, form=form)


@router.get("/reset-password/{token}")
async def reset_form(request: Request, token: str, session: SessionDep) -> Response:
    try:
        await service.account_for_reset(session, token)
    except FabriqueError as exc:
        return render(request, "account/reset.html", {"token": token, "invalid": True}, error=exc,
                      status_code=exc.status_code)
    return render(request, "account/reset.html", {"token": token})


@router.post("/reset-password/{token}")
async def reset(request: Request, token: str, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        _require(form, "password")
        account = await service.reset_password(session, token, form["password"])
    except WeakPassword as exc:
        return render(request, "account/reset.html", {"token": token}, error=exc)
    except FabriqueError as exc:
        return render(request, "account/reset.html", {"token": token, "invalid": exc.status_code != 422},
                      error=exc)
    raw = await service.start_session(session, account, user_agent=request.headers.get("user-agent"))
    response = redirect(await _after_login_target(session, account, None),
                        message=_("Your password has been changed."))
    set_session_cookie(response, raw)
    return response


@router.get("/verify-email/{token}")
async def verify(request: Request, token: str, session: SessionDep, account: OptionalAccount) -> Response:
    """Confirm the address; the first use of the link also logs the new account in and carries on
    where sign-up was going (later uses only confirm)."""
    try:
        confirmed, first, next_url = await service.confirm_email(session, token)
    except FabriqueError as exc:
        return render(request, "errors/error.html", {"error": exc, "status": exc.status_code},
                      status_code=exc.status_code)
    message = _("Thank you, your e-mail address is confirmed.")
    if not first or (account is not None and account.id != confirmed.id):
        return redirect("/", message=message)
    raw = await service.start_session(session, confirmed, user_agent=request.headers.get("user-agent"))
    target = safe_next(next_url, "") or await _after_login_target(session, confirmed, None)
    response = redirect("/spaces/new" if target == "/" else target, message=message)
    set_session_cookie(response, raw)
    return response


async def _account_page(request: Request, account: Account, session, **extra) -> Response:
    tokens = await service.list_api_tokens(session, account)
    my = await spaces.spaces_of(session, account.id)
    request.state.my_spaces = my
    slug_of = {c.space.id: c.space.slug for c in my}
    ctx = {"tokens": tokens, "choices": my, "slug_of": slug_of, "new_token": None}
    error = extra.pop("error", None)
    form = extra.pop("form", None)
    ctx.update(extra)
    return render(request, "account/profile.html", ctx, error=error, form=form)


@router.get("/account")
async def profile(request: Request, account: CurrentAccount, session: SessionDep) -> Response:
    return await _account_page(request, account, session)


@router.post("/account/password")
async def change_password(request: Request, account: CurrentAccount, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        _require(form, "current_password", "new_password")
        await service.change_password(session, account, form["current_password"], form["new_password"],
                                      keep_session=request.cookies.get(SESSION_COOKIE))
    except FabriqueError as exc:
        return await _account_page(request, account, session, error=exc, form={}, section="password")
    return redirect("/account", message=_("Your password has been changed."))


@router.post("/account/tokens")
async def create_token(request: Request, account: CurrentAccount, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        _require(form, "name")
        space_id = None
        if form.get("space"):
            choices = {c.space.slug: c.space.id for c in await spaces.spaces_of(session, account.id)}
            if form["space"] not in choices:
                raise ValidationFailed(fields={"space": N_("You are not a member of this space.")})
            space_id = choices[form["space"]]
        days = form.get("expires_in_days", "").strip()
        if days and not (days.isdecimal() and 1 <= int(days) <= MAX_TOKEN_DAYS):
            raise ValidationFailed(fields={"expires_in_days": N_("Give a number of days from 1 to 3650, or none.")})
        expires = timedelta(days=int(days)) if days else None
        _token, raw = await service.create_api_token(session, account, name=form["name"][:100],
                                                     space_id=space_id, expires_in=expires)
    except FabriqueError as exc:
        return await _account_page(request, account, session, error=exc, form=form, section="tokens")
    return await _account_page(request, account, session, new_token=raw)


@router.post("/account/tokens/{token_id}/revoke")
async def revoke_token(token_id: int, account: CurrentAccount, session: SessionDep) -> Response:
    await service.revoke_api_token(session, account, token_id)
    return redirect("/account", message=_("The token has been revoked."))


@router.post("/account/verification-email")
async def resend_verification(account: CurrentAccount, session: SessionDep) -> Response:
    if account.email_verified_at is None:
        service.send_verification(session, account)
    return redirect("/account", message=_("We sent you a new confirmation e-mail."))


# -- my data and my account --------------------------------------------------------------------------

@router.get("/account/data.json")
async def download_my_data(account: CurrentAccount, session: SessionDep) -> Response:
    return await privacy.export_response(session, account)


@router.get("/account/delete")
async def delete_form(request: Request, account: CurrentAccount, session: SessionDep) -> Response:
    request.state.my_spaces = await spaces.spaces_of(session, account.id)
    return render(request, "account/delete.html", {"has_password": account.password_hash is not None})


@router.post("/account/delete")
async def delete_account(request: Request, account: CurrentAccount, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        await privacy.delete_account(session, account, password=form.get("password"))
    except FabriqueError as exc:
        request.state.my_spaces = await spaces.spaces_of(session, account.id)
        return render(request, "account/delete.html", {"has_password": account.password_hash is not None},
                      error=exc)
    response = redirect("/", message=_("Your account is deleted. Goodbye, and thank you."))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
