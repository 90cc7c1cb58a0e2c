from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, computed_field

from app.core.i18n import gettext
from app.core.permissions import Role
from app.core.schemas import SingleLine, Strict
from app.pricing.vat import VAT_RATES_BP
from app.space.legal import vat_mention

DEFAULT_RATE_HELP = f"the space's VAT rate in basis points, one of {', '.join(map(str, VAT_RATES_BP))}"


class LegalIdentityWrite(Strict):
    """The legal identity as sent: only a size guard here; ``app.space.legal`` decides, for the API
    and the settings page alike (a pattern here would refuse with other codes than the page's)."""

    legal_form: str | None = Field(default=None, max_length=500)
    legal_name: SingleLine | None = Field(default=None, max_length=500)
    siret: str | None = Field(default=None, max_length=500, description="SIRET (14 digits) or SIREN (9)")
    rna: str | None = Field(default=None, max_length=500, description="Associations: W and 9 digits")
    vat_number: str | None = Field(default=None, max_length=500, description="EU VAT number")
    vat_regime: str | None = Field(default=None, max_length=500, description="vat, franchise or association")
    address: str | None = Field(default=None, max_length=500, description="Street")
    postcode: str | None = Field(default=None, max_length=500)
    town: str | None = Field(default=None, max_length=500)
    invoice_prefix: str | None = Field(default=None, max_length=500)
    payment_terms_days: int | str | None = Field(default=None, description="Days, 0 to 60 (default 30)")


class SpaceCreate(LegalIdentityWrite):
    name: SingleLine = Field(min_length=2, max_length=120)
    slug: str | None = Field(default=None, max_length=60)
    timezone: str = Field(default="Europe/Paris", max_length=64)
    locale: str = Field(default="fr", pattern="^(fr|en)$")


class SpaceUpdate(LegalIdentityWrite):
    name: SingleLine | None = Field(default=None, min_length=2, max_length=120)
    timezone: str | None = Field(default=None, max_length=64)
    locale: str | None = Field(default=None, pattern="^(fr|en)$")
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
    rna: str | None
    vat_number: str | None
    vat_regime: str | None
    address: str | None
    postcode: str | None
    town: str | None
    invoice_prefix: str | None
    payment_terms_days: int
    default_vat_rate_bp: int
    prices_include_vat: bool
    created_at: datetime

    @computed_field(description="What invoices print for the VAT regime, in the caller's language")  # type: ignore[prop-decorator]
    @property
    def vat_mention(self) -> str | None:
        msgid = vat_mention(self.vat_regime)
        return gettext(msgid) if msgid else None


class MySpace(SpaceRead):
    role: Role


class MemberRead(BaseModel):
    id: int
    account_id: int
    name: str
    email: str
    role: Role
    tags: list[str]
    note: str | None = Field(default=None, description="The team's private note (for member.manage only)")
    joined_at: datetime


class MemberUpdate(Strict):
    role: Role | None = None
    tags: list[str] | None = Field(default=None, max_length=30)
    note: str | None = Field(default=None, max_length=2000, description="The team's private note on the person")


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
