"""Booking pages: availability (desks as a grid, rooms as a timeline), confirm with the price,
weekly repeats, "My bookings", and the staff calendar (book on behalf, move, cancel with a reason).

Thin handlers: every rule lives in ``app.booking.service``; a refused request re-renders the page
with the message and the typed values (and, being a >= 400 response, writes nothing).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import Response
from markupsafe import Markup

from app.account.models import Account
from app.booking import availability as avail
from app.booking import credits, repository, rules, service, views
from app.booking.deps import BookingCreate, BookingManage, MembershipManage, ValidBooking, beneficiary
from app.booking.hours import load_calendar
from app.booking.models import BookingSource, BookingStatus
from app.booking.snapshot import snapshot_of
from app.core import clock, forms, jobs
from app.core.errors import FabriqueError, ValidationFailed
from app.core.i18n import N_, _, _l, format_day, get_locale, ngettext
from app.core.permissions import Perm
from app.core.web import SessionDep, form_data, page_router, redirect, register_space_nav, render, templates
from app.membership import ledger
from app.pricing import service as pricing
from app.pricing.quote import PriceKind
from app.resource.models import Resource
from app.resource.service import get_resource, list_resources
from app.space import service as spaces
from app.space.deps import SpaceContext, SpaceView

router = page_router()

register_space_nav(10, Perm.booking_create, _l("Book"), "book")
register_space_nav(20, Perm.booking_create, _l("My bookings"), "bookings/mine")
register_space_nav(30, Perm.booking_manage, _l("Calendar"), "calendar")

SCRIPT = "/static/booking.js"


async def _page(request: Request, ctx: SpaceContext, session, template: str, context: dict, **kw) -> Response:
    request.state.my_spaces = await spaces.spaces_of(session, ctx.account.id)
    return render(request, template, {"ctx": ctx, "tz": ctx.space.timezone, "script": SCRIPT, **context}, **kw)


def _today(ctx: SpaceContext) -> date:
    return clock.now().astimezone(ZoneInfo(ctx.space.timezone)).date()


def _chosen_day(request: Request, ctx: SpaceContext) -> date:
    try:
        return forms.parse_date(request.query_params.get("date"), "date", default=_today(ctx))
    except ValidationFailed:
        return _today(ctx)


def _refusal(ctx: SpaceContext, resource: Resource) -> str | None:
    """Why the caller may not book ``resource`` at all, said on the booking page before any slot."""
    refusal = rules.access_refusal(resource.rules, role=ctx.role, member_tags=ctx.member.tag_set)
    if refusal is None:
        return None
    tags = refusal.extra.get("missing_tags")
    if tags:
        return _("Reserved to members with: %(tags)s. Ask the team if you need access.", tags=", ".join(tags))
    return refusal.translated_message()


def _is_grid(resource: Resource) -> bool:
    """Desks and anything booked by the day or half-day show as a grid of places."""
    return resource.is_desk or resource.unit != "hour"


# -- availability -------------------------------------------------------------------------------


@router.get("/s/{slug}/book")
async def book_page(request: Request, ctx: BookingCreate, session: SessionDep) -> Response:
    day = _chosen_day(request, ctx)
    week = request.query_params.get("view") == "week"
    days = views.week_of(day) if week else [day]
    all_resources = await list_resources(session)
    selected = request.query_params.get("resource_id")
    resources = all_resources
    if selected and selected.isdigit():
        resources = [r for r in resources if r.id == int(selected)] or resources
    rows = await avail.availability(session, ctx.space, first=days[0], last=days[-1], resources=resources,
                                    account_id=ctx.account.id)
    cal = await load_calendar(session, ctx.space)
    first, last = views.axis(cal, days)
    tz = ctx.space.timezone
    grids = [r for r in rows if _is_grid(r.resource)]
    rooms = []
    for r in rows:
        if _is_grid(r.resource):
            continue
        timeline = views.Timeline(first, last)
        for d in days:
            timeline.rows.append(views.day_row(
                format_day(d, None, "EEE d MMM") if week else r.resource.name,
                r, d, tz, first, last, account_id=ctx.account.id, booked_label=_("Booked"),
                blocked_label=_("Unavailable"),
            ))
        # Only what can be booked: starts that can hold the shortest booking, durations that end
        # before closing time (each start carries its longest, which booking.js applies).
        runs = views.longest_runs([s for dd in r.days for s in dd.slots])
        shortest = min(views.durations(r.resource), default=0)
        starts = [s for dd in r.days for s in dd.slots if s.state == "free" and runs[s.starts_at] >= shortest]
        rooms.append({"avail": r, "timeline": timeline, "starts": starts, "runs": runs,
                      "durations": views.bookable_durations(r.resource, runs)})
    refusals = {r.id: _refusal(ctx, r) for r in all_resources}

    @cache
    def free_label(free: int) -> str:
        """"3 free" under a free slot: translated once per count, not once per slot."""
        return ngettext("%(num)d free", "%(num)d free", free)

    return await _page(request, ctx, session, "booking/book.html", {
        "day": day, "days": days, "week": week, "grids": grids, "rooms": rooms, "all_resources": all_resources,
        "refusals": refusals,
        "selected": int(selected) if selected and selected.isdigit() else None,
        "prev": (days[0] - timedelta(days=7 if week else 1)).isoformat(),
        "next": (days[0] + timedelta(days=7 if week else 1)).isoformat(), "today": _today(ctx),
        "confirm_url": lambda res, s: views.confirm_url(ctx.space.slug, res.id, s.starts_at, s.ends_at),
        "free_label": free_label,
    })


# -- confirm ------------------------------------------------------------------------------------


async def _interval_from(request_values: dict[str, str], resource: Resource) -> tuple:
    starts_at = forms.parse_instant(request_values.get("starts_at"), "starts_at")
    if request_values.get("ends_at"):
        ends_at = forms.parse_instant(request_values.get("ends_at"), "ends_at")
    else:
        minutes = forms.parse_int(request_values.get("minutes"), "minutes", default=resource.granularity_minutes,
                                  minimum=1, maximum=60 * 24 * 31)
        ends_at = starts_at + timedelta(minutes=minutes or resource.granularity_minutes)
    return starts_at, ends_at


async def _confirm(request: Request, ctx: SpaceContext, session, values: dict[str, str], *,
                   error: FabriqueError | None = None) -> Response:
    resource_id = forms.parse_int(values.get("resource_id"), "resource_id", minimum=1)
    if resource_id is None:
        return redirect(f"/s/{ctx.space.slug}/book")
    resource = await get_resource(session, resource_id)
    context: dict = {"resource": resource, "values": values, "quote": None}
    try:
        starts_at, ends_at = await _interval_from(values, resource)
        context.update(starts_at=starts_at, ends_at=ends_at)
        member, _account = await beneficiary(session, ctx, None)
        context["quote"] = await service.quote(session, space=ctx.space, resource=resource, member=member,
                                               starts_at=starts_at, ends_at=ends_at, is_staff=ctx.is_staff)
    except FabriqueError as exc:
        error = error or exc
    return await _page(request, ctx, session, "booking/confirm.html", context, error=error, form=values)


@router.get("/s/{slug}/book/confirm")
async def confirm_page(request: Request, ctx: BookingCreate, session: SessionDep) -> Response:
    return await _confirm(request, ctx, session, dict(request.query_params))


@router.post("/s/{slug}/bookings")
async def create_booking(request: Request, ctx: BookingCreate, session: SessionDep) -> Response:
    values = await form_data(request)
    resource_id = forms.parse_int(values.get("resource_id"), "resource_id", minimum=1)
    if resource_id is None:
        return redirect(f"/s/{ctx.space.slug}/book")
    resource = await get_resource(session, resource_id)
    try:
        starts_at, ends_at = await _interval_from(values, resource)
        booking = await service.book(session, space=ctx.space, resource=resource, member=ctx.member,
                                     account=ctx.account, actor=ctx.account, starts_at=starts_at, ends_at=ends_at,
                                     is_staff=ctx.is_staff, note=values.get("note", ""))
    except FabriqueError as exc:
        return await _confirm(request, ctx, session, values, error=exc)
    from app.booking.formatting import when

    return redirect(f"/s/{ctx.space.slug}/bookings/mine",
                    message=_("Booked: %(resource)s, %(when)s.", resource=resource.name,
                              when=when(booking.starts_at, booking.ends_at, ctx.space.timezone)))


# -- weekly series ------------------------------------------------------------------------------


def _repeat(values: dict[str, str]) -> tuple[date | None, int | None]:
    until = forms.parse_date(values.get("until"), "until") if values.get("until") else None
    count = forms.parse_int(values.get("count"), "count", minimum=1, maximum=52)
    if until is None and count is None:
        raise ValidationFailed(fields={"until": N_("Give an end date or a number of weeks.")})
    return until, count


@router.post("/s/{slug}/book/series")
async def series_preview(request: Request, ctx: BookingCreate, session: SessionDep) -> Response:
    values = await form_data(request)
    resource = await get_resource(session, forms.parse_int(values.get("resource_id"), "resource_id", minimum=1) or 0)
    try:
        starts_at, ends_at = await _interval_from(values, resource)
        until, count = _repeat(values)
        plan = await service.plan_series(session, space=ctx.space, resource=resource, member=ctx.member,
                                         starts_at=starts_at, ends_at=ends_at, until=until, count=count,
                                         is_staff=ctx.is_staff)
    except FabriqueError as exc:
        return await _confirm(request, ctx, session, values, error=exc)
    return await _page(request, ctx, session, "booking/series.html", {
        "resource": resource, "plan": plan, "values": values, "starts_at": starts_at, "ends_at": ends_at,
        "total": sum(o.price_cents for o in plan.free),
    })


@router.post("/s/{slug}/book/series/confirm")
async def series_confirm(request: Request, ctx: BookingCreate, session: SessionDep) -> Response:
    values = await form_data(request)
    resource = await get_resource(session, forms.parse_int(values.get("resource_id"), "resource_id", minimum=1) or 0)
    try:
        starts_at, ends_at = await _interval_from(values, resource)
        until, count = _repeat(values)
        _series, bookings, _plan = await service.book_series(
            session, space=ctx.space, resource=resource, member=ctx.member, account=ctx.account, actor=ctx.account,
            starts_at=starts_at, ends_at=ends_at, until=until, count=count, on_conflict="skip",
            is_staff=ctx.is_staff)
    except FabriqueError as exc:
        return await _confirm(request, ctx, session, values, error=exc)
    return redirect(f"/s/{ctx.space.slug}/bookings/mine",
                    message=_("%(count)s weekly bookings of %(resource)s confirmed.", count=len(bookings),
                              resource=resource.name))


# -- my bookings --------------------------------------------------------------------------------


def _cancel_state(booking, resource: Resource) -> str:
    """"ok", "late_charge" or "" (no cancel button) for a member looking at their booking."""
    if booking.status != BookingStatus.confirmed:
        return ""
    try:
        return rules.can_cancel(booking.starts_at, rules=resource.rules, now=clock.now())
    except FabriqueError:
        return ""


@router.get("/s/{slug}/bookings/mine")
async def my_bookings(request: Request, ctx: BookingCreate, session: SessionDep) -> Response:
    now = clock.now()
    upcoming = await repository.bookings_of(session, ctx.account.id, upcoming_from=now)
    past = await repository.bookings_of(session, ctx.account.id, before=now, limit=20)
    resources = await repository.resources_by_id(session, [b.resource_id for b in upcoming + past])
    return await _page(request, ctx, session, "booking/mine.html", {
        "upcoming": upcoming, "past": past, "resources": resources,
        "charges": await pricing.charges_of(session, pricing.Source.booking, [b.id for b in upcoming]),
        "cancel_state": {b.id: _cancel_state(b, resources[b.resource_id]) for b in upcoming},
        "balances": await ledger.balances(session, ctx.account.id, include_spent=True),
    })


def _cancel_back(ctx: SpaceContext, value: str | None) -> str:
    back = value or f"/s/{ctx.space.slug}/bookings/mine"
    return back if back.startswith(f"/s/{ctx.space.slug}/") else f"/s/{ctx.space.slug}/bookings/mine"


@router.get("/s/{slug}/bookings/{booking_id}/cancel")
async def cancel_confirm(request: Request, booking: ValidBooking, ctx: SpaceView, session: SessionDep) -> Response:
    """Ask first (the cancel buttons link here; with JavaScript the same question opens in a dialog)."""
    resource = await get_resource(session, booking.resource_id)
    if booking.status != BookingStatus.confirmed:
        return redirect(_cancel_back(ctx, request.query_params.get("next")))
    next_url = request.query_params.get("next")
    return await _page(request, ctx, session, "confirm/page.html", {"kind": "cancel_booking", "args": {
        "slug": ctx.space.slug, "b": booking, "resource_name": resource.name, "tz": ctx.space.timezone,
        "late": _cancel_state(booking, resource) == "late_charge",
        "staff": ctx.is_staff and booking.account_id != ctx.account.id,
        "next": _cancel_back(ctx, next_url) if next_url else None}})


@router.post("/s/{slug}/bookings/{booking_id}/cancel")
async def cancel(request: Request, booking: ValidBooking, ctx: SpaceView, session: SessionDep) -> Response:
    values = await form_data(request)
    back = _cancel_back(ctx, values.get("next"))
    resource = await get_resource(session, booking.resource_id)
    try:
        await service.cancel_booking(session, space=ctx.space, resource=resource, booking=booking, actor=ctx.account,
                                     reason=values.get("reason", ""), as_staff=ctx.is_staff)
    except FabriqueError as exc:
        return redirect(back, message=exc.translated_message(), category="error")
    return redirect(back, message=_("The booking is cancelled."))


# -- staff calendar -----------------------------------------------------------------------------


async def _calendar(request: Request, ctx: SpaceContext, session, *, error: FabriqueError | None = None,
                    form: dict | None = None) -> Response:
    day = _chosen_day(request, ctx)
    week = request.query_params.get("view") == "week"
    days = views.week_of(day) if week else [day]
    all_resources = await list_resources(session, include_archived=False)
    selected = request.query_params.get("resource_id")
    resources = [r for r in all_resources if selected and selected.isdigit() and r.id == int(selected)] or all_resources
    lo, hi = avail.local_bounds(days[0], days[-1], ctx.space.timezone)
    timelines = await _timelines(session, ctx, days, resources, cached=error is None)
    # The list under the timelines, a page at a time (a busy week holds a thousand bookings).
    shown = [r.id for r in resources]
    total = await repository.count_bookings_between(session, lo, hi, resource_ids=shown, include_cancelled=True)
    pages = max(1, -(-total // CALENDAR_LIST_PAGE))
    try:
        page = min(pages, max(1, int(request.query_params.get("page", "1"))))
    except ValueError:
        page = 1
    bookings = await repository.bookings_between(session, lo, hi, resource_ids=shown, include_cancelled=True,
                                                 limit=CALENDAR_LIST_PAGE, offset=(page - 1) * CALENDAR_LIST_PAGE)
    # Who booked, for the list (cancelled bookings included).
    names = {a.id: a.name for a in (await repository.accounts_by_id(session, [b.account_id for b in bookings])).values()}
    members, matches = await _member_picker(session, form or {})
    by_id = {r.id: r for r in all_resources}
    return await _page(request, ctx, session, "booking/calendar.html", {
        "day": day, "days": days, "week": week, "timelines": timelines, "bookings": bookings, "names": names,
        "resources": all_resources, "by_id": by_id, "selected": int(selected) if selected and selected.isdigit() else None,
        "members": members, "matches": matches, "prev": (days[0] - timedelta(days=7 if week else 1)).isoformat(),
        "next": (days[0] + timedelta(days=7 if week else 1)).isoformat(), "today": _today(ctx),
        "sources": BookingSource, "page": page, "pages": pages, "total": total,
    }, error=error, form=form)


@dataclass
class _Timelines:
    counter: int
    html: Markup
    expires: float


_timelines_cache: OrderedDict[tuple, _Timelines] = OrderedDict()


async def _timelines(session, ctx: SpaceContext, days: list[date], resources: list[Resource], *,
                     cached: bool) -> Markup:
    """The staff calendar's timelines (every booking of the days shown, with who made it), rendered.

    Kept per process like the availability API's answers (``app.booking.availability``): keyed by the
    space's configuration snapshot, the days, the resources and the language, reused while the space's
    "bookings" change counter is unchanged, for at most ``avail.CACHE_TTL`` seconds (a renamed member
    shows within that time). A week of 50 rooms is ~1,000 bars: building and rendering them was most
    of the page's time."""
    snap = await snapshot_of(session, ctx.space)
    counter = await jobs.counter("bookings", ctx.space.id) if cached else None
    key = (snap.key, tuple(days), tuple(r.id for r in resources), get_locale())
    found = _timelines_cache.get(key)
    if found is not None and counter is not None and found.counter == counter and time.monotonic() < found.expires:
        _timelines_cache.move_to_end(key)
        return found.html
    rows = await avail.availability(session, ctx.space, first=days[0], last=days[-1], resources=resources,
                                    with_slots=False)  # timelines need no slots
    names = {a.id: a.name for a in (await repository.accounts_by_id(
        session, [b.account_id for r in rows for b in r.bookings])).values()}
    first, last = views.axis(snap.calendar, days)
    tz = ctx.space.timezone
    timelines = []
    for d in days:
        timeline = views.Timeline(first, last)
        for r in rows:
            timeline.rows.append(views.day_row(
                r.resource.name, r, d, tz, first, last, account_id=None, staff_names=names,
                booked_label=_("Booked"), blocked_label=_("Unavailable"),
                move_url=f"/s/{ctx.space.slug}/bookings/{{id}}/move",
            ))
        timelines.append((d, timeline))
    html = Markup(templates.env.get_template("booking/_calendar_timelines.html").render(timelines=timelines))
    if counter is not None:
        _timelines_cache[key] = _Timelines(counter, html, time.monotonic() + avail.CACHE_TTL)
        while len(_timelines_cache) > avail.CACHE_MAX:
            _timelines_cache.popitem(last=False)
    return html


