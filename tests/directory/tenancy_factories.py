from __future__ import annotations

from app.core import db
from app.directory import service
from tests.tenancy.registry import object_factory


@object_factory("profile_id")
async def _profile(world) -> int:
    """A *visible* profile of space A: hidden would 404 for everyone and prove nothing."""
    async with db.transaction(space_id=world.a.space.id) as session:
        profile = await service.save_profile(session, world.a.space, world.a.member, service.ProfileInput(
            display_name="Alice of A", skills=["woodwork"], visible=True))
    return profile.id
