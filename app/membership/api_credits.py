"""Credits API under /api/v1/spaces/{slug}/: balances and ledgers (a member's own, or any member's
for staff), staff grants and adjustments with a reason. The rules: ``docs/credits.md``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, status
from pydantic import BaseModel, Field, model_validator

from app.core import clock
from app.core.errors import NotFound, ValidationFailed
from app.core.i18n import N_
from app.core.permissions import Perm
from app.core.schemas import IdPath, IsoDatetime, SingleLine, Strict
from app.core.text import clean_text
from app.core.web import SessionDep, api_router
from app.membership import ledger
from app.membership.models import CreditBucket, CreditEntry
from app.space import service as spaces
from app.space.deps import SpaceContext, SpaceView, space_access

router = api_router(prefix="/api/v1/spaces/{slug}", tags=["credits"])

MembershipView = Annotated[SpaceContext, Depends(space_access(Perm.membership_view))]
MembershipManage = Annotated[SpaceContext, Depends(space_access(Perm.membership_manage))]

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such space or member"},
    409: {"description": "credits_below_zero, credits_expired, credits_unlimited"},
}
UNITS = ("hour", "half_day", "day")
KINDS = ("hot_desk", "dedicated_desk", "meeting_room", "private_office", "equipment")


def _kinds(value: str) -> list[str]:
    return [k for k in value.split(",") if k]


class BalanceRead(BaseModel):
    bucket_id: int
    source: str = Field(description="allowance (a plan's, per period), pass, or grant (by staff)")
    label: str
    unit: str = Field(description='hour, half_day or day; "" for a pass (pass units, converted per resource)')
    resource_kinds: list[str] = Field(description="the kinds of resource it pays for (empty: any)")
    weekdays_only: bool
    unlimited: bool
    left: int | None = Field(description="units left (null when unlimited): the sum of the bucket's entries")
    valid_from: datetime
    valid_until: datetime
    pass_product_id: int | None

    @classmethod
    def of(cls, b: ledger.Balance) -> BalanceRead:
        x = b.bucket
        return cls(bucket_id=x.id or 0, source=x.source, label=x.label, unit=x.unit, resource_kinds=_kinds(x.resource_kinds),
                   weekdays_only=x.weekdays_only, unlimited=x.unlimited, left=None if x.unlimited else b.left,
                   valid_from=x.valid_from, valid_until=x.valid_until, pass_product_id=x.pass_product_id)


class EntryRead(BaseModel):
    id: int
    bucket_id: int
    bucket_label: str
    kind: str = Field(description="grant, debit, refund, expiry, rollover or adjust")
    quantity: int = Field(description="signed: what the entry added to (or took from) the bucket")
    booking_id: int | None
    reverses_id: int | None
    reason: str
    actor_id: int | None
    created_at: datetime

    @classmethod
    def of(cls, e: CreditEntry, b: CreditBucket) -> EntryRead:
        return cls(id=e.id or 0, bucket_id=e.bucket_id, bucket_label=b.label, kind=e.kind, quantity=e.quantity,
                   booking_id=e.booking_id, reverses_id=e.reverses_id, reason=e.reason, actor_id=e.actor_id,
                   created_at=e.created_at)


class LedgerPage(BaseModel):
    items: list[EntryRead]
    total: int


Reason = Annotated[SingleLine, Field(min_length=1, max_length=300)]
Units = Annotated[int, Field(strict=True, ge=-10_000, le=10_000)]


class GrantCreate(Strict):
    quantity: Annotated[int, Field(strict=True, ge=1, le=10_000)] | None = Field(
        description="units granted; null: unlimited")
    unit: str = Field(description="hour, half_day or day: what one unit is")
    resource_kinds: list[str] = Field(default_factory=list, max_length=5, description="empty: any kind")
    weekdays_only: bool = Field(default=False, strict=True)
    valid_from: IsoDatetime | None = Field(default=None, description="default: now")
    valid_until: IsoDatetime
    label: SingleLine = Field(default="", max_length=200)
    reason: Reason

    @model_validator(mode="after")
    def _known(self) -> GrantCreate:
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(UNITS)}")
        if any(k not in KINDS for k in self.resource_kinds):
            raise ValueError(f"resource kinds are among {', '.join(KINDS)}")
        return self


class AdjustmentCreate(Strict):
    bucket_id: Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)]
    quantity: Units = Field(description="signed, not 0: units added (positive) or taken (negative)")
    reason: Reason


def _me(ctx: SpaceContext) -> int:
    if ctx.account.id is None:  # pragma: no cover - a logged-in account is saved
        raise NotFound()
    return ctx.account.id


async def valid_member_account(account_id: IdPath, ctx: SpaceView, session: SessionDep) -> int:
    """A member of this space (any role), by account id; anyone else is a 404 — before any body
    is validated, so another space's people cannot be probed."""
    if await spaces.membership(session, account_id) is None:
        raise NotFound()
    return account_id