CALENDAR_LIST_PAGE = 50  # bookings listed under the calendar's timelines, per page

# Up to this many members, "book on behalf" offers them all in a select; beyond, a search field
# (name or e-mail; the page stays small and works without JavaScript).
MEMBER_SELECT_MAX = 200
MEMBER_MATCHES_MAX = 50


async def _member_picker(session, form: dict) -> tuple[list | None, list]:
    """``(members, matches)``: every member of a small space for a select (``None`` beyond
    MEMBER_SELECT_MAX), and the members matching the text typed in the search field when the form
    comes back (several matched: the staff choose one)."""
    if await repository.member_count(session) <= MEMBER_SELECT_MAX:
        return await repository.find_members(session, None, limit=MEMBER_SELECT_MAX), []
    text = (form.get("member") or "").strip()
    return None, (await repository.find_members(session, text, limit=MEMBER_MATCHES_MAX) if text else [])


async def _member_named(session, text: str) -> int:
    """The member that the search field names: the only match, or the one whose e-mail it is."""
    matches = await repository.find_members(session, text, limit=MEMBER_MATCHES_MAX)
    exact = [m for m in matches if m[2].lower() == text.strip().lower()]
    if len(exact) == 1 or len(matches) == 1:
        return (exact or matches)[0][0]
    if not matches:
        raise ValidationFailed(fields={"member_id": N_("No member matches this name or e-mail address.")})
    raise ValidationFailed(fields={"member_id": N_("Several members match: choose one in the list.")})


