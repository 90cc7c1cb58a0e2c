from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from app.core.errors import FabriqueError
from app.core.i18n import _, _l
from app.core.markdown import render_markdown
from app.core.permissions import Perm
from app.core.web import SessionDep, form_data, page_router, redirect, register_space_nav, render
from app.directory import service
from app.directory.deps import DirectoryCtx, VisibleProfile
from app.space import service as spaces

router = page_router()

register_space_nav(40, Perm.directory_view, _l("Directory"), "directory")


async def _remember(request: Request, session, account) -> None:
    request.state.my_spaces = await spaces.spaces_of(session, account.id)


@router.get("/s/{slug}/directory")
async def directory_page(request: Request, ctx: DirectoryCtx, session: SessionDep) -> Response:
    await _remember(request, session, ctx.account)
    q = (request.query_params.get("q") or "").strip()[:100]
    skill = (request.query_params.get("skill") or "").strip()[:40]
    profiles = await service.search(session, q=q or None, skill=skill or None)
    mine = await service.my_profile(session, ctx.account)
    return render(request, "directory/list.html", {
        "ctx": ctx, "profiles": profiles, "q": q, "skill": skill, "mine": mine})


@router.get("/s/{slug}/directory/{profile_id:int}")
async def profile_page(request: Request, profile: VisibleProfile, ctx: DirectoryCtx, session: SessionDep) -> Response:
    await _remember(request, session, ctx.account)
    return render(request, "directory/profile.html", {
        "ctx": ctx, "profile": profile, "bio_html": render_markdown(profile.bio)})


def _form_of(profile) -> dict[str, str]:
    return {
        "display_name": profile.display_name, "headline": profile.headline, "bio": profile.bio,
        "skills": ", ".join(profile.skill_list), "website": profile.website or "",
        "links": "\n".join(profile.links or []), "visible": "on" if profile.visible else "",
    }


@router.get("/s/{slug}/profile")
async def edit_profile(request: Request, ctx: DirectoryCtx, session: SessionDep) -> Response:
    await _remember(request, session, ctx.account)
    profile = await service.my_profile(session, ctx.account) or service.blank_profile(ctx.account)
    return render(request, "directory/edit.html", {"ctx": ctx, "profile": profile}, form=_form_of(profile))


@router.post("/s/{slug}/profile")
async def save_profile(request: Request, ctx: DirectoryCtx, session: SessionDep) -> Response:
    form = await form_data(request)
    data = service.ProfileInput(
        display_name=form.get("display_name", ""), headline=form.get("headline", ""), bio=form.get("bio", ""),
        skills=form.get("skills", "").split(","), website=form.get("website") or None,
        links=form.get("links", "").split(), visible=form.get("visible") == "on",
    )
    try:
        await service.save_profile(session, ctx.space, ctx.account, data)
    except FabriqueError as exc:
        await _remember(request, session, ctx.account)
        profile = await service.my_profile(session, ctx.account) or service.blank_profile(ctx.account)
        return render(request, "directory/edit.html", {"ctx": ctx, "profile": profile}, error=exc, form=form)
    message = _("Your profile is saved and visible to the members of the space.") if data.visible \
        else _("Your profile is saved. It is hidden from the directory.")
    return redirect(f"/s/{ctx.space.slug}/profile", message=message)
