"""Staff's membership pages: the overview of every member, orders (mark paid on site, cancel),
adhésion tiers, and requests to join. An order's own page is also its member's."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.responses import Response

from app.core import money
from app.core.errors import FabriqueError, ValidationFailed
from app.core.i18n import N_, _, _l
from app.core.permissions import Perm
from app.core.web import SessionDep, form_data, form_email, redirect, register_space_nav, render
from app.membership import adhesion as adhesions
from app.membership import join, overview
from app.membership import orders as orders_
from app.membership.api_orders import CancellableOrder, sees_all_orders
from app.membership.models import AdhesionTierKind, JoinRequest, Order
from app.membership.web import router
from app.pricing import vat
from app.space import service as spaces
from app.space.deps import SpaceContext, space_access

register_space_nav(70, Perm.membership_view, _l("Memberships"), "manage/memberships")

SpaceMemberCtx = Annotated[SpaceContext, Depends(space_access(Perm.space_view))]
MembershipViewCtx = Annotated[SpaceContext, Depends(space_access(Perm.membership_view))]
MembershipManageCtx = Annotated[SpaceContext, Depends(space_access(Perm.membership_manage))]
BillingViewCtx = Annotated[SpaceContext, Depends(space_access(Perm.billing_view))]
BillingManageCtx = Annotated[SpaceContext, Depends(space_access(Perm.billing_manage))]


async def _nav(request: Request, session, ctx: SpaceContext) -> None:
    request.state.my_spaces = await spaces.spaces_of(session, ctx.account.id)  # type: ignore[arg-type]


# -- the overview -------------------------------------------------------------------------------------

FILTER_LABELS = {
    overview.Filter.expiring: _l("Ending this month"),
    overview.Filter.lapsed: _l("Adhésion lapsed"),
    overview.Filter.over: _l("Over allowance"),
    overview.Filter.owing: _l("Owing"),
}


@router.get("/s/{slug}/manage/memberships")
async def memberships(
    request: Request, ctx: MembershipViewCtx, session: SessionDep,
    filter_: Annotated[list[str] | None, Query(alias="filter")] = None,
    q: Annotated[str, Query(max_length=100)] = "", page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    await _nav(request, session, ctx)
    chosen = {f for f in (filter_ or []) if f in set(overview.Filter)}
    data = await overview.overview(session, ctx.space, filters=chosen, q=q, page=page)
    return render(request, "membership/manage_overview.html", {
        "ctx": ctx, "data": data, "chosen": chosen, "q": q, "filters": FILTER_LABELS,
        "query": urlencode([("filter", f) for f in sorted(chosen)] + ([("q", q)] if q else [])),
    })


# -- orders -------------------------------------------------------------------------------------------

@router.get("/s/{slug}/manage/orders")
async def orders_page(
    request: Request, ctx: BillingViewCtx, session: SessionDep,
    status: Annotated[str, Query(max_length=10)] = "open", page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    await _nav(request, session, ctx)
    status = status if status in ("open", "paid", "cancelled", "all") else "open"
    rows = await orders_.list_orders(session, status=None if status == "all" else status, limit=51,
                                     offset=(page - 1) * 50)
    names = await _names(session, [o.account_id for o in rows])
    return render(request, "membership/manage_orders.html", {
        "ctx": ctx, "orders": rows[:50], "more": len(rows) > 50, "page": page, "status": status, "names": names,
    })


async def _names(session, account_ids: list[int]) -> dict[int, str]:
    from sqlmodel import col, select

    from app.account.models import Account

    if not account_ids:
        return {}
    rows = await session.exec(select(Account.id, Account.name).where(col(Account.id).in_(set(account_ids))))
    return {int(i): n for i, n in rows.all()}


async def visible_order(order_id: int, ctx: SpaceMemberCtx, session: SessionDep) -> Order:
    return await orders_.get(session, order_id, account_id=None if sees_all_orders(ctx) else ctx.account.id)


VisibleOrder = Annotated[Order, Depends(visible_order)]


async def _order_page(request: Request, ctx: SpaceContext, session, order: Order, *, error=None) -> Response:
    await _nav(request, session, ctx)
    return render(request, "membership/member_order.html", {
        "ctx": ctx, "detail": await orders_.detail(session, order),
        "who": (await _names(session, [order.account_id])).get(order.account_id, ""),
    }, error=error)


@router.get("/s/{slug}/orders/{order_id:int}")
async def order_page(request: Request, order: VisibleOrder, ctx: SpaceMemberCtx, session: SessionDep) -> Response:
    return await _order_page(request, ctx, session, order)


@router.post("/s/{slug}/orders/{order_id:int}/mark-paid")
async def mark_paid(request: Request, order: VisibleOrder, ctx: BillingManageCtx, session: SessionDep) -> Response:
    try:
        await orders_.mark_paid(session, order, method="on_site", actor_id=ctx.account.id)
    except FabriqueError as exc:
        return await _order_page(request, ctx, session, order, error=exc)
    return redirect(f"/s/{ctx.space.slug}/orders/{order.id}", message=_("The order is marked paid."))


@router.post("/s/{slug}/orders/{order_id:int}/cancel")
async def cancel(request: Request, order: CancellableOrder, ctx: SpaceMemberCtx, session: SessionDep) -> Response:
    try:
        await orders_.cancel(session, order, actor_id=ctx.account.id)
    except FabriqueError as exc:
        return await _order_page(request, ctx, session, order, error=exc)
    return redirect(f"/s/{ctx.space.slug}/orders/{order.id}", message=_("The order is cancelled."))


# -- adhésion tiers -------------------------------------------------------------------------------

async def _tiers_page(request: Request, ctx: SpaceContext, session, *, error=None, form=None) -> Response:
    await _nav(request, session, ctx)
    return render(request, "membership/manage_tiers.html", {
        "ctx": ctx, "tiers": await adhesions.list_tiers(session, staff=True),
        "kinds": [(k.value, str(TIER_KINDS[k])) for k in AdhesionTierKind],
    }, error=error, form=form or {"kind": "individual", "public": "1"})


TIER_KINDS = {
    AdhesionTierKind.individual: _l("Individual"), AdhesionTierKind.organisation: _l("Organisation"),
    AdhesionTierKind.reduced: _l("Reduced / solidarity"), AdhesionTierKind.free: _l("Free"),
}


@router.get("/s/{slug}/manage/adhesion-tiers")
async def tiers_page(request: Request, ctx: MembershipManageCtx, session: SessionDep) -> Response:
    return await _tiers_page(request, ctx, session)


@router.post("/s/{slug}/manage/adhesion-tiers")
async def create_tier(request: Request, ctx: MembershipManageCtx, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        errors: dict[str, str] = {}
        if not (form.get("name") or "").strip():
            errors["name"] = N_("This field is required.")
        try:
            price = money.parse_cents(form.get("price") or "0", field="price")
        except ValidationFailed as exc:
            errors.update(exc.fields)
            price = 0
        rate_text = (form.get("vat_rate") or "").strip()
        rate = 0
        if rate_text:
            try:
                rate = vat.parse_rate(rate_text, "vat_rate") or 0
            except ValidationFailed as exc:
                errors.update(exc.fields)
        if form.get("kind") not in set(AdhesionTierKind):
            errors["kind"] = N_("This value is not one of the allowed choices.")
        if errors:
            raise ValidationFailed(fields=errors)
        await adhesions.create_tier(session, ctx.space, actor_id=ctx.account.id, values={  # type: ignore[arg-type]
            "name": form["name"], "kind": form["kind"], "price_cents": price, "vat_rate_bp": rate,
            "public": form.get("public") == "1"})
    except FabriqueError as exc:
        return await _tiers_page(request, ctx, session, error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/manage/adhesion-tiers", message=_("The tier is saved."))


@router.post("/s/{slug}/manage/adhesion-tiers/{tier_id:int}/archive")
async def archive_tier(request: Request, tier_id: int, ctx: MembershipManageCtx, session: SessionDep) -> Response:
    tier = await adhesions.get_tier(session, tier_id)
    await adhesions.update_tier(session, ctx.space, tier, actor_id=ctx.account.id,  # type: ignore[arg-type]
                                changes={"archived": tier.archived_at is None})
    return redirect(f"/s/{ctx.space.slug}/manage/adhesion-tiers", message=_("The tier is saved."))


# -- requests to join ------------------------------------------------------------------------------

async def _requests_page(request: Request, ctx: SpaceContext, session, *, error=None, form=None,
                         failed_id: int | None = None) -> Response:
    await _nav(request, session, ctx)
    pending = await join.list_requests(session)
    plans = {p.id: p.name for p in await join.public_plans(session)}
    return render(request, "membership/manage_join_requests.html", {
        "ctx": ctx, "pending": pending, "plans": plans, "failed_id": failed_id,
        "decided": await join.list_requests(session, status=None, limit=20),
    }, error=error, form=form)


async def join_request_in_space(join_request_id: int, ctx: MembershipManageCtx, session: SessionDep) -> JoinRequest:
    return await join.get_request(session, join_request_id)


SpaceJoinRequest = Annotated[JoinRequest, Depends(join_request_in_space)]


@router.get("/s/{slug}/manage/join-requests")
async def requests_page(request: Request, ctx: MembershipManageCtx, session: SessionDep) -> Response:
    return await _requests_page(request, ctx, session)


@router.post("/s/{slug}/manage/join-requests/{join_request_id:int}/accept")
async def accept(request: Request, req: SpaceJoinRequest, ctx: MembershipManageCtx, session: SessionDep) -> Response:
    try:
        await join.accept(session, ctx.space, req, actor=ctx.account, actor_role=ctx.role)
    except FabriqueError as exc:
        return await _requests_page(request, ctx, session, error=exc)
    return redirect(f"/s/{ctx.space.slug}/manage/join-requests",
                    message=_("Accepted: %(email)s is invited.") % {"email": req.email})


@router.post("/s/{slug}/manage/join-requests/{join_request_id:int}/decline")
async def decline(request: Request, req: SpaceJoinRequest, ctx: MembershipManageCtx, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        await join.decline(session, ctx.space, req, actor=ctx.account, message=form.get("message", ""))
    except FabriqueError as exc:
        return await _requests_page(request, ctx, session, error=exc, form=form, failed_id=req.id)
    return redirect(f"/s/{ctx.space.slug}/manage/join-requests", message=_("The request is declined."))


# -- staff sell or grant a pass, take the adhésion for a member ------------------------------------

SETTLES = {"paid": _l("Paid on site now"), "open": _l("To pay later (open order)"), "free": _l("Free, with a reason")}


async def _sell_page(request: Request, ctx: SpaceContext, session, *, error=None, form=None) -> Response:
    from sqlmodel import col, select

    from app.membership.models import PassProduct

    await _nav(request, session, ctx)
    passes = (await session.exec(select(PassProduct).where(col(PassProduct.archived_at).is_(None))
                                 .order_by(col(PassProduct.position), col(PassProduct.id)))).all()
    tiers = [t for t in await adhesions.list_tiers(session, staff=True) if t.archived_at is None]
    return render(request, "membership/manage_sell.html", {
        "ctx": ctx, "passes": passes, "tiers": tiers, "settles": SETTLES,
    }, error=error, form=form if form is not None else {"settle": "paid"})


async def _member_by_email(session, form: dict[str, str]) -> int:
    from app.account.service import get_by_email
    from app.membership.errors import NotAMember

    try:
        email = form_email(form.get("email"))
    except ValidationFailed:
        raise NotAMember(fields={"email": NotAMember.message}) from None
    account = await get_by_email(session, email)
    if account is None or account.id is None or await spaces.membership(session, account.id) is None:
        raise NotAMember(fields={"email": NotAMember.message})
    return account.id


def _choice(form: dict[str, str], name: str) -> int:
    value = (form.get(name) or "").strip()
    if not value.isdecimal() or not 0 < int(value) < 2**31:
        raise ValidationFailed(fields={name: N_("Choose one.")})
    return int(value)


@router.get("/s/{slug}/manage/memberships/sell")
async def sell_page(request: Request, ctx: MembershipManageCtx, session: SessionDep) -> Response:
    return await _sell_page(request, ctx, session)


@router.post("/s/{slug}/manage/memberships/sell-pass")
async def sell_pass(request: Request, ctx: MembershipManageCtx, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        account_id = await _member_by_email(session, form)
        product = await orders_.pass_product(session, _choice(form, "pass_product_id"), staff=True)
        settle = form.get("settle") if form.get("settle") in SETTLES else "paid"
        if settle == "free":
            await orders_.grant_pass(session, ctx.space, product, account_id=account_id,
                                     actor_id=ctx.account.id, reason=form.get("reason", ""))  # type: ignore[arg-type]
        else:
            await orders_.buy_pass(session, ctx.space, product, account_id=account_id, actor_id=ctx.account.id,
                                   paid_on_site=settle == "paid")
    except FabriqueError as exc:
        return await _sell_page(request, ctx, session, error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/manage/memberships/sell",
                    message=_("%(what)s: done for %(email)s.") % {"what": product.name, "email": form["email"]})


@router.post("/s/{slug}/manage/memberships/adhesion")
async def take_adhesion_for(request: Request, ctx: MembershipManageCtx, session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        account_id = await _member_by_email(session, form)
        tier = await adhesions.get_tier(session, _choice(form, "tier_id"))
        taken = await adhesions.take(session, ctx.space, tier, account_id=account_id, actor_id=ctx.account.id,
                                     staff=True)
        if taken.order is not None and form.get("paid") == "1" and taken.order.status == "open":
            await orders_.mark_paid(session, taken.order, method="on_site", actor_id=ctx.account.id)
    except FabriqueError as exc:
        return await _sell_page(request, ctx, session, error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/manage/memberships/sell",
                    message=_("%(what)s: done for %(email)s.") % {"what": tier.name, "email": form["email"]})
