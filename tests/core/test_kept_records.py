"""Records are kept: no cascade, no ORM delete, a space with records cannot be erased."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, delete, select

import app.models  # noqa: F401  (every table registered)
from app.audit.models import AuditEntry
from app.booking.models import Booking
from app.core import db
from app.core.records import KEPT_TABLES, RecordKept
from app.core.tenancy import all_spaces
from tests.booking.factories import TOMORROW, create_room, insert_booking, paris
from tests.event.factories import create_event, register


def test_the_records_of_today_are_marked():
    # Charges, invoices and payments join this list as they are added (and the checks below with them).
    assert {"audit_entry", "booking", "registration"} <= set(KEPT_TABLES)


def _cascades_to_kept_tables(fks) -> list[str]:
    return [f"{table}.{fk}" for table, fk, ondelete in fks
            if table in KEPT_TABLES and (ondelete or "").upper() == "CASCADE"]


def test_no_kept_record_has_a_cascading_foreign_key_in_the_models():
    fks = [(t.name, fk.parent.name, fk.ondelete) for t in SQLModel.metadata.sorted_tables for fk in t.foreign_keys]
    assert _cascades_to_kept_tables(fks) == []


def test_no_orm_relationship_cascades_a_delete_to_a_kept_record():
    offenders = []
    for mapper in SQLModel._sa_registry.mappers:  # type: ignore[attr-defined]
        for rel in mapper.relationships:
            if rel.mapper.local_table.name in KEPT_TABLES and rel.cascade.delete:
                offenders.append(f"{mapper.class_.__name__}.{rel.key}")
    assert offenders == []


async def test_no_kept_record_has_a_cascading_foreign_key_in_the_migrated_database(app):
    async with db.get_engine().connect() as conn:
        def reflect(sync_conn):
            inspector = inspect(sync_conn)
            return [(table, fk["constrained_columns"][0], (fk.get("options") or {}).get("ondelete"))
                    for table in KEPT_TABLES for fk in inspector.get_foreign_keys(table)]

        fks = await conn.run_sync(reflect)
    assert fks and _cascades_to_kept_tables(fks) == []


async def test_a_space_with_records_cannot_be_erased_by_a_cascade(world):
    room = await create_room(world.a.space)
    await insert_booking(world.a.space, room, world.a.member, paris(TOMORROW, 10), paris(TOMORROW, 11))
    with pytest.raises(IntegrityError):
        async with db.get_engine().begin() as conn:
            await conn.execute(text("DELETE FROM space WHERE id = :id"), {"id": world.a.space.id})
    with pytest.raises(IntegrityError):
        async with db.get_engine().begin() as conn:
            await conn.execute(text("DELETE FROM resource WHERE id = :id"), {"id": room.id})
    async with db.transaction() as session:
        with all_spaces(session):
            assert len((await session.exec(select(Booking).where(Booking.space_id == world.a.space.id))).all()) == 1
            entries = (await session.exec(select(AuditEntry).where(AuditEntry.space_id == world.a.space.id))).all()
    assert entries  # the space's creation, its members joining...


async def test_an_event_with_registrations_cannot_be_erased_by_a_cascade(world):
    event = await create_event(world.a.space, world.a.animator)
    await register(world.a.space, event, world.a.member)
    with pytest.raises(IntegrityError):
        async with db.get_engine().begin() as conn:
            await conn.execute(text("DELETE FROM event WHERE id = :id"), {"id": event.id})


async def test_the_orm_refuses_to_delete_a_record(world):
    room = await create_room(world.a.space)
    booking = await insert_booking(world.a.space, room, world.a.member, paris(TOMORROW, 10), paris(TOMORROW, 11))
    with pytest.raises(RecordKept):
        async with db.transaction(space_id=world.a.space.id) as session:
            await session.delete(await session.get(Booking, booking.id))
            await session.flush()
    with pytest.raises(RecordKept):
        async with db.transaction(space_id=world.a.space.id) as session:
            await session.exec(delete(Booking).where(Booking.id == booking.id))  # type: ignore[call-overload]
    with pytest.raises(RecordKept):
        async with db.transaction() as session:
            with all_spaces(session):
                await session.exec(delete(AuditEntry))  # type: ignore[call-overload]
    async with db.transaction(space_id=world.a.space.id) as session:
        assert await session.get(Booking, booking.id) is not None
