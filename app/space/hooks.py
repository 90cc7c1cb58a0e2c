"""What the space domain does when an account is deleted, and what it adds to the account export."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.errors import LastOwnerOfSpace
from app.account.models import Account
from app.account.privacy import Deletion, Stage, export_section, iso, on_account_deletion
from app.core.permissions import Role
from app.core.tenancy import all_spaces
from app.space.models import Invitation, Space, SpaceMember


@on_account_deletion(Stage.check)
async def refuse_the_last_owner(session: AsyncSession, account: Account, deletion: Deletion) -> None:
    """The database decides: the owner rows of each space the account owns are locked until the
    transaction ends, so a concurrent deletion, demotion or removal of another owner waits, then
    sees this one's outcome (the same lock guards demoting or removing an owner, ``service``)."""
    with all_spaces(session):
        memberships = (await session.exec(
            select(SpaceMember).where(SpaceMember.account_id == account.id).order_by(col(SpaceMember.space_id))
        )).all()
        for m in memberships:
            deletion.spaces.add(m.space_id)
            if m.role != Role.owner:
                continue
            owners = (await session.exec(
                select(SpaceMember.id).where(SpaceMember.space_id == m.space_id, SpaceMember.role == Role.owner)
                .order_by(col(SpaceMember.id)).with_for_update()
            )).all()
            if len(owners) <= 1:
                space = await session.get(Space, m.space_id)
                raise LastOwnerOfSpace(params={"space": space.name if space else m.space_id})


@on_account_deletion(Stage.erase)
async def erase_memberships(session: AsyncSession, account: Account, deletion: Deletion) -> None:
    with all_spaces(session):
        await session.exec(delete(SpaceMember).where(col(SpaceMember.account_id) == account.id))
        await session.exec(delete(Invitation).where(col(Invitation.email) == account.email,
                                                    col(Invitation.accepted_at).is_(None)))


@export_section("memberships", tables={"space_member", "invitation"})
async def export_memberships(session: AsyncSession, account: Account) -> list[dict[str, Any]]:
    rows = (await session.exec(select(SpaceMember).where(SpaceMember.account_id == account.id)
                               .order_by(col(SpaceMember.id)))).all()
    return [{"space_id": m.space_id, "role": m.role, "tags": sorted(m.tag_set), "note": m.note,
             "joined_at": iso(m.created_at)} for m in rows]
