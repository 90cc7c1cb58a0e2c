"""What can be booked: desks, rooms, offices, equipment — and when they are out of service."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field

from app.booking.rules import BookingRules
from app.core.clock import now
from app.core.i18n import _l
from app.core.tenancy import SpaceScoped, space_config, space_key, space_ref


class ResourceKind(StrEnum):
    hot_desk = "hot_desk"
    dedicated_desk = "dedicated_desk"
    meeting_room = "meeting_room"
    private_office = "private_office"
    equipment = "equipment"


KIND_LABELS = {
    ResourceKind.hot_desk: _l("Hot desk"),
    ResourceKind.dedicated_desk: _l("Dedicated desk"),
    ResourceKind.meeting_room: _l("Meeting room"),
    ResourceKind.private_office: _l("Private office"),
    ResourceKind.equipment: _l("Equipment"),
}
DESK_KINDS = frozenset({ResourceKind.hot_desk, ResourceKind.dedicated_desk})


def split_csv(value: str) -> frozenset[str]:
    return frozenset(v.strip() for v in value.split(",") if v.strip())


@space_config
class Resource(SpaceScoped, table=True):
    """A bookable thing and its booking rules. Archived, never deleted: bookings keep pointing at it.

    ``capacity`` counts places booked independently (a shared table with 6 seats is one resource of
    capacity 6, each booking takes one seat). Prices are integer cents per unit, VAT included or not
    as the space says; ``vat_rate_bp`` is in basis points (2000 = 20 %), ``None`` for the space's
    default rate (``app.pricing``).
    """

    __tablename__ = "resource"
    __table_args__ = (Index("ix_resource_space_position", "space_id", "position"), space_key("resource"))

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    kind: str = Field(default=ResourceKind.meeting_room, max_length=24)
    description: str = Field(default="", max_length=2000)
    capacity: int = 1
    unit: str = Field(default="hour", max_length=8)
    granularity_minutes: int = 30
    min_minutes: int | None = None
    max_minutes: int | None = None
    buffer_minutes: int = 0
    horizon_days: int | None = 60
    cancel_deadline_hours: int = 24
    late_cancel: str = Field(default="refuse", max_length=8)
    allowed_roles: str = Field(default="", max_length=100)  # comma-separated; empty = every role
    required_tags: str = Field(default="", max_length=300)  # comma-separated; all are required
    price_public_cents: int = 0
    price_member_cents: int = 0
    vat_rate_bp: int | None = None
    position: int = 0
    archived_at: datetime | None = None
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)

    @property
    def rules(self) -> BookingRules:
        return BookingRules(
            unit=self.unit,
            granularity_minutes=self.granularity_minutes,
            min_minutes=self.min_minutes,
            max_minutes=self.max_minutes,
            buffer_minutes=self.buffer_minutes,
            horizon_days=self.horizon_days,
            cancel_deadline_hours=self.cancel_deadline_hours,
            late_cancel=self.late_cancel,
            allowed_roles=split_csv(self.allowed_roles),
            required_tags=split_csv(self.required_tags),
        )

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_desk(self) -> bool:
        return self.kind in DESK_KINDS

    @property
    def kind_label(self) -> str:
        label = KIND_LABELS.get(self.kind)  # type: ignore[call-overload]
        return str(label) if label is not None else self.kind

    @property
    def role_list(self) -> list[str]:
        return sorted(split_csv(self.allowed_roles))

    @property
    def tag_list(self) -> list[str]:
        return sorted(split_csv(self.required_tags))


@space_config
class ResourceBlock(SpaceScoped, table=True):
    """A period when a resource cannot be booked: maintenance now, imported calendars later.

    ``source`` says who owns the row ("manual" for staff; a calendar sync would use e.g.
    "ical:<feed id>" with ``external_uid`` so that a re-import replaces its own rows only).
    """

    __tablename__ = "resource_block"
    __table_args__ = (
        Index("ix_resource_block_space_resource_starts", "space_id", "resource_id", "starts_at"),
        space_ref("resource_id", "resource", ondelete="CASCADE"),
    )

    id: int | None = Field(default=None, primary_key=True)
    resource_id: int = Field(foreign_key="resource.id", ondelete="CASCADE")
    starts_at: datetime
    ends_at: datetime
    reason: str = Field(default="", max_length=300)
    source: str = Field(default="manual", max_length=64)
    external_uid: str | None = Field(default=None, max_length=255)
    created_by_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=now)
