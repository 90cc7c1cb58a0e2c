from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from app.account.deps import Superuser
from app.core.i18n import _
from app.core.web import SessionDep, form_data, page_router, redirect, render
from app.space import service

router = page_router(prefix="/platform")


@router.get("")
async def spaces_page(request: Request, op: Superuser, session: SessionDep) -> Response:
    request.state.my_spaces = await service.spaces_of(session, op.id)
    return render(request, "platform/spaces.html", {"rows": await service.list_all_spaces(session)})


@router.post("/spaces/{slug}/suspend")
async def suspend(request: Request, slug: str, op: Superuser, session: SessionDep) -> Response:
    form = await form_data(request)
    space = await service.get_space(session, slug)
    await service.set_suspended(session, space, op, True, (form.get("reason") or "")[:300] or None)
    return redirect("/platform", message=_("%(space)s is suspended.") % {"space": space.name})


@router.post("/spaces/{slug}/reactivate")
async def reactivate(slug: str, op: Superuser, session: SessionDep) -> Response:
    space = await service.get_space(session, slug)
    await service.set_suspended(session, space, op, False)
    return redirect("/platform", message=_("%(space)s is active again.") % {"space": space.name})