async def _staff_interval(session, ctx: SpaceContext, values: dict[str, str], day, resource: Resource) -> tuple:
    """The interval of a staff form (book on behalf, move): the times typed, for any unit (the rules
    then check that a half-day or day resource gets a whole half-day or day); without times, the
    whole day of a day or half-day resource."""
    if resource.unit != "hour" and not values.get("start") and not values.get("end"):
        return rules.day_interval(day, await load_calendar(session, ctx.space))
    tz = ctx.space.timezone
    return (forms.local_datetime(day, forms.parse_time(values.get("start"), "start"), tz),
            forms.local_datetime(day, forms.parse_time(values.get("end"), "end"), tz))


@router.get("/s/{slug}/calendar")
async def calendar_page(request: Request, ctx: BookingManage, session: SessionDep) -> Response:
    return await _calendar(request, ctx, session, form={"date": _chosen_day(request, ctx).isoformat()})


@router.post("/s/{slug}/calendar/book")
async def book_on_behalf(request: Request, ctx: BookingManage, session: SessionDep) -> Response:
    values = await form_data(request)
    try:
        member_id = forms.parse_int(values.get("member_id"), "member_id", minimum=1)
        if member_id is None and (values.get("member") or "").strip():
            member_id = await _member_named(session, values["member"])
        resource_id = forms.parse_int(values.get("resource_id"), "resource_id", minimum=1)
        if member_id is None:
            raise ValidationFailed(fields={"member_id": _("Choose a member.")})
        if resource_id is None:
            raise ValidationFailed(fields={"resource_id": _("Choose a resource.")})
        resource = await get_resource(session, resource_id)
        member, account = await beneficiary(session, ctx, member_id)
        day = forms.parse_date(values.get("date"), "date")
        starts_at, ends_at = await _staff_interval(session, ctx, values, day, resource)
        await service.book(session, space=ctx.space, resource=resource, member=member, account=account,
                           actor=ctx.account, starts_at=starts_at, ends_at=ends_at, is_staff=True,
                           note=values.get("note", ""),
                           price_kind=PriceKind.public if values.get("guest") else None)
    except FabriqueError as exc:
        return await _calendar(request, ctx, session, error=exc, form=values)
    return redirect(f"/s/{ctx.space.slug}/calendar?date={day.isoformat()}",
                    message=_("Booked for %(name)s.", name=account.name))


