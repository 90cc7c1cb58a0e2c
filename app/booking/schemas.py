"""Request and response models of the bookings API.

Datetimes must be ISO 8601 strings: pydantic's lax mode would take ``0`` (or ``"0"``) as 1970,
and strict mode refuses every JSON string. A datetime without an offset passes this layer and is
refused by the rules with its own code (``invalid_interval``), like every other booking mistake.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.booking.models import Booking
from app.core.schemas import IsoDate, IsoDatetime, SingleLine, Strict
from app.pricing.models import Charge
from app.pricing.schemas import ChargeRead, PricedLineRead

Id = Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)]


GUEST_HELP = "Staff: the booking is for a guest, who is not a member of the space, at the public price."


class BookingCreate(Strict):
    resource_id: Id
    starts_at: IsoDatetime
    ends_at: IsoDatetime
    member_id: Id | None = Field(default=None, description="Book on behalf of this member (staff only).")
    note: str = Field(default="", max_length=500)
    guest: bool = Field(default=False, strict=True, description=GUEST_HELP)


class QuoteRequest(Strict):
    resource_id: Id
    starts_at: IsoDatetime
    ends_at: IsoDatetime
    member_id: Id | None = None
    guest: bool = Field(default=False, strict=True, description=GUEST_HELP)


class CreditUseRead(BaseModel):
    """Units a booking takes (or would take) from one of the member's buckets."""

    bucket_id: int
    source: str = Field(description="allowance, pass or grant")
    label: str
    booking_units: int = Field(description="units of the booking this bucket pays for")
    credits: int = Field(description="units taken from the bucket (a pass converts by its rate; 0 when unlimited)")
    left_before: int | None = Field(description="null when unlimited")
    left_after: int | None = Field(description="what is left after this booking (null when unlimited)")

    @classmethod
    def of(cls, t: Any) -> CreditUseRead:
        return cls(bucket_id=t.bucket_id, source=t.source, label=t.label, booking_units=t.booking_units,
                   credits=t.credits, left_before=t.left_before, left_after=t.left_after)


class CreditOverride(Strict):
    use: Literal["credits", "price"] = Field(
        description='"price": give the credits back and price the booking; "credits": give them back and '
                    "take the member's credits again as a new booking would")
    reason: SingleLine = Field(min_length=1, max_length=300, description="kept in the audit log")


class QuoteRead(BaseModel):
    resource_id: int
    starts_at: datetime
    ends_at: datetime
    price_cents: int
    price_kind: str
    member_price_cents: int
    public_price_cents: int
    currency: str
    vat_rate_bp: int
    cancel_deadline: datetime
    late_cancel: str
    lines: list[PricedLineRead] = Field(default_factory=list, description="the priced lines charged if booked")
    credits: list[CreditUseRead] = Field(
        default_factory=list, description="what the member's credits would pay, bucket by bucket, and what would "
                                          "be left (allowances first, the soonest expiring first, then passes); "
                                          "nothing is debited before the booking is made")


class BookingCancel(Strict):
    reason: str = Field(default="", max_length=500)


class BookingMove(Strict):
    starts_at: IsoDatetime
    ends_at: IsoDatetime
    resource_id: Id | None = None
    reason: str = Field(default="", max_length=500)


class BookingRead(BaseModel):
    id: int
    resource_id: int
    account_id: int | None
    member_name: str | None = None
    booked_by_id: int | None
    series_id: int | None
    starts_at: datetime
    ends_at: datetime
    status: str
    source: str
    source_ref: str | None
    title: str
    note: str
    price_cents: int
    price_kind: str
    currency: str
    vat_rate_bp: int
    late_cancel_charged: bool
    cancelled_at: datetime | None
    cancel_reason: str
    created_at: datetime
    charges: list[ChargeRead] | None = Field(
        default=None, description="the booking's charges, reversals included (answers about one booking; "
                                  "null in lists)")

    @classmethod
    def of(cls, b: Booking, member_name: str | None = None, charges: list[Charge] | None = None) -> BookingRead:
        data = {k: getattr(b, k) for k in cls.model_fields if k not in ("member_name", "charges")}
        return cls(**data, member_name=member_name,
                   charges=None if charges is None else [ChargeRead.of_charge(c) for c in charges])


class SeriesCreate(Strict):
    resource_id: Id
    starts_at: IsoDatetime
    ends_at: IsoDatetime
    until: IsoDate | None = Field(default=None, description="Last local date (inclusive) of the weekly repeat.")
    count: Annotated[int, Field(strict=True, ge=1, le=52)] | None = None
    member_id: Id | None = None
    guest: bool = Field(default=False, strict=True, description=GUEST_HELP)
    on_conflict: Literal["fail", "skip"] = Field(
        default="fail", description='"fail": book all or none; "skip": book the free dates only.'
    )


class OccurrenceRead(BaseModel):
    starts_at: datetime
    ends_at: datetime
    status: str
    code: str | None
    message: str | None
    price_cents: int


class SeriesPreview(BaseModel):
    occurrences: list[OccurrenceRead]
    free: int
    taken: int
    total_price_cents: int
    currency: str


class SeriesRead(BaseModel):
    id: int
    bookings: list[BookingRead]
    skipped: list[OccurrenceRead]


class SlotRead(BaseModel):
    """Hourly resources: a run of consecutive cells in the same state, cells starting every
    ``step_minutes`` from ``starts_at`` (any cell of a free run can be booked). Day and half-day
    resources: one cell (the day, the morning, the afternoon) each."""

    starts_at: datetime
    ends_at: datetime
    free: int = Field(description="Places left in each cell of the run")
    state: str = Field(description="free, full, blocked or past")


class DayRead(BaseModel):
    date: date
    open: bool
    closure: str | None
    slots: list[SlotRead]


class BusyRead(BaseModel):
    starts_at: datetime
    ends_at: datetime
    booking_id: int | None = None  # staff only
    member_name: str | None = None  # staff only


class ResourceAvailabilityRead(BaseModel):
    resource_id: int
    name: str
    kind: str
    unit: str
    capacity: int
    step_minutes: int | None = Field(description="The grid of an hourly resource (cells of slots)")
    days: list[DayRead]
    busy: list[BusyRead]
    blocks: list[dict[str, Any]]


class MineRead(BaseModel):
    """One of the caller's own bookings in the range."""

    resource_id: int
    booking_id: int
    starts_at: datetime
    ends_at: datetime


class AvailabilityRead(BaseModel):
    mine: list[MineRead]
    start: date
    end: date
    timezone: str
    resources: list[ResourceAvailabilityRead]


# Wall-clock times travel as "HH:MM" (OpenAPI's "time" format is RFC 3339 and wants an offset).
WallTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["09:30"])]


def wall_time(value: time) -> str:
    return value.strftime("%H:%M")


class Interval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    opens: WallTime
    closes: WallTime = Field(description='"00:00" closes at midnight')


class DayHours(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekday: Annotated[int, Field(strict=True, ge=0, le=6)]
    intervals: list[Interval] = Field(default_factory=list, max_length=4)


class HoursUpdate(Strict):
    days: list[DayHours] = Field(max_length=7, description="Weekdays not listed are closed (0 = Monday).")
    half_day_boundary: WallTime | None = None


class HoursRead(BaseModel):
    days: list[DayHours]
    half_day_boundary: WallTime
    timezone: str


class ClosureCreate(Strict):
    start_date: IsoDate
    end_date: IsoDate | None = None
    label: SingleLine = Field(default="", max_length=120)


class ClosureRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    start_date: date
    end_date: date
    label: str
