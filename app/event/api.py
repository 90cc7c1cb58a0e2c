"""The events API under /api/v1/spaces/{slug}/: events, proposals, registrations, attendance."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response, status

from app.core.errors import FabriqueError
from app.core.markdown import render_markdown
from app.core.permissions import Perm
from app.core.web import MAX_ID, SessionDep, api_router
from app.event import registration as registrations
from app.event import rooms, service
from app.event.calendar import ics_response
from app.event.deps import (
    EventManageCtx,
    EventProposeCtx,
    ManagedEvent,
    ManagedRegistration,
    OwnRegistration,
    SpaceMemberCtx,
    VisibleEvent,
)
from app.event.export import attendance_response
from app.event.inputs import EventInput, to_utc
from app.event.models import Event, Registration
from app.event.schemas import (
    ApiDatetime,
    ApproveProposal,
    AttendanceUpdate,
    DeclineProposal,
    EventCreate,
    EventProposal,
    EventRead,
    EventStats,
    EventUpdate,
    MyRegistration,
    PaymentUpdate,
    RegistrationRead,
)
from app.pricing import service as pricing
from app.pricing.models import Charge
from app.pricing.schemas import ChargeRead
from app.space.deps import SpaceContext

router = api_router(prefix="/api/v1/spaces/{slug}", tags=["events"])

TIME_FIELDS = ("starts_at", "ends_at", "registration_deadline")
# Events whose room is not held yet: animators see whether it can be.
ROOM_CHECKED = ("draft", "proposed")


def _times(values: dict, tz: str) -> dict:
    return {k: (to_utc(v, tz) if k in TIME_FIELDS and v is not None else v) for k, v in values.items()}


async def event_read(
    session, ctx: SpaceContext, event: Event, counts=None, mine: Registration | None | bool = False,
    problem: FabriqueError | None | bool = False,
) -> EventRead:
    if counts is None:
        counts = (await registrations.counts_for(session, [event]))[event.id]
    if mine is False:
        mine = await registrations.my_registration(session, event.id, ctx.account.id)
    staff = ctx.can(Perm.event_manage)
    my = None
    if mine is not None and mine.status != "cancelled":
        my = MyRegistration(id=mine.id, status=mine.status, price_cents=mine.price_cents,
                            payment_status=mine.payment_status,
                            position=await registrations.waitlist_position(session, mine))
    if problem is False:
        problem = await rooms.room_conflict(session, event) if staff and event.status in ROOM_CHECKED else None
    return EventRead(
        room_conflict=problem.translated_message() if isinstance(problem, FabriqueError) else None,
        id=event.id, series_id=event.series_id, title=event.title, description=event.description,
        description_html=str(render_markdown(event.description)), starts_at=event.starts_at,
        ends_at=event.ends_at, place=event.place, resource_id=event.resource_id, capacity=event.capacity,
        seats_left=None if event.capacity is None else max(0, event.capacity - counts.registered),
        visibility=event.visibility, is_paid=event.is_paid, price_public_cents=event.price_public_cents,
        price_member_cents=event.price_member_cents, vat_rate_bp=event.vat_rate_bp,
        registration_deadline=event.registration_deadline, status=event.status,
        decline_message=event.decline_message if staff or event.proposed_by_id == ctx.account.id else None,
        ics_url=f"/api/v1/spaces/{ctx.space.slug}/events/{event.id}/event.ics", my_registration=my,
    )


async def event_reads(
    session, ctx: SpaceContext, events: list[Event], mine: dict[int, Registration] | None = None
) -> list[EventRead]:
    """``event_read`` of a list, with the registration figures and the room conflicts read once for
    all the events rather than once per event."""
    counts = await registrations.counts_for(session, events)
    conflicts = await rooms.room_conflicts(session, [e for e in events if e.status in ROOM_CHECKED]) \
        if ctx.can(Perm.event_manage) else {}
    mine = mine or {}
    return [await event_read(session, ctx, e, counts[e.id], mine.get(e.id), conflicts.get(e.id)) for e in events]


def registration_read(row: registrations.RegistrationRow, charges: list[Charge] | None = None) -> RegistrationRead:
    reg = row.registration
    return RegistrationRead(
        charges=None if charges is None else [ChargeRead.of_charge(c) for c in charges],
        id=reg.id, event_id=reg.event_id, account_id=reg.account_id, name=row.name, email=row.email,
        status=reg.status, position=row.position, seq=reg.seq, price_cents=reg.price_cents,
        payment_status=reg.payment_status, attendance=reg.attendance, created_at=reg.created_at,
        confirmed_at=reg.confirmed_at, promoted_at=reg.promoted_at, cancelled_at=reg.cancelled_at,
    )


async def _row(session, reg: Registration) -> registrations.RegistrationRow:
    from app.account.models import Account

    account = await session.get(Account, reg.account_id) if reg.account_id else None
    return registrations.RegistrationRow(
        reg, account.name if account else (reg.name or ""), account.email if account else reg.email,
        await registrations.waitlist_position(session, reg),
    )


async def _one(session, reg: Registration) -> RegistrationRead:
    """One registration's answer, with its charges."""
    charges = await pricing.charges_for(session, pricing.Source.registration, reg.id)
    return registration_read(await _row(session, reg), charges)


