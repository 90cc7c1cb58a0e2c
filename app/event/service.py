"""Events: create (one or a weekly series), edit, publish, cancel; members' proposals."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.audit.readable import audit_fields, audit_names
from app.audit.service import audit_labels, log_action
from app.booking.rules import occurrences_weekly
from app.core import clock
from app.core.errors import ValidationFailed
from app.core.i18n import _l
from app.core.text import clean_text
from app.event import notify, rooms
from app.event.errors import (
    N_,
    CannotPublish,
    CapacityBelowRegistrations,
    DeclineMessageRequired,
    EventInThePast,
    EventNotEditable,
    EventNotFound,
    NotAProposal,
)
from app.event.inputs import EDITABLE_FIELDS, EventInput, validate
from app.event.models import Event, EventSeries, EventStatus, Visibility
from app.event.registration import active_registrations, confirmed_count, lock_event, promote
from app.pricing import service as charges
from app.space.models import Space

# What the audit page calls the actions logged here.
audit_labels({
    "event.created": _l("Event created"),
    "event.updated": _l("Event changed"),
    "event.published": _l("Event published"),
    "event.cancelled": _l("Event cancelled"),
    "event.proposed": _l("Event proposed by a member"),
    "event.proposal_approved": _l("Event proposal accepted"),
    "event.proposal_declined": _l("Event proposal declined"),
})
audit_fields({"event_id": _l("Event")})


@audit_names("event_id", "event")
async def _event_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    rows = await session.exec(select(Event.id, Event.title).where(col(Event.id).in_(ids)))
    return {i: n for i, n in rows.all() if i is not None}

MAX_OCCURRENCES = 52
# Changes that registrants are told about (and that calendar apps must pick up).
NOTIFIED_FIELDS = ("starts_at", "ends_at", "place", "resource_id")


def _audit_fields(event: Event) -> dict:
    return {"title": event.title, "starts_at": event.starts_at.isoformat()}


async def _with_room(session: AsyncSession, data: EventInput) -> EventInput:
    """The room must be one of the space's; the place says its name unless the animator wrote one."""
    if data.resource_id is not None:
        room = await rooms.get_room(session, data.resource_id)
        data.place = data.place.strip() or room.name
    return validate(data)


async def create_event(
    session: AsyncSession, space: Space, actor: Account, data: EventInput, *,
    publish: bool = False, repeat_weeks: int | None = None,
) -> list[Event]:
    """Create a draft (or published) event; with ``repeat_weeks`` = n, a weekly series of n events.

    Publishing holds the event's room: a conflict refuses the whole request."""
    if data.starts_at <= clock.now():
        raise EventInThePast()
    data = await _with_room(session, data)
    intervals = [(data.starts_at, data.ends_at)]
    series = None
    if repeat_weeks is not None and repeat_weeks > 1:
        intervals = occurrences_weekly(data.starts_at, data.ends_at, tz=space.timezone, count=repeat_weeks,
                                       max_count=MAX_OCCURRENCES)
        series = EventSeries(title=data.title, count=len(intervals), created_by_id=actor.id)
        session.add(series)
        await session.flush()
    events = []
    for starts_at, ends_at in intervals:
        shift = starts_at - data.starts_at
        values = data.as_dict() | {"starts_at": starts_at, "ends_at": ends_at}
        if data.registration_deadline is not None:
            values["registration_deadline"] = data.registration_deadline + shift
        event = Event(**values, series_id=series.id if series else None, created_by_id=actor.id,
                      status=EventStatus.draft)
        session.add(event)
        events.append(event)
    await session.flush()
    for event in events:
        log_action(session, "event.created", space_id=space.id, actor_id=actor.id, obj=event, **_audit_fields(event))
        if publish:
            await publish_event(session, space, actor, event)
    return events


