from __future__ import annotations

import pytest
from sqlalchemy import column, delete, insert, table, text, update
from sqlmodel import col, func, select

from app.audit.models import AuditEntry
from app.audit.service import list_space_entries, log_action
from app.core import db
from app.core.errors import TenantScopeMissing
from app.core.tenancy import all_spaces, set_scope
from app.space.models import SpaceMember


async def test_a_query_on_tenant_data_without_a_scope_raises(world):
    async with db.transaction() as session:
        with pytest.raises(TenantScopeMissing):
            await session.exec(select(SpaceMember))


async def test_a_count_through_select_from_is_scoped_too(world):
    async with db.transaction() as session:
        with pytest.raises(TenantScopeMissing):
            await session.exec(select(func.count()).select_from(SpaceMember))
        set_scope(session, world.a.space.id)
        n = (await session.exec(select(func.count()).select_from(SpaceMember))).one()
    assert n == 4  # owner, manager, animator, member of space A only


async def test_a_scoped_query_only_sees_its_space(world):
    async with db.transaction(space_id=world.b.space.id) as session:
        rows = (await session.exec(select(SpaceMember))).all()
        found = await session.get(SpaceMember, world.a.members["member"].id)
    assert {m.space_id for m in rows} == {world.b.space.id}
    assert found is None


async def test_writing_another_spaces_row_in_a_scope_raises(world):
    with pytest.raises(TenantScopeMissing):
        async with db.transaction(space_id=world.b.space.id) as session:
            session.add(SpaceMember(space_id=world.a.space.id, account_id=world.b.outsider.id))


async def test_lifting_the_scope_is_explicit(world):
    async with db.transaction() as session:
        with all_spaces(session):
            n = (await session.exec(select(func.count()).select_from(SpaceMember))).one()
    assert n == 8


# -- no holes: raw SQL, bulk writes, connections, the audit log ------------------------------------

async def test_raw_sql_through_a_session_is_refused_unless_the_guard_is_lifted(world):
    async with db.transaction(space_id=world.a.space.id) as session:
        with pytest.raises(TenantScopeMissing):
            await session.exec(text("SELECT space_id FROM space_member"))
        with pytest.raises(TenantScopeMissing):  # a text fragment inside an ORM statement too
            await session.exec(select(SpaceMember).where(text("1 = 1")))
        with all_spaces(session):
            spaces = {row[0] for row in await session.exec(text("SELECT space_id FROM space_member"))}
    assert spaces == {world.a.space.id, world.b.space.id}


async def test_core_statements_on_tenant_tables_are_refused_unless_the_guard_is_lifted(world):
    """Loader criteria filter mapped entities only: a plain Core table would run unfiltered."""
    members = SpaceMember.__table__
    light = table("space_member", column("space_id"), column("id"), column("tags"))
    member_b = world.b.members["member"].id
    for stmt in (
        select(members.c.space_id),
        select(light.c.space_id),
        select(func.count()).select_from(members.join(light, members.c.id == light.c.id)),
        update(members).where(members.c.id == member_b).values(tags="stolen"),
        update(light).where(light.c.id == member_b).values(tags="stolen"),
        delete(members).where(members.c.id == member_b),
    ):
        with pytest.raises(TenantScopeMissing):
            async with db.transaction(space_id=world.a.space.id) as session:
                await session.exec(stmt)
    async with db.transaction(space_id=world.a.space.id) as session:
        with all_spaces(session):
            spaces = set((await session.exec(select(members.c.space_id))).all())
        # An ORM bulk UPDATE by primary key, in space A's scope, cannot reach space B's row.
        await session.exec(update(SpaceMember), params=[{"id": member_b, "tags": "stolen"}])
    assert spaces == {world.a.space.id, world.b.space.id}
    async with db.transaction(space_id=world.b.space.id) as session:
        member = await session.get(SpaceMember, member_b)
    assert member is not None and member.tags == ""


async def test_session_connection_is_refused_unless_the_guard_is_lifted(world):
    async with db.transaction(space_id=world.a.space.id) as session:
        with pytest.raises(TenantScopeMissing):
            await session.connection()
        with all_spaces(session):
            connection = await session.connection()
            n = (await connection.execute(text("SELECT count(*) FROM space_member"))).scalar_one()
    assert n == 8


