"""Login throttling, after OWASP's Authentication and Credential Stuffing cheat sheets.

An attempt is counted in *buckets* before its password is checked:

- ``account+address``: this address trying this account (``login_max_failures``, 10);
- ``account``: this account from anywhere (``login_account_max_failures``): slows a distributed
  guesser without letting one address lock the owner out;
- ``address``: this address, whatever the account (``login_address_max_failures``): high, because a
  shared office network sits behind one address;
- ``device``: a browser that logged in to this account before carries a signed device cookie; it
  counts in its own bucket *instead of* the three above, so the owner's known browser still logs in
  while an attacker has locked the others.

A bucket at its limit is locked for a growing delay (one minute, then doubling up to an hour, per
attempt let through after a lock); after ``login_window_minutes`` of quiet it is forgotten. A
correct password resets the account buckets (and gives its place back to the address bucket).

Concurrency: the claim is a conditional ``UPDATE … SET failures = failures + 1 WHERE failures <
limit OR locked_until <= now``, committed before the (slow) password check, so the database decides
which of many simultaneous attempts are checked: PostgreSQL makes the later UPDATEs wait for the row
and re-read it, SQLite runs the claims one at a time (``BEGIN IMMEDIATE``). Buckets are always
claimed in the same order, so two claims cannot deadlock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, delete, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import LoginThrottle
from app.config import get_settings
from app.core import clock, security
from app.core.dialect import insert_ignoring_conflict
from app.core.errors import TooManyRequests

DEVICE_COOKIE = "fabrique_device"
DEVICE_DAYS = 365
FIRST_LOCK_SECONDS = 60
MAX_LOCK_SECONDS = 3600


@dataclass(frozen=True)
class Bucket:
    key: str
    limit: int
    account: bool  # reset by a correct password (else: only its place is given back)


def _key(kind: str, value: str, owner: str | None = None) -> str:
    """A bucket's row key: a digest, so the table holds no address in clear. A bucket that names an
    account (``owner``, its e-mail address) starts with a digest of the address, so that ``forget``
    finds every row of the account without knowing the other addresses or devices involved."""
    digest = hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()
    return digest if owner is None else _owner_prefix(owner) + digest[: 64 - OWNER_PREFIX_LENGTH]


OWNER_PREFIX_LENGTH = 24


def _owner_prefix(email: str) -> str:
    return hashlib.sha256(f"owner:{email.strip().lower()}".encode()).hexdigest()[:OWNER_PREFIX_LENGTH]


async def forget(session: AsyncSession, email: str) -> None:
    """Erase every counter that names this address (an account being deleted)."""
    await session.exec(delete(LoginThrottle).where(col(LoginThrottle.key).startswith(_owner_prefix(email))))


def buckets(email: str, ip: str, device: str | None) -> list[Bucket]:
    """The buckets an attempt counts in, in the one order they are claimed."""
    s = get_settings()
    if device:
        return [Bucket(_key("device", device, email), s.login_max_failures, True)]
    return [
        Bucket(_key("account+ip", f"{email}|{ip}", email), s.login_max_failures, True),
        Bucket(_key("account", email, email), s.login_account_max_failures, True),
        Bucket(_key("ip", ip), s.login_address_max_failures, False),
    ]


def new_device_cookie(account_id: int) -> str:
    return security.sign_link("login-device", {"a": account_id, "d": security.new_token(nbytes=12)})


def device_of(cookie: str | None, account_id: int | None) -> str | None:
    """The device id of a valid device cookie issued to ``account_id``, else None."""
    if not cookie or account_id is None:
        return None
    try:
        data = security.read_link("login-device", cookie, DEVICE_DAYS * 86400)
    except security.LinkInvalid:
        return None
    if not isinstance(data, dict) or data.get("a") != account_id or not isinstance(data.get("d"), str):
        return None
    return f"{account_id}:{data['d']}"


def _lock_seconds(over: int) -> int:
    return min(MAX_LOCK_SECONDS, FIRST_LOCK_SECONDS * 2 ** min(over, 16))


async def _ensure_row(session: AsyncSession, key: str, now: datetime) -> None:
    await session.exec(insert_ignoring_conflict(session, LoginThrottle, {"key": key, "failures": 0, "last_at": now},
                                                on=["key"]))


async def claim(session: AsyncSession, chosen: list[Bucket]) -> None:
    """Count one attempt in every bucket, or raise ``TooManyRequests`` (the caller's transaction
    must then roll back, so no bucket keeps a claim)."""
    now = clock.now()
    stale = now - timedelta(minutes=get_settings().login_window_minutes)
    for bucket in chosen:
        await _ensure_row(session, bucket.key, now)
        row = col(LoginThrottle.key) == bucket.key
        await session.exec(update(LoginThrottle).where(
            row, col(LoginThrottle.last_at) < stale,
            or_(col(LoginThrottle.locked_until).is_(None), col(LoginThrottle.locked_until) < stale),
        ).values(failures=0, locked_until=None).execution_options(synchronize_session=False))
        result = await session.exec(update(LoginThrottle).where(
            row, or_(col(LoginThrottle.failures) < bucket.limit, col(LoginThrottle.locked_until) <= now),
        ).values(failures=col(LoginThrottle.failures) + 1, last_at=now)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            locked_until = (await session.exec(
                select(LoginThrottle.locked_until).where(row))).first()
            seconds = max(1, int((clock.aware(locked_until) - now).total_seconds())) if locked_until else 60
            raise TooManyRequests(
                params={"minutes": max(1, (seconds + 59) // 60)},
                headers={"Retry-After": str(seconds)},
                extra={"retry_after": seconds},
            )
        failures = (await session.exec(select(LoginThrottle.failures).where(row))).one()
        if failures >= bucket.limit:
            await session.exec(update(LoginThrottle).where(row).values(
                locked_until=now + timedelta(seconds=_lock_seconds(failures - bucket.limit)))
                .execution_options(synchronize_session=False))


async def succeeded(session: AsyncSession, chosen: list[Bucket]) -> None:
    """A correct password: forget the account's failures, give the address its place back."""
    for bucket in chosen:
        row = col(LoginThrottle.key) == bucket.key
        if bucket.account:
            stmt = update(LoginThrottle).where(row).values(failures=0, locked_until=None)
        else:
            stmt = update(LoginThrottle).where(row, col(LoginThrottle.failures) > 0).values(
                failures=col(LoginThrottle.failures) - 1)
        await session.exec(stmt.execution_options(synchronize_session=False))


