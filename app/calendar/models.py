"""Calendar sync: secret feed URLs, external calendars that block resources, CalDAV targets.

Blocks imported from an external calendar live in the bookings domain's ``resource_block`` table
with ``source = "ical:<source id>"``: the booking rules already refuse any slot they overlap.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Text, UniqueConstraint, func
from sqlmodel import Field, col

from app.core.clock import now
from app.core.tenancy import SpaceScoped, space_config, space_key, space_ref


class FeedKind(StrEnum):
    member = "member"              # one member's bookings and event registrations in this space
    resource = "resource"          # a resource's bookings with who booked (staff)
    resource_busy = "resource_busy"  # the same bookings as busy/free, without names (members)
    events = "events"              # the space's public events


class CalendarFeed(SpaceScoped, table=True):
    """A secret feed URL. Only a hash of the token is stored, never the token itself.

    The token is ``HMAC(secret key, nonce)``: the server can show its owner the URL again (as
    calendar apps do) while a copy of the database alone reveals no working URL. Regenerating
    revokes the row and creates another; a revoked row answers 404 at once.
    """

    __tablename__ = "calendar_feed"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_calendar_feed_token_hash"),
        Index("ix_calendar_feed_space_kind", "space_id", "kind", "account_id", "resource_id"),
        space_ref("resource_id", "resource", ondelete="CASCADE"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    account_id: int | None = Field(default=None, foreign_key="account.id", ondelete="CASCADE")
    resource_id: int | None = Field(default=None, foreign_key="resource.id", ondelete="CASCADE")
    nonce: str = Field(max_length=64)
    token_hash: str = Field(max_length=64)
    created_by_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=now)
    revoked_at: datetime | None = None


# One live URL per feed: concurrent regenerations cannot leave two (app.calendar.feeds).
Index("uq_calendar_feed_live", CalendarFeed.space_id, CalendarFeed.kind,
      func.coalesce(CalendarFeed.account_id, 0), func.coalesce(CalendarFeed.resource_id, 0), unique=True,
      postgresql_where=col(CalendarFeed.revoked_at).is_(None), sqlite_where=col(CalendarFeed.revoked_at).is_(None))


class CalendarSource(SpaceScoped, table=True):
    """An external calendar (ICS URL) whose events make a resource unavailable.

    ``etag``/``http_last_modified`` are the validators of the last good download, echoed on the
    next one; ``expanded_until`` is the end of the window the current blocks cover, so a feed that
    has not changed is downloaded in full again once the booking horizon has moved on.
    """

    __tablename__ = "calendar_source"
    __table_args__ = (
        Index("ix_calendar_source_space_resource", "space_id", "resource_id"),
        space_ref("resource_id", "resource", ondelete="CASCADE"),
    )

    id: int | None = Field(default=None, primary_key=True)
    resource_id: int = Field(foreign_key="resource.id", ondelete="CASCADE")
    url: str = Field(max_length=2000)
    label: str = Field(default="", max_length=120)
    etag: str | None = Field(default=None, max_length=255)
    http_last_modified: str | None = Field(default=None, max_length=64)
    expanded_until: datetime | None = None
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error_code: str | None = Field(default=None, max_length=32)
    last_error_status: int | None = None
    last_error_detail: str | None = Field(default=None, max_length=500)
    failures: int = 0  # consecutive; spaces out the retries of a source that keeps failing
    block_count: int = 0
    created_by_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=now)

    @property
    def block_source(self) -> str:
        return f"ical:{self.id}"

    @property
    def failing(self) -> bool:
        return self.last_error_code is not None


@space_config
class CaldavTarget(SpaceScoped, table=True):
    """A CalDAV calendar that receives one object per booking of a resource.

    The password is encrypted with a key derived from the platform secret; it is never shown back,
    logged, or written to the audit log.
    """

    __tablename__ = "caldav_target"
    __table_args__ = (
        UniqueConstraint("space_id", "resource_id", name="uq_caldav_target_resource"),
        space_key("caldav_target"),
        space_ref("resource_id", "resource", ondelete="CASCADE"),
    )

    id: int | None = Field(default=None, primary_key=True)
    resource_id: int = Field(foreign_key="resource.id", ondelete="CASCADE")
    url: str = Field(max_length=2000)
    username: str = Field(default="", max_length=200)
    password_encrypted: str = Field(default="", sa_type=Text)
    show_names: bool = False  # write who booked, not only "Booked" (the calendar is often shared)
    enabled: bool = True
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)


class CaldavObject(SpaceScoped, table=True):
    """What was written where: one row per booking and CalDAV calendar holding it."""

    __tablename__ = "caldav_object"
    __table_args__ = (
        UniqueConstraint("target_id", "booking_id", name="uq_caldav_object_target_booking"),
        space_ref("target_id", "caldav_target", ondelete="CASCADE"),
        space_ref("booking_id", "booking", ondelete="CASCADE"),
    )

    id: int | None = Field(default=None, primary_key=True)
    target_id: int = Field(foreign_key="caldav_target.id", ondelete="CASCADE")
    booking_id: int = Field(foreign_key="booking.id", index=True, ondelete="CASCADE")
    href: str = Field(max_length=2000)
    etag: str | None = Field(default=None, max_length=255)
    sequence: int = 0
    pushed_at: datetime = Field(default_factory=now)
