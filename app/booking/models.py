"""Bookings, recurring series, and the space's booking calendar (opening hours, closures, settings).

The no-double-booking guarantee lives in the database (see the migration): on PostgreSQL an
exclusion constraint over ``(resource_id, tstzrange(starts_at, blocked_until, '[)'))``, on SQLite a
trigger, both for confirmed rows marked ``exclusive`` (booked while the resource had capacity 1).
``blocked_until`` is ``ends_at`` plus the resource's buffer: widening one side of every booking
leaves exactly one buffer between two neighbours, and lets the same guard enforce it.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field

from app.core.clock import now
from app.core.records import kept_record
from app.core.tenancy import SpaceScoped, space_config, space_counter, space_key, space_ref


class BookingStatus(StrEnum):
    confirmed = "confirmed"
    cancelled = "cancelled"


class BookingSource(StrEnum):
    member = "member"  # booked by the member for themselves
    staff = "staff"    # booked by staff on a member's behalf
    event = "event"    # holds a room for an event (source_ref = "event:<id>")


@space_config
class BookingSettings(SpaceScoped, table=True):
    """Per-space booking settings. No row yet means the defaults (and default opening hours)."""

    __tablename__ = "booking_settings"
    __table_args__ = (UniqueConstraint("space_id", name="uq_booking_settings_space"),)

    id: int | None = Field(default=None, primary_key=True)
    half_day_boundary: time = time(13, 0)
    updated_at: datetime = Field(default_factory=now)


@space_config
class OpeningHours(SpaceScoped, table=True):
    """One opening interval of a weekday (0 = Monday); a lunch break is two rows."""

    __tablename__ = "opening_hours"
    __table_args__ = (Index("ix_opening_hours_space_weekday", "space_id", "weekday"),)

    id: int | None = Field(default=None, primary_key=True)
    weekday: int
    opens: time
    closes: time  # 00:00 means midnight at the end of the day


@space_config
class Closure(SpaceScoped, table=True):
    """Days the space is shut: a public holiday, the summer closing. ``end_date`` is inclusive."""

    __tablename__ = "closure"
    __table_args__ = (Index("ix_closure_space_start", "space_id", "start_date"),)

    id: int | None = Field(default=None, primary_key=True)
    start_date: date
    end_date: date
    label: str = Field(default="", max_length=120)
    created_at: datetime = Field(default_factory=now)


class BookingSeries(SpaceScoped, table=True):
    """A weekly repeat; its occurrences are materialised as bookings carrying ``series_id``."""

    __tablename__ = "booking_series"
    __table_args__ = (space_key("booking_series"), space_ref("resource_id", "resource", ondelete="CASCADE"))

    id: int | None = Field(default=None, primary_key=True)
    resource_id: int = Field(foreign_key="resource.id", ondelete="CASCADE")
    account_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    booked_by_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    starts_at: datetime
    ends_at: datetime
    until: date | None = None
    count: int | None = None
    created_at: datetime = Field(default_factory=now)


@kept_record  # a usage record: priced, and later invoiced
@space_counter("bookings")  # availability caches (app.booking.availability) follow it
class Booking(SpaceScoped, table=True):
    """A resource held for an interval (aware UTC), for a person or an event.

    The price is frozen at booking time (``price_cents`` for ``price_kind`` member/public) so that
    billing reads what the member was shown; ``late_cancel_charged`` marks a cancellation after the
    deadline under a "charge" policy.
    """

    __tablename__ = "booking"
    __table_args__ = (
        Index("ix_booking_space_resource_starts", "space_id", "resource_id", "starts_at"),
        # Overlap queries (``starts_at < end AND blocked_until > start``): this bound is the selective
        # one, so scans start at ``start`` and never read the resource's history.
        Index("ix_booking_space_resource_blocked_until", "space_id", "resource_id", "blocked_until"),
        Index("ix_booking_space_starts", "space_id", "starts_at"),
        Index("ix_booking_space_account_starts", "space_id", "account_id", "starts_at"),
        space_key("booking"),
        space_ref("resource_id", "resource", ondelete="RESTRICT"),
        space_ref("series_id", "booking_series", ondelete="SET NULL"),
    )

    id: int | None = Field(default=None, primary_key=True)
    space_id: int = Field(foreign_key="space.id", index=True, ondelete="RESTRICT")  # kept: no cascade
    resource_id: int = Field(foreign_key="resource.id", ondelete="RESTRICT")
    account_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    booked_by_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    series_id: int | None = Field(default=None, foreign_key="booking_series.id", ondelete="SET NULL")
    starts_at: datetime
    ends_at: datetime
    blocked_until: datetime
    exclusive: bool = True
    status: str = Field(default=BookingStatus.confirmed, max_length=12)
    source: str = Field(default=BookingSource.member, max_length=12)
    source_ref: str | None = Field(default=None, max_length=64)
    title: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=500)
    price_cents: int = 0
    price_kind: str = Field(default="member", max_length=8)  # member / public / none
    currency: str = Field(default="EUR", max_length=3)
    vat_rate_bp: int = 0
    cancelled_at: datetime | None = None
    cancelled_by_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    cancel_reason: str = Field(default="", max_length=500)
    late_cancel_charged: bool = False
    # iCalendar SEQUENCE of the invitations and feeds: grows with each move and the cancellation.
    sequence: int = 0
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)

    @property
    def is_active(self) -> bool:
        return self.status == BookingStatus.confirmed
