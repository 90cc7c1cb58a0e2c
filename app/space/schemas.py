from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from app.account.schemas import Strict
from app.pricing.vat import VAT_RATES_BP
from app.space.models import Role

DEFAULT_RATE_HELP = f"the space's VAT rate in basis points, one of {', '.join(map(str, VAT_RATES_BP))}"


class SpaceCreate(Strict):
    name: str = Field(min_length=2, max_length=120)
    slug: str | None = Field(default=None, max_length=60)
    timezone: str = Field(default="Europe/Paris", max_length=64)
    locale: str = Field(default="fr", pattern="^(fr|en)$")
    legal_form: str | None = Field(default=None, pattern="^(association|company|public|other)$")
    legal_name: str | None = Field(default=None, max_length=200)
    siret: str | None = Field(default=None, pattern=r"^\d{14}$")
    vat_status: str | None = Field(default=None, pattern="^(subject|exempt|franchise)$")
    address: str | None = Field(default=None, max_length=300)


class SpaceUpdate(Strict):
    name: str | None = Field(default=None, min_length=2, max_length=120)
    timezone: str | None = Field(default=None, max_length=64)
    locale: str | None = Field(default=None, pattern="^(fr|en)$")
    legal_form: str | None = Field(default=None, pattern="^(association|company|public|other)$")
    legal_name: str | None = Field(default=None, max_length=200)
    siret: str | None = Field(default=None, pattern=r"^\d{14}$")
    vat_status: str | None = Field(default=None, pattern="^(subject|exempt|franchise)$")
    address: str | None = Field(default=None, max_length=300)
    # -- pricing settings (app.pricing)
    default_vat_rate_bp: int | None = Field(default=None, strict=True, description=DEFAULT_RATE_HELP)
    prices_include_vat: bool | None = Field(default=None, strict=True,
                                            description="whether typed prices include VAT")
    # -- end of pricing settings


class SpaceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    name: str
    timezone: str
    locale: str
    currency: str
    legal_form: str | None
    legal_name: str | None
    siret: str | None
    vat_status: str | None
    address: str | None
    default_vat_rate_bp: int
    prices_include_vat: bool
    created_at: datetime


class MySpace(SpaceRead):
    role: Role


class MemberRead(BaseModel):
    id: int
    account_id: int
    name: str
    email: str
    role: Role
    tags: list[str]
    joined_at: datetime


class MemberUpdate(Strict):
    role: Role | None = None
    tags: list[str] | None = Field(default=None, max_length=30)


class InvitationCreate(Strict):
    email: EmailStr
    role: Role = Role.member


class InvitationRead(BaseModel):
    id: int
    email: str
    role: Role
    created_at: datetime
    expires_at: datetime


class InvitationAccepted(BaseModel):
    space: SpaceRead
    role: Role


class AuditRead(BaseModel):
    id: int
    action: str
    actor_id: int | None
    object_type: str | None
    object_id: str | None
    data: dict
    created_at: datetime


class AuditPage(BaseModel):
    items: list[AuditRead]
    total: int
