"""Bookings API under /api/v1/spaces/{slug}/: availability, bookings, weekly series, hours, closures."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Header, Query, status
from fastapi.responses import JSONResponse, Response

from app.booking import availability as avail
from app.booking import credits, hours, repository, service
from app.booking.deps import BookingCreate as BookingCreateCtx
from app.booking.deps import BookingManage, MembershipManage, ValidBooking, ValidClosure, beneficiary
from app.booking.errors import NotForOthers
from app.booking.models import Booking
from app.booking.schemas import (
    AvailabilityRead,
    BookingCancel,
    BookingCreate,
    BookingMove,
    BookingRead,
    ClosureCreate,
    ClosureRead,
    CreditOverride,
    CreditUseRead,
    DayHours,
    HoursRead,
    HoursUpdate,
    Interval,
    OccurrenceRead,
    QuoteRead,
    QuoteRequest,
    SeriesCreate,
    SeriesPreview,
    SeriesRead,
    wall_time,
)
from app.booking.snapshot import snapshot_of
from app.core import clock, idempotency
from app.core.schemas import MAX_ID
from app.core.web import SessionDep, api_router
from app.pricing import service as pricing
from app.pricing.models import Charge
from app.pricing.quote import PriceKind
from app.pricing.schemas import PricedLineRead
from app.resource.service import get_resource
from app.space.deps import ResourceManage, SpaceView

router = api_router(prefix="/api/v1/spaces/{slug}", tags=["bookings"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such space or object (or not yours)"},
    409: {"description": "booking_conflict: the slot is taken (body carries the conflicting interval); "
                         "credits_run_out: the space refuses bookings beyond the member's credits"},
    422: {"description": "A booking rule failed: the code says which (in_the_past, outside_opening_hours...)"},
}
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)]


async def _reads(session, bookings: list[Booking], *, names: bool, charges: bool = False) -> list[BookingRead]:
    people = await repository.accounts_by_id(session, [b.account_id for b in bookings]) if names else {}
    by_booking = (await pricing.charges_of(session, pricing.Source.booking, [b.id for b in bookings])
                  if charges else {})
    return [
        BookingRead.of(b, people[b.account_id].name if b.account_id in people else None, by_booking.get(b.id))
        for b in bookings
    ]


def _price_kind(ctx, guest: bool) -> PriceKind | None:
    """A guest (not a member of the space) pays the public price; only staff book for guests."""
    if not guest:
        return None
    if not ctx.is_staff:
        raise NotForOthers()
    return PriceKind.public


# -- availability -------------------------------------------------------------------------------


@router.get("/availability", response_model=AvailabilityRead, responses=ERRORS)
async def availability(
    ctx: SpaceView,
    session: SessionDep,
    start: Annotated[date | None, Query(description="First local day (default: today)")] = None,
    end: Annotated[date | None, Query(description="Last local day, inclusive (default: start)")] = None,
    resource_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    slots: Annotated[bool, Query(description="false: days without their slots, only what is busy and "
                                             "blocked (a calendar view; several times smaller)")] = True,
) -> Response:
    """Bookable slots per resource and day, in the space's calendar (at most 31 days), what is
    busy and blocked, and ``mine``: the caller's own bookings in the range. Staff also see who
    booked (``member_name``, ``booking_id``)."""
    today = clock.now().astimezone(ZoneInfo(ctx.space.timezone)).date()
    first = start or today
    body = await avail.availability_json(session, ctx.space, first=first, last=end or first, resource_id=resource_id,
                                         with_slots=slots, staff=ctx.is_staff, account_id=ctx.account.id)
    return Response(body, media_type="application/json")


# -- bookings -----------------------------------------------------------------------------------


@router.get("/bookings", response_model=list[BookingRead], responses=ERRORS)
async def list_bookings(
    ctx: SpaceView,
    session: SessionDep,
    start: Annotated[date | None, Query(description="First local day (default: today)")] = None,
    end: Annotated[date | None, Query(description="Last local day, inclusive (default: start + 30 days)")] = None,
    resource_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    mine: Annotated[bool, Query(description="Only my bookings (always true for members)")] = False,
    include_cancelled: bool = False,
) -> list[BookingRead]:
    """Bookings meeting the local days ``start``–``end``. Members see their own; staff see all."""
    today = clock.now().astimezone(ZoneInfo(ctx.space.timezone)).date()
    first = start or today
    last = end or first + timedelta(days=30)
    avail.check_range(first, last, max_days=367)  # a year, leap day included
    lo, hi = avail.local_bounds(first, last, ctx.space.timezone)
    only_mine = mine or not ctx.is_staff
    bookings = await repository.bookings_between(
        session, lo, hi, resource_ids=[resource_id] if resource_id else None,
        account_id=ctx.account.id if only_mine else None, include_cancelled=include_cancelled,
    )
    return await _reads(session, bookings, names=True)


@router.post("/bookings/quote", response_model=QuoteRead, responses=ERRORS)
async def quote_booking(payload: QuoteRequest, ctx: BookingCreateCtx, session: SessionDep) -> QuoteRead:
    """Check a booking and price it, without making it."""
    resource = (await snapshot_of(session, ctx.space)).resource(payload.resource_id)
    member, _account = await beneficiary(session, ctx, payload.member_id)
    q = await service.quote(session, space=ctx.space, resource=resource, member=member,
                            starts_at=payload.starts_at, ends_at=payload.ends_at, is_staff=ctx.is_staff,
                            price_kind=_price_kind(ctx, payload.guest))
    return QuoteRead(**{k: v for k, v in q.__dict__.items() if k not in ("lines", "credits")},
                     lines=[PricedLineRead.of(x) for x in q.lines], credits=[CreditUseRead.of(t) for t in q.credits])


@router.post("/bookings", status_code=status.HTTP_201_CREATED, response_model=BookingRead, responses=ERRORS)
async def create_booking(
    payload: BookingCreate, ctx: BookingCreateCtx, session: SessionDep, idempotency_key: IdempotencyKey = None
) -> Any:
    """Book a resource. Send an ``Idempotency-Key`` header to retry safely: the same key and body
    return the first response (header ``Idempotent-Replayed: true``) and book nothing new."""
    record = await idempotency.claim(session, ctx.account.id, idempotency_key, "booking", payload)
    if isinstance(record, JSONResponse):
        return record
    resource = (await snapshot_of(session, ctx.space)).resource(payload.resource_id)
    member, account = await beneficiary(session, ctx, payload.member_id)
    charges: list[Charge] = []
    booking = await service.book(
        session, space=ctx.space, resource=resource, member=member, account=account, actor=ctx.account,
        starts_at=payload.starts_at, ends_at=payload.ends_at, is_staff=ctx.is_staff, note=payload.note,
        guard_alone=True,  # any error ends this request: its transaction is rolled back
        price_kind=_price_kind(ctx, payload.guest), charges_out=charges,
    )
    if charges:
        await session.flush()  # their ids: the INSERT the commit would have sent, sent now
    return idempotency.remember(record, status.HTTP_201_CREATED, BookingRead.of(booking, account.name, charges))


@router.get("/bookings/{booking_id:int}", response_model=BookingRead, responses=ERRORS)
async def get_booking(booking: ValidBooking, session: SessionDep) -> BookingRead:
    return (await _reads(session, [booking], names=True, charges=True))[0]


@router.post("/bookings/{booking_id:int}/cancel", response_model=BookingRead, responses=ERRORS)
async def cancel_booking(booking: ValidBooking, ctx: SpaceView, session: SessionDep,
                         payload: BookingCancel | None = None) -> BookingRead:
    """Cancel a booking. Members: within the resource's deadline. Staff: any booking not yet ended,
    with a reason the member is told."""
    resource = await get_resource(session, booking.resource_id)
    await service.cancel_booking(session, space=ctx.space, resource=resource, booking=booking, actor=ctx.account,
                                 reason=payload.reason if payload else "", as_staff=ctx.is_staff)
    return (await _reads(session, [booking], names=True, charges=True))[0]


@router.post("/bookings/{booking_id:int}/move", response_model=BookingRead, responses=ERRORS)
async def move_booking(booking: ValidBooking, payload: BookingMove, ctx: BookingManage,
                       session: SessionDep) -> BookingRead:
    """Move a booking to another slot and/or resource (staff). The member is e-mailed the reason."""
    resource = await get_resource(session, booking.resource_id)
    target = await get_resource(session, payload.resource_id) if payload.resource_id else None
    await service.move_booking(session, space=ctx.space, booking=booking, resource=resource, new_resource=target,
                               starts_at=payload.starts_at, ends_at=payload.ends_at, actor=ctx.account,
                               reason=payload.reason)
    return (await _reads(session, [booking], names=True, charges=True))[0]


@router.post("/bookings/{booking_id:int}/credits", response_model=BookingRead, responses=ERRORS)
async def override_credits(booking: ValidBooking, payload: CreditOverride, ctx: MembershipManage,
                           session: SessionDep) -> BookingRead:
    """Staff set what a booking uses, with a reason kept in the audit log: ``"price"`` gives its
    credits back and prices it, ``"credits"`` gives them back and takes the member's credits again
    (after a grant, say). The charges are reversed and written again."""
    resource = await get_resource(session, booking.resource_id)
    await credits.override(session, space=ctx.space, resource=resource, booking=booking, actor=ctx.account,
                           use_credits=payload.use == "credits", reason=payload.reason)
    return (await _reads(session, [booking], names=True, charges=True))[0]


# -- weekly series ------------------------------------------------------------------------------


def _occurrence(o: service.Occurrence) -> OccurrenceRead:
    return OccurrenceRead(starts_at=o.starts_at, ends_at=o.ends_at, status=o.status, code=o.code,
                          message=o.message, price_cents=o.price_cents)


@router.post("/booking-series/preview", response_model=SeriesPreview, responses=ERRORS)
async def preview_series(payload: SeriesCreate, ctx: BookingCreateCtx, session: SessionDep) -> SeriesPreview:
    """List every weekly occurrence and whether it can be booked, before booking anything."""
    resource = await get_resource(session, payload.resource_id)
    member, _account = await beneficiary(session, ctx, payload.member_id)
    plan = await service.plan_series(session, space=ctx.space, resource=resource, member=member,
                                     starts_at=payload.starts_at, ends_at=payload.ends_at, until=payload.until,
                                     count=payload.count, is_staff=ctx.is_staff,
                                     price_kind=_price_kind(ctx, payload.guest))
    return SeriesPreview(occurrences=[_occurrence(o) for o in plan.occurrences], free=len(plan.free),
                         taken=len(plan.taken), total_price_cents=sum(o.price_cents for o in plan.free),
                         currency=ctx.space.currency)


@router.post("/booking-series", status_code=status.HTTP_201_CREATED, response_model=SeriesRead, responses=ERRORS)
async def create_series(payload: SeriesCreate, ctx: BookingCreateCtx, session: SessionDep,
                        idempotency_key: IdempotencyKey = None) -> Any:
    """Book a weekly repeat: all dates or none (``on_conflict: "fail"``, 409 ``series_conflict``
    listing the unavailable dates), or only the free dates (``"skip"``)."""
    record = await idempotency.claim(session, ctx.account.id, idempotency_key, "series", payload)
    if isinstance(record, JSONResponse):
        return record
    resource = (await snapshot_of(session, ctx.space)).resource(payload.resource_id)
    member, account = await beneficiary(session, ctx, payload.member_id)
    series, bookings, plan = await service.book_series(
        session, space=ctx.space, resource=resource, member=member, account=account, actor=ctx.account,
        starts_at=payload.starts_at, ends_at=payload.ends_at, until=payload.until, count=payload.count,
        on_conflict=payload.on_conflict, is_staff=ctx.is_staff, price_kind=_price_kind(ctx, payload.guest),
    )
    by_booking = await pricing.charges_of(session, pricing.Source.booking, [b.id for b in bookings])
    body = SeriesRead(id=series.id, bookings=[BookingRead.of(b, account.name, by_booking[b.id]) for b in bookings],
                      skipped=[_occurrence(o) for o in plan.taken])
    return idempotency.remember(record, status.HTTP_201_CREATED, body)


# -- opening hours and closures -----------------------------------------------------------------


async def _hours_read(session, ctx) -> HoursRead:
    cal = await hours.load_calendar(session, ctx.space)
    return HoursRead(
        days=[DayHours(weekday=d, intervals=[Interval(opens=wall_time(a), closes=wall_time(b))
                                             for a, b in cal.opening.on(d)])
              for d in range(7)],
        half_day_boundary=wall_time(cal.half_day_boundary), timezone=ctx.space.timezone,
    )


@router.get("/booking-hours", response_model=HoursRead, responses=ERRORS)
async def get_hours(ctx: SpaceView, session: SessionDep) -> HoursRead:
    """Weekly opening hours (0 = Monday; a closing time of 00:00 is midnight) and the half-day boundary."""
    return await _hours_read(session, ctx)


@router.put("/booking-hours", response_model=HoursRead, responses=ERRORS)
async def put_hours(payload: HoursUpdate, ctx: ResourceManage, session: SessionDep) -> HoursRead:
    days: dict[int, list] = {}
    for day in payload.days:
        days.setdefault(day.weekday, []).extend(
            (time.fromisoformat(i.opens), time.fromisoformat(i.closes)) for i in day.intervals)
    boundary = time.fromisoformat(payload.half_day_boundary) if payload.half_day_boundary else None
    await hours.save_hours(session, ctx.space, ctx.account, days=days, half_day_boundary=boundary)
    return await _hours_read(session, ctx)


@router.get("/closures", response_model=list[ClosureRead], responses=ERRORS)
async def list_closures(ctx: SpaceView, session: SessionDep) -> list[ClosureRead]:
    return [ClosureRead.model_validate(c) for c in await hours.list_closures(session)]


@router.post("/closures", status_code=status.HTTP_201_CREATED, response_model=ClosureRead, responses=ERRORS)
async def add_closure(payload: ClosureCreate, ctx: ResourceManage, session: SessionDep) -> ClosureRead:
    closure = await hours.add_closure(session, ctx.space, ctx.account, start_date=payload.start_date,
                                      end_date=payload.end_date, label=payload.label)
    return ClosureRead.model_validate(closure)


@router.delete("/closures/{closure_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
async def remove_closure(closure: ValidClosure, ctx: ResourceManage, session: SessionDep) -> None:
    await hours.remove_closure(session, ctx.space, ctx.account, closure)
