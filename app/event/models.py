"""Events, their series, and the registrations to them.

A registration's place in line is its ``seq``: a per-event counter handed out while the event row
is locked, so it records the order in which the database serialised the registrations. Waitlist
positions are ranks by ``seq`` among the waitlisted, hence always a gapless 1..n sequence.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field

from app.core.clock import now
from app.core.records import kept_record
from app.core.tenancy import SpaceScoped, space_key, space_ref


class EventStatus(StrEnum):
    proposed = "proposed"      # suggested by a member, waiting for an animator
    declined = "declined"      # a proposal the animators said no to (with a message)
    draft = "draft"
    published = "published"
    cancelled = "cancelled"


class Visibility(StrEnum):
    public = "public"          # on the space's public page, visitors may register
    members = "members"        # members of the space only


class RegistrationStatus(StrEnum):
    pending = "pending"        # a visitor who has not clicked the e-mailed link yet: holds no seat
    confirmed = "confirmed"
    waitlisted = "waitlisted"
    cancelled = "cancelled"


ACTIVE_STATUSES = (RegistrationStatus.pending, RegistrationStatus.confirmed, RegistrationStatus.waitlisted)


class PaymentStatus(StrEnum):
    free = "free"
    to_pay = "to_pay"          # reserved, to pay on site
    paid = "paid"


class Attendance(StrEnum):
    present = "present"
    absent = "absent"


class EventSeries(SpaceScoped, table=True):
    """Events created together as a weekly series; each occurrence is an ordinary event row."""

    __tablename__ = "event_series"
    __table_args__ = (space_key("event_series"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    frequency: str = Field(default="weekly", max_length=16)
    count: int
    created_by_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=now)


class Event(SpaceScoped, table=True):
    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_space_starts", "space_id", "starts_at"),
        CheckConstraint("capacity IS NULL OR capacity >= 1", name="capacity_positive"),
        CheckConstraint("price_public_cents >= 0 AND price_member_cents >= 0", name="prices_not_negative"),
        space_key("event"),
        space_ref("series_id", "event_series", ondelete="SET NULL"),
        space_ref("resource_id", "resource", ondelete="SET NULL"),
        space_ref("booking_id", "booking", ondelete="SET NULL"),
    )

    id: int | None = Field(default=None, primary_key=True)
    series_id: int | None = Field(default=None, foreign_key="event_series.id", index=True, ondelete="SET NULL")
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=20000)  # Markdown, rendered and sanitised on output
    starts_at: datetime
    ends_at: datetime
    place: str = Field(default="", max_length=200)          # free text, or the room's name
    # The room of the space where it happens, held by a booking while the event is published.
    resource_id: int | None = Field(default=None, foreign_key="resource.id", index=True, ondelete="SET NULL")
    booking_id: int | None = Field(default=None, foreign_key="booking.id", ondelete="SET NULL")
    capacity: int | None = None                             # None: no limit
    visibility: str = Field(default=Visibility.public, max_length=16)
    price_public_cents: int = 0
    price_member_cents: int = 0
    vat_rate_bp: int | None = None                          # basis points: 2000 = 20 %; None: the space's
    registration_deadline: datetime | None = None
    status: str = Field(default=EventStatus.draft, max_length=16, index=True)
    decline_message: str | None = Field(default=None, max_length=2000)
    proposed_by_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    created_by_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    sequence: int = 0                                       # iCalendar SEQUENCE: grows with each change told
    reg_seq: int = 0                                        # last registration seq handed out
    published_at: datetime | None = None
    cancelled_at: datetime | None = None
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)

    @property
    def is_paid(self) -> bool:
        return self.price_public_cents > 0 or self.price_member_cents > 0

    @property
    def is_public(self) -> bool:
        return self.visibility == Visibility.public


@kept_record  # a usage record: priced, and later invoiced
class Registration(SpaceScoped, table=True):
    __tablename__ = "registration"
    __table_args__ = (
        # One registration row per person and event (a cancelled one is reused on re-registering).
        UniqueConstraint("event_id", "account_id", name="uq_registration_event_account"),
        UniqueConstraint("event_id", "email", name="uq_registration_event_email"),
        Index("ix_registration_event_status_seq", "event_id", "status", "seq"),
        space_ref("event_id", "event", ondelete="RESTRICT"),
    )

    id: int | None = Field(default=None, primary_key=True)
    space_id: int = Field(foreign_key="space.id", index=True, ondelete="RESTRICT")  # kept: no cascade
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="RESTRICT")
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True, ondelete="SET NULL")
    # Visitors (no account) only: members are reached through their account.
    name: str | None = Field(default=None, max_length=120)
    email: str | None = Field(default=None, max_length=254)
    locale: str | None = Field(default=None, max_length=5)
    status: str = Field(default=RegistrationStatus.confirmed, max_length=16)
    seq: int = 0
    price_cents: int = 0
    payment_status: str = Field(default=PaymentStatus.free, max_length=16)
    paid_at: datetime | None = None
    attendance: str | None = Field(default=None, max_length=16)
    attendance_at: datetime | None = None
    reminded_at: datetime | None = None
    created_at: datetime = Field(default_factory=now)
    confirmed_at: datetime | None = None
    promoted_at: datetime | None = None
    cancelled_at: datetime | None = None

    @property
    def is_visitor(self) -> bool:
        return self.account_id is None
