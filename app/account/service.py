"""Accounts, logins, sessions, tokens, password reset and e-mail verification."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, delete, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account import throttle
from app.account.errors import (
    EmailTaken,
    ExpiredLink,
    InvalidCredentials,
    InvalidLink,
    WeakPassword,
    WrongPassword,
)
from app.account.models import Account, ApiToken, AuthSession
from app.audit.readable import audit_fields, audit_names
from app.audit.service import audit_labels, log_action
from app.config import get_settings
from app.core import clock, security
from app.core.errors import AccountSuspended, NotFound
from app.core.i18n import _l
from app.core.mail import queue_email
from app.core.text import column_limit, require_one_line, require_text

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
audit_fields({"account_id": _l("Person")})


@audit_names("account_id", "account")
async def _account_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    rows = await session.exec(select(Account.id, Account.name).where(col(Account.id).in_(ids)))
    return {i: n for i, n in rows.all() if i is not None}

API_TOKEN_PREFIX = "fab_"


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def get_by_email(session: AsyncSession, email: str) -> Account | None:
    return (await session.exec(select(Account).where(Account.email == normalize_email(email)))).first()


async def sign_up(
    session: AsyncSession, *, name: str, email: str, password: str, ip: str, locale: str | None = None,
    next_url: str | None = None,
) -> None:
    """Create an account, or tell the owner of the address that they already have one.

    The caller answers the same either way (as login and password reset do), so sign-up does not
    reveal which addresses have an account: both paths check the password's strength and hash it
    (similar timing), and only the e-mail differs. The "you already have an account" e-mail is
    limited per recipient and per requesting address like reset e-mails; the limit is silent too.
    """
    name = require_text(name, "name", max_length=column_limit(Account, "name"))
    email = normalize_email(email)
    weakness = security.password_weakness(password, email=email, name=name)
    if weakness:
        raise WeakPassword(weakness)
    existing = await get_by_email(session, email)
    if existing is None:
        try:
            async with session.begin_nested():
                await create_account(session, name=name, email=email, password=password, locale=locale,
                                     next_url=next_url)
            return
        except EmailTaken:  # a concurrent sign-up with the same address won
            existing = await get_by_email(session, email)
    else:
        await security.hash_password_async(password)  # the time a new account would take
    if existing is None or existing.suspended_at:
        return
    if not await throttle.allow_mail(session, throttle.mail_buckets("signup", existing.email, ip)):
        log.info("'account exists' e-mail for account %s not sent: limit reached", existing.id)
        return
    base = get_settings().base_url
    queue_email(session, existing.email, "account_exists", {
        "name": existing.name, "login_url": f"{base}/login", "reset_url": f"{base}/forgot-password",
    }, locale=existing.locale)


async def create_account(
    session: AsyncSession, *, name: str, email: str, password: str, locale: str | None = None,
    verified: bool = False, next_url: str | None = None,
) -> Account:
    """Create an account (operators, the demo, tests, and ``sign_up``); an address already used is
    ``EmailTaken`` — public sign-up goes through ``sign_up``, which does not reveal it."""
    name = require_text(name, "name", max_length=column_limit(Account, "name"))
    email = normalize_email(email)
    weakness = security.password_weakness(password, email=email, name=name)
    if weakness:
        raise WeakPassword(weakness)
    if await get_by_email(session, email):
        raise EmailTaken()
    account = Account(
        name=name.strip(), email=email, password_hash=await security.hash_password_async(password), locale=locale,
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
        send_verification(session, account, next_url=next_url)
    return account


# -- logging in --------------------------------------------------------------------------------------

async def authenticate(email: str, password: str, *, ip: str, device_cookie: str | None = None) -> int:
    """Check credentials and return the account id; attempts are throttled (``app.account.throttle``).

    Short transactions of their own, so that failures count whatever the request does: the
    attempt is claimed (and committed) before the password is checked, the check runs in a worker
    thread outside any transaction, then a success resets the account's buckets. Call it before the request's own
    session has touched the database (SQLite allows one writer).
    """
    from app.core import db

    email = normalize_email(email)
    async with db.transaction(write=False) as side:
        account = await get_by_email(side, email)
        account_id = account.id if account else None
        stored_hash = account.password_hash if account else None
    chosen = throttle.buckets(email, ip, throttle.device_of(device_cookie, account_id))
    async with db.transaction() as side:
        await throttle.claim(side, chosen)
    ok = await security.verify_password_async(password, stored_hash) and account is not None
    new_hash = None
    if ok and stored_hash and security.password_needs_rehash(stored_hash):
        new_hash = await security.hash_password_async(password)
    if ok:
        async with db.transaction() as side:
            await throttle.succeeded(side, chosen)
            if new_hash:  # only if the password did not change meanwhile
                await side.exec(update(Account).where(
                    col(Account.id) == account_id, col(Account.password_hash) == stored_hash,
                ).values(password_hash=new_hash))
    if not ok or account is None:
        raise InvalidCredentials()
    if account.suspended_at is not None:
        raise AccountSuspended()
    assert account_id is not None  # a stored account
    return account_id


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


async def revoke_other_tokens(session: AsyncSession, account_id: int, keep_id: int | None = None) -> None:
    """Revoke every live API token of the account (personal and OAuth), but ``keep_id``."""
    stmt = update(ApiToken).where(col(ApiToken.account_id) == account_id, col(ApiToken.revoked_at).is_(None))
    if keep_id is not None:
        stmt = stmt.where(col(ApiToken.id) != keep_id)
    await session.exec(stmt.values(revoked_at=clock.now()).execution_options(synchronize_session=False))


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
    if token.last_used_at is None or now - clock.aware(token.last_used_at) > timedelta(minutes=5):
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


async def request_password_reset(session: AsyncSession, email: str, *, ip: str) -> None:
    """Always succeeds from the caller's view, so it does not reveal which addresses have accounts
    (nor that the e-mail limit per recipient or per requesting address is reached)."""
    account = await get_by_email(session, email)
    if account is None or account.suspended_at:
        return
    if not await throttle.allow_mail(session, throttle.mail_buckets("reset", account.email, ip)):
        log.info("password reset e-mail for account %s not sent: limit reached", account.id)
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
    """Set a new password from a reset link, once: the database decides which of several
    concurrent uses wins (the password hash must still be the one the link was made for). Every
    session and API token of the account is revoked: whoever had the old password is out."""
    account = await account_for_reset(session, token)
    old_hash = account.password_hash
    await _set_password(session, account, new_password, expect_hash=old_hash)
    await end_other_sessions(session, account.id)
    await revoke_other_tokens(session, account.id)
    log_action(session, "account.password_reset", actor_id=account.id, obj=account)
    return account


async def _set_password(
    session: AsyncSession, account: Account, new_password: str, *, expect_hash: str | None
) -> None:
    """Store a new password if the stored hash is still ``expect_hash`` (a conditional UPDATE: of
    two concurrent changes or uses of one reset link, the second finds nothing to update)."""
    weakness = security.password_weakness(new_password, email=account.email, name=account.name)
    if weakness:
        raise WeakPassword(weakness)
    new_hash = await security.hash_password_async(new_password)
    now = clock.now()
    current = col(Account.password_hash).is_(None) if expect_hash is None else col(Account.password_hash) == expect_hash
    result = await session.exec(
        update(Account).where(col(Account.id) == account.id, current)
        .values(password_hash=new_hash, password_changed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ExpiredLink()
    set_committed_value(account, "password_hash", new_hash)
    set_committed_value(account, "password_changed_at", now)


async def change_password(
    session: AsyncSession, account: Account, current: str, new: str, *,
    keep_session: str | None = None, keep_token_id: int | None = None,
) -> None:
    """Change the password, knowing the current one. Every other session and API token of the
    account is revoked; the one making the change (browser session or token) stays valid."""
    if not await security.verify_password_async(current, account.password_hash):
        raise WrongPassword()
    try:
        await _set_password(session, account, new, expect_hash=account.password_hash)
    except WeakPassword as exc:
        exc.fields = {"new_password": exc.fields["password"]}
        raise
    except ExpiredLink as exc:  # changed concurrently by another request: this one did not happen
        raise WrongPassword() from exc
    await end_other_sessions(session, account.id, keep_raw=keep_session)
    await revoke_other_tokens(session, account.id, keep_id=keep_token_id)
    log_action(session, "account.password_changed", actor_id=account.id, obj=account)


def send_verification(session: AsyncSession, account: Account, *, next_url: str | None = None) -> None:
    data: dict[str, Any] = {"a": account.id, "e": account.email}
    if next_url:
        data["n"] = next_url
    token = security.sign_link("verify-email", data)
    queue_email(session, account.email, "verify_email", {
        "name": account.name, "url": f"{get_settings().base_url}/verify-email/{token}",
    }, locale=account.locale)


async def confirm_email(session: AsyncSession, token: str) -> tuple[Account, bool, str | None]:
    """Confirm the address a verification link names: (account, first time, where sign-up was going).

    "First time" is decided by the database (a conditional UPDATE), so that of several concurrent
    uses of one link exactly one is the first: the sign-up page logs the person in on that one only.
    """
    try:
        data = security.read_link("verify-email", token, 7 * 24 * 3600)
    except security.LinkExpired as exc:
        raise ExpiredLink() from exc
    except security.LinkInvalid as exc:
        raise InvalidLink() from exc
    account = await session.get(Account, data.get("a"))
    if account is None or account.email != data.get("e"):
        raise InvalidLink()
    now = clock.now()
    result = await session.exec(update(Account).where(
        col(Account.id) == account.id, col(Account.email_verified_at).is_(None),
    ).values(email_verified_at=now).execution_options(synchronize_session=False))
    first = result.rowcount == 1
    if first:
        set_committed_value(account, "email_verified_at", now)
        log_action(session, "account.email_verified", actor_id=account.id, obj=account)
    next_url = data.get("n")
    return account, first, next_url if isinstance(next_url, str) else None


async def verify_email(session: AsyncSession, token: str) -> Account:
    account, _first, _next = await confirm_email(session, token)
    return account


async def set_locale(session: AsyncSession, account: Account, locale: str) -> None:
    account.locale = locale
    session.add(account)
