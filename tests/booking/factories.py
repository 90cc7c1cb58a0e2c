"""Booking test helpers: resources, hours, closures, blocks and bookings written straight to the
database (each in its own committed transaction, like a request), and a frozen Paris clock.

Dates: Monday 1 March 2027 is "today" unless a test says otherwise. DST in 2027 in Paris: forward
on Sunday 28 March, back on Sunday 31 October.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.booking import hours
from app.booking.models import Booking, BookingStatus, Closure
from app.core import clock, db
from app.resource.models import Resource, ResourceBlock

PARIS = ZoneInfo("Europe/Paris")
TODAY = date(2027, 3, 1)  # a Monday
TOMORROW = TODAY + timedelta(days=1)


def url(world, path: str) -> str:
    """The API path of ``path`` in space a."""
    return f"/api/v1/spaces/{world.a.slug}/{path}"


async def post_booking(api, world, role="member", **body):
    return await api(world.a.tokens[role]).post(url(world, "bookings"), json=body)


def paris(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS)


def iso(day: date, hour: int, minute: int = 0) -> str:
    return paris(day, hour, minute).isoformat()


def freeze(day: date = TODAY, hour: int = 8, minute: int = 0) -> datetime:
    at = paris(day, hour, minute)
    clock.freeze(at)
    return at


ROOM = dict(name="Salle Lumière", kind="meeting_room", unit="hour", granularity_minutes=30, capacity=1,
            price_member_cents=1500, price_public_cents=2500, cancel_deadline_hours=24, horizon_days=60)
DESK = dict(name="Grande table", kind="hot_desk", unit="day", capacity=6, price_member_cents=1200,
            price_public_cents=2000, cancel_deadline_hours=12, horizon_days=30)


async def create_resource(space, **values) -> Resource:
    async with db.transaction(space_id=space.id) as session:
        resource = Resource(**{**ROOM, **values})
        session.add(resource)
    return resource


async def create_room(space, **values) -> Resource:
    return await create_resource(space, **{**ROOM, **values})


async def create_desk(space, **values) -> Resource:
    return await create_resource(space, **{**DESK, **values})


async def set_hours(space, actor, days: dict[int, list[tuple[time, time]]], boundary: time | None = None) -> None:
    async with db.transaction(space_id=space.id) as session:
        await hours.save_hours(session, space, actor, days=days, half_day_boundary=boundary)


async def every_day(space, actor, opens: time = time(9), closes: time = time(18)) -> None:
    await set_hours(space, actor, {d: [(opens, closes)] for d in range(7)})


async def add_closure(space, start: date, end: date | None = None, label: str = "") -> Closure:
    async with db.transaction(space_id=space.id) as session:
        closure = Closure(start_date=start, end_date=end or start, label=label)
        session.add(closure)
    return closure


async def add_block(space, resource: Resource, starts_at: datetime, ends_at: datetime, reason: str = "") -> ResourceBlock:
    async with db.transaction(space_id=space.id) as session:
        block = ResourceBlock(resource_id=resource.id, starts_at=starts_at, ends_at=ends_at, reason=reason)
        session.add(block)
    return block


async def insert_booking(space, resource: Resource, account, starts_at: datetime, ends_at: datetime,
                         **values) -> Booking:
    """A booking row written as is (no rules, but the database guard still applies)."""
    async with db.transaction(space_id=space.id) as session:
        booking = Booking(
            resource_id=resource.id, account_id=account.id if account else None, starts_at=starts_at,
            ends_at=ends_at, blocked_until=ends_at + timedelta(minutes=resource.buffer_minutes),
            exclusive=resource.capacity == 1, **values,
        )
        session.add(booking)
    return booking


async def count_bookings(space, status: str | None = BookingStatus.confirmed) -> int:
    from sqlmodel import func, select

    async with db.transaction(space_id=space.id, write=False) as session:
        stmt = select(func.count()).select_from(Booking)
        if status:
            stmt = stmt.where(Booking.status == status)
        return (await session.exec(stmt)).one()


def utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def tick(seconds: int = 1) -> None:
    """Move the frozen clock on. The dev outbox names files by time and recipient, so two e-mails
    to one person at the same frozen instant would overwrite each other."""
    clock.freeze(clock.now() + timedelta(seconds=seconds))
