from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from app.core.money import Cents
from app.core.schemas import SingleLine, Strict
from app.pricing.schemas import ChargeRead
from app.pricing.vat import VAT_RATE_HELP


def _no_numbers(value: Any) -> Any:
    # Lax pydantic would read 0 or 1.5 as a Unix timestamp: an API caller means a date, not that.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError("a date and time is expected (ISO 8601)")
    return value


def _plausible(value: datetime) -> datetime:
    # Far-off years overflow when converted between timezones; no event happens then anyway.
    if not 2000 <= value.year <= 2200:
        raise ValueError("the date must be between the years 2000 and 2200")
    return value


ApiDatetime = Annotated[datetime, BeforeValidator(_no_numbers), AfterValidator(_plausible)]
Title = Annotated[SingleLine, Field(min_length=1, max_length=200)]


class EventFields(Strict):
    description: str = Field(default="", max_length=20000)
    place: SingleLine = Field(default="", max_length=200)
    resource_id: int | None = None
    capacity: int | None = Field(default=None, ge=1, le=100_000, description="seats; null for no limit")
    visibility: Literal["public", "members"] = "public"
    price_public_cents: Cents = 0
    price_member_cents: Cents = 0
    vat_rate_bp: int | None = Field(default=None, strict=True, description=VAT_RATE_HELP)
    registration_deadline: ApiDatetime | None = Field(
        default=None, description="ISO 8601; without an offset, in the space's timezone")


class EventCreate(EventFields):
    title: Title
    starts_at: ApiDatetime = Field(description="ISO 8601; without an offset, in the space's timezone")
    ends_at: ApiDatetime
    publish: bool = Field(default=False, strict=True)
    repeat_weeks: int | None = Field(default=None, ge=2, le=52, description="create a weekly series of n events")


class EventProposal(EventFields):
    title: Title
    starts_at: ApiDatetime
    ends_at: ApiDatetime


class EventUpdate(Strict):
    title: Title | None = None
    description: str | None = Field(default=None, max_length=20000)
    starts_at: ApiDatetime | None = None
    ends_at: ApiDatetime | None = None
    place: str | None = Field(default=None, max_length=200)
    resource_id: int | None = None
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    visibility: Literal["public", "members"] | None = None
    price_public_cents: Cents | None = None
    price_member_cents: Cents | None = None
    vat_rate_bp: int | None = Field(default=None, strict=True, description=VAT_RATE_HELP)
    registration_deadline: ApiDatetime | None = None


class MyRegistration(BaseModel):
    id: int
    status: str
    position: int | None
    payment_status: str
    price_cents: int


class EventRead(BaseModel):
    id: int
    series_id: int | None
    title: str
    description: str
    description_html: str
    starts_at: datetime
    ends_at: datetime
    place: str
    resource_id: int | None
    capacity: int | None
    seats_left: int | None
    visibility: str
    is_paid: bool
    price_public_cents: int
    price_member_cents: int
    vat_rate_bp: int | None = Field(description="null: the space's default rate")
    registration_deadline: datetime | None
    status: str
    decline_message: str | None = None
    room_conflict: str | None = Field(default=None, description="animators, on a draft: why its room cannot be held")
    ics_url: str
    my_registration: MyRegistration | None = None


class ApproveProposal(Strict):
    publish: bool = Field(default=False, strict=True)


class DeclineProposal(Strict):
    message: str = Field(min_length=1, max_length=2000)


class RegistrationRead(BaseModel):
    id: int
    event_id: int
    account_id: int | None
    name: str
    email: str | None
    status: str
    position: int | None = Field(description="place on the waitlist, from 1")
    seq: int
    price_cents: int
    payment_status: str
    attendance: str | None
    created_at: datetime
    confirmed_at: datetime | None
    promoted_at: datetime | None
    cancelled_at: datetime | None
    charges: list[ChargeRead] | None = Field(
        default=None, description="the registration's charges, reversals included (answers about one "
                                  "registration; null in lists)")


class AttendanceUpdate(Strict):
    attendance: Literal["present", "absent"] | None


class PaymentUpdate(Strict):
    paid: bool


class EventStats(BaseModel):
    event_id: int
    title: str
    starts_at: datetime
    status: str
    capacity: int | None
    registered: int
    waitlisted: int
    pending: int
    cancelled: int
    present: int
    no_show: int | None = Field(description="confirmed but not present; null until the event has ended")
