from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.core.permissions import Perm
from app.core.web import SessionDep
from app.directory import service
from app.directory.models import Profile
from app.space.deps import SpaceContext, space_access

DirectoryCtx = Annotated[SpaceContext, Depends(space_access(Perm.directory_view))]


async def visible_profile(profile_id: int, ctx: DirectoryCtx, session: SessionDep) -> Profile:
    return await service.get_profile(session, profile_id, ctx.account)


VisibleProfile = Annotated[Profile, Depends(visible_profile)]
