"""Plans, pass products, membership settings and subscriptions under /api/v1/spaces/{slug}/.

Members list the public plans and passes, and see and cancel their own subscriptions; staff with
``membership.view`` see everything, with ``membership.manage`` define plans and passes, assign,
change (preview first), pause, resume and end subscriptions.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from app.core.errors import NotFound
from app.core.money import Cents
from app.core.permissions import Perm
from app.core.schemas import IdPath, IsoDate, SingleLine, Strict
from app.core.web import SessionDep, api_router
from app.membership import plans as catalogue
from app.membership import subscriptions as subs
from app.membership.errors import SubscriptionNotFound
from app.membership.models import MembershipSettings, PassProduct, PassRate, Plan, PlanAllowance, Subscription
from app.membership.settings import settings_of
from app.pricing.quote import PricedLine
from app.pricing.vat import VAT_RATE_HELP
from app.space.deps import SpaceContext, SpaceView, space_access

router = api_router(prefix="/api/v1/spaces/{slug}", tags=["memberships"])

MembershipView = Annotated[SpaceContext, Depends(space_access(Perm.membership_view))]
MembershipManage = Annotated[SpaceContext, Depends(space_access(Perm.membership_manage))]

Kind = Literal["hot_desk", "dedicated_desk", "meeting_room", "private_office", "equipment"]
UnitName = Literal["hour", "half_day", "day"]
Count = Annotated[int, Field(strict=True, ge=0, le=36)]


# -- schemas ------------------------------------------------------------------------------------


class AllowanceIn(Strict):
    resource_kinds: list[Kind] = Field(default_factory=list, max_length=5, description="empty: any kind")
    unit: UnitName = "day"
    quantity: Annotated[int, Field(strict=True, ge=1, le=10000)] | None = Field(
        default=None, description="units per period; null: unlimited")
    weekdays_only: bool = False


class PlanIn(Strict):
    name: SingleLine = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    period: Literal["month", "quarter", "year"] = "month"
    price_cents: Cents = 0
    vat_rate_bp: int | None = Field(default=None, strict=True, description=VAT_RATE_HELP)
    rollover_periods: Annotated[int, Field(strict=True, ge=0, le=12)] = 0
    fixed_desk: bool = False
    domiciliation_only: bool = False
    min_commitment_periods: Count = 0
    public: bool = False
    position: Annotated[int, Field(strict=True, ge=0, le=10000)] = 0
    allowances: list[AllowanceIn] = Field(default_factory=list, max_length=10)


class PlanPatch(Strict):
    name: SingleLine | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=2000)
    period: Literal["month", "quarter", "year"] | None = None
    price_cents: Cents | None = None
    vat_rate_bp: int | None = Field(default=None, strict=True, description=VAT_RATE_HELP)
    rollover_periods: Annotated[int, Field(strict=True, ge=0, le=12)] | None = None
    fixed_desk: bool | None = None
    domiciliation_only: bool | None = None
    min_commitment_periods: Count | None = None
    public: bool | None = None
    position: Annotated[int, Field(strict=True, ge=0, le=10000)] | None = None
    allowances: list[AllowanceIn] | None = Field(default=None, max_length=10)


class AllowanceOut(BaseModel):
    resource_kinds: list[str]
    unit: str
    quantity: int | None
    weekdays_only: bool

    @classmethod
    def of(cls, a: PlanAllowance) -> AllowanceOut:
        return cls(resource_kinds=[k for k in a.resource_kinds.split(",") if k], unit=a.unit, quantity=a.quantity,
                   weekdays_only=a.weekdays_only)


class PlanOut(BaseModel):
    id: int
    name: str
    description: str
    period: str
    price_cents: int
    vat_rate_bp: int | None
    rollover_periods: int
    fixed_desk: bool
    domiciliation_only: bool
    min_commitment_periods: int
    public: bool
    position: int
    archived: bool
    allowances: list[AllowanceOut]

    @classmethod
    def of(cls, plan: Plan, allowances: list[PlanAllowance]) -> PlanOut:
        return cls(id=plan.id or 0, name=plan.name, description=plan.description, period=plan.period,
                   price_cents=plan.price_cents, vat_rate_bp=plan.vat_rate_bp, rollover_periods=plan.rollover_periods,
                   fixed_desk=plan.fixed_desk, domiciliation_only=plan.domiciliation_only,
                   min_commitment_periods=plan.min_commitment_periods, public=plan.public, position=plan.position,
                   archived=plan.archived_at is not None, allowances=[AllowanceOut.of(a) for a in allowances])


class RateIn(Strict):
    resource_kind: Kind
    unit: UnitName
    units_per: Annotated[int, Field(strict=True, ge=1, le=100)] = 1


class PassIn(Strict):
    name: SingleLine = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    units: Annotated[int, Field(strict=True, ge=1, le=1000)] = 1
    valid_months: Annotated[int, Field(strict=True, ge=1, le=60)] = 6
    price_cents: Cents = 0
    vat_rate_bp: int | None = Field(default=None, strict=True, description=VAT_RATE_HELP)
    public: bool = True
    position: Annotated[int, Field(strict=True, ge=0, le=10000)] = 0
    rates: list[RateIn] = Field(default_factory=list, max_length=20)


class PassPatch(Strict):
    name: SingleLine | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=2000)
    units: Annotated[int, Field(strict=True, ge=1, le=1000)] | None = None
    valid_months: Annotated[int, Field(strict=True, ge=1, le=60)] | None = None
    price_cents: Cents | None = None
    vat_rate_bp: int | None = Field(default=None, strict=True, description=VAT_RATE_HELP)
    public: bool | None = None
    position: Annotated[int, Field(strict=True, ge=0, le=10000)] | None = None
    rates: list[RateIn] | None = Field(default=None, max_length=20)


class RateOut(BaseModel):
    resource_kind: str
    unit: str
    units_per: int


class PassOut(BaseModel):
    id: int
    name: str
    description: str
    units: int
    valid_months: int
    price_cents: int
    vat_rate_bp: int | None
    public: bool
    position: int
    archived: bool
    rates: list[RateOut]

    @classmethod
    def of(cls, p: PassProduct, rates: list[PassRate]) -> PassOut:
        return cls(id=p.id or 0, name=p.name, description=p.description, units=p.units, valid_months=p.valid_months,
                   price_cents=p.price_cents, vat_rate_bp=p.vat_rate_bp, public=p.public, position=p.position,
                   archived=p.archived_at is not None,
                   rates=[RateOut(resource_kind=r.resource_kind, unit=r.unit, units_per=r.units_per) for r in rates])


class SettingsIn(Strict):
    join_policy: Literal["closed", "request", "open"] | None = None
    adhesion_year: Literal["calendar", "school", "rolling"] | None = None
    adhesion_for_member_prices: bool | None = None
    adhesion_for_booking: bool | None = None
    adhesion_for_plans: bool | None = None
    when_credits_run_out: Literal["price", "refuse"] | None = None
    late_cancel_returns_credits: bool | None = None
    max_pause_days: Annotated[int, Field(strict=True, ge=0, le=366)] | None = None
    reminder_days: Annotated[int, Field(strict=True, ge=0, le=90)] | None = None


class SettingsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    join_policy: str
    adhesion_year: str
    adhesion_for_member_prices: bool
    adhesion_for_booking: bool
    adhesion_for_plans: bool
    when_credits_run_out: str
    late_cancel_returns_credits: bool
    max_pause_days: int
    reminder_days: int

    @classmethod
    def of(cls, row: MembershipSettings) -> SettingsOut:
        return cls.model_validate(row)


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    plan_id: int
    status: str
    starts_on: date
    anchor_day: int
    current_period_start: date
    current_period_end: date
    ends_on: date | None
    committed_until: date | None
    fixed_resource_id: int | None
    created_at: datetime
    ended_at: datetime | None
    end_reason: str

    @classmethod
    def of(cls, sub: Subscription) -> SubscriptionOut:
        return cls.model_validate(sub)


class AssignIn(Strict):
    account_id: Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)]
    plan_id: Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)]
    starts_on: IsoDate | None = Field(default=None, description="the space's local date; default today")
    fixed_resource_id: Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)] | None = None


class ChangeIn(Strict):
    plan_id: Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)]
    on: IsoDate | None = Field(default=None, description="the day the new plan starts; default today")


class LineOut(BaseModel):
    item: str
    label: str
    quantity: int
    unit_price_cents: int
    vat_rate_bp: int
    amount_excl_cents: int
    vat_cents: int
    amount_incl_cents: int

    @classmethod
    def of(cls, x: PricedLine) -> LineOut:
        return cls(item=x.item, label=x.label, quantity=x.quantity, unit_price_cents=x.unit_price_cents,
                   vat_rate_bp=x.vat_rate_bp, amount_excl_cents=x.amount_excl_cents, vat_cents=x.vat_cents,
                   amount_incl_cents=x.amount_incl_cents)


class ChangePreviewOut(BaseModel):
    on: date
    period_start: date
    period_end: date
    days_left: int
    days_in_period: int
    credit_cents: int
    charge_cents: int
    total_incl_cents: int
    lines: list[LineOut]


class PauseIn(Strict):
    starts_on: IsoDate
    ends_on: IsoDate = Field(description="exclusive: the day the subscription resumes")
    reason: str = Field(default="", max_length=300)


class EndIn(Strict):
    on: IsoDate | None = Field(default=None, description="exclusive: the first day no longer covered; default today")
    force: bool = Field(default=False, description="before the commitment's end (needs a reason)")
    reason: str = Field(default="", max_length=300)


class ResumeIn(Strict):
    on: IsoDate | None = None


# -- plans --------------------------------------------------------------------------------------


async def _plan_out(session, plan: Plan) -> PlanOut:
    return PlanOut.of(plan, await catalogue.allowances(session, plan))


async def valid_plan(plan_id: IdPath, ctx: SpaceView, session: SessionDep) -> Plan:
    if ctx.can(Perm.membership_view):
        return await catalogue.get_plan(session, plan_id)
    return await catalogue.plan_for_member(session, plan_id)  # a private plan: 404 plan_not_available


ValidPlan = Annotated[Plan, Depends(valid_plan)]


def _allowances(items: list[AllowanceIn]) -> list[dict]:
    return [a.model_dump() for a in items]


@router.get("/plans", response_model=list[PlanOut])
async def list_plans(ctx: SpaceView, session: SessionDep, include_archived: bool = False) -> list[PlanOut]:
    """Plans in display order: the public ones for members; every one for staff."""
    staff = ctx.can(Perm.membership_view)
    rows = await catalogue.list_plans(session, include_archived=include_archived and staff, public_only=not staff)
    return [await _plan_out(session, p) for p in rows]


@router.post("/plans", status_code=status.HTTP_201_CREATED, response_model=PlanOut)
async def create_plan(payload: PlanIn, ctx: MembershipManage, session: SessionDep) -> PlanOut:
    plan = await catalogue.create_plan(session, ctx.space, ctx.account.id, payload.model_dump(exclude={"allowances"}),
                                       _allowances(payload.allowances))
    return await _plan_out(session, plan)


@router.get("/plans/{plan_id}", response_model=PlanOut)
async def get_plan(plan: ValidPlan, session: SessionDep) -> PlanOut:
    return await _plan_out(session, plan)


@router.patch("/plans/{plan_id}", response_model=PlanOut)
async def update_plan(plan: ValidPlan, payload: PlanPatch, ctx: MembershipManage, session: SessionDep) -> PlanOut:
    """Change some fields (``allowances`` replaces them all). Periods under way keep theirs."""
    values = payload.model_dump(exclude_unset=True, exclude={"allowances"})
    values = {k: v for k, v in values.items() if v is not None or k == "vat_rate_bp"}
    allowances = _allowances(payload.allowances) if payload.allowances is not None else None
    await catalogue.update_plan(session, ctx.space, ctx.account.id, plan, values, allowances)
    return await _plan_out(session, plan)


@router.post("/plans/{plan_id}/archive", response_model=PlanOut)
async def archive_plan(plan: ValidPlan, ctx: MembershipManage, session: SessionDep) -> PlanOut:
    """No new subscriptions to it; current ones go on and renew."""
    await catalogue.set_plan_archived(session, ctx.space, ctx.account.id, plan, True)
    return await _plan_out(session, plan)


@router.post("/plans/{plan_id}/restore", response_model=PlanOut)
async def restore_plan(plan: ValidPlan, ctx: MembershipManage, session: SessionDep) -> PlanOut:
    await catalogue.set_plan_archived(session, ctx.space, ctx.account.id, plan, False)
    return await _plan_out(session, plan)


# -- pass products ------------------------------------------------------------------------------


async def valid_pass(product_id: IdPath, ctx: SpaceView, session: SessionDep) -> PassProduct:
    product = await catalogue.get_pass(session, product_id)
    if not product.public and not ctx.can(Perm.membership_view):
        raise NotFound()
    return product


ValidPass = Annotated[PassProduct, Depends(valid_pass)]


async def _pass_out(session, product: PassProduct) -> PassOut:
    return PassOut.of(product, await catalogue.rates(session, product))


@router.get("/pass-products", response_model=list[PassOut])
async def list_passes(ctx: SpaceView, session: SessionDep, include_archived: bool = False) -> list[PassOut]:
    staff = ctx.can(Perm.membership_view)
    rows = await catalogue.list_passes(session, include_archived=include_archived and staff, public_only=not staff)
    return [await _pass_out(session, p) for p in rows]


@router.post("/pass-products", status_code=status.HTTP_201_CREATED, response_model=PassOut)
async def create_pass(payload: PassIn, ctx: MembershipManage, session: SessionDep) -> PassOut:
    product = await catalogue.create_pass(session, ctx.space, ctx.account.id, payload.model_dump(exclude={"rates"}),
                                          [r.model_dump() for r in payload.rates])
    return await _pass_out(session, product)


@router.get("/pass-products/{product_id}", response_model=PassOut)
async def get_pass(product: ValidPass, session: SessionDep) -> PassOut:
    return await _pass_out(session, product)


@router.patch("/pass-products/{product_id}", response_model=PassOut)
async def update_pass(product: ValidPass, payload: PassPatch, ctx: MembershipManage, session: SessionDep) -> PassOut:
    values = payload.model_dump(exclude_unset=True, exclude={"rates"})
    values = {k: v for k, v in values.items() if v is not None or k == "vat_rate_bp"}
    rates = [r.model_dump() for r in payload.rates] if payload.rates is not None else None
    await catalogue.update_pass(session, ctx.space, ctx.account.id, product, values, rates)
    return await _pass_out(session, product)


@router.post("/pass-products/{product_id}/archive", response_model=PassOut)
async def archive_pass(product: ValidPass, ctx: MembershipManage, session: SessionDep) -> PassOut:
    await catalogue.set_pass_archived(session, ctx.space, ctx.account.id, product, True)
    return await _pass_out(session, product)


@router.post("/pass-products/{product_id}/restore", response_model=PassOut)
async def restore_pass(product: ValidPass, ctx: MembershipManage, session: SessionDep) -> PassOut:
    await catalogue.set_pass_archived(session, ctx.space, ctx.account.id, product, False)
    return await _pass_out(session, product)


# -- settings -----------------------------------------------------------------------------------


@router.get("/membership-settings", response_model=SettingsOut)
async def get_settings(ctx: MembershipView, session: SessionDep) -> SettingsOut:
    return SettingsOut.of(await settings_of(session))


@router.patch("/membership-settings", response_model=SettingsOut)
async def update_settings(payload: SettingsIn, ctx: MembershipManage, session: SessionDep) -> SettingsOut:
    values = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    return SettingsOut.of(await catalogue.update_settings(session, ctx.space, ctx.account.id, values))


# -- subscriptions ------------------------------------------------------------------------------


async def valid_subscription(subscription_id: IdPath, ctx: SpaceView, session: SessionDep) -> Subscription:
    """A subscription of the space: any for staff, one's own for a member (others' are a 404)."""
    sub = await subs.get(session, subscription_id)
    if sub.account_id != ctx.account.id and not ctx.can(Perm.membership_view):
        raise SubscriptionNotFound()
    return sub


ValidSubscription = Annotated[Subscription, Depends(valid_subscription)]


@router.get("/subscriptions", response_model=list[SubscriptionOut])
async def list_subscriptions(
    ctx: SpaceView, session: SessionDep,
    status_: Annotated[Literal["active", "paused", "ended"] | None, Query(alias="status")] = None,
    account_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    plan_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    renews_before: Annotated[date | None, Query(description="current period ends on or before")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**6)] = 0,
) -> list[SubscriptionOut]:
    """Staff: every subscription, filtered; a member: their own."""
    if not ctx.can(Perm.membership_view):
        account_id = ctx.account.id
    rows = await subs.list_subscriptions(session, status=status_, account_id=account_id, plan_id=plan_id,
                                         due_before=renews_before, limit=limit, offset=offset)
    return [SubscriptionOut.of(s) for s in rows]


@router.post("/subscriptions", status_code=status.HTTP_201_CREATED, response_model=SubscriptionOut)
async def assign(payload: AssignIn, ctx: MembershipManage, session: SessionDep) -> SubscriptionOut:
    """Assign a plan (public or private) to a person of the space, from ``starts_on``."""
    from app.space import service as spaces

    plan = await catalogue.get_plan(session, payload.plan_id)
    if await spaces.membership(session, payload.account_id) is None:
        raise NotFound(fields={"account_id": NotFound.message})
    sub = await subs.subscribe(session, ctx.space, account_id=payload.account_id, plan=plan,
                               starts_on=payload.starts_on or subs.local_today(ctx.space), actor_id=ctx.account.id,
                               fixed_resource_id=payload.fixed_resource_id)
    return SubscriptionOut.of(sub)


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionOut)
async def get_subscription(sub: ValidSubscription) -> SubscriptionOut:
    return SubscriptionOut.of(sub)


async def _preview(session, ctx: SpaceContext, sub: Subscription, payload: ChangeIn) -> subs.ChangePreview:
    plan = await catalogue.get_plan(session, payload.plan_id)
    return await subs.preview_change(session, ctx.space, sub, plan, payload.on or subs.local_today(ctx.space))


def _preview_out(p: subs.ChangePreview) -> ChangePreviewOut:
    c = p.change
    return ChangePreviewOut(on=c.on, period_start=c.start, period_end=c.end, days_left=c.days_left,
                            days_in_period=c.days_in_period, credit_cents=c.credit_cents, charge_cents=c.charge_cents,
                            total_incl_cents=p.total_incl_cents, lines=[LineOut.of(x) for x in p.lines])


@router.post("/subscriptions/{subscription_id}/change-preview", response_model=ChangePreviewOut)
async def change_preview(sub: ValidSubscription, payload: ChangeIn, ctx: MembershipManage,
                         session: SessionDep) -> ChangePreviewOut:
    """What a change of plan costs, before confirming: nothing is written."""
    return _preview_out(await _preview(session, ctx, sub, payload))


@router.post("/subscriptions/{subscription_id}/change", response_model=ChangePreviewOut)
async def change(sub: ValidSubscription, payload: ChangeIn, ctx: MembershipManage,
                 session: SessionDep) -> ChangePreviewOut:
    """Change the plan on ``on`` (a day of the current period after its first): the order of the
    prorated difference is written, the allowance replaced."""
    plan = await catalogue.get_plan(session, payload.plan_id)
    preview = await subs.change_plan(session, ctx.space, sub, plan, on=payload.on or subs.local_today(ctx.space),
                                     actor_id=ctx.account.id)
    return _preview_out(preview)


@router.post("/subscriptions/{subscription_id}/pause", response_model=SubscriptionOut)
async def pause(sub: ValidSubscription, payload: PauseIn, ctx: MembershipManage, session: SessionDep) -> SubscriptionOut:
    await subs.pause(session, ctx.space, sub, starts_on=payload.starts_on, ends_on=payload.ends_on,
                     reason=payload.reason, actor_id=ctx.account.id)
    return SubscriptionOut.of(await subs.get(session, sub.id or 0))


@router.post("/subscriptions/{subscription_id}/resume", response_model=SubscriptionOut)
async def resume(sub: ValidSubscription, payload: ResumeIn, ctx: MembershipManage,
                 session: SessionDep) -> SubscriptionOut:
    """End a pause early (the resume day starts a new period)."""
    return SubscriptionOut.of(await subs.resume(session, ctx.space, sub, on=payload.on or subs.local_today(ctx.space),
                                                actor_id=ctx.account.id))


@router.post("/subscriptions/{subscription_id}/end", response_model=SubscriptionOut)
async def end(sub: ValidSubscription, payload: EndIn, ctx: MembershipManage, session: SessionDep) -> SubscriptionOut:
    """End now (``on`` today or earlier: unused days credited) or at a later date."""
    return SubscriptionOut.of(await subs.end(session, ctx.space, sub, on=payload.on or subs.local_today(ctx.space),
                                             actor_id=ctx.account.id, force=payload.force, reason=payload.reason))


@router.post("/subscriptions/{subscription_id}/cancel-at-period-end", response_model=SubscriptionOut)
async def cancel_at_period_end(sub: ValidSubscription, ctx: SpaceView, session: SessionDep) -> SubscriptionOut:
    """The member (or staff) cancels: it ends when the current period does."""
    if sub.account_id != ctx.account.id and not ctx.can(Perm.membership_manage):
        raise SubscriptionNotFound()
    return SubscriptionOut.of(await subs.cancel_at_period_end(session, ctx.space, sub, actor_id=ctx.account.id))
