"""Who is calling: a Bearer token (API) or the session cookie (pages)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from app.account import service
from app.account.models import Account
from app.core import i18n
from app.core.errors import NotAuthenticated, PermissionDenied
from app.core.i18n import N_
from app.core.web import LANG_COOKIE, SessionDep

SESSION_COOKIE = "fabrique_session"
INVALID_TOKEN = N_("This access token is invalid, expired or revoked.")

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
    account = None
    request.state.token_space_id = None
    raw = bearer_token(request)
    if raw:
        found = await service.account_for_api_token(session, raw)
        if found is None:
            raise NotAuthenticated(INVALID_TOKEN, code="invalid_token")
        account, token = found
        request.state.token_space_id = token.space_id
    elif not request.url.path.startswith("/api/"):
        # The JSON API authenticates with tokens only: a cookie would expose it to CSRF.
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            account = await service.account_for_session(session, cookie)
    request.state.account = account
    if account is not None and account.locale and not request.cookies.get(LANG_COOKIE) \
            and not request.url.path.startswith("/api/"):
        i18n.set_locale(account.locale)
    return account


async def current_account(account: Annotated[Account | None, Depends(optional_account)]) -> Account:
    if account is None:
        raise NotAuthenticated()
    return account


async def superuser(account: Annotated[Account, Depends(current_account)]) -> Account:
    if not account.is_superuser:
        raise PermissionDenied()
    return account


OptionalAccount = Annotated[Account | None, Depends(optional_account)]
CurrentAccount = Annotated[Account, Depends(current_account)]
Superuser = Annotated[Account, Depends(superuser)]