# -- events -----------------------------------------------------------------------------------------

@router.get("/events", response_model=list[EventRead])
async def list_events(
    ctx: SpaceMemberCtx, session: SessionDep,
    start: Annotated[ApiDatetime | None, Query(alias="from", description="default: now")] = None,
    end: Annotated[ApiDatetime | None, Query(alias="to")] = None,
    status_: Annotated[list[str] | None, Query(alias="status", description="animators: draft, published...")] = None,
    series_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="one weekly series")] = None,
) -> list[EventRead]:
    tz = ctx.space.timezone
    events = await service.list_events(
        session, member=True, staff=ctx.can(Perm.event_manage), start=to_utc(start, tz) if start else None,
        end=to_utc(end, tz) if end else None, statuses=status_, series_id=series_id,
    )
    mine = {r.event_id: r for r, _e in await registrations.registrations_of(session, ctx.account.id)}
    return await event_reads(session, ctx, events, mine)


@router.post("/events", status_code=status.HTTP_201_CREATED, response_model=EventRead)
async def create_event(payload: EventCreate, ctx: EventManageCtx, session: SessionDep) -> EventRead:
    """Create a draft event (``publish: true`` publishes it at once); ``repeat_weeks: n`` creates a
    weekly series of n events and returns the first (see ``series_id``)."""
    values = _times(payload.model_dump(exclude={"publish", "repeat_weeks"}), ctx.space.timezone)
    events = await service.create_event(session, ctx.space, ctx.account, EventInput(**values),
                                        publish=payload.publish, repeat_weeks=payload.repeat_weeks)
    return await event_read(session, ctx, events[0], mine=None)


@router.get("/events/{event_id}", response_model=EventRead)
async def get_event(event: VisibleEvent, ctx: SpaceMemberCtx, session: SessionDep) -> EventRead:
    return await event_read(session, ctx, event)


@router.patch("/events/{event_id}", response_model=EventRead)
async def update_event(event: ManagedEvent, payload: EventUpdate, ctx: EventManageCtx, session: SessionDep) -> EventRead:
    """Change an event. Registrants are e-mailed when its time or place changes."""
    changes = _times(payload.model_dump(exclude_unset=True), ctx.space.timezone)
    event = await service.update_event(session, ctx.space, ctx.account, event, changes)
    return await event_read(session, ctx, event)


@router.post("/events/{event_id}/publish", response_model=EventRead)
async def publish_event(event: ManagedEvent, ctx: EventManageCtx, session: SessionDep) -> EventRead:
    event = await service.publish_event(session, ctx.space, ctx.account, event)
    return await event_read(session, ctx, event)


@router.post("/events/{event_id}/cancel", response_model=EventRead)
async def cancel_event(event: ManagedEvent, ctx: EventManageCtx, session: SessionDep) -> EventRead:
    """Cancel an event; everyone registered or waiting is e-mailed."""
    event = await service.cancel_event(session, ctx.space, ctx.account, event)
    return await event_read(session, ctx, event)


@router.get("/events/{event_id}/event.ics", response_class=Response,
            responses={200: {"content": {"text/calendar": {}}}})
async def event_calendar(event: VisibleEvent, ctx: SpaceMemberCtx) -> Response:
    return ics_response(ctx.space, event, public=False)


# -- proposals ---------------------------------------------------------------------------------------

@router.get("/event-proposals", response_model=list[EventRead])
async def list_proposals(ctx: EventProposeCtx, session: SessionDep) -> list[EventRead]:
    """Animators: the proposals waiting for an answer. Members: their own, with the answer."""
    mine_only = None if ctx.can(Perm.event_manage) else ctx.account.id
    events = await service.list_proposals(session, proposed_by=mine_only)
    return await event_reads(session, ctx, events)


@router.post("/event-proposals", status_code=status.HTTP_201_CREATED, response_model=EventRead)
async def propose_event(payload: EventProposal, ctx: EventProposeCtx, session: SessionDep) -> EventRead:
    values = _times(payload.model_dump(), ctx.space.timezone)
    event = await service.propose_event(session, ctx.space, ctx.account, EventInput(**values))
    return await event_read(session, ctx, event, mine=None)


@router.post("/events/{event_id}/approve", response_model=EventRead)
async def approve_proposal(
    event: ManagedEvent, payload: ApproveProposal, ctx: EventManageCtx, session: SessionDep
) -> EventRead:
    event = await service.approve_proposal(session, ctx.space, ctx.account, event, publish=payload.publish)
    return await event_read(session, ctx, event)


