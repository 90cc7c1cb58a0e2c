"""Members' and visitors' membership pages: "My membership" (plans, units left, the adhésion,
orders; buying a pass, renewing the adhésion, subscribing to a public plan) and the join form."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from app.account.api import client_ip
from app.account.deps import OptionalAccount
from app.core import i18n
from app.core.errors import FabriqueError, ValidationFailed
from app.core.i18n import N_, _, _l
from app.core.permissions import Perm
from app.core.tenancy import set_scope
from app.core.text import SINGLE_LINE_MESSAGE, clean_text, has_line_break_or_control
from app.core.web import LANG_COOKIE, SessionDep, form_data, form_email, redirect, register_space_nav, render
from app.membership import adhesion as adhesions
from app.membership import join, overview
from app.membership import orders as orders_
from app.membership.errors import AdhesionRequired, JoinClosed, PlanNotAvailable
from app.membership.models import JoinPolicy, PassProduct, Subscription
from app.membership.settings import settings_of
from app.membership.web import router
from app.space import service as spaces
from app.space.deps import SpaceContext, space_access
from app.space.models import Space

register_space_nav(22, Perm.space_view, _l("My membership"), "membership")

SpaceMemberCtx = Annotated[SpaceContext, Depends(space_access(Perm.space_view))]


async def _passes_on_sale(session) -> list[PassProduct]:
    from sqlmodel import col, select

    return list((await session.exec(select(PassProduct).where(col(PassProduct.public).is_(True),
                                                              col(PassProduct.archived_at).is_(None))
                                    .order_by(col(PassProduct.position), col(PassProduct.id)))).all())


async def _page(request: Request, ctx: SpaceContext, session, *, error: FabriqueError | None = None,
                form: dict | None = None) -> Response:
    request.state.my_spaces = await spaces.spaces_of(session, ctx.account.id)  # type: ignore[arg-type]
    data = await overview.summary(session, ctx.space, ctx.account.id)  # type: ignore[arg-type]
    subscriptions = join._subscriptions()
    held = {p.plan.id for p in data.plans}
    plans = [p for p in await join.public_plans(session) if p.id not in held] if subscriptions else []
    return render(request, "membership/member_membership.html", {
        "ctx": ctx, "data": data, "passes": await _passes_on_sale(session), "can_cancel_plans": subscriptions is not None,
        "tiers": await adhesions.list_tiers(session, staff=False), "plans": plans,
        "today": adhesions.local_today(ctx.space),
        "adhesion_last_day": data.adhesion.adhesion.ends_on - timedelta(days=1) if data.adhesion.adhesion else None,
    }, error=error, form=form)


@router.get("/s/{slug}/membership")
async def my_membership(request: Request, ctx: SpaceMemberCtx, session: SessionDep) -> Response:
    return await _page(request, ctx, session)


def _int(form: dict[str, str], name: str) -> int:
    value = (form.get(name) or "").strip()
    if not value.isdecimal() or not 0 < int(value) < 2**31:
        raise ValidationFailed(fields={name: N_("Choose one.")})
    return int(value)


@router.post("/s/{slug}/membership/pass")
async def buy_pass(request: Request, ctx: SpaceMemberCtx, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        product = await orders_.pass_product(session, _int(form, "pass_product_id"), staff=False)
        order = await orders_.buy_pass(session, ctx.space, product, account_id=ctx.account.id,  # type: ignore[arg-type]
                                       actor_id=ctx.account.id)
    except FabriqueError as exc:
        return await _page(request, ctx, session, error=exc, form=form)
    message = _("The pass is yours.") if order.status == "paid" else \
        _("Order recorded: the pass's units are yours once it is paid.")
    return redirect(f"/s/{ctx.space.slug}/membership", message=message)


@router.post("/s/{slug}/membership/adhesion")
async def take_adhesion(request: Request, ctx: SpaceMemberCtx, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        tier = await adhesions.get_tier(session, _int(form, "tier_id"))
        taken = await adhesions.take(session, ctx.space, tier, account_id=ctx.account.id,  # type: ignore[arg-type]
                                     actor_id=ctx.account.id, staff=False)
    except FabriqueError as exc:
        return await _page(request, ctx, session, error=exc, form=form)
    message = _("Welcome to the association!") if taken.order is None or taken.order.status == "paid" else \
        _("Order recorded: your adhésion is current once it is paid.")
    return redirect(f"/s/{ctx.space.slug}/membership", message=message)


@router.post("/s/{slug}/membership/subscribe")
async def subscribe(request: Request, ctx: SpaceMemberCtx, session: SessionDep) -> Response:
    """Subscribe to a public plan (the subscriptions service decides the rest: orders, allowances)."""
    form = await form_data(request)
    subscriptions = join._subscriptions()
    try:
        plan_id = _int(form, "plan_id")
        plan = next((p for p in await join.public_plans(session) if p.id == plan_id), None)
        if plan is None or subscriptions is None:
            raise PlanNotAvailable()
        if (await settings_of(session)).adhesion_for_plans and not await adhesions.is_current(
                session, ctx.account.id, adhesions.local_today(ctx.space)):  # type: ignore[arg-type]
            raise AdhesionRequired()
        await subscriptions.subscribe(session, ctx.space, account_id=ctx.account.id, plan=plan,
                                      starts_on=adhesions.local_today(ctx.space), actor_id=ctx.account.id)
    except FabriqueError as exc:
        return await _page(request, ctx, session, error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/membership", message=_("You are subscribed."))


@router.post("/s/{slug}/membership/cancel-plan")
async def cancel_plan(request: Request, ctx: SpaceMemberCtx, session: SessionDep) -> Response:
    """End one's own subscription when its current period ends (the subscriptions service decides)."""
    from sqlmodel import select

    form = await form_data(request)
    subscriptions = join._subscriptions()
    try:
        sub_id = _int(form, "subscription_id")
        sub = (await session.exec(select(Subscription).where(Subscription.id == sub_id,
                                                             Subscription.account_id == ctx.account.id))).first()
        if sub is None or subscriptions is None:
            from app.core.errors import NotFound

            raise NotFound()
        sub = await subscriptions.cancel_at_period_end(session, ctx.space, sub, actor_id=ctx.account.id)
    except FabriqueError as exc:
        return await _page(request, ctx, session, error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/membership", message=_(
        "Your plan ends at the end of the current period."))


