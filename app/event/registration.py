"""Registrations: seats, the waitlist, cancellations, attendance and payment at the door.

Every change that can move a seat runs with the event row locked (``lock_event``): on PostgreSQL
with ``SELECT ... FOR UPDATE``, on SQLite by the write transaction itself (``BEGIN IMMEDIATE``
serialises writers). While it is held, counting the confirmed seats and handing out the next
``seq`` cannot race, so capacity is never exceeded and the waitlist keeps arrival order: the order
in which the database serialised the registrations.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.audit.readable import audit_fields, audit_values
from app.audit.service import audit_labels, log_action
from app.core import clock
from app.core.i18n import _l
from app.core.tenancy import require_scope
from app.event import notify
from app.event.errors import (
    AlreadyRegistered,
    AttendanceNotOpen,
    EventCancelled,
    EventNotFound,
    EventNotOpen,
    NotPaid,
    RegistrationClosed,
    RegistrationNotFound,
)
from app.event.models import (
    ACTIVE_STATUSES,
    Attendance,
    Event,
    EventStatus,
    PaymentStatus,
    Registration,
    RegistrationStatus,
)
from app.pricing import quote as pricing
from app.pricing import service as charges
from app.pricing.quote import PricedLine
from app.space.models import Space

log = logging.getLogger("fabrique.event")

# What the audit page calls the actions logged here.
audit_labels({
    "event.registered": _l("Registered for an event"),
    "event.visitor_registered": _l("Visitor registration started"),
    "event.registration_confirmed": _l("Visitor registration confirmed"),
    "event.registration_cancelled": _l("Event registration cancelled"),
    "event.registration_promoted": _l("Moved from the waitlist to a seat"),
    "event.attendance_taken": _l("Attendance taken"),
    "event.payment_recorded": _l("Event payment received"),
    "event.payment_undone": _l("Event payment undone"),
})
audit_fields({"attendance": _l("Attendance")})
audit_values({"confirmed": _l("confirmed"), "waitlisted": _l("on the waitlist"), "pending": _l("awaiting confirmation"),
              "cancelled": _l("cancelled"), "present": _l("present"), "absent": _l("absent")})


async def lock_event(session: AsyncSession, event_id: int) -> Event:
    """The event row, locked until the transaction ends, with fresh values."""
    require_scope(session)
    event = (await session.exec(
        select(Event).where(Event.id == event_id).with_for_update().execution_options(populate_existing=True)
    )).first()
    if event is None:
        raise EventNotFound()
    return event


async def confirmed_count(session: AsyncSession, event_id: int) -> int:
    return (await session.exec(
        select(func.count()).select_from(Registration).where(
            Registration.event_id == event_id, Registration.status == RegistrationStatus.confirmed)
    )).one()


def registration_open(event: Event, now: datetime) -> None:
    if event.status == EventStatus.cancelled:
        raise EventCancelled()
    if event.status != EventStatus.published:
        raise EventNotOpen()
    deadline = event.registration_deadline or event.starts_at
    if now >= deadline or now >= event.starts_at:
        raise RegistrationClosed()


def _price(space: Space, event: Event, reg: Registration) -> PricedLine:
    """A member registered with their account pays the member price; a visitor the public one."""
    kind = pricing.price_kind_for(reg.account_id is not None)
    line = pricing.registration_line(space, event, label=event.title, price_kind=kind)
    reg.price_cents = line.amount_incl_cents
    reg.payment_status = PaymentStatus.to_pay if line.amount_incl_cents > 0 else PaymentStatus.free
    return line


def _charge_seat(session: AsyncSession, space: Space, event: Event, reg: Registration) -> None:
    """A seat taken is charged (at the event's prices of that moment), in the same transaction."""
    line = _price(space, event, reg)
    charges.record(session, [line], source=charges.Source.registration, source_id=reg.id,
                   account_id=reg.account_id)


async def _take_seat(session: AsyncSession, space: Space, event: Event, reg: Registration, now: datetime) -> None:
    """Confirm ``reg`` if a seat is free, otherwise put it at the end of the waitlist. Event locked."""
    event.reg_seq += 1
    reg.seq = event.reg_seq
    session.add(event)
    has_seat = event.capacity is None or await confirmed_count(session, event.id) < event.capacity
    reg.status = RegistrationStatus.confirmed if has_seat else RegistrationStatus.waitlisted
    reg.confirmed_at = now if has_seat else None
    reg.cancelled_at = None
    reg.promoted_at = None
    session.add(reg)
    await session.flush()
    if has_seat:
        _charge_seat(session, space, event, reg)


async def register_member(
    session: AsyncSession, space: Space, event: Event, account: Account
) -> Registration:
    """Register a member of the space for ``event``: a seat if one is free, else the waitlist."""
    event = await lock_event(session, event.id)
    now = clock.now()
    registration_open(event, now)
    reg = (await session.exec(
        select(Registration).where(Registration.event_id == event.id, Registration.account_id == account.id)
    )).first()
    if reg is not None and reg.status in ACTIVE_STATUSES:
        raise AlreadyRegistered()
    if reg is None:
        reg = Registration(event_id=event.id, account_id=account.id, created_at=now)
    _price(space, event, reg)
    reg.paid_at = None
    await _take_seat(session, space, event, reg, now)
    log_action(session, "event.registered", space_id=space.id, actor_id=account.id, obj=reg,
               event_id=event.id, status=reg.status)
    await notify.tell_registrant(session, space, event, reg, "event_registered",
                                 position=await waitlist_position(session, reg))
    return reg


async def register_visitor(
    session: AsyncSession, space: Space, event: Event, *, name: str, email: str, locale: str,
    ip: str = "unknown",
) -> Registration | None:
    """A visitor's registration waits for the e-mailed link to be opened; it holds no seat until then.

    Returns None when the address is already registered: the visitor is told by e-mail, not on the
    page, so the form does not reveal who registered. Returns None too, writing nothing, when the
    e-mail limit per recipient or per requesting address is reached (same answer: nothing revealed).
    """
    from app.account import throttle

    event = await lock_event(session, event.id)
    now = clock.now()
    registration_open(event, now)
    if not await throttle.allow_mail(session, throttle.mail_buckets("visitor", email, ip)):
        log.info("visitor registration e-mail for event %s not sent: limit reached", event.id)
        return None
    reg = (await session.exec(
        select(Registration).where(Registration.event_id == event.id, Registration.email == email)
    )).first()
    if reg is not None and reg.status in (RegistrationStatus.confirmed, RegistrationStatus.waitlisted):
        await notify.tell_registrant(session, space, event, reg, "event_already_registered")
        return None
    if reg is None:
        reg = Registration(event_id=event.id, email=email, created_at=now)
    reg.name, reg.locale = name, locale
    reg.status = RegistrationStatus.pending
    _price(space, event, reg)
    reg.cancelled_at = None
    session.add(reg)
    await session.flush()
    log_action(session, "event.visitor_registered", space_id=space.id, obj=reg, event_id=event.id)
    await notify.tell_registrant(session, space, event, reg, "event_confirm_visitor")
    return reg


async def confirm_visitor(session: AsyncSession, space: Space, reg: Registration) -> Registration:
    """The visitor opened their link: take a seat (or a waitlist place) now. Idempotent."""
    event = await lock_event(session, reg.event_id)
    if reg.status != RegistrationStatus.pending:
        if reg.status == RegistrationStatus.cancelled:
            raise RegistrationNotFound()
        return reg
    now = clock.now()
    registration_open(event, now)
    await _take_seat(session, space, event, reg, now)
    log_action(session, "event.registration_confirmed", space_id=space.id, obj=reg, event_id=event.id,
               status=reg.status)
    await notify.tell_registrant(session, space, event, reg, "event_registered",
                                 position=await waitlist_position(session, reg))
    return reg


async def cancel_registration(
    session: AsyncSession, space: Space, reg: Registration, *, actor_id: int | None, by_staff: bool = False
) -> Registration:
    """Cancel a registration; a freed seat goes to the first in line. Cancelling twice is a no-op."""
    event = await lock_event(session, reg.event_id)
    await session.refresh(reg)
    if reg.status == RegistrationStatus.cancelled:
        return reg
    if not by_staff and clock.now() >= event.starts_at and event.status != EventStatus.cancelled:
        raise RegistrationClosed()
    held_seat = reg.status == RegistrationStatus.confirmed
    reg.status = RegistrationStatus.cancelled
    reg.cancelled_at = clock.now()
    session.add(reg)
    await session.flush()
    await charges.reverse(session, source=charges.Source.registration, source_id=reg.id)
    log_action(session, "event.registration_cancelled", space_id=space.id, actor_id=actor_id, obj=reg,
               event_id=event.id)
    if held_seat:
        # Confirms the cancellation and takes the event out of the person's calendar.
        await notify.tell_registrant(session, space, event, reg, "event_registration_cancelled")
        await promote(session, space, event)
    return reg


async def promote(session: AsyncSession, space: Space, event: Event) -> list[Registration]:
    """Fill free seats from the waitlist, first in line first. The event must be locked."""
    if event.status != EventStatus.published:
        return []
    if event.capacity is None:
        free = None
    else:
        free = event.capacity - await confirmed_count(session, event.id)
        if free <= 0:
            return []
    stmt = select(Registration).where(
        Registration.event_id == event.id, Registration.status == RegistrationStatus.waitlisted
    ).order_by(col(Registration.seq))
    if free is not None:
        stmt = stmt.limit(free)
    promoted = list((await session.exec(stmt)).all())
    now = clock.now()
    for reg in promoted:
        reg.status = RegistrationStatus.confirmed
        reg.confirmed_at = reg.promoted_at = now
        session.add(reg)
    await session.flush()
    for reg in promoted:
        _charge_seat(session, space, event, reg)
    for reg in promoted:
        log_action(session, "event.registration_promoted", space_id=space.id, obj=reg, event_id=event.id)
        await notify.tell_registrant(session, space, event, reg, "event_promoted")
    return promoted


# -- reading ----------------------------------------------------------------------------------------

async def get_registration(session: AsyncSession, registration_id: int) -> Registration:
    reg = (await session.exec(select(Registration).where(Registration.id == registration_id))).first()
    if reg is None:
        raise RegistrationNotFound()
    return reg


async def my_registration(session: AsyncSession, event_id: int, account_id: int) -> Registration | None:
    return (await session.exec(
        select(Registration).where(Registration.event_id == event_id, Registration.account_id == account_id)
    )).first()


async def waitlist_position(session: AsyncSession, reg: Registration) -> int | None:
    if reg.status != RegistrationStatus.waitlisted:
        return None
    ahead = (await session.exec(
        select(func.count()).select_from(Registration).where(
            Registration.event_id == reg.event_id, Registration.status == RegistrationStatus.waitlisted,
            col(Registration.seq) < reg.seq)
    )).one()
    return ahead + 1


@dataclass
class RegistrationRow:
    registration: Registration
    name: str
    email: str | None
    position: int | None  # place on the waitlist, from 1


async def list_registrations(
    session: AsyncSession, event: Event, *, include_cancelled: bool = False
) -> list[RegistrationRow]:
    """Confirmed first, then the waitlist in order, then pending visitors (and cancelled ones)."""
    stmt = select(Registration, Account).outerjoin(Account, col(Account.id) == Registration.account_id).where(
        Registration.event_id == event.id)
    if not include_cancelled:
        stmt = stmt.where(Registration.status != RegistrationStatus.cancelled)
    order: dict[str, int] = {RegistrationStatus.confirmed: 0, RegistrationStatus.waitlisted: 1, RegistrationStatus.pending: 2,
             RegistrationStatus.cancelled: 3}
    rows = sorted((await session.exec(stmt)).all(), key=lambda r: (order[r[0].status], r[0].seq, r[0].id))
    out, position = [], 0
    for reg, account in rows:
        if reg.status == RegistrationStatus.waitlisted:
            position += 1
        out.append(RegistrationRow(
            reg, account.name if account else (reg.name or ""), account.email if account else reg.email,
            position if reg.status == RegistrationStatus.waitlisted else None,
        ))
    return out


async def registrations_of(session: AsyncSession, account_id: int) -> list[tuple[Registration, Event]]:
    rows = await session.exec(
        select(Registration, Event).join(Event, col(Event.id) == Registration.event_id)
        .where(Registration.account_id == account_id, Registration.status != RegistrationStatus.cancelled)
        .order_by(col(Event.starts_at))
    )
    return list(rows.all())


@dataclass
class EventCounts:
    registered: int = 0      # confirmed seats
    waitlisted: int = 0
    pending: int = 0         # visitors who have not confirmed their e-mail
    cancelled: int = 0
    present: int = 0
    absent: int = 0          # marked absent
    ended: bool = False

    @property
    def no_show(self) -> int | None:
        """Confirmed but not present, once the event is over (None before: it is not known yet)."""
        return self.registered - self.present if self.ended else None


async def counts_for(session: AsyncSession, events: list[Event]) -> dict[int, EventCounts]:
    """Registration figures per event, as shown to animators and reused by the funder report."""
    out: dict[int, EventCounts] = defaultdict(EventCounts)
    if not events:
        return out
    now = clock.now()
    for e in events:
        out[e.id] = EventCounts(ended=e.ends_at <= now)
    rows = await session.exec(
        select(Registration.event_id, Registration.status, Registration.attendance, func.count())
        .where(col(Registration.event_id).in_([e.id for e in events]))
        .group_by(Registration.event_id, Registration.status, Registration.attendance)
    )
    for event_id, status, attendance, n in rows.all():
        c = out[event_id]
        if status == RegistrationStatus.confirmed:
            c.registered += n
            if attendance == Attendance.present:
                c.present += n
            elif attendance == Attendance.absent:
                c.absent += n
        elif status == RegistrationStatus.waitlisted:
            c.waitlisted += n
        elif status == RegistrationStatus.pending:
            c.pending += n
        else:
            c.cancelled += n
    return out


# -- on the day -----------------------------------------------------------------------------------

def _event_day(event: Event, tz: str) -> date:
    return event.starts_at.astimezone(ZoneInfo(tz)).date()


def attendance_open(event: Event, space: Space) -> bool:
    """Attendance is taken from the event's day on (in the space's time zone), for a published
    event: the one rule behind the attendance buttons and ``set_attendance``."""
    today = clock.now().astimezone(ZoneInfo(space.timezone)).date()
    return event.status == EventStatus.published and today >= _event_day(event, space.timezone)


async def set_attendance(
    session: AsyncSession, space: Space, event: Event, reg: Registration, attendance: str | None, *, actor_id: int
) -> Registration:
    if reg.event_id != event.id:
        raise RegistrationNotFound()
    if reg.status != RegistrationStatus.confirmed or not attendance_open(event, space):
        raise AttendanceNotOpen()
    reg.attendance = Attendance(attendance) if attendance else None
    reg.attendance_at = clock.now()
    session.add(reg)
    log_action(session, "event.attendance_taken", space_id=space.id, actor_id=actor_id, obj=reg,
               event_id=event.id, attendance=attendance)
    return reg


async def mark_paid(
    session: AsyncSession, space: Space, event: Event, reg: Registration, *, paid: bool, actor_id: int
) -> Registration:
    if reg.event_id != event.id:
        raise RegistrationNotFound()
    if reg.price_cents <= 0:
        raise NotPaid()
    reg.payment_status = PaymentStatus.paid if paid else PaymentStatus.to_pay
    reg.paid_at = clock.now() if paid else None
    session.add(reg)
    log_action(session, "event.payment_recorded" if paid else "event.payment_undone", space_id=space.id,
               actor_id=actor_id, obj=reg, event_id=event.id, amount_cents=reg.price_cents)
    return reg


async def active_registrations(session: AsyncSession, event_id: int) -> list[Registration]:
    rows = await session.exec(select(Registration).where(
        Registration.event_id == event_id,
        or_(Registration.status == RegistrationStatus.confirmed, Registration.status == RegistrationStatus.waitlisted),
    ).order_by(col(Registration.seq)))
    return list(rows.all())