async def test_a_bulk_insert_carrying_another_spaces_id_is_refused(world):
    a, b = world.a.space.id, world.b.space.id
    outsider = world.b.outsider.id
    for stmt, params in (
        (insert(SpaceMember).values(space_id=a, account_id=outsider, role="member"), None),
        (insert(SpaceMember).values([{"space_id": a, "account_id": outsider, "role": "member"}]), None),
        (insert(SpaceMember), [{"space_id": b, "account_id": outsider, "role": "member"},
                               {"space_id": a, "account_id": world.a.outsider.id, "role": "member"}]),
        (insert(SpaceMember.__table__).values(account_id=outsider, role="member"), None),  # no space at all
        (insert(SpaceMember.__table__).values(space_id=a, account_id=outsider, role="member"), None),
        (insert(SpaceMember).from_select(["space_id", "account_id", "role"],
                                         select(SpaceMember.space_id, SpaceMember.account_id, SpaceMember.role)), None),
    ):
        with pytest.raises(TenantScopeMissing):
            async with db.transaction(space_id=b) as session:
                await session.exec(stmt, params=params)
    async with db.transaction(space_id=b) as session:
        await session.exec(insert(SpaceMember),
                           params=[{"space_id": b, "account_id": world.a.outsider.id, "role": "member"}])
    async with db.transaction() as session:
        with all_spaces(session):
                rows = (await session.exec(select(SpaceMember.space_id).where(col(SpaceMember.account_id).in_(
                [outsider, world.a.outsider.id])))).all()
    assert rows == [b]  # only the write of the scope's own space went through


async def test_the_legacy_bulk_methods_are_refused_unless_the_guard_is_lifted(world):
    row = {"space_id": world.a.space.id, "account_id": world.b.outsider.id, "role": "member"}
    for call in (
        lambda s: s.bulk_insert_mappings(SpaceMember, [row]),
        lambda s: s.bulk_save_objects([SpaceMember(**row)]),
        lambda s: s.bulk_update_mappings(SpaceMember, [{"id": world.b.members["member"].id, "tags": "x"}]),
    ):
        with pytest.raises(TenantScopeMissing):
            async with db.transaction(space_id=world.b.space.id) as session:
                await session.run_sync(call)
    async with db.transaction(space_id=world.a.space.id, write=False) as session:
        ids = (await session.exec(select(SpaceMember.account_id))).all()
    assert world.b.outsider.id not in ids


async def test_a_bulk_update_never_moves_a_row_to_another_space(world):
    a, b = world.a.space.id, world.b.space.id
    member_b = world.b.members["member"].id
    for stmt, params in (
        (update(SpaceMember).where(SpaceMember.id == member_b).values(space_id=a), None),
        (update(SpaceMember).where(SpaceMember.id == member_b).values(space_id=b), None),
        (update(SpaceMember), [{"id": member_b, "space_id": a}]),
    ):
        with pytest.raises(TenantScopeMissing):
            async with db.transaction(space_id=b) as session:
                await session.exec(stmt, params=params)
    async with db.transaction(space_id=b) as session:
        await session.exec(update(SpaceMember).where(SpaceMember.id == member_b).values(tags="kept"))
        # In space A's scope, space B's row is out of reach of a bulk update by primary key too.
    async with db.transaction(space_id=a) as session:
        await session.exec(update(SpaceMember).where(SpaceMember.id == member_b).values(tags="stolen"))
    async with db.transaction(space_id=b) as session:
        member = await session.get(SpaceMember, member_b)
    assert member is not None and (member.space_id, member.tags) == (b, "kept")


async def test_the_audit_log_goes_through_the_guard(world):
    a, b = world.a.space.id, world.b.space.id
    async with db.transaction() as session:
        with pytest.raises(TenantScopeMissing):
            await session.exec(select(AuditEntry))
    with pytest.raises(TenantScopeMissing):
        async with db.transaction(space_id=b) as session:
            log_action(session, "member.invited", space_id=a)
            await session.flush()
    async with db.transaction(space_id=b) as session:
        # An account-level entry written while a space is in scope stays an entry of no space.
        platform = log_action(session, "account.password_changed", actor_id=world.b.member.id)
        mine = log_action(session, "member.invited", space_id=b)
    async with db.transaction(space_id=a) as session:
        entries, _total = await list_space_entries(session)
    assert entries and {e.space_id for e in entries} == {a}
    async with db.transaction(space_id=b) as session:
        ids = {e.id for e in (await session.exec(select(AuditEntry))).all()}
        with all_spaces(session):
            stored = await session.get(AuditEntry, platform.id)
    assert mine.id in ids and platform.id not in ids
    assert stored is not None and stored.space_id is None