# -- the join form, for visitors -------------------------------------------------------------------

async def visitor_space(request: Request, session: SessionDep, slug: str) -> Space:
    space = await spaces.get_space(session, slug)
    set_scope(session, space.id)  # type: ignore[arg-type]
    if space.suspended_at is not None:
        from app.core.errors import SpaceSuspended

        raise SpaceSuspended()
    if not request.cookies.get(LANG_COOKIE):
        i18n.set_locale(space.locale)
    return space


VisitorSpace = Annotated[Space, Depends(visitor_space)]


async def _join_page(request: Request, space: Space, session, account, *, error=None, form=None) -> Response:
    if account is not None:
        request.state.my_spaces = await spaces.spaces_of(session, account.id)
        form = form if form is not None else {"name": account.name, "email": account.email}
    return render(request, "membership/join_form.html", {
        "space": space, "closed": await join.policy(session) == JoinPolicy.closed,
        "open": await join.policy(session) == JoinPolicy.open, "plans": await join.public_plans(session),
    }, error=error, form=form)


@router.get("/s/{slug}/join")
async def join_form(request: Request, space: VisitorSpace, session: SessionDep, account: OptionalAccount) -> Response:
    return await _join_page(request, space, session, account)


@router.post("/s/{slug}/join")
async def join_submit(request: Request, space: VisitorSpace, session: SessionDep, account: OptionalAccount) -> Response:
    form = await form_data(request)
    try:
        errors: dict[str, str] = {}
        # One line each: a line break is refused beside its field, not flattened (app.core.text).
        for field in ("name", "organisation"):
            if has_line_break_or_control(clean_text(form.get(field, ""))):
                errors[field] = SINGLE_LINE_MESSAGE
        name = clean_text(form.get("name", ""))[:120]
        if not name and "name" not in errors:
            errors["name"] = N_("This field is required.")
        try:
            email = form_email(form.get("email"))
        except ValidationFailed as exc:
            errors.update(exc.fields)
        plan_id = (form.get("plan_id") or "").strip()
        if plan_id and not plan_id.isdecimal():
            errors["plan_id"] = N_("Choose one.")
        if errors:
            raise ValidationFailed(fields=errors)
        await join.submit(session, space, name=name, email=email, organisation=form.get("organisation", ""),
            needs=form.get("needs", ""),
            plan_id=int(plan_id) if plan_id and int(plan_id) < 2**31 else None, ip=client_ip(request))
    except JoinClosed:
        return redirect(f"/s/{space.slug}/join")
    except FabriqueError as exc:
        return await _join_page(request, space, session, account, error=exc, form=form)
    return redirect(f"/s/{space.slug}/join?sent=1", message=_(
        "Thank you: your request is received. You will get an e-mail."))
