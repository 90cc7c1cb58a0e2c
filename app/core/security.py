"""Passwords, opaque tokens, signed links and CSRF.

Opaque tokens (sessions, API tokens, invitations) are random, shown once and stored as SHA-256:
a database leak does not hand out working credentials. Signed links (password reset, e-mail
verification) carry a fingerprint of the state they act on, so a used or outdated link fails.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.config import get_settings
from app.core.i18n import N_


def _make_hasher() -> PasswordHasher:
    # The test suite creates hundreds of accounts: cheap (still argon2id) parameters there only.
    if get_settings().env == "test":
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


_hasher = _make_hasher()
# A real hash to verify against when the account does not exist, so timing does not reveal it.
_DUMMY_HASH = _hasher.hash("fabrique-dummy-password")

MIN_PASSWORD_LENGTH = 10
COMMON_PASSWORDS = {
    "password", "password1", "motdepasse", "azertyuiop", "qwertyuiop", "1234567890", "0123456789",
    "123456789a", "iloveyou12", "soleil1234", "bonjour123", "fabrique123", "changeme12", "welcome123",
    "letmein123", "azerty1234", "1111111111", "aaaaaaaaaa", "abcdefghij", "passw0rd12",
}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# argon2 takes tens of milliseconds of CPU by design: run on the event loop it stalls every other
# request (and Redis pings) for that long. A small pool bounds how many hashes run at once, so a
# burst of logins queues here instead of taking every core.
# A thread pool (not an anyio limiter) because it must not belong to one event loop.
_HASH_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")


async def hash_password_async(password: str) -> str:
    """``hash_password`` in a worker thread (at most two at once): use it in request handlers."""
    return await asyncio.get_running_loop().run_in_executor(_HASH_POOL, hash_password, password)


async def verify_password_async(password: str, password_hash: str | None) -> bool:
    """``verify_password`` in a worker thread (at most two at once): use it in request handlers."""
    return await asyncio.get_running_loop().run_in_executor(_HASH_POOL, verify_password, password, password_hash)


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_weakness(password: str, *, email: str = "", name: str = "") -> str | None:
    """An English msgid saying why a password is weak, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return N_("Use at least 10 characters.")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) < 4:
        return N_("This password is too common or too easy to guess.")
    local = email.split("@", 1)[0].lower()
    if (local and len(local) >= 4 and local in lowered) or (name and name.lower().replace(" ", "") == lowered):
        return N_("Do not use your name or e-mail address as a password.")
    return None


def new_token(prefix: str = "", nbytes: int = 32) -> str:
    return prefix + secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def constant_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


@cache
def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().resolved_secret_key(), salt=salt)


class LinkInvalid(Exception):
    pass


class LinkExpired(LinkInvalid):
    pass


def sign_link(purpose: str, payload: Any) -> str:
    return _serializer(purpose).dumps(payload)


def read_link(purpose: str, token: str, max_age_seconds: int) -> Any:
    try:
        return _serializer(purpose).loads(token, max_age=max_age_seconds)
    except SignatureExpired as exc:
        raise LinkExpired() from exc
    except BadSignature as exc:
        raise LinkInvalid() from exc


def fingerprint(*parts: object) -> str:
    """A short digest of state a signed link depends on (e.g. the current password hash)."""
    raw = "|".join(str(p) for p in parts).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


# -- CSRF: a signed double-submit token ----------------------------------------------------------

CSRF_COOKIE = "fabrique_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def new_csrf_token() -> str:
    raw = secrets.token_urlsafe(24)
    return f"{raw}.{_csrf_mac(raw)}"


def _csrf_mac(raw: str) -> str:
    key = get_settings().resolved_secret_key().encode()
    return hmac.new(key, f"csrf:{raw}".encode(), hashlib.sha256).hexdigest()[:32]


def csrf_token_valid(cookie_value: str | None, submitted: str | None) -> bool:
    if not cookie_value or not submitted or "." not in cookie_value:
        return False
    raw, mac = cookie_value.rsplit(".", 1)
    return constant_equals(mac, _csrf_mac(raw)) and constant_equals(cookie_value, submitted)
