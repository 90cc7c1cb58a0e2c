from __future__ import annotations

import pytest
from sqlmodel import func, select

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