async def _move_page(request: Request, ctx: SpaceContext, session, booking, *, error=None, form=None) -> Response:
    resource = await get_resource(session, booking.resource_id)
    account = await session.get(Account, booking.account_id) if booking.account_id else None
    tz = ZoneInfo(ctx.space.timezone)
    start, end = booking.starts_at.astimezone(tz), booking.ends_at.astimezone(tz)
    form = form or {"resource_id": str(resource.id), "date": start.date().isoformat(),
                    "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}
    return await _page(request, ctx, session, "booking/move.html", {
        "booking": booking, "resource": resource, "account": account,
        "resources": await list_resources(session),
        "can_override": ctx.can(Perm.membership_manage) and booking.account_id is not None
        and booking.source != BookingSource.event,
        "charges": await pricing.charges_for(session, pricing.Source.booking, booking.id),
    }, error=error, form=form)


@router.get("/s/{slug}/bookings/{booking_id}/move")
async def move_page(request: Request, booking: ValidBooking, ctx: BookingManage, session: SessionDep) -> Response:
    return await _move_page(request, ctx, session, booking)


@router.post("/s/{slug}/bookings/{booking_id}/move")
async def move(request: Request, booking: ValidBooking, ctx: BookingManage, session: SessionDep) -> Response:
    values = await form_data(request)
    resource = await get_resource(session, booking.resource_id)
    try:
        target_id = forms.parse_int(values.get("resource_id"), "resource_id", minimum=1) or resource.id
        target = await get_resource(session, target_id)
        day = forms.parse_date(values.get("date"), "date")
        starts_at, ends_at = await _staff_interval(session, ctx, values, day, target)
        await service.move_booking(session, space=ctx.space, booking=booking, resource=resource, new_resource=target,
                                   starts_at=starts_at, ends_at=ends_at, actor=ctx.account,
                                   reason=values.get("reason", ""))
    except FabriqueError as exc:
        return await _move_page(request, ctx, session, booking, error=exc, form=values)
    return redirect(f"/s/{ctx.space.slug}/calendar?date={day.isoformat()}", message=_("The booking has been moved."))


@router.post("/s/{slug}/bookings/{booking_id}/credits")
async def override_credits(request: Request, booking: ValidBooking, ctx: MembershipManage,
                           session: SessionDep) -> Response:
    """Staff set what a booking uses (credits or the price), with a reason kept in the log."""
    values = await form_data(request)
    resource = await get_resource(session, booking.resource_id)
    try:
        if not values.get("override_reason", "").strip():
            raise ValidationFailed(fields={"override_reason": N_("Say why: the reason is kept in the log.")})
        await credits.override(session, space=ctx.space, resource=resource, booking=booking, actor=ctx.account,
                               use_credits=values.get("use") == "credits", reason=values.get("override_reason", ""))
    except FabriqueError as exc:
        return await _move_page(request, ctx, session, booking, error=exc, form=None)
    return redirect(f"/s/{ctx.space.slug}/bookings/{booking.id}/move", message=_("What the booking uses has been changed."))
