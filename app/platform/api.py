"""Platform operator (superuser): list and suspend spaces."""

from __future__ import annotations

from datetime import datetime

from fastapi import status
from pydantic import BaseModel, Field

from app.account.deps import Superuser
from app.core.schemas import Strict
from app.core.web import SessionDep, api_router
from app.space import service

router = api_router(prefix="/api/v1/platform", tags=["platform"])


class PlatformSpace(BaseModel):
    id: int
    slug: str
    name: str
    members: int
    suspended_at: datetime | None
    suspended_reason: str | None
    created_at: datetime


class Suspension(Strict):
    reason: str | None = Field(default=None, max_length=300)


@router.get("/spaces", response_model=list[PlatformSpace])
async def list_spaces(_op: Superuser, session: SessionDep) -> list[PlatformSpace]:
    return [
        PlatformSpace(id=s.id, slug=s.slug, name=s.name, members=n, suspended_at=s.suspended_at,
                      suspended_reason=s.suspended_reason, created_at=s.created_at)
        for s, n in await service.list_all_spaces(session)
    ]


@router.post("/spaces/{slug}/suspend", status_code=status.HTTP_204_NO_CONTENT)
async def suspend(slug: str, payload: Suspension, op: Superuser, session: SessionDep) -> None:
    await service.set_suspended(session, await service.get_space(session, slug), op, True, payload.reason)


@router.post("/spaces/{slug}/reactivate", status_code=status.HTTP_204_NO_CONTENT)
async def reactivate(slug: str, op: Superuser, session: SessionDep) -> None:
    await service.set_suspended(session, await service.get_space(session, slug), op, False)
