from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, computed_field
from pydantic_core import PydanticCustomError

from app.core.i18n import gettext
from app.core.permissions import Role
from app.core.schemas import SingleLine, Strict
from app.pricing.vat import VAT_RATES_BP
from app.space.legal import vat_mention
from app.space.models import PUBLIC_BLOCKS, PUBLIC_TEXT_MAX

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


def _public_block(value: str) -> str:
    if value not in PUBLIC_BLOCKS:
        raise PydanticCustomError("enum", "One of: {blocks}.", {"blocks": ", ".join(PUBLIC_BLOCKS)})
    return value


PublicBlock = Annotated[str, AfterValidator(_public_block)]


def _block_list(value: object) -> object:
    """``Space.public_blocks`` as stored (comma-separated) read as a list."""
    return [b for b in value.split(",") if b] if isinstance(value, str) else value


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
    # -- public page (app.public): what visitors see at /s/{slug}
    public_page: bool | None = Field(default=None, strict=True, description="publish the public page")
    public_blocks: list[PublicBlock] | None = Field(
        default=None, max_length=len(PUBLIC_BLOCKS), description=f"the blocks shown: {', '.join(PUBLIC_BLOCKS)}")
    public_text: str | None = Field(default=None, max_length=PUBLIC_TEXT_MAX, description="presentation (Markdown)")


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
    public_page: bool
    public_blocks: Annotated[list[str], BeforeValidator(_block_list)]
    public_text: str
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