async def update_event(
    session: AsyncSession, space: Space, actor: Account, event: Event, changes: dict
) -> Event:
    """Apply ``changes`` (EventInput fields). Registrants are told when the time or place moves."""
    event = await lock_event(session, event.id)
    if event.status in (EventStatus.cancelled, EventStatus.declined) or (
        event.status == EventStatus.published and event.ends_at <= clock.now()
    ):
        raise EventNotEditable()
    changes = {k: v for k, v in changes.items() if k in EDITABLE_FIELDS}
    current = {k: getattr(event, k) for k in EDITABLE_FIELDS}
    if changes.get("resource_id", event.resource_id) != event.resource_id and "place" not in changes \
            and event.resource_id is not None \
            and event.place == (await rooms.get_room(session, event.resource_id)).name:
        changes["place"] = ""  # it named the old room: name the new one
    merged = await _with_room(session, EventInput(**(current | changes)))
    if merged.capacity is not None:
        confirmed = await confirmed_count(session, event.id)
        if merged.capacity < confirmed:
            raise CapacityBelowRegistrations(confirmed)
    changed = {k for k in EDITABLE_FIELDS if getattr(merged, k) != current[k]}
    if not changed:
        return event
    moved = bool(changed & set(NOTIFIED_FIELDS))
    for key in changed:
        setattr(event, key, getattr(merged, key))
    if event.status == EventStatus.published and {"starts_at", "ends_at", "resource_id"} & changed:
        await rooms.move_room(session, space, event, actor)
    event.updated_at = clock.now()
    if moved:
        event.sequence += 1
    session.add(event)
    await session.flush()
    log_action(session, "event.updated", space_id=space.id, actor_id=actor.id, obj=event,
               fields=",".join(sorted(changed)))
    if event.status == EventStatus.published:
        if moved:
            for reg in await active_registrations(session, event.id):
                await notify.tell_registrant(session, space, event, reg, "event_changed")
        if "capacity" in changed:
            await promote(session, space, event)
    return event


async def publish_event(session: AsyncSession, space: Space, actor: Account, event: Event) -> Event:
    event = await lock_event(session, event.id)
    if event.status != EventStatus.draft:
        raise CannotPublish()
    if event.ends_at <= clock.now():
        raise EventNotEditable()
    await rooms.book_room(session, space, event, actor)
    event.status = EventStatus.published
    event.published_at = event.updated_at = clock.now()
    session.add(event)
    await session.flush()
    log_action(session, "event.published", space_id=space.id, actor_id=actor.id, obj=event, **_audit_fields(event))
    return event


async def cancel_event(session: AsyncSession, space: Space, actor: Account, event: Event) -> Event:
    """Cancel the event and tell everyone registered or waiting. Registrations keep their history."""
    event = await lock_event(session, event.id)
    if event.status == EventStatus.cancelled:
        return event
    if event.status not in (EventStatus.draft, EventStatus.published):
        raise EventNotEditable()
    was_published = event.status == EventStatus.published
    event.status = EventStatus.cancelled
    event.cancelled_at = event.updated_at = clock.now()
    event.sequence += 1
    await rooms.release_room(session, space, event, actor)
    session.add(event)
    await session.flush()
    log_action(session, "event.cancelled", space_id=space.id, actor_id=actor.id, obj=event, **_audit_fields(event))
    registered = await active_registrations(session, event.id)
    for reg in registered:  # the seats are no longer charged; the registrations keep their history
        await charges.reverse(session, source=charges.Source.registration, source_id=reg.id)
    if was_published:
        for reg in registered:
            await notify.tell_registrant(session, space, event, reg, "event_cancelled")
    return event


# -- proposals --------------------------------------------------------------------------------------

async def propose_event(session: AsyncSession, space: Space, actor: Account, data: EventInput) -> Event:
    data = await _with_room(session, data)
    event = Event(**data.as_dict(), status=EventStatus.proposed, proposed_by_id=actor.id, created_by_id=actor.id)
    session.add(event)
    await session.flush()
    log_action(session, "event.proposed", space_id=space.id, actor_id=actor.id, obj=event, **_audit_fields(event))
    return event