# -- e-mails sent on a stranger's request (password reset, visitor registration) -------------------

def mail_buckets(purpose: str, recipient: str, ip: str) -> list[Bucket]:
    """Per recipient (nobody gets flooded) and per requesting address (nobody floods many)."""
    s = get_settings()
    return [
        Bucket(_key(f"mail:{purpose}:to", recipient.strip().lower(), recipient), s.mail_max_per_recipient, False),
        Bucket(_key(f"mail:{purpose}:ip", ip), s.mail_max_per_address, False),
    ]


async def allow_mail(session: AsyncSession, chosen: list[Bucket]) -> bool:
    """Count one e-mail in fixed windows of ``mail_window_minutes``; False (and nothing counted) when
    a bucket is full. The caller answers the same either way, so the limit reveals nothing.
    The conditional UPDATE lets the database decide between concurrent requests."""
    now = clock.now()
    stale = now - timedelta(minutes=get_settings().mail_window_minutes)
    async with session.begin_nested() as savepoint:
        for bucket in chosen:
            await _ensure_row(session, bucket.key, now)
            row = col(LoginThrottle.key) == bucket.key
            await session.exec(update(LoginThrottle).where(row, col(LoginThrottle.last_at) < stale)
                               .values(failures=0, last_at=now).execution_options(synchronize_session=False))
            result = await session.exec(update(LoginThrottle).where(row, col(LoginThrottle.failures) < bucket.limit)
                                        .values(failures=col(LoginThrottle.failures) + 1)
                                        .execution_options(synchronize_session=False))
            if result.rowcount != 1:
                await savepoint.rollback()
                return False
    return True
