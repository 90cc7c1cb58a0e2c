from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from app.core.schemas import SingleLine, Strict

MAX_TOKEN_DAYS = 3650  # ten years: an API token's longest life


class AccountCreate(Strict):
    name: SingleLine = Field(min_length=1, max_length=120)
    email: EmailStr
    password: str = Field(min_length=1, max_length=256)
    locale: str | None = Field(default=None, pattern="^(fr|en)$")


class SignUpAccepted(BaseModel):
    """The same answer whether the address had an account or not."""

    email: str
    message: str


class AccountRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str
    locale: str | None
    email_verified: bool
    created_at: datetime


class PasswordChange(Strict):
    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


class TokenCreate(Strict):
    name: SingleLine = Field(min_length=1, max_length=100)
    space: str | None = Field(default=None, max_length=48, description="Limit the token to this space's slug")
    expires_in_days: int | None = Field(default=None, ge=1, le=MAX_TOKEN_DAYS)


class TokenRead(BaseModel):
    id: int
    name: str
    prefix: str
    space: str | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="Shown once: store it now.")


class OAuthToken(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class AccountDeletion(Strict):
    password: str | None = Field(default=None, max_length=256, description="required when the account has one")