async def approve_proposal(
    session: AsyncSession, space: Space, actor: Account, event: Event, *, publish: bool
) -> Event:
    event = await lock_event(session, event.id)
    if event.status != EventStatus.proposed:
        raise NotAProposal()
    event.status = EventStatus.draft
    event.updated_at = clock.now()
    session.add(event)
    await session.flush()
    log_action(session, "event.proposal_approved", space_id=space.id, actor_id=actor.id, obj=event)
    if publish:
        await publish_event(session, space, actor, event)
    await notify.tell_proposer(session, space, event, "event_proposal_approved", published=publish)
    return event


async def decline_proposal(
    session: AsyncSession, space: Space, actor: Account, event: Event, message: str
) -> Event:
    message = clean_text(message).strip()
    if not message:
        raise DeclineMessageRequired()
    if len(message) > 2000:
        raise ValidationFailed(fields={"message": N_("This value is too long.")})
    event = await lock_event(session, event.id)
    if event.status != EventStatus.proposed:
        raise NotAProposal()
    event.status = EventStatus.declined
    event.decline_message = message
    event.updated_at = clock.now()
    session.add(event)
    await session.flush()
    log_action(session, "event.proposal_declined", space_id=space.id, actor_id=actor.id, obj=event)
    await notify.tell_proposer(session, space, event, "event_proposal_declined")
    return event


# -- reading ----------------------------------------------------------------------------------------

async def get_event(session: AsyncSession, event_id: int) -> Event:
    event = (await session.exec(select(Event).where(Event.id == event_id))).first()
    if event is None:
        raise EventNotFound()
    return event


def can_see(event: Event, *, account_id: int | None, member: bool, staff: bool) -> bool:
    """Who may see an event: staff everything, members what is published (and their proposals),
    visitors only public published events."""
    if staff:
        return True
    if event.status in (EventStatus.published, EventStatus.cancelled):
        return member or event.visibility == Visibility.public
    if event.status in (EventStatus.proposed, EventStatus.declined):
        return account_id is not None and event.proposed_by_id == account_id
    return False


async def list_events(
    session: AsyncSession, *, member: bool, staff: bool, start: datetime | None = None,
    end: datetime | None = None, statuses: list[str] | None = None, series_id: int | None = None,
    limit: int = 200, offset: int = 0,
) -> list[Event]:
    """Events in a window (by default: not yet ended), soonest first, filtered by who is asking
    (and to one weekly series with ``series_id``)."""
    stmt = select(Event)
    if series_id is not None:
        stmt = stmt.where(Event.series_id == series_id)
    if start is None and end is None:
        start = clock.now()
    if start is not None:
        stmt = stmt.where(col(Event.ends_at) > start)
    if end is not None:
        stmt = stmt.where(col(Event.starts_at) < end)
    if statuses:
        stmt = stmt.where(col(Event.status).in_(statuses))
    if not staff:
        stmt = stmt.where(col(Event.status).in_([EventStatus.published, EventStatus.cancelled]))
        if not member:
            stmt = stmt.where(Event.visibility == Visibility.public)
    elif not statuses:
        stmt = stmt.where(col(Event.status).in_([EventStatus.draft, EventStatus.published, EventStatus.cancelled]))
    rows = await session.exec(stmt.order_by(col(Event.starts_at), col(Event.id)).offset(offset).limit(limit))
    return list(rows.all())


async def list_proposals(session: AsyncSession, *, proposed_by: int | None = None) -> list[Event]:
    stmt = select(Event).where(or_(Event.status == EventStatus.proposed, Event.status == EventStatus.declined))
    if proposed_by is not None:
        stmt = stmt.where(Event.proposed_by_id == proposed_by)
    else:
        stmt = stmt.where(Event.status == EventStatus.proposed)
    rows = await session.exec(stmt.order_by(col(Event.created_at).desc()))
    return list(rows.all())
