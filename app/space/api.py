from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, status

from app.account.deps import CurrentAccount
from app.audit.service import list_space_entries
from app.core.permissions import Perm
from app.core.web import SessionDep, api_router
from app.space import service
from app.space.deps import AuditView, MemberManage, MemberView, SpaceContext, SpaceManage, SpaceView
from app.space.legal import LEGAL_FIELDS
from app.space.models import Invitation, SpaceMember
from app.space.schemas import (
    AuditPage,
    AuditRead,
    InvitationAccepted,
    InvitationCreate,
    InvitationRead,
    MemberRead,
    MemberUpdate,
    MySpace,
    SpaceCreate,
    SpaceRead,
    SpaceUpdate,
)

router = api_router(prefix="/api/v1", tags=["spaces"])


@router.get("/spaces", response_model=list[MySpace])
async def my_spaces(account: CurrentAccount, session: SessionDep) -> list[MySpace]:
    return [
        MySpace(role=c.role, **SpaceRead.model_validate(c.space).model_dump())
        for c in await service.spaces_of(session, account.id)
    ]


@router.post("/spaces", status_code=status.HTTP_201_CREATED, response_model=SpaceRead)
async def create_space(payload: SpaceCreate, account: CurrentAccount, session: SessionDep) -> SpaceRead:
    space, _member = await service.create_space(session, account, **payload.model_dump())
    return SpaceRead.model_validate(space)


@router.get("/spaces/{slug}", response_model=SpaceRead)
async def get_space(ctx: SpaceView) -> SpaceRead:
    return SpaceRead.model_validate(ctx.space)


@router.patch("/spaces/{slug}", response_model=SpaceRead)
async def update_space(payload: SpaceUpdate, ctx: SpaceManage, session: SessionDep) -> SpaceRead:
    sent = payload.model_dump(exclude_unset=True)
    legal = {k: sent.pop(k) for k in LEGAL_FIELDS if k in sent}
    public = {k: sent.pop(k) for k in ("public_page", "public_blocks", "public_text") if k in sent}
    space = ctx.space
    await service.update_space(session, space, ctx.account, **sent)
    if legal:
        await service.set_legal_identity(session, space, ctx.account, legal)
    if public:  # what is not sent stays as it is
        blocks = public.get("public_blocks")
        await service.set_public_page(
            session, space, ctx.account,
            published=space.public_page if public.get("public_page") is None else public["public_page"],
            blocks=set(space.public_blocks.split(",") if blocks is None else blocks),
            text=space.public_text if public.get("public_text") is None else public["public_text"])
    return SpaceRead.model_validate(space)


def _member_read(row: service.MemberRow, ctx: SpaceContext) -> MemberRead:
    return MemberRead(
        id=row.member.id, account_id=row.account.id, name=row.account.name, email=row.account.email,
        role=row.member.role, tags=sorted(row.member.tag_set), joined_at=row.member.created_at,
        note=row.member.note if ctx.can(Perm.member_manage) else None,
    )


@router.get("/spaces/{slug}/members", response_model=list[MemberRead])
async def list_members(
    ctx: MemberView, session: SessionDep, role: str | None = None, q: Annotated[str | None, Query(max_length=100)] = None
) -> list[MemberRead]:
    return [_member_read(r, ctx) for r in await service.list_members(session, role=role, q=q)]


async def valid_member(member_id: int, ctx: MemberView, session: SessionDep) -> SpaceMember:
    return await service.get_member(session, member_id)


ValidMember = Annotated[SpaceMember, Depends(valid_member)]


@router.get("/spaces/{slug}/members/{member_id}", response_model=MemberRead)
async def get_member(member: ValidMember, ctx: MemberView, session: SessionDep) -> MemberRead:
    from app.account.models import Account

    return _member_read(service.MemberRow(member, await session.get(Account, member.account_id)), ctx)


@router.patch("/spaces/{slug}/members/{member_id}", response_model=MemberRead)
async def update_member(
    member: ValidMember, payload: MemberUpdate, ctx: MemberManage, session: SessionDep
) -> MemberRead:
    from app.account.models import Account

    if payload.role is not None:
        await service.change_role(session, ctx.space, ctx.account, ctx.role, member, payload.role)
    if payload.tags is not None:
        await service.set_member_tags(session, ctx.space, ctx.account, member, payload.tags)
    if payload.note is not None:
        await service.set_member_note(session, ctx.space, ctx.account, member, payload.note)
    return _member_read(service.MemberRow(member, await session.get(Account, member.account_id)), ctx)


@router.delete("/spaces/{slug}/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(member: ValidMember, ctx: MemberManage, session: SessionDep) -> None:
    await service.remove_member(session, ctx.space, ctx.account, ctx.role, member)


def _invitation_read(inv: Invitation) -> InvitationRead:
    return InvitationRead(id=inv.id, email=inv.email, role=inv.role, created_at=inv.created_at,
                          expires_at=inv.expires_at)


@router.get("/spaces/{slug}/invitations", response_model=list[InvitationRead])
async def list_invitations(ctx: MemberManage, session: SessionDep) -> list[InvitationRead]:
    return [_invitation_read(i) for i in await service.pending_invitations(session)]


@router.post("/spaces/{slug}/invitations", status_code=status.HTTP_201_CREATED, response_model=InvitationRead)
async def invite(payload: InvitationCreate, ctx: MemberManage, session: SessionDep) -> InvitationRead:
    invitation, _raw = await service.invite(
        session, ctx.space, ctx.account, ctx.role, email=str(payload.email), role=payload.role
    )
    return _invitation_read(invitation)


@router.delete("/spaces/{slug}/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_invitation(invitation_id: int, ctx: MemberManage, session: SessionDep) -> None:
    await service.revoke_invitation(session, ctx.space, ctx.account, invitation_id)


@router.post("/invitations/{token}/accept", response_model=InvitationAccepted)
async def accept_invitation(token: str, account: CurrentAccount, session: SessionDep) -> InvitationAccepted:
    space, member = await service.accept_invitation(session, token, account)
    return InvitationAccepted(space=SpaceRead.model_validate(space), role=member.role)


@router.get("/spaces/{slug}/audit", response_model=AuditPage)
async def audit_log(
    ctx: AuditView, session: SessionDep, limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AuditPage:
    entries, total = await list_space_entries(session, limit=limit, offset=offset)
    return AuditPage(items=[AuditRead.model_validate(e, from_attributes=True) for e in entries], total=total)


