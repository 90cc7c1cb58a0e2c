"""Secrets stored encrypted at rest (a CalDAV password today, payment credentials later).

Each purpose gets its own key, derived from the platform's secret key: a value encrypted for one
purpose cannot be decrypted as another. Changing the secret key makes the stored values
unreadable (``decrypt_secret`` answers None): the person is asked to type them again.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from app.config import get_settings


def _fernet(purpose: str) -> Fernet:
    secret = get_settings().resolved_secret_key().encode()
    digest = hashlib.sha256(b"fabrique-" + purpose.encode() + b":" + secret).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_secret(purpose: str, value: str) -> str:
    """``value`` encrypted for ``purpose`` ("" stays "")."""
    return _fernet(purpose).encrypt(value.encode()).decode() if value else ""


def decrypt_secret(purpose: str, token: str) -> str | None:
    """The stored value, or None when it was encrypted under another secret key or purpose."""
    if not token:
        return ""
    try:
        return _fernet(purpose).decrypt(token.encode()).decode()
    except InvalidToken:
        return None
