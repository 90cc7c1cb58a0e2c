"""Accounts, logins, sessions, tokens, password reset and e-mail verification."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import col, delete, func, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.errors import (
    EmailTaken,
    ExpiredLink,
    InvalidCredentials,
    InvalidLink,
    WeakPassword,
    WrongPassword,
)
from app.account.models import Account, ApiToken, AuthSession, LoginAttempt
from app.audit.service import audit_labels, log_action
from app.config import get_settings
from app.core import clock, security
from app.core.errors import AccountSuspended, NotFound, TooManyRequests
from app.core.i18n import _l
from app.core.mail import queue_email
from app.core.text import require_one_line

log = logging.getLogger("fabrique.account")

# What the audit page calls the actions logged here.
audit_labels({
    "account.created": _l("Account created"),
    "account.password_changed": _l("Password changed"),
    "account.password_reset": _l("Password reset"),
    "account.email_verified": _l("E-mail address verified"),
    "account.deleted": _l("Account deleted"),
    "token.created": _l("Access token created"),
    "token.revoked": _l("Access token revoked"),
})

API_TOKEN_PREFIX = "fab_"


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def get_by_email(session: AsyncSession, email: str) -> Account | None:
    return (await session.exec(select(Account).where(Account.email == normalize_email(email)))).first()


async def create_account(
    session: AsyncSession, *, name: str, email: str, password: str, locale: str | None = None,
    verified: bool = False,
) -> Account:
    name = require_one_line(name, "name")
    email = normalize_email(email)
    weakness = security.password_weakness(password, email=email, name=name)
    if weakness:
        raise WeakPassword(weakness)
    if await get_by_email(session, email):
        raise EmailTaken()
    account = Account(
        name=name.strip(), email=email, password_hash=security.hash_password(password), locale=locale,
        email_verified_at=clock.now() if verified else None, password_changed_at=clock.now(),
    )
    session.add(account)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # a concurrent sign-up with the same address
        raise EmailTaken() from exc
    log_action(session, "account.created", actor_id=account.id, obj=account)
    if not verified:
        send_verification(session, account)
    return account


# -- login throttling ------------------------------------------------------------------------------

async def _check_throttle(session: AsyncSession, email: str, ip: str) -> None:
    settings = get_settings()
    since = clock.now() - timedelta(minutes=settings.login_window_minutes)
    window = (LoginAttempt.success == False, col(LoginAttempt.created_at) >= since)  # noqa: E712
    stats = select(func.count(), func.min(LoginAttempt.created_at)).select_from(LoginAttempt).where(*window)
    by_email = (await session.exec(stats.where(LoginAttempt.email == email))).one()
    by_ip = (await session.exec(stats.where(LoginAttempt.ip == ip))).one()
    for count, oldest in (by_email, by_ip):
        if count >= settings.login_max_failures and oldest is not None:
            retry_at = _aware(oldest) + timedelta(minutes=settings.login_window_minutes)
            seconds = max(1, int((retry_at - clock.now()).total_seconds()))
            raise TooManyRequests(
                params={"minutes": max(1, (seconds + 59) // 60)},
                headers={"Retry-After": str(seconds)},
                extra={"retry_after": seconds},
            )


def _aware(value):  # aggregate functions come back as text on SQLite
    from datetime import UTC, datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def authenticate(email: str, password: str, *, ip: str) -> int:
    """Check credentials and return the account id; failures are throttled per address and per IP.

    Runs in its own transaction, committed even when the login fails, so that failures count. Call
    it before the request's own session has touched the database (SQLite allows one writer).
    """
    from app.core import db

    email = normalize_email(email)
    async with db.transaction() as side:
        await _check_throttle(side, email, ip)
        account = await get_by_email(side, email)
        ok = security.verify_password(password, account.password_hash if account else None)
        side.add(LoginAttempt(email=email[:254], ip=ip[:64], success=ok))
        if ok and account is not None and account.password_hash and security.password_needs_rehash(
            account.password_hash
        ):
            account.password_hash = security.hash_password(password)
            side.add(account)
    if not ok or account is None:
        raise InvalidCredentials()
    if account.suspended_at is not None:
        raise AccountSuspended()
    assert account.id is not None  # a stored account
    return account.id


# -- browser sessions ----------------------------------------------------------------------------

async def start_session(session: AsyncSession, account: Account, *, user_agent: str | None = None) -> str:
    raw = security.new_token()
    session.add(AuthSession(
        token_hash=security.hash_token(raw), account_id=account.id,
        expires_at=clock.now() + timedelta(days=get_settings().session_days),
        user_agent=(user_agent or "")[:255] or None,
    ))
    await session.flush()
    return raw


async def account_for_session(session: AsyncSession, raw: str) -> Account | None:
    row = (await session.exec(
        select(AuthSession, Account).join(Account, col(Account.id) == AuthSession.account_id).where(
            AuthSession.token_hash == security.hash_token(raw), col(AuthSession.expires_at) > clock.now())
    )).first()
    if row is None:
        return None
    _auth, account = row
    return None if account.suspended_at else account


async def end_session(session: AsyncSession, raw: str) -> None:
    await session.exec(delete(AuthSession).where(AuthSession.token_hash == security.hash_token(raw)))


async def end_other_sessions(session: AsyncSession, account_id: int, keep_raw: str | None = None) -> None:
    stmt = delete(AuthSession).where(AuthSession.account_id == account_id)
    if keep_raw:
        stmt = stmt.where(AuthSession.token_hash != security.hash_token(keep_raw))
    await session.exec(stmt)


# -- API tokens ------------------------------------------------------------------------------------

async def create_api_token(
    session: AsyncSession, account: Account, *, name: str, space_id: int | None = None,
    expires_in: timedelta | None = None, kind: str = "personal",
) -> tuple[ApiToken, str]:
    raw = security.new_token(API_TOKEN_PREFIX)
    token = ApiToken(
        account_id=account.id, name=require_one_line(name, "name"), kind=kind, prefix=raw[: len(API_TOKEN_PREFIX) + 6],
        token_hash=security.hash_token(raw), space_id=space_id,
        expires_at=clock.now() + expires_in if expires_in else None,
    )
    session.add(token)
    await session.flush()
    if kind == "personal":
        log_action(session, "token.created", actor_id=account.id, obj=token, name=name)
    return token, raw


def live_token(token_hash: Any, now: Any) -> tuple[Any, ...]:
    """The conditions on ``ApiToken`` for a token to authenticate: known (by the hash of the raw
    token), not revoked, not expired. Values or bound parameters."""
    return (
        col(ApiToken.token_hash) == token_hash,
        col(ApiToken.revoked_at).is_(None),
        or_(col(ApiToken.expires_at).is_(None), col(ApiToken.expires_at) > now),
    )


async def touch_token(session: AsyncSession, token: ApiToken, now: datetime) -> None:
    """Record the token's use, at most every five minutes (reads must not all turn into writes)."""
    if token.last_used_at is None or now - _aware(token.last_used_at) > timedelta(minutes=5):
        stmt = update(ApiToken).where(col(ApiToken.id) == token.id).values(last_used_at=now)
        if session.bind.dialect.name != "sqlite":
            await session.exec(stmt)
            return
        # SQLite: a GET's read transaction cannot turn into a write once another connection (a
        # background job) has committed since it began. The mark is a hint: try again next time.
        try:
            async with session.begin_nested():
                await session.exec(stmt)
        except OperationalError:
            log.info("token %s use not recorded: the database was busy", token.id)


