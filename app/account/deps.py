"""Who is calling: a Bearer token (API) or the session cookie (pages)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account import service
from app.account.models import Account, ApiToken
from app.core import clock, i18n
from app.core.errors import NotAuthenticated, PermissionDenied
from app.core.i18n import N_
from app.core.web import LANG_COOKIE, SessionDep

SESSION_COOKIE = "fabrique_session"
INVALID_TOKEN = N_("This access token is invalid, expired or revoked.")
SPACE_TOKEN = N_("This access token is limited to one space. Use a token without a space for your account.")

# Declares the OAuth2 password flow in OpenAPI, so /docs' "Authorize" button works.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _sep, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def optional_account(
    request: Request, session: SessionDep, _bearer: Annotated[str | None, Depends(oauth2_scheme)] = None
) -> Account | None:
    if hasattr(request.state, "account"):
        return request.state.account
    raw = bearer_token(request)
    if raw:
        now = clock.now()
        found = await service.token_and_account(session, raw, now)
        return await accept_token(request, session, *(found or (None, None)), now=now)
    account = None
    if not request.url.path.startswith("/api/"):
        # The JSON API authenticates with tokens only: a cookie would expose it to CSRF.
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            account = await service.account_for_session(session, cookie)
    _remember(request, account, None)
    return account


async def accept_token(
    request: Request, session: AsyncSession, token: ApiToken | None, account: Account | None, *, now: datetime
) -> Account:
    """Every bearer token, once looked up (here, or with its space in ``app.space.deps``): a 401
    unless live and its account not suspended; its use recorded; the request's caller set."""
    if token is None or account is None or account.suspended_at:
        raise NotAuthenticated(INVALID_TOKEN, code="invalid_token")
    await service.touch_token(session, token, now)
    _remember(request, account, token.space_id)
    request.state.token_id = token.id  # kept by a password change made with this token
    return account


def _remember(request: Request, account: Account | None, token_space_id: int | None) -> None:
    request.state.account = account
    request.state.token_space_id = token_space_id
    if account is not None and account.locale and not request.cookies.get(LANG_COOKIE) \
            and not request.url.path.startswith("/api/"):
        i18n.set_locale(account.locale)


async def current_account(request: Request, account: Annotated[Account | None, Depends(optional_account)]) -> Account:
    """The caller, for routes outside any space (their account, tokens, spaces, the platform). A
    token limited to one space is refused here: it must not mint unlimited tokens or act elsewhere."""
    if account is None:
        raise NotAuthenticated()
    if getattr(request.state, "token_space_id", None) is not None:
        raise PermissionDenied(SPACE_TOKEN, code="token_limited_to_a_space")
    return account


async def superuser(account: Annotated[Account, Depends(current_account)]) -> Account:
    if not account.is_superuser:
        raise PermissionDenied()
    return account


OptionalAccount = Annotated[Account | None, Depends(optional_account)]
CurrentAccount = Annotated[Account, Depends(current_account)]
Superuser = Annotated[Account, Depends(superuser)]
