from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import UniqueConstraint, false, true
from sqlmodel import Field, SQLModel

from app.core.clock import now
from app.core.permissions import Role
from app.core.tenancy import SpaceScoped

# The parts of the public page a manager may publish, in the order the page shows them.
PUBLIC_BLOCKS = ("presentation", "address", "hours", "resources", "prices", "events", "join")
PUBLIC_TEXT_MAX = 5000


class Space(SQLModel, table=True):
    """A tenant: one coworking space or tiers-lieu."""

    __tablename__ = "space"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=48, unique=True, index=True)
    name: str = Field(max_length=120)
    timezone: str = Field(default="Europe/Paris", max_length=64)
    locale: str = Field(default="fr", max_length=5)
    currency: str = Field(default="EUR", max_length=3)
    # -- legal identity: what invoices print; checked by app.space.legal only ----------------------
    legal_form: str | None = Field(default=None, max_length=32)     # LegalForm
    legal_name: str | None = Field(default=None, max_length=200)
    siret: str | None = Field(default=None, max_length=14)          # SIRET (14 digits) or SIREN (9)
    rna: str | None = Field(default=None, max_length=10)            # associations: W + 9 digits
    vat_number: str | None = Field(default=None, max_length=20)     # EU VAT number, compact
    vat_regime: str | None = Field(default=None, max_length=32)     # VatRegime: vat / franchise / association
    address: str | None = Field(default=None, max_length=300)       # street
    postcode: str | None = Field(default=None, max_length=10)
    town: str | None = Field(default=None, max_length=100)
    invoice_prefix: str | None = Field(default=None, max_length=10)
    payment_terms_days: int = Field(default=30, sa_column_kwargs={"server_default": "30"})
    # -- end of legal identity ---------------------------------------------------------------------
    # -- pricing settings (app.pricing): the default VAT rate, basis points (a space exempt
    # from VAT or under the franchise uses 0), and whether typed prices include VAT.
    default_vat_rate_bp: int = Field(default=2000, sa_column_kwargs={"server_default": "2000"})
    prices_include_vat: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    # -- end of pricing settings
    # -- public page (app.public): what a visitor sees at /s/{slug}. Nothing until the manager
    # publishes it, then only the blocks chosen (PUBLIC_BLOCKS, comma-separated).
    public_page: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    public_blocks: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})
    public_text: str = Field(default="", max_length=PUBLIC_TEXT_MAX, sa_column_kwargs={"server_default": ""})
    # -- end of public page
    suspended_at: datetime | None = None
    suspended_reason: str | None = Field(default=None, max_length=300)
    # Grows with every change to the space's resources, hours, closures, blocks or calendar pushes
    # (``app.core.tenancy.space_config``): the key of the per-process booking snapshot. Starts at
    # random, so that a space re-created with a reused id (tests, a restored dump) never matches a
    # snapshot of its predecessor.
    config_version: int = Field(default_factory=lambda: secrets.randbelow(2**30),
                                sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(default_factory=now)

    @property
    def public_block_set(self) -> frozenset[str]:
        """The blocks a visitor sees (none while the page is not published)."""
        if not self.public_page:
            return frozenset()
        return frozenset(b for b in self.public_blocks.split(",") if b in PUBLIC_BLOCKS)

    @property
    def charges_vat(self) -> bool:
        """Whether the space's invoices carry VAT: not under the franchise en base (art. 293 B du
        CGI) nor the association exemption (art. 261-7-1° du CGI), whatever rate a price names."""
        return self.vat_regime not in ("franchise", "association")


class SpaceMember(SpaceScoped, table=True):
    """An account's membership of a space, with its role."""

    __tablename__ = "space_member"
    __table_args__ = (UniqueConstraint("space_id", "account_id", name="uq_space_member_account"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True, ondelete="CASCADE")
    role: str = Field(default=Role.member, max_length=16)
    tags: str = Field(default="", max_length=500)  # comma-separated, e.g. "laser-trained"
    # The team's private note on the person (not shown to other members; in the person's own data export).
    note: str = Field(default="", max_length=2000)
    created_at: datetime = Field(default_factory=now)

    @property
    def tag_set(self) -> frozenset[str]:
        return frozenset(t.strip() for t in self.tags.split(",") if t.strip())


class Invitation(SpaceScoped, table=True):
    __tablename__ = "invitation"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, index=True)
    role: str = Field(default=Role.member, max_length=16)
    token_hash: str = Field(max_length=64, unique=True)
    invited_by_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=now)
    expires_at: datetime
    accepted_at: datetime | None = None
    accepted_by_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    revoked_at: datetime | None = None
