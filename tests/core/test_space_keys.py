"""The database itself refuses a reference from one space's row to another space's row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

from app.booking.models import Booking
from app.core import db
from app.core.tenancy import SpaceScoped, all_spaces
from app.event.models import Event, EventSeries, Registration
from app.resource.models import Resource

START = datetime(2031, 3, 4, 9, tzinfo=UTC)
FOREIGN_KEY = "(?i)foreign key"  # SQLite and PostgreSQL both name it


def _tenant_tables() -> dict[str, type]:
    return {m.local_table.name: m.class_ for m in SQLModel._sa_registry.mappers  # type: ignore[attr-defined]
            if issubclass(m.class_, SpaceScoped)}


def test_every_reference_between_tenant_tables_is_space_guarded():
    """Tables added later (charges, invoices…) are held to it too: a plain foreign key from a tenant
    table to another tenant table needs its composite twin (``app.core.tenancy.space_ref``)."""
    tenant = _tenant_tables()
    assert {"booking", "event", "registration", "audit_entry"} <= set(tenant)
    missing = []
    for name in sorted(tenant):
        table = SQLModel.metadata.tables[name]
        guarded = {
            (tuple(c.name for c in fk.columns), fk.referred_table.name)
            for fk in table.foreign_key_constraints
            if [e.column.name for e in fk.elements] == ["space_id", "id"]
        }
        for fk in table.foreign_key_constraints:
            target = fk.referred_table.name
            if target in tenant and len(fk.columns) == 1:
                column = next(iter(fk.columns)).name
                keyed = any(
                    {c.name for c in index.columns} == {"space_id", "id"} and index.unique
                    for index in SQLModel.metadata.tables[target].indexes
                )
                if (("space_id", column), target) not in guarded or not keyed:
                    missing.append(f"{name}.{column} -> {target}")
    assert not missing, f"references that may cross spaces (add space_ref/space_key): {missing}"


async def _two_spaces_rows(world) -> tuple[Resource, Resource, Booking]:
    async with db.transaction(space_id=world.a.space.id) as session:
        resource_a = Resource(name="Salle A")
        session.add(resource_a)
    async with db.transaction(space_id=world.b.space.id) as session:
        resource_b = Resource(name="Salle B")
        session.add(resource_b)
        await session.flush()
        booking_b = Booking(resource_id=resource_b.id, starts_at=START, ends_at=START + timedelta(hours=1),
                            blocked_until=START + timedelta(hours=1))
        session.add(booking_b)
    return resource_a, resource_b, booking_b


async def test_a_cross_space_reference_written_with_the_guard_lifted_is_refused_by_the_database(world):
    resource_a, resource_b, booking_b = await _two_spaces_rows(world)
    a = world.a.space.id
    with pytest.raises(IntegrityError, match=FOREIGN_KEY):  # checked at once
        async with db.transaction() as session:
            with all_spaces(session):
                later = START + timedelta(days=1)  # a free slot: only the space is wrong
                session.add(Booking(space_id=a, resource_id=resource_b.id, starts_at=later,
                                    ends_at=later + timedelta(hours=1), blocked_until=later + timedelta(hours=1)))
    with pytest.raises(IntegrityError, match=FOREIGN_KEY):  # a nullable reference: checked at commit
        async with db.transaction() as session:
            with all_spaces(session):
                session.add(Event(space_id=a, title="Atelier", starts_at=START, ends_at=START + timedelta(hours=1),
                                  resource_id=resource_a.id, booking_id=booking_b.id))
    async with db.transaction() as session:
        with all_spaces(session):  # the same rows inside one space are fine
            event = Event(space_id=a, title="Atelier", starts_at=START, ends_at=START + timedelta(hours=1),
                          resource_id=resource_a.id)
            session.add(event)
    async with db.transaction(space_id=a, write=False) as session:
        stored = await session.get(Event, event.id)
    assert stored is not None and stored.booking_id is None


async def test_a_cross_space_reference_written_in_raw_sql_is_refused_by_the_database(world):
    _resource_a, resource_b, booking_b = await _two_spaces_rows(world)
    a, b = world.a.space.id, world.b.space.id
    async with db.transaction(space_id=b) as session:
        event_b = Event(title="Soirée", starts_at=START, ends_at=START + timedelta(hours=1))
        session.add(event_b)
    insert = text("INSERT INTO registration (space_id, event_id, status, seq, price_cents, payment_status, created_at)"
                  " VALUES (:space, :event, 'confirmed', 0, 0, 'free', CURRENT_TIMESTAMP)")
    with pytest.raises(IntegrityError, match=FOREIGN_KEY):
        async with db.get_engine().begin() as conn:
            await conn.execute(insert, {"space": a, "event": event_b.id})
    async with db.get_engine().begin() as conn:  # the same row in the event's own space goes in
        await conn.execute(insert, {"space": b, "event": event_b.id})
    with pytest.raises(IntegrityError, match=FOREIGN_KEY):
        async with db.get_engine().begin() as conn:
            await conn.execute(text("UPDATE booking SET space_id = :space WHERE id = :id"),
                               {"space": a, "id": booking_b.id})
    async with db.transaction(space_id=b, write=False) as session:
        stored = await session.get(Booking, booking_b.id)
        registrations = (await session.exec(select(Registration))).all()
    assert stored is not None and stored.space_id == b and resource_b.space_id == b
    assert [(r.space_id, r.event_id) for r in registrations] == [(b, event_b.id)]


async def test_deleting_a_referenced_row_still_clears_a_nullable_reference(world):
    """A composite ON DELETE SET NULL would null space_id too: the plain key nulls the reference and
    the composite one, checked at commit, agrees."""
    # (Bookings are kept records, never deleted: an event's series is such a reference.)
    _resource_a, resource_b, _booking_b = await _two_spaces_rows(world)
    b = world.b.space.id
    async with db.transaction(space_id=b) as session:
        series = EventSeries(title="Soirées", count=2)
        session.add(series)
        await session.flush()
        event = Event(title="Soirée", starts_at=START, ends_at=START + timedelta(hours=1),
                      resource_id=resource_b.id, series_id=series.id)
        session.add(event)
    async with db.transaction(space_id=b) as session:
        await session.delete(await session.get(EventSeries, series.id))
    async with db.transaction(space_id=b, write=False) as session:
        stored = await session.get(Event, event.id)
    assert stored is not None and stored.series_id is None and stored.space_id == b
