from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core.clock import now


class Account(SQLModel, table=True):
    __tablename__ = "account"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(max_length=120)
    password_hash: str | None = Field(default=None, max_length=255)
    locale: str | None = Field(default=None, max_length=5)
    email_verified_at: datetime | None = None
    is_superuser: bool = False
    suspended_at: datetime | None = None
    password_changed_at: datetime | None = None
    created_at: datetime = Field(default_factory=now)


class AuthSession(SQLModel, table=True):
    """A browser login. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "auth_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    account_id: int = Field(foreign_key="account.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=now)
    expires_at: datetime
    last_seen_at: datetime = Field(default_factory=now)
    user_agent: str | None = Field(default=None, max_length=255)


class ApiToken(SQLModel, table=True):
    """A personal access token (or one issued by the OAuth2 password flow)."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=100)
    kind: str = Field(default="personal", max_length=16)
    prefix: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True)
    space_id: int | None = Field(default=None, foreign_key="space.id", ondelete="CASCADE")
    created_at: datetime = Field(default_factory=now)
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class LoginThrottle(SQLModel, table=True):
    """Failed-login counters, one row per bucket (see ``app.account.throttle``). The key is a
    digest of the bucket, so the table holds no address in clear; a bucket that names an account
    starts with a digest of its address, so deleting the account erases its rows."""

    __tablename__ = "login_throttle"

    key: str = Field(max_length=64, primary_key=True)
    failures: int = 0
    last_at: datetime = Field(default_factory=now)
    locked_until: datetime | None = None
