"""Request and response models of the resources API. Inputs are strict: no 0 for a datetime,
no "5" for a number, no unknown field."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.money import Cents
from app.core.permissions import Role
from app.core.schemas import IsoDatetime, SingleLine, Strict
from app.pricing.vat import VAT_RATE_HELP
from app.resource.models import Resource, ResourceBlock

Kind = Literal["hot_desk", "dedicated_desk", "meeting_room", "private_office", "equipment"]
UnitName = Literal["hour", "half_day", "day"]
Minutes = Annotated[int, Field(strict=True, ge=0, le=60 * 24 * 31)]


class ResourceCreate(Strict):
    name: SingleLine = Field(min_length=1, max_length=120)
    kind: Kind = "meeting_room"
    description: str = Field(default="", max_length=2000)
    capacity: Annotated[int, Field(strict=True, ge=1, le=500)] = 1
    unit: UnitName = "hour"
    granularity_minutes: Literal[5, 10, 15, 20, 30, 60, 120] = 30
    min_minutes: Minutes | None = None
    max_minutes: Minutes | None = None
    buffer_minutes: Annotated[int, Field(strict=True, ge=0, le=24 * 60)] = 0
    horizon_days: Annotated[int, Field(strict=True, ge=1, le=3650)] | None = 60
    cancel_deadline_hours: Annotated[int, Field(strict=True, ge=0, le=24 * 90)] = 24
    late_cancel: Literal["refuse", "charge"] = "refuse"
    allowed_roles: list[Role] = Field(default_factory=list, max_length=len(Role))
    required_tags: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(default_factory=list, max_length=10)
    price_public_cents: Cents = 0
    price_member_cents: Cents = 0
    vat_rate_bp: int | None = Field(default=None, strict=True, description=VAT_RATE_HELP)
    position: Annotated[int, Field(strict=True, ge=0, le=10000)] = 0


class ResourceUpdate(Strict):
    name: SingleLine | None = Field(default=None, min_length=1, max_length=120)
    kind: Kind | None = None
    description: str | None = Field(default=None, max_length=2000)
    capacity: Annotated[int, Field(strict=True, ge=1, le=500)] | None = None
    unit: UnitName | None = None
    granularity_minutes: Literal[5, 10, 15, 20, 30, 60, 120] | None = None
    min_minutes: Minutes | None = None
    max_minutes: Minutes | None = None
    buffer_minutes: Annotated[int, Field(strict=True, ge=0, le=24 * 60)] | None = None
    horizon_days: Annotated[int, Field(strict=True, ge=1, le=3650)] | None = None
    cancel_deadline_hours: Annotated[int, Field(strict=True, ge=0, le=24 * 90)] | None = None
    late_cancel: Literal["refuse", "charge"] | None = None
    allowed_roles: list[Role] | None = Field(default=None, max_length=len(Role))
    required_tags: list[Annotated[str, Field(min_length=1, max_length=60)]] | None = Field(default=None, max_length=10)
    price_public_cents: Cents | None = None
    price_member_cents: Cents | None = None
    vat_rate_bp: int | None = Field(default=None, strict=True, description=VAT_RATE_HELP)
    position: Annotated[int, Field(strict=True, ge=0, le=10000)] | None = None


class ResourceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    description: str
    capacity: int
    unit: str
    granularity_minutes: int
    min_minutes: int | None
    max_minutes: int | None
    buffer_minutes: int
    horizon_days: int | None
    cancel_deadline_hours: int
    late_cancel: str
    allowed_roles: list[str]
    required_tags: list[str]
    price_public_cents: int
    price_member_cents: int
    vat_rate_bp: int | None
    position: int
    archived: bool
    archived_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, r: Resource) -> ResourceRead:
        data = {k: getattr(r, k) for k in cls.model_fields if k not in ("allowed_roles", "required_tags", "archived")}
        return cls(**data, allowed_roles=r.role_list, required_tags=r.tag_list, archived=r.is_archived)


class BlockCreate(Strict):
    starts_at: IsoDatetime
    ends_at: IsoDatetime
    reason: str = Field(default="", max_length=300)


class BlockRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    resource_id: int
    starts_at: datetime
    ends_at: datetime
    reason: str
    source: str
    created_at: datetime

    @classmethod
    def of(cls, b: ResourceBlock) -> BlockRead:
        return cls.model_validate(b)


class BlockCreated(BlockRead):
    overlapping_booking_ids: list[int]
