"""The directory API: my profile in a space, searching the visible ones."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from app.core.markdown import render_markdown
from app.core.web import SessionDep, api_router
from app.directory import service
from app.directory.deps import DirectoryCtx, VisibleProfile
from app.directory.models import Profile
from app.directory.schemas import ProfileRead, ProfileWrite

router = api_router(prefix="/api/v1", tags=["directory"])


def profile_read(p: Profile) -> ProfileRead:
    return ProfileRead(
        id=p.id, account_id=p.account_id, display_name=p.display_name, headline=p.headline, bio=p.bio,
        bio_html=str(render_markdown(p.bio)), skills=p.skill_list, website=p.website, links=list(p.links or []),
        visible=p.visible, updated_at=p.updated_at if p.id else None,
    )


@router.get("/spaces/{slug}/directory", response_model=list[ProfileRead])
async def search_directory(
    ctx: DirectoryCtx, session: SessionDep, q: Annotated[str | None, Query(max_length=100)] = None,
    skill: Annotated[str | None, Query(max_length=40)] = None,
) -> list[ProfileRead]:
    """Members who chose to be visible, by name, headline or skill (``q``) or an exact ``skill``."""
    return [profile_read(p) for p in await service.search(session, q=q, skill=skill)]


@router.get("/spaces/{slug}/directory/{profile_id}", response_model=ProfileRead)
async def get_profile(profile: VisibleProfile) -> ProfileRead:
    return profile_read(profile)


@router.get("/spaces/{slug}/profile", response_model=ProfileRead)
async def my_profile(ctx: DirectoryCtx, session: SessionDep) -> ProfileRead:
    """Your profile in this space (a blank, hidden one until you save it)."""
    return profile_read(await service.my_profile(session, ctx.account) or service.blank_profile(ctx.account))


@router.put("/spaces/{slug}/profile", response_model=ProfileRead)
async def save_profile(payload: ProfileWrite, ctx: DirectoryCtx, session: SessionDep) -> ProfileRead:
    profile = await service.save_profile(session, ctx.space, ctx.account, service.ProfileInput(**payload.model_dump()))
    return profile_read(profile)
