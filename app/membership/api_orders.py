"""The API of orders, passes bought, the adhésion, joining and "my membership", under
/api/v1/spaces/{slug}/.

Who sees what: a member reads their own orders and adhésions; staff with ``membership.view`` or
``billing.view`` read everyone's; marking paid and cancelling need ``billing.manage`` (a member may
cancel an open order of their own); tiers, passes sold or granted by staff and join requests need
``membership.manage``. The join request itself needs no account.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import Depends, Query, Request, status
from pydantic import BaseModel, EmailStr, Field

from app.account.api import client_ip
from app.account.service import normalize_email
from app.core.errors import PermissionDenied, SpaceSuspended
from app.core.money import Cents
from app.core.permissions import Perm
from app.core.schemas import MAX_ID, SingleLine, Strict
from app.core.tenancy import set_scope
from app.core.web import SessionDep, api_router
from app.membership import adhesion as adhesions
from app.membership import join, ledger, overview
from app.membership import orders as orders_
from app.membership.errors import NotAMember
from app.membership.models import Adhesion, AdhesionTier, AdhesionTierKind, JoinRequest, Order
from app.pricing.schemas import ChargeRead
from app.pricing.vat import VAT_RATE_HELP
from app.space import service as spaces
from app.space.deps import SpaceContext, space_access
from app.space.models import Space

router = api_router(prefix="/api/v1/spaces/{slug}", tags=["memberships: orders, adhésion, joining"])

SpaceMemberCtx = Annotated[SpaceContext, Depends(space_access(Perm.space_view))]
BillingManageCtx = Annotated[SpaceContext, Depends(space_access(Perm.billing_manage))]
MembershipManageCtx = Annotated[SpaceContext, Depends(space_access(Perm.membership_manage))]
MembershipViewCtx = Annotated[SpaceContext, Depends(space_access(Perm.membership_view))]


def sees_all_orders(ctx: SpaceContext) -> bool:
    return ctx.can(Perm.membership_view) or ctx.can(Perm.billing_view)


async def _member_account(session, account_id: int) -> int:
    if await spaces.membership(session, account_id) is None:
        raise NotAMember(fields={"account_id": NotAMember.message})
    return account_id


async def _for_whom(session, ctx: SpaceContext, account_id: int | None) -> int:
    """Oneself, or (staff with membership.manage) another member of the space."""
    if account_id is None or account_id == ctx.account.id:
        return ctx.account.id  # type: ignore[return-value]
    if not ctx.can(Perm.membership_manage):
        raise PermissionDenied()
    return await _member_account(session, account_id)


# -- shapes ------------------------------------------------------------------------------------------

class RateTotalRead(BaseModel):
    vat_rate_bp: int
    excl_cents: int
    vat_cents: int
    incl_cents: int


class OrderRead(BaseModel):
    id: int
    account_id: int
    purpose: str
    status: str
    label: str
    currency: str
    total_incl_cents: int
    pass_product_id: int | None
    paid_at: datetime | None
    paid_method: str
    cancelled_at: datetime | None
    created_at: datetime
    lines: list[ChargeRead] | None = None
    totals_per_rate: list[RateTotalRead] | None = None

    @classmethod
    def of(cls, o: Order, detail: orders_.OrderDetail | None = None) -> OrderRead:
        out = cls(id=o.id, account_id=o.account_id, purpose=o.purpose, status=o.status, label=o.label,
                  currency=o.currency, total_incl_cents=o.total_incl_cents, pass_product_id=o.pass_product_id,
                  paid_at=o.paid_at, paid_method=o.paid_method, cancelled_at=o.cancelled_at, created_at=o.created_at)
        if detail is not None:
            out.lines = [ChargeRead.of_charge(c) for c in detail.lines]
            out.totals_per_rate = [RateTotalRead(vat_rate_bp=t.rate_bp, excl_cents=t.excl_cents, vat_cents=t.vat_cents,
                                                 incl_cents=t.incl_cents) for t in detail.per_rate]
        return out


class CancelOrder(Strict):
    reason: SingleLine = Field(default="", max_length=300)


class PassPurchase(Strict):
    pass_product_id: int = Field(strict=True, ge=1, le=MAX_ID)
    account_id: int | None = Field(default=None, strict=True, ge=1, le=MAX_ID,
                                   description="staff (membership.manage): the member it is for; default oneself")
    settle: Literal["open", "paid", "free"] = Field(
        default="open", description="staff: 'paid' sells it paid on site, 'free' grants it with a reason")
    reason: SingleLine = Field(default="", max_length=300, description="why a pass is granted free")


class BucketRead(BaseModel):
    id: int
    source: str
    label: str
    left: int | None
    unlimited: bool
    valid_from: datetime
    valid_until: datetime
    pass_product_id: int | None
    order_id: int | None


class PassResult(BaseModel):
    order: OrderRead | None
    bucket: BucketRead | None


class TierWrite(Strict):
    name: SingleLine = Field(min_length=1, max_length=120)
    kind: AdhesionTierKind = AdhesionTierKind.individual
    price_cents: Cents = 0
    vat_rate_bp: int | None = Field(default=0, strict=True, description=VAT_RATE_HELP)
    public: bool = Field(default=True, strict=True)
    position: int = Field(default=0, strict=True, ge=0, le=10_000)


class TierUpdate(Strict):
    name: SingleLine | None = Field(default=None, min_length=1, max_length=120)
    kind: AdhesionTierKind | None = None
    price_cents: Cents | None = None
    vat_rate_bp: int | None = Field(default=None, strict=True, description=VAT_RATE_HELP)
    public: bool | None = Field(default=None, strict=True)
    position: int | None = Field(default=None, strict=True, ge=0, le=10_000)
    archived: bool | None = Field(default=None, strict=True)


class TierRead(BaseModel):
    id: int
    name: str
    kind: str
    price_cents: int
    vat_rate_bp: int | None
    public: bool
    position: int
    archived: bool

    @classmethod
    def of(cls, t: AdhesionTier) -> TierRead:
        return cls(id=t.id, name=t.name, kind=t.kind, price_cents=t.price_cents, vat_rate_bp=t.vat_rate_bp,
                   public=t.public, position=t.position, archived=t.archived_at is not None)


class AdhesionCreate(Strict):
    tier_id: int = Field(strict=True, ge=1, le=MAX_ID)
    account_id: int | None = Field(default=None, strict=True, ge=1, le=MAX_ID,
                                   description="staff (membership.manage): the member it is for; default oneself")


class AdhesionRead(BaseModel):
    id: int
    account_id: int
    tier_id: int
    starts_on: date
    ends_on: date = Field(description="exclusive")
    order_id: int | None
    paid_at: datetime | None
    cancelled_at: datetime | None

    @classmethod
    def of(cls, a: Adhesion) -> AdhesionRead:
        return cls(id=a.id, account_id=a.account_id, tier_id=a.tier_id, starts_on=a.starts_on, ends_on=a.ends_on,
                   order_id=a.order_id, paid_at=a.paid_at, cancelled_at=a.cancelled_at)


class AdhesionTaken(BaseModel):
    adhesion: AdhesionRead
    order: OrderRead | None


class JoinRequestCreate(Strict):
    name: SingleLine = Field(min_length=1, max_length=120)
    email: EmailStr
    organisation: SingleLine = Field(default="", max_length=200)
    needs: str = Field(default="", max_length=2000)
    plan_id: int | None = Field(default=None, strict=True, ge=1, le=MAX_ID, description="a public plan")


class JoinRequestReceived(BaseModel):
    status: Literal["received"] = "received"
    message: str


class JoinRequestRead(BaseModel):
    id: int
    name: str
    email: str
    organisation: str
    needs: str
    plan_id: int | None
    status: str
    decided_at: datetime | None
    decline_message: str
    created_at: datetime

    @classmethod
    def of(cls, r: JoinRequest) -> JoinRequestRead:
        return cls(id=r.id, name=r.name, email=r.email, organisation=r.organisation, needs=r.needs,
                   plan_id=r.plan_id, status=r.status, decided_at=r.decided_at, decline_message=r.decline_message,
                   created_at=r.created_at)


class DeclineJoinRequest(Strict):
    message: str = Field(default="", max_length=2000)


class PlanHeldRead(BaseModel):
    subscription_id: int
    plan_id: int
    plan_name: str
    status: str
    current_period_start: date
    next_renewal: date | None = Field(description="the current period's end (exclusive), unless it ends then")
    ends_on: date | None


class MyAdhesionRead(BaseModel):
    current: bool
    latest: AdhesionRead | None
    tier_name: str | None
    renew_from: date | None = Field(description="the latest adhésion's end: when a renewal takes over")


class MyMembership(BaseModel):
    plans: list[PlanHeldRead]
    credits: list[BucketRead]
    adhesion: MyAdhesionRead
    orders: list[OrderRead]
    owed_cents: int


class OverviewRowRead(BaseModel):
    account_id: int
    name: str
    email: str
    role: str
    plans: list[str]
    allowance_left: int | None
    allowance_unlimited: bool
    pass_left: int
    pass_until: datetime | None
    adhesion_until: date | None = Field(description="the current adhésion's end (exclusive); null: none")
    owed_cents: int


class OverviewRead(BaseModel):
    rows: list[OverviewRowRead]
    total: int
    page: int
    pages: int


def bucket_read(b) -> BucketRead:
    bucket = b.bucket if hasattr(b, "bucket") else b
    left = None if bucket.unlimited else (b.left if hasattr(b, "left") else None)
    return BucketRead(id=bucket.id, source=bucket.source, label=bucket.label, left=left, unlimited=bucket.unlimited,
                      valid_from=bucket.valid_from, valid_until=bucket.valid_until,
                      pass_product_id=bucket.pass_product_id, order_id=bucket.order_id)


# -- orders ------------------------------------------------------------------------------------------

async def order_of_caller(order_id: int, ctx: SpaceMemberCtx, session: SessionDep) -> Order:
    """An order of this space that the caller may see (their own, or any for staff); else 404."""
    return await orders_.get(session, order_id, account_id=None if sees_all_orders(ctx) else ctx.account.id)


VisibleOrder = Annotated[Order, Depends(order_of_caller)]


async def order_to_cancel(order_id: int, ctx: SpaceMemberCtx, session: SessionDep) -> Order:
    """An order the caller may cancel: their own, or any with billing.manage; else 404."""
    return await orders_.get(session, order_id, account_id=None if ctx.can(Perm.billing_manage) else ctx.account.id)


CancellableOrder = Annotated[Order, Depends(order_to_cancel)]


@router.get("/orders", response_model=list[OrderRead])
async def list_orders(
    ctx: SpaceMemberCtx, session: SessionDep,
    status_: Annotated[Literal["open", "paid", "cancelled"] | None, Query(alias="status")] = None,
    account_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="staff: one member's")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[OrderRead]:
    """A member's own orders; everyone's for staff (membership.view or billing.view). Open first."""
    whose = account_id if sees_all_orders(ctx) else ctx.account.id
    rows = await orders_.list_orders(session, account_id=whose, status=status_, limit=limit, offset=offset)
    return [OrderRead.of(o) for o in rows]


@router.get("/orders/{order_id}", response_model=OrderRead)
async def get_order(order: VisibleOrder, ctx: SpaceMemberCtx, session: SessionDep) -> OrderRead:
    """An order with its lines (charges, reversals included) and its totals per VAT rate."""
    return OrderRead.of(order, await orders_.detail(session, order))


@router.post("/orders/{order_id}/mark-paid", response_model=OrderRead)
async def mark_paid(order: VisibleOrder, ctx: BillingManageCtx, session: SessionDep) -> OrderRead:
    """Staff record that an open order was paid on site. Once: a second click, or a second person
    at the same time, gets 409 ``order_not_open``."""
    order = await orders_.mark_paid(session, order, method="on_site", actor_id=ctx.account.id)
    return OrderRead.of(order, await orders_.detail(session, order))


@router.post("/orders/{order_id}/cancel", response_model=OrderRead)
async def cancel_order(order: CancellableOrder, ctx: SpaceMemberCtx, session: SessionDep,
                       payload: CancelOrder | None = None) -> OrderRead:
    """Cancel an open order (staff with billing.manage, or the member whose order it is): its lines
    are reversed and what it would have granted is not granted. A paid order is not cancelled."""
    order = await orders_.cancel(session, order, actor_id=ctx.account.id, reason=payload.reason if payload else "")
    return OrderRead.of(order, await orders_.detail(session, order))


@router.post("/orders/pass", status_code=status.HTTP_201_CREATED, response_model=PassResult)
async def buy_pass(payload: PassPurchase, ctx: SpaceMemberCtx, session: SessionDep) -> PassResult:
    """Buy a public pass (an open order; its units are granted when it is paid). Staff
    (membership.manage) may sell any pass to a member paid on site (``settle: paid``) or grant it
    free with a reason (``settle: free``: no order, the units at once)."""
    staff = ctx.can(Perm.membership_manage)
    if payload.settle != "open" and not staff:
        raise PermissionDenied()
    account_id = await _for_whom(session, ctx, payload.account_id)
    product = await orders_.pass_product(session, payload.pass_product_id, staff=staff)
    if payload.settle == "free":
        bucket = await orders_.grant_pass(session, ctx.space, product, account_id=account_id,
                                          actor_id=ctx.account.id, reason=payload.reason)  # type: ignore[arg-type]
        return PassResult(order=None, bucket=bucket_read(ledger.Balance(bucket, product.units)))
    order = await orders_.buy_pass(session, ctx.space, product, account_id=account_id, actor_id=ctx.account.id,
                                   paid_on_site=payload.settle == "paid")
    return PassResult(order=OrderRead.of(order, await orders_.detail(session, order)), bucket=None)


# -- the adhésion ------------------------------------------------------------------------------------

async def tier_in_space(tier_id: int, ctx: SpaceMemberCtx, session: SessionDep) -> AdhesionTier:
    return await adhesions.get_tier(session, tier_id)


SpaceTier = Annotated[AdhesionTier, Depends(tier_in_space)]


@router.get("/adhesion-tiers", response_model=list[TierRead])
async def list_tiers(ctx: SpaceMemberCtx, session: SessionDep) -> list[TierRead]:
    """The public tiers on offer; every tier (private and archived too) for membership.manage."""
    return [TierRead.of(t) for t in await adhesions.list_tiers(session, staff=ctx.can(Perm.membership_manage))]


@router.post("/adhesion-tiers", status_code=status.HTTP_201_CREATED, response_model=TierRead)
async def create_tier(payload: TierWrite, ctx: MembershipManageCtx, session: SessionDep) -> TierRead:
    tier = await adhesions.create_tier(session, ctx.space, actor_id=ctx.account.id,  # type: ignore[arg-type]
                                       values=payload.model_dump())
    return TierRead.of(tier)


@router.patch("/adhesion-tiers/{tier_id}", response_model=TierRead)
async def update_tier(tier: SpaceTier, payload: TierUpdate, ctx: MembershipManageCtx, session: SessionDep) -> TierRead:
    """Change a tier; ``archived: true`` takes it off sale (adhésions taken keep it)."""
    changes = payload.model_dump(exclude_unset=True)
    tier = await adhesions.update_tier(session, ctx.space, tier, actor_id=ctx.account.id, changes=changes)  # type: ignore[arg-type]
    return TierRead.of(tier)


@router.get("/adhesions", response_model=list[AdhesionRead])
async def list_adhesions(
    ctx: SpaceMemberCtx, session: SessionDep,
    account_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="staff: one member's")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[AdhesionRead]:
    """One's own adhésions, newest first; everyone's for membership.view."""
    whose = account_id if ctx.can(Perm.membership_view) else ctx.account.id
    rows = await adhesions.list_adhesions(session, account_id=whose, limit=limit, offset=offset)
    return [AdhesionRead.of(a) for a in rows]


@router.post("/adhesions", status_code=status.HTTP_201_CREATED, response_model=AdhesionTaken)
async def take_adhesion(payload: AdhesionCreate, ctx: SpaceMemberCtx, session: SessionDep) -> AdhesionTaken:
    """Join or renew the association membership with a tier: the year's adhésion and its order
    (none for a free tier, current at once). Renewing is possible within the reminder days before
    the current one ends; otherwise, or twice, 409 ``adhesion_exists``."""
    account_id = await _for_whom(session, ctx, payload.account_id)
    tier = await adhesions.get_tier(session, payload.tier_id)
    taken = await adhesions.take(session, ctx.space, tier, account_id=account_id, actor_id=ctx.account.id,
                                 staff=ctx.can(Perm.membership_manage))
    order = OrderRead.of(taken.order, await orders_.detail(session, taken.order)) if taken.order else None
    return AdhesionTaken(adhesion=AdhesionRead.of(taken.adhesion), order=order)


# -- joining -----------------------------------------------------------------------------------------

async def public_space(session: SessionDep, slug: str) -> Space:
    """The space named, for a visitor (no account): suspended spaces take nothing."""
    space = await spaces.get_space(session, slug)
    set_scope(session, space.id)  # type: ignore[arg-type]
    if space.suspended_at is not None:
        raise SpaceSuspended()
    return space


@router.post("/join-requests", status_code=status.HTTP_202_ACCEPTED, response_model=JoinRequestReceived)
async def request_to_join(payload: JoinRequestCreate, request: Request, session: SessionDep,
                          space: Annotated[Space, Depends(public_space)]) -> JoinRequestReceived:
    """A visitor asks to join (no account needed). The answer is the same whatever happens behind
    (an address that already asked, or has an account): 409 ``join_closed`` when the space takes no
    requests, 404 ``plan_not_available`` for a plan not public. A space open to all accepts at
    once: the invitation e-mail goes out."""
    from app.core.i18n import _

    await join.submit(session, space, name=payload.name, email=normalize_email(str(payload.email)),
                      organisation=payload.organisation, needs=payload.needs, plan_id=payload.plan_id,
                      ip=client_ip(request))
    return JoinRequestReceived(message=_("Thank you: your request is received. You will get an e-mail."))


async def join_request_in_space(join_request_id: int, ctx: MembershipManageCtx, session: SessionDep) -> JoinRequest:
    return await join.get_request(session, join_request_id)


SpaceJoinRequest = Annotated[JoinRequest, Depends(join_request_in_space)]


@router.get("/join-requests", response_model=list[JoinRequestRead])
async def list_join_requests(
    ctx: MembershipManageCtx, session: SessionDep,
    status_: Annotated[Literal["pending", "accepted", "declined"] | None, Query(alias="status")] = "pending",
    limit: Annotated[int, Query(ge=1, le=200)] = 100, offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[JoinRequestRead]:
    return [JoinRequestRead.of(r) for r in await join.list_requests(session, status=status_, limit=limit,
                                                                     offset=offset)]


@router.post("/join-requests/{join_request_id}/accept", response_model=JoinRequestRead)
async def accept_join_request(req: SpaceJoinRequest, ctx: MembershipManageCtx, session: SessionDep) -> JoinRequestRead:
    """Accept: the person is invited (invitation e-mail); the plan chosen is assigned when they accept."""
    await join.accept(session, ctx.space, req, actor=ctx.account, actor_role=ctx.role)
    return JoinRequestRead.of(req)


@router.post("/join-requests/{join_request_id}/decline", response_model=JoinRequestRead)
async def decline_join_request(req: SpaceJoinRequest, ctx: MembershipManageCtx, session: SessionDep,
                               payload: DeclineJoinRequest | None = None) -> JoinRequestRead:
    """Decline, with a message e-mailed to the person."""
    await join.decline(session, ctx.space, req, actor=ctx.account, message=payload.message if payload else "")
    return JoinRequestRead.of(req)


# -- my membership, the overview -------------------------------------------------------------------

@router.get("/me/membership", response_model=MyMembership)
async def my_membership(ctx: SpaceMemberCtx, session: SessionDep) -> MyMembership:
    """Plans and next renewal, units left (allowances and passes, soonest expiring first), the
    adhésion, orders (open first) and what is owed."""
    s = await overview.summary(session, ctx.space, ctx.account.id)  # type: ignore[arg-type]
    latest = s.adhesion.adhesion
    return MyMembership(
        plans=[PlanHeldRead(subscription_id=p.subscription.id, plan_id=p.plan.id, plan_name=p.plan.name,
                            status=p.subscription.status, current_period_start=p.subscription.current_period_start,
                            next_renewal=None if p.subscription.ends_on and p.subscription.ends_on <= p.subscription.current_period_end
                            else p.subscription.current_period_end, ends_on=p.subscription.ends_on) for p in s.plans],
        credits=[bucket_read(b) for b in s.balances],
        adhesion=MyAdhesionRead(current=s.adhesion.current, latest=AdhesionRead.of(latest) if latest else None,
                                tier_name=s.adhesion.tier.name if s.adhesion.tier else None,
                                renew_from=latest.ends_on if latest else None),
        orders=[OrderRead.of(o) for o in s.orders], owed_cents=s.owed_cents,
    )


@router.get("/memberships", response_model=OverviewRead)
async def memberships_overview(
    ctx: MembershipViewCtx, session: SessionDep,
    filter_: Annotated[list[overview.Filter] | None, Query(alias="filter")] = None,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> OverviewRead:
    """Every person's plans, units left, adhésion and what they owe, 50 a page; filters (several
    combine): ``expiring`` (this month), ``lapsed`` (adhésion), ``over`` (allowance used up and
    bookings priced since), ``owing`` (open orders)."""
    data = await overview.overview(session, ctx.space, filters=set(filter_ or ()), q=q, page=page)
    return OverviewRead(rows=[OverviewRowRead(
        account_id=r.account.id, name=r.account.name, email=r.account.email, role=r.member.role,
        plans=[p.plan.name for p in r.plans], allowance_left=r.allowance_left, allowance_unlimited=r.allowance_unlimited,
        pass_left=r.pass_left, pass_until=r.pass_until, adhesion_until=r.adhesion_until, owed_cents=r.owed_cents,
    ) for r in data.rows], total=data.total, page=data.page, pages=data.pages)