MemberAccount = Annotated[int, Depends(valid_member_account)]


async def _balances(session, account_id: int) -> list[BalanceRead]:
    return [BalanceRead.of(b) for b in await ledger.balances(session, account_id, include_spent=True)]


async def _ledger(session, account_id: int, limit: int, offset: int) -> LedgerPage:
    rows, total = await ledger.entries(session, account_id, limit=limit, offset=offset)
    return LedgerPage(items=[EntryRead.of(e, b) for e, b in rows], total=total)


Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


@router.get("/me/balances", response_model=list[BalanceRead], responses=ERRORS)
async def my_balances(ctx: SpaceView, session: SessionDep) -> list[BalanceRead]:
    """My credits valid now — allowances, passes, grants — with what is left (used-up ones too)."""
    return await _balances(session, _me(ctx))


@router.get("/me/ledger", response_model=LedgerPage, responses=ERRORS)
async def my_ledger(ctx: SpaceView, session: SessionDep, limit: Limit = 50, offset: Offset = 0) -> LedgerPage:
    """Every movement of my credits, newest first."""
    return await _ledger(session, _me(ctx), limit, offset)


@router.get("/members/{account_id}/balances", response_model=list[BalanceRead], responses=ERRORS)
async def member_balances(ctx: MembershipView, account_id: MemberAccount, session: SessionDep) -> list[BalanceRead]:
    """A member's credits valid now (by account id)."""
    return await _balances(session, account_id)


@router.get("/members/{account_id}/ledger", response_model=LedgerPage, responses=ERRORS)
async def member_ledger(ctx: MembershipView, account_id: MemberAccount, session: SessionDep, limit: Limit = 50,
                        offset: Offset = 0) -> LedgerPage:
    return await _ledger(session, account_id, limit, offset)


@router.post("/members/{account_id}/credits/grants", status_code=status.HTTP_201_CREATED,
             response_model=BalanceRead, responses=ERRORS)
async def grant_credits(ctx: MembershipManage, account_id: MemberAccount, payload: GrantCreate,
                        session: SessionDep) -> BalanceRead:
    """Grant units to a member, with a reason (logged); used like an allowance, before passes."""
    valid_from = payload.valid_from or clock.now()
    if valid_from.tzinfo is None or payload.valid_until.tzinfo is None:
        raise ValidationFailed(fields={"valid_until": N_("Give a date and time with its offset.")})
    if payload.valid_until <= valid_from or payload.valid_until <= clock.now():
        raise ValidationFailed(fields={"valid_until": N_("The end of validity must come after its start, in the future.")})
    label = payload.label or clean_text(payload.reason, 200)
    bucket = await ledger.grant(session, account_id=account_id, quantity=payload.quantity, unit=payload.unit,
                                resource_kinds=",".join(dict.fromkeys(payload.resource_kinds)),
                                valid_from=valid_from, valid_until=payload.valid_until,
                                weekdays_only=payload.weekdays_only, label=label, reason=payload.reason,
                                actor_id=ctx.account.id)
    await session.flush()
    return BalanceRead.of(ledger.Balance(bucket, payload.quantity or 0))


@router.post("/members/{account_id}/credits/adjustments", status_code=status.HTTP_201_CREATED,
             response_model=EntryRead, responses=ERRORS)
async def adjust_credits(ctx: MembershipManage, account_id: MemberAccount, payload: AdjustmentCreate,
                         session: SessionDep) -> EntryRead:
    """Add or take units of one of the member's buckets, with a reason (logged). Never below zero."""
    if payload.quantity == 0:
        raise ValidationFailed(fields={"quantity": N_("Add or take at least one unit.")})
    bucket = await ledger.bucket_of(session, account_id, payload.bucket_id)
    entry = await ledger.adjust(session, bucket, payload.quantity, reason=payload.reason, actor_id=ctx.account.id)
    return EntryRead.of(entry, bucket)
