"""A space's membership settings: its row, or the defaults when it has none yet."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.tenancy import require_scope
from app.membership.models import MembershipSettings


async def settings_of(session: AsyncSession) -> MembershipSettings:
    """The current space's settings (scoped session). Not added to the session when defaulted:
    saving them is the settings page's business (``db.insert_or_existing`` for the first row)."""
    row = (await session.exec(select(MembershipSettings))).first()
    return row if row is not None else MembershipSettings(space_id=require_scope(session))
