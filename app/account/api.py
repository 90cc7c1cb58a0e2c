from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request, status
from fastapi.responses import JSONResponse, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field
from sqlmodel import select

from app.account import privacy, service
from app.account.deps import CurrentAccount
from app.account.errors import WeakPassword
from app.account.models import Account
from app.account.schemas import (
    AccountCreate,
    AccountDeletion,
    AccountRead,
    OAuthToken,
    PasswordChange,
    SignUpAccepted,
    Strict,
    TokenCreate,
    TokenCreated,
    TokenRead,
)
from app.core.i18n import N_, _
from app.core.web import SessionDep, api_router
from app.space.models import Space

router = api_router(prefix="/api/v1", tags=["accounts"])

OAUTH_TOKEN_DAYS = 30
SIGNED_UP = N_("Check your inbox: we sent an e-mail to this address to continue.")


def account_read(account: Account) -> AccountRead:
    return AccountRead(
        id=account.id, name=account.name, email=account.email, locale=account.locale,
        email_verified=account.email_verified_at is not None, created_at=account.created_at,
    )


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/accounts", status_code=status.HTTP_202_ACCEPTED, response_model=SignUpAccepted)
async def sign_up(request: Request, payload: AccountCreate, session: SessionDep) -> SignUpAccepted:
    """Sign up. The answer is the same whether the address already has an account or not (so it
    does not reveal who has one): a new account gets an e-mail with a link to confirm the address;
    the owner of an existing account gets an e-mail saying so, with links to log in or to reset
    the password. Log in with ``/auth/token`` afterwards."""
    email = service.normalize_email(str(payload.email))
    await service.sign_up(session, name=payload.name, email=email, password=payload.password,
                          locale=payload.locale, ip=client_ip(request))
    return SignUpAccepted(email=email, message=_(SIGNED_UP))


@router.post("/auth/token", response_model=OAuthToken)
async def login_for_token(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep
) -> OAuthToken:
    """OAuth2 password flow: the e-mail address goes in ``username``."""
    account_id = await service.authenticate(form.username, form.password, ip=client_ip(request))
    account = await session.get(Account, account_id)
    _token, raw = await service.create_api_token(
        session, account, name="OAuth2 login", kind="oauth", expires_in=timedelta(days=OAUTH_TOKEN_DAYS)
    )
    return OAuthToken(access_token=raw, expires_in=OAUTH_TOKEN_DAYS * 86400)


@router.get("/me", response_model=AccountRead)
async def me(account: CurrentAccount) -> AccountRead:
    return account_read(account)


class LocaleUpdate(Strict):
    locale: str = Field(pattern="^(fr|en)$")


@router.patch("/me", response_model=AccountRead)
async def update_me(payload: LocaleUpdate, account: CurrentAccount, session: SessionDep) -> AccountRead:
    await service.set_locale(session, account, payload.locale)
    return account_read(account)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    request: Request, payload: PasswordChange, account: CurrentAccount, session: SessionDep
) -> None:
    """Change your password: every other API token and every browser session is revoked, the token
    making this call stays valid."""
    await service.change_password(session, account, payload.current_password, payload.new_password,
                                  keep_token_id=getattr(request.state, "token_id", None))


async def _token_read(session: SessionDep, token, raw: str | None = None):
    slug = None
    if token.space_id:
        slug = (await session.exec(select(Space.slug).where(Space.id == token.space_id))).first()
    data = dict(id=token.id, name=token.name, prefix=token.prefix, space=slug, created_at=token.created_at,
                last_used_at=token.last_used_at, expires_at=token.expires_at)
    return TokenCreated(token=raw, **data) if raw else TokenRead(**data)


@router.get("/me/tokens", response_model=list[TokenRead])
async def list_tokens(account: CurrentAccount, session: SessionDep) -> list[TokenRead]:
    return [await _token_read(session, t) for t in await service.list_api_tokens(session, account)]


@router.post("/me/tokens", status_code=status.HTTP_201_CREATED, response_model=TokenCreated)
async def create_token(payload: TokenCreate, account: CurrentAccount, session: SessionDep) -> TokenCreated:
    space_id = None
    if payload.space:
        from app.space import service as spaces

        choices = {c.space.slug: c.space.id for c in await spaces.spaces_of(session, account.id)}
        if payload.space not in choices:
            from app.core.errors import ValidationFailed

            raise ValidationFailed(fields={"space": N_("You are not a member of this space.")})
        space_id = choices[payload.space]
    token, raw = await service.create_api_token(
        session, account, name=payload.name, space_id=space_id,
        expires_in=timedelta(days=payload.expires_in_days) if payload.expires_in_days else None,
    )
    return await _token_read(session, token, raw)


@router.delete("/me/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(token_id: int, account: CurrentAccount, session: SessionDep) -> None:
    await service.revoke_api_token(session, account, token_id)


class ResetRequest(Strict):
    email: str = Field(max_length=254)


class ResetConfirm(Strict):
    token: str = Field(max_length=500)
    new_password: str = Field(max_length=256)


class VerifyEmail(Strict):
    token: str = Field(max_length=500)


class Accepted(BaseModel):
    detail: str


@router.post("/auth/password-reset", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
async def request_reset(request: Request, payload: ResetRequest, session: SessionDep) -> Accepted:
    await service.request_password_reset(session, payload.email, ip=client_ip(request))
    return Accepted(detail=_("If an account exists for this address, a reset link has been sent."))


@router.post("/auth/password-reset/confirm", status_code=status.HTTP_204_NO_CONTENT)
async def confirm_reset(payload: ResetConfirm, session: SessionDep) -> None:
    try:
        await service.reset_password(session, payload.token, payload.new_password)
    except WeakPassword as exc:  # the field is called new_password in this payload
        exc.fields = {"new_password": exc.fields["password"]}
        raise


@router.post("/auth/verify-email", response_model=AccountRead)
async def verify_email(payload: VerifyEmail, session: SessionDep) -> AccountRead:
    return account_read(await service.verify_email(session, payload.token))


@router.post("/me/verification-email", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
async def resend_verification(account: CurrentAccount, session: SessionDep) -> Accepted:
    if account.email_verified_at is None:
        service.send_verification(session, account)
    return Accepted(detail=_("Verification e-mail sent."))


# -- my data and my account --------------------------------------------------------------------------

@router.get("/account/export", response_class=JSONResponse)
async def export_my_data(account: CurrentAccount, session: SessionDep) -> Response:
    """Everything Fabrique holds about you, as a JSON download (no secrets)."""
    return await privacy.export_response(session, account)


@router.post("/account/delete", status_code=status.HTTP_204_NO_CONTENT)
async def delete_my_account(payload: AccountDeletion, account: CurrentAccount, session: SessionDep) -> None:
    """Cancel your coming bookings and registrations, erase your personal data and close your account
    (refused while you are a space's only owner)."""
    await privacy.delete_account(session, account, password=payload.password)
