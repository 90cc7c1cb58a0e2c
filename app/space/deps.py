"""Resolving the space of a request once, checking the caller's role, binding the scope.

Every space route declares the permission it needs with ``space_access(Perm.x)``. A caller who
is not a member of the space gets a 404, exactly like a space that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from app.account.deps import current_account
from app.account.models import Account
from app.core import i18n
from app.core.errors import NotFound, PermissionDenied, SpaceSuspended
from app.core.permissions import ROLE_PERMISSIONS, Perm, has_perm
from app.core.tenancy import set_scope
from app.core.web import LANG_COOKIE, SessionDep
from app.space import service
from app.space.models import Role, Space, SpaceMember


@dataclass
class SpaceContext:
    space: Space
    account: Account
    member: SpaceMember

    @property
    def role(self) -> str:
        return self.member.role

    def can(self, perm: Perm | str) -> bool:
        return has_perm(self.member.role, Perm(perm))

    @property
    def perms(self) -> frozenset[Perm]:
        return ROLE_PERMISSIONS[Role(self.member.role)]

    @property
    def is_staff(self) -> bool:
        return self.can(Perm.booking_manage)


async def resolve_space(request: Request, session: SessionDep, slug: str) -> Space:
    space = await service.get_space(session, slug)
    set_scope(session, space.id)
    if space.suspended_at is not None:
        raise SpaceSuspended()
    return space


def space_access(perm: Perm = Perm.space_view):
    async def dependency(
        request: Request,
        session: SessionDep,
        slug: str,
        account: Annotated[Account, Depends(current_account)],
    ) -> SpaceContext:
        space = await service.get_space(session, slug)
        token_space = getattr(request.state, "token_space_id", None)
        if token_space is not None and token_space != space.id:
            raise NotFound()
        set_scope(session, space.id)
        member = await service.membership(session, account.id)
        if member is None:
            raise NotFound()
        if space.suspended_at is not None:
            raise SpaceSuspended()
        if not has_perm(member.role, perm):
            raise PermissionDenied()
        if not request.cookies.get(LANG_COOKIE) and not account.locale and not request.url.path.startswith("/api/"):
            i18n.set_locale(space.locale)
        ctx = SpaceContext(space=space, account=account, member=member)
        request.state.space_ctx = ctx
        return ctx

    dependency.__name__ = f"space_access_{perm.name}"
    return dependency


SpaceView = Annotated[SpaceContext, Depends(space_access(Perm.space_view))]
SpaceManage = Annotated[SpaceContext, Depends(space_access(Perm.space_manage))]
MemberView = Annotated[SpaceContext, Depends(space_access(Perm.member_view))]
MemberManage = Annotated[SpaceContext, Depends(space_access(Perm.member_manage))]
AuditView = Annotated[SpaceContext, Depends(space_access(Perm.audit_view))]
