"""What the directory does when an account is deleted, and what it adds to the account export."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.account.privacy import Deletion, Stage, export_section, iso, on_account_deletion
from app.core.tenancy import all_spaces
from app.directory.models import Profile


@on_account_deletion(Stage.erase)
async def erase_profiles(session: AsyncSession, account: Account, deletion: Deletion) -> None:
    with all_spaces(session):
        await session.exec(delete(Profile).where(col(Profile.account_id) == account.id))


@export_section("profiles", tables={"profile"})
async def export_profiles(session: AsyncSession, account: Account) -> list[dict[str, Any]]:
    rows = (await session.exec(select(Profile).where(Profile.account_id == account.id)
                               .order_by(col(Profile.id)))).all()
    return [{"space_id": p.space_id, "display_name": p.display_name, "headline": p.headline, "bio": p.bio,
             "skills": p.skill_list, "website": p.website, "links": p.links, "visible": p.visible,
             "updated_at": iso(p.updated_at)} for p in rows]