async def token_and_account(session: AsyncSession, raw: str, now: datetime) -> tuple[ApiToken, Account] | None:
    """The live token ``raw`` and its account, or None (see ``app.account.deps.accept_token``)."""
    row = (await session.exec(
        select(ApiToken, Account).join(Account, col(Account.id) == ApiToken.account_id).where(
            *live_token(security.hash_token(raw), now))
    )).first()
    return (row[0], row[1]) if row is not None else None


async def list_api_tokens(session: AsyncSession, account: Account) -> list[ApiToken]:
    rows = await session.exec(
        select(ApiToken).where(
            ApiToken.account_id == account.id, ApiToken.kind == "personal", col(ApiToken.revoked_at).is_(None)
        ).order_by(col(ApiToken.created_at).desc())
    )
    return list(rows.all())


async def revoke_api_token(session: AsyncSession, account: Account, token_id: int) -> ApiToken:
    token = (await session.exec(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.account_id == account.id,
                               col(ApiToken.revoked_at).is_(None))
    )).first()
    if token is None:
        raise NotFound()
    token.revoked_at = clock.now()
    session.add(token)
    log_action(session, "token.revoked", actor_id=account.id, obj=token)
    return token


# -- passwords and e-mail verification -------------------------------------------------------------

def _reset_fingerprint(account: Account) -> str:
    # Changes as soon as the password changes: a reset link works once.
    return security.fingerprint(account.id, account.password_hash, account.password_changed_at)


