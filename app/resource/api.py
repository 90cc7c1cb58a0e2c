"""Resources API under /api/v1/spaces/{slug}/resources: list, create, change, archive, block."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, status

from app.core.schemas import IdPath
from app.core.web import SessionDep, api_router
from app.resource import service
from app.resource.models import Resource, ResourceBlock
from app.resource.schemas import (
    BlockCreate,
    BlockCreated,
    BlockRead,
    ResourceCreate,
    ResourceRead,
    ResourceUpdate,
)
from app.space.deps import ResourceManage, SpaceView

router = api_router(prefix="/api/v1/spaces/{slug}/resources", tags=["resources"])


async def valid_resource(resource_id: IdPath, ctx: SpaceView, session: SessionDep) -> Resource:
    return await service.get_resource(session, resource_id)


ValidResource = Annotated[Resource, Depends(valid_resource)]


async def valid_block(block_id: IdPath, resource: ValidResource, session: SessionDep) -> ResourceBlock:
    return await service.get_block(session, resource, block_id)


ValidBlock = Annotated[ResourceBlock, Depends(valid_block)]


def _values(payload: ResourceCreate | ResourceUpdate, **kw) -> dict:
    return payload.model_dump(**kw)


@router.get("", response_model=list[ResourceRead])
async def list_resources(ctx: SpaceView, session: SessionDep, include_archived: bool = False) -> list[ResourceRead]:
    """Bookable resources, in display order. Archived ones only on request, for staff."""
    rows = await service.list_resources(session, include_archived=include_archived and ctx.is_staff)
    return [ResourceRead.of(r) for r in rows]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ResourceRead)
async def create_resource(payload: ResourceCreate, ctx: ResourceManage, session: SessionDep) -> ResourceRead:
    resource = await service.create_resource(session, ctx.space, ctx.account, **_values(payload))
    return ResourceRead.of(resource)


@router.get("/{resource_id}", response_model=ResourceRead)
async def get_resource(resource: ValidResource) -> ResourceRead:
    return ResourceRead.of(resource)


@router.patch("/{resource_id}", response_model=ResourceRead)
async def update_resource(resource: ValidResource, payload: ResourceUpdate, ctx: ResourceManage,
                          session: SessionDep) -> ResourceRead:
    """Change some fields; ``null`` for min/max duration or horizon removes the limit."""
    changes = payload.model_dump(exclude_unset=True)
    nullable = {"min_minutes", "max_minutes", "horizon_days"}
    changes = {k: v for k, v in changes.items() if v is not None or k in nullable}
    await service.update_resource(session, ctx.space, ctx.account, resource, **changes)
    return ResourceRead.of(resource)


@router.post("/{resource_id}/archive", response_model=ResourceRead)
async def archive_resource(resource: ValidResource, ctx: ResourceManage, session: SessionDep) -> ResourceRead:
    """Stop offering a resource. Its bookings and history stay."""
    await service.set_archived(session, ctx.space, ctx.account, resource, True)
    return ResourceRead.of(resource)


@router.post("/{resource_id}/restore", response_model=ResourceRead)
async def restore_resource(resource: ValidResource, ctx: ResourceManage, session: SessionDep) -> ResourceRead:
    await service.set_archived(session, ctx.space, ctx.account, resource, False)
    return ResourceRead.of(resource)


@router.get("/{resource_id}/blocks", response_model=list[BlockRead])
async def list_blocks(resource: ValidResource, ctx: SpaceView, session: SessionDep) -> list[BlockRead]:
    return [BlockRead.of(b) for b in await service.list_blocks(session, resource)]


@router.post("/{resource_id}/blocks", status_code=status.HTTP_201_CREATED, response_model=BlockCreated)
async def add_block(resource: ValidResource, payload: BlockCreate, ctx: ResourceManage,
                    session: SessionDep) -> BlockCreated:
    """Block a resource for a period (maintenance). Bookings it overlaps are listed, not cancelled."""
    result = await service.add_block(session, ctx.space, ctx.account, resource, starts_at=payload.starts_at,
                                     ends_at=payload.ends_at, reason=payload.reason)
    return BlockCreated(**BlockRead.of(result.block).model_dump(),
                        overlapping_booking_ids=result.overlapping_booking_ids)


@router.delete("/{resource_id}/blocks/{block_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_block(block: ValidBlock, ctx: ResourceManage, session: SessionDep) -> None:
    await service.remove_block(session, ctx.space, ctx.account, block)