@router.post("/events/{event_id}/decline", response_model=EventRead)
async def decline_proposal(
    event: ManagedEvent, payload: DeclineProposal, ctx: EventManageCtx, session: SessionDep
) -> EventRead:
    event = await service.decline_proposal(session, ctx.space, ctx.account, event, payload.message)
    return await event_read(session, ctx, event)


# -- registrations ------------------------------------------------------------------------------------

@router.post("/events/{event_id}/registrations", status_code=status.HTTP_201_CREATED,
             response_model=RegistrationRead)
async def register(event: VisibleEvent, ctx: SpaceMemberCtx, session: SessionDep) -> RegistrationRead:
    """Register yourself: ``confirmed`` while seats are left, then ``waitlisted`` with a position."""
    reg = await registrations.register_member(session, ctx.space, event, ctx.account)
    return await _one(session, reg)


@router.get("/events/{event_id}/registrations", response_model=list[RegistrationRead])
async def list_registrations(
    event: ManagedEvent, ctx: EventManageCtx, session: SessionDep, include_cancelled: bool = False
) -> list[RegistrationRead]:
    rows = await registrations.list_registrations(session, event, include_cancelled=include_cancelled)
    return [registration_read(r) for r in rows]


@router.get("/registrations", response_model=list[RegistrationRead])
async def my_registrations(ctx: SpaceMemberCtx, session: SessionDep) -> list[RegistrationRead]:
    return [registration_read(await _row(session, r))
            for r, _e in await registrations.registrations_of(session, ctx.account.id)]


@router.post("/registrations/{registration_id}/cancel", response_model=RegistrationRead)
async def cancel_registration(reg: OwnRegistration, ctx: SpaceMemberCtx, session: SessionDep) -> RegistrationRead:
    """Cancel a registration (yours, or anyone's for animators). The first in line gets the seat."""
    reg = await registrations.cancel_registration(
        session, ctx.space, reg, actor_id=ctx.account.id,
        by_staff=ctx.can(Perm.event_manage) and reg.account_id != ctx.account.id)
    return await _one(session, reg)


@router.put("/events/{event_id}/registrations/{registration_id}/attendance", response_model=RegistrationRead)
async def set_attendance(
    event: ManagedEvent, reg: ManagedRegistration, payload: AttendanceUpdate, ctx: EventManageCtx,
    session: SessionDep,
) -> RegistrationRead:
    reg = await registrations.set_attendance(session, ctx.space, event, reg, payload.attendance,
                                             actor_id=ctx.account.id)
    return registration_read(await _row(session, reg))


@router.put("/events/{event_id}/registrations/{registration_id}/payment", response_model=RegistrationRead)
async def set_payment(
    event: ManagedEvent, reg: ManagedRegistration, payload: PaymentUpdate, ctx: EventManageCtx,
    session: SessionDep,
) -> RegistrationRead:
    """Record (or undo) a payment received at the door."""
    reg = await registrations.mark_paid(session, ctx.space, event, reg, paid=payload.paid, actor_id=ctx.account.id)
    return registration_read(await _row(session, reg))


@router.get("/events/{event_id}/attendance.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
async def attendance_export(event: ManagedEvent, ctx: EventManageCtx, session: SessionDep) -> Response:
    rows = await registrations.list_registrations(session, event)
    return attendance_response(event, rows, ctx.space.currency)


# -- figures -----------------------------------------------------------------------------------------

def _stats(event: Event, c: registrations.EventCounts) -> EventStats:
    return EventStats(
        event_id=event.id, title=event.title, starts_at=event.starts_at, status=event.status,
        capacity=event.capacity, registered=c.registered, waitlisted=c.waitlisted, pending=c.pending,
        cancelled=c.cancelled, present=c.present, no_show=c.no_show,
    )


@router.get("/events/{event_id}/stats", response_model=EventStats)
async def event_stats(event: ManagedEvent, ctx: EventManageCtx, session: SessionDep) -> EventStats:
    return _stats(event, (await registrations.counts_for(session, [event]))[event.id])


@router.get("/event-stats", response_model=list[EventStats])
async def events_stats(
    ctx: EventManageCtx, session: SessionDep,
    start: Annotated[ApiDatetime, Query(alias="from")], end: Annotated[ApiDatetime, Query(alias="to")],
) -> list[EventStats]:
    """Registered, present and no-show per published event in a period (the funder report's figures)."""
    tz = ctx.space.timezone
    events = await service.list_events(session, member=True, staff=True, start=to_utc(start, tz),
                                       end=to_utc(end, tz), statuses=["published"], limit=2000)
    counts = await registrations.counts_for(session, events)
    return [_stats(e, counts[e.id]) for e in events]