async def request_password_reset(session: AsyncSession, email: str) -> None:
    """Always succeeds from the caller's view, so it does not reveal which addresses have accounts."""
    account = await get_by_email(session, email)
    if account is None or account.suspended_at:
        return
    token = security.sign_link("password-reset", {"a": account.id, "f": _reset_fingerprint(account)})
    queue_email(session, account.email, "password_reset", {
        "name": account.name, "url": f"{get_settings().base_url}/reset-password/{token}",
        "minutes": get_settings().password_reset_minutes,
    }, locale=account.locale)


async def account_for_reset(session: AsyncSession, token: str) -> Account:
    try:
        data = security.read_link("password-reset", token, get_settings().password_reset_minutes * 60)
    except security.LinkExpired as exc:
        raise ExpiredLink() from exc
    except security.LinkInvalid as exc:
        raise InvalidLink() from exc
    account = await session.get(Account, data.get("a"))
    if account is None or not security.constant_equals(data.get("f", ""), _reset_fingerprint(account)):
        raise ExpiredLink()
    return account


async def reset_password(session: AsyncSession, token: str, new_password: str) -> Account:
    account = await account_for_reset(session, token)
    _set_password(account, new_password)
    session.add(account)
    await end_other_sessions(session, account.id)
    log_action(session, "account.password_reset", actor_id=account.id, obj=account)
    return account


def _set_password(account: Account, new_password: str) -> None:
    weakness = security.password_weakness(new_password, email=account.email, name=account.name)
    if weakness:
        raise WeakPassword(weakness)
    account.password_hash = security.hash_password(new_password)
    account.password_changed_at = clock.now()


async def change_password(
    session: AsyncSession, account: Account, current: str, new: str, *, keep_session: str | None = None
) -> None:
    if not security.verify_password(current, account.password_hash):
        raise WrongPassword()
    try:
        _set_password(account, new)
    except WeakPassword as exc:
        exc.fields = {"new_password": exc.fields["password"]}
        raise
    session.add(account)
    await end_other_sessions(session, account.id, keep_raw=keep_session)
    log_action(session, "account.password_changed", actor_id=account.id, obj=account)


def send_verification(session: AsyncSession, account: Account) -> None:
    token = security.sign_link("verify-email", {"a": account.id, "e": account.email})
    queue_email(session, account.email, "verify_email", {
        "name": account.name, "url": f"{get_settings().base_url}/verify-email/{token}",
    }, locale=account.locale)


async def verify_email(session: AsyncSession, token: str) -> Account:
    try:
        data = security.read_link("verify-email", token, 7 * 24 * 3600)
    except security.LinkExpired as exc:
        raise ExpiredLink() from exc
    except security.LinkInvalid as exc:
        raise InvalidLink() from exc
    account = await session.get(Account, data.get("a"))
    if account is None or account.email != data.get("e"):
        raise InvalidLink()
    if account.email_verified_at is None:
        account.email_verified_at = clock.now()
        session.add(account)
        log_action(session, "account.email_verified", actor_id=account.id, obj=account)
    return account


async def set_locale(session: AsyncSession, account: Account, locale: str) -> None:
    account.locale = locale
    session.add(account)
