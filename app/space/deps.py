"""Resolving the space of a request once, checking the caller's role, binding the scope.

Every space route declares the permission it needs with ``space_access(Perm.x)``. A caller who
is not a member of the space gets a 404, exactly like a space that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import and_, bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account import service as account_service
from app.account.deps import accept_token, bearer_token, oauth2_scheme, optional_account
from app.account.models import Account, ApiToken
from app.core import clock, i18n, security
from app.core.errors import NotAuthenticated, NotFound, PermissionDenied, SpaceSuspended
from app.core.permissions import Perm, has_perm
from app.core.tenancy import set_scope
from app.core.web import LANG_COOKIE, SessionDep
from app.space import service
from app.space.models import Space, SpaceMember


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
    def is_staff(self) -> bool:
        return self.can(Perm.booking_manage)


def space_access(perm: Perm = Perm.space_view):
    async def dependency(
        request: Request,
        session: SessionDep,
        slug: str,
        _bearer: Annotated[str | None, Depends(oauth2_scheme)] = None,
    ) -> SpaceContext:
        known: SpaceContext | None = getattr(request.state, "space_ctx", None)
        if known is not None and known.space.slug == slug:
            # A second permission on the same request (an object's dependency and the route's own).
            if not has_perm(known.member.role, perm):
                raise PermissionDenied()
            return known
        raw = bearer_token(request)
        if raw and not hasattr(request.state, "account"):
            # The API's hot path: token, account, space and membership in one query.
            account, token_space, space, member = await _by_token(request, session, raw, slug)
        else:
            caller = await optional_account(request, session)
            if caller is None:
                raise NotAuthenticated()
            account = caller
            token_space = getattr(request.state, "token_space_id", None)
            space = await service.get_space(session, slug)
            set_scope(session, space.id)
            member = await service.membership(session, account.id)
        if space is None or (token_space is not None and token_space != space.id):
            raise NotFound()
        set_scope(session, space.id)
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
    # What the route declares, read by the role matrix test (tests/tenancy/test_role_matrix.py).
    dependency.permission = perm  # type: ignore[attr-defined]
    return dependency


# Built once: the hot path of every API request to a space.
_BY_TOKEN = (
    select(ApiToken, Account, Space, SpaceMember)
    .join(Account, col(Account.id) == ApiToken.account_id)
    .outerjoin(Space, col(Space.slug) == bindparam("slug"))
    .outerjoin(SpaceMember, and_(col(SpaceMember.space_id) == Space.id, col(SpaceMember.account_id) == Account.id))
    .where(*account_service.live_token(bindparam("token_hash"), bindparam("now")))
    # A lookup across spaces by nature: the membership found is the named space's.
    .execution_options(all_spaces=True)
)


async def _by_token(
    request: Request, session: AsyncSession, raw: str, slug: str
) -> tuple[Account, int | None, Space | None, SpaceMember | None]:
    """What ``optional_account`` + ``get_space`` + ``membership`` find, in one round trip: the
    token's account, the space named by ``slug`` (None if there is none) and the account's
    membership of it (None if not a member). An unknown, expired or revoked token is a 401."""
    now = clock.now()
    params = {"slug": slug, "token_hash": security.hash_token(raw), "now": now}
    row = (await session.exec(_BY_TOKEN, params=params)).first()
    token, account, space, member = row if row is not None else (None, None, None, None)
    account = await accept_token(request, session, token, account, now=now)
    return account, token.space_id, space, member


SpaceView = Annotated[SpaceContext, Depends(space_access(Perm.space_view))]
SpaceManage = Annotated[SpaceContext, Depends(space_access(Perm.space_manage))]
MemberView = Annotated[SpaceContext, Depends(space_access(Perm.member_view))]
MemberManage = Annotated[SpaceContext, Depends(space_access(Perm.member_manage))]
AuditView = Annotated[SpaceContext, Depends(space_access(Perm.audit_view))]
ResourceManage = Annotated[SpaceContext, Depends(space_access(Perm.resource_manage))]
