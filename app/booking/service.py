"""Booking services: quote, book, cancel, move — for members, staff and (later) events and billing.

Every path runs the pure rules of ``app.booking.rules`` and then lets the database guard have the
last word: a capacity-1 resource is protected by the exclusion constraint (PostgreSQL) or trigger
(SQLite); a resource with several places is serialised on its row (``SELECT … FOR UPDATE``) and
counted. The conflict check itself is one query (``repository.overlapping``).

Entry points for other domains:
- ``book`` / ``quote`` — a member's booking and its price (billing reads ``Booking.price_cents``);
- ``book_for_event`` / ``release_event_bookings`` — hold a room for an event;
- ``cancel_booking`` / ``move_booking``;
- ``app.resource.service.add_block`` — external blocks (calendar sync) with their own ``source``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.audit.readable import audit_fields
from app.audit.service import audit_labels, log_action
from app.booking import credits, notify, repository, rules
from app.booking.errors import (
    BookingConflict,
    BookingNotActive,
    InThePast,
    InvalidInterval,
    PlaceAlreadyHeld,
    ResourceArchived,
    ResourceBlocked,
    SeriesConflict,
)
from app.booking.hours import load_calendar
from app.booking.models import Booking, BookingSeries, BookingSource, BookingStatus
from app.booking.snapshot import snapshot_of
from app.core import clock
from app.core.errors import FabriqueError
from app.core.i18n import _l
from app.core.permissions import Role
from app.core.text import clean_text
from app.membership import adhesion, usage
from app.membership.errors import AdhesionRequired
from app.pricing import quote as pricing
from app.pricing import service as charges
from app.pricing.models import Charge
from app.pricing.quote import PricedLine, PriceKind
from app.resource.models import Resource
from app.resource.service import blocks_between
from app.space.models import Space, SpaceMember

# What the audit page calls the actions logged here.
audit_labels({
    "booking.created": _l("Booking made"),
    "booking.cancelled": _l("Booking cancelled"),
    "booking.moved": _l("Booking moved"),
    "booking.series_created": _l("Weekly booking made"),
})
audit_fields({"to_starts_at": _l("New start"), "from_starts_at": _l("Previous start"),
              "from_resource_id": _l("Previous resource"), "late": _l("Charged (late cancellation)"),
              "by_staff": _l("By the team"), "booked": _l("Booked"), "skipped": _l("Skipped"),
              "on_behalf": _l("Booked by the team"), "to_resource_id": _l("New resource")})

# Other domains act on a booking's change (calendar: the CalDAV copy) by registering here, so the
# booking code does not import them: ``@on_booking_changed async def f(session, space, booking)``.
BookingListener = Callable[[AsyncSession, Space, Booking], Awaitable[None]]
_LISTENERS: list[BookingListener] = []


def on_booking_changed(fn: BookingListener) -> BookingListener:
    _LISTENERS.append(fn)
    return fn


async def _booking_changed(session: AsyncSession, space: Space, booking: Booking) -> None:
    """Called after a booking was created, moved (to another resource too) or cancelled, once flushed."""
    for listener in _LISTENERS:
        await listener(session, space, booking)

Held = tuple[datetime, datetime, datetime]  # starts_at, ends_at, blocked_until


# -- price --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    """What a booking would cost and under which terms, before it is made.

    ``lines`` are the priced lines of ``app.pricing`` for the price kind of the person the booking
    is for, credits first (``credits``: what each bucket would give and have left; a line at 0 per
    bucket); ``price_cents`` is what they pay (VAT included); the full member and public prices beside.
    """

    resource_id: int
    starts_at: datetime
    ends_at: datetime
    price_cents: int
    price_kind: str  # "member" or "public"
    member_price_cents: int
    public_price_cents: int
    currency: str
    vat_rate_bp: int
    cancel_deadline: datetime
    late_cancel: str
    lines: tuple[PricedLine, ...] = ()
    credits: tuple[usage.Take, ...] = ()


def make_quote(
    space: Space, resource: Resource, starts_at: datetime, ends_at: datetime, cal: rules.SpaceCalendar,
    *, price_kind: PriceKind = PriceKind.member, choice: usage.Choice | None = None,
) -> Quote:
    """Price a booking: ``choice`` says what credits pay (``app.booking.credits``); none: all priced."""
    units = rules.units_for(starts_at, ends_at, unit=resource.unit, cal=cal)
    by_kind = {kind: pricing.booking_line(space, resource, label=resource.name, unit=resource.unit, units=units,
                                          price_kind=kind) for kind in (PriceKind.member, PriceKind.public)}
    choice = choice or credits.priced_only(units)
    lines = credits.lines_for(space, resource, units, choice, price_kind)
    return Quote(
        resource_id=resource.id or 0, starts_at=starts_at, ends_at=ends_at,
        price_cents=pricing.total_incl(list(lines)), price_kind=credits.kind_paid(choice, price_kind),
        member_price_cents=by_kind[PriceKind.member].amount_incl_cents,
        public_price_cents=by_kind[PriceKind.public].amount_incl_cents, currency=space.currency,
        vat_rate_bp=pricing.rate_of(space, resource),
        cancel_deadline=starts_at - timedelta(hours=resource.cancel_deadline_hours),
        late_cancel=resource.late_cancel, lines=lines, credits=choice.takes,
    )


async def price_kind_of(session: AsyncSession, space: Space, member: SpaceMember | None, *,
                        is_staff: bool = False) -> PriceKind:
    """The price a booking's person pays: the member price for anyone who belongs to the space.

    A space may require a current adhésion (``app.membership``): for the member price — a member
    without one pays the public price — or for booking at all — ``AdhesionRequired``, unless staff
    book for them. The team (any role but member) is not asked for one. "Current" is today in the
    space's time zone: a booking made while the adhésion runs keeps its price.
    """
    if member is None:
        return PriceKind.public
    if member.role != Role.member:
        return PriceKind.member
    facts = (await snapshot_of(session, space)).facts
    for_prices = facts.get(credits.ADHESION_FOR_MEMBER_PRICES, False)
    for_booking = facts.get(credits.ADHESION_FOR_BOOKING, False)
    if not (for_prices or for_booking):
        return PriceKind.member
    today = clock.now().astimezone(ZoneInfo(space.timezone)).date()
    if await adhesion.is_current(session, member.account_id, today):
        return PriceKind.member
    if for_booking and not is_staff:
        raise AdhesionRequired()
    return PriceKind.public if for_prices else PriceKind.member


# -- checks -------------------------------------------------------------------------------------


def held_until(resource: Resource, ends_at: datetime) -> datetime:
    """The end of the interval the guard protects: the booking plus the resource's buffer."""
    return ends_at + timedelta(minutes=resource.buffer_minutes)


def full_window(starts_at: datetime, until: datetime, held: list[Held], capacity: int) -> tuple[datetime, datetime] | None:
    """Where ``[starts_at, until)`` would exceed ``capacity`` given the held intervals, or None.

    For capacity 1 this is the first booking met; for more, a sweep over the held intervals finds
    the first moment when every place is taken (touching intervals do not overlap).
    """
    if not held:
        return None
    if capacity <= 1:
        first = min(held)
        return first[0], first[1]
    events: list[tuple[datetime, int]] = []
    for s, _e, bu in held:
        a, b = max(s, starts_at), min(bu, until)
        if a < b:
            events += [(a, 1), (b, -1)]
    events.sort()
    taken = 0
    for i, (at, step) in enumerate(events):
        taken += step
        if taken >= capacity:
            return at, events[i + 1][0]
    return None


async def _check(
    session: AsyncSession,
    space: Space,
    resource: Resource,
    member: SpaceMember | None,
    starts_at: datetime,
    ends_at: datetime,
    *,
    is_staff: bool,
    now: datetime,
) -> tuple[datetime, datetime, rules.SpaceCalendar]:
    """Every rule but conflicts, in the order a member can act on; returns the UTC interval.

    Archived and access come first: explaining opening hours for a resource one may not book helps
    nobody. ``member`` is None for bookings that are nobody's (an event moved by staff).
    """
    if member is not None:
        rules.check_can_book(
            resource.rules, role=member.role, member_tags=member.tag_set, archived=resource.is_archived,
            blocked_periods=(), starts_at=starts_at, ends_at=ends_at,
        )
    elif resource.is_archived:
        raise ResourceArchived()
    cal = await load_calendar(session, space)
    starts_at, ends_at = rules.validate_interval(
        starts_at, ends_at, rules=resource.rules, cal=cal, now=now, is_staff=is_staff
    )
    await _check_blocks(session, space, resource, starts_at, ends_at)
    return starts_at, ends_at, cal


async def _check_blocks(
    session: AsyncSession, space: Space, resource: Resource, starts_at: datetime, ends_at: datetime
) -> None:
    snap = await snapshot_of(session, space)
    if snap.covers(starts_at):
        blocks = snap.blocks_between([resource.id], starts_at, ends_at)
    else:
        blocks = await blocks_between(session, [resource.id], starts_at, ends_at)
    if blocks:
        raise ResourceBlocked(starts_at=blocks[0].starts_at, ends_at=blocks[0].ends_at)


async def _check_event_slot(
    session: AsyncSession, space: Space, resource: Resource, starts_at: datetime, ends_at: datetime, *, now: datetime
) -> tuple[datetime, datetime]:
    """What an event's room booking must pass (opening hours, horizon and member rules do not
    apply); returns the interval in UTC."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidInterval(InvalidInterval.naive_message)
    starts_at, ends_at = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
    if ends_at <= starts_at:
        raise InvalidInterval()
    if starts_at < now:
        raise InThePast()
    if resource.is_archived:
        raise ResourceArchived()
    await _check_blocks(session, space, resource, starts_at, ends_at)
    return starts_at, ends_at


async def _guard(
    session: AsyncSession, space: Space, resource: Resource, booking: Booking, *, exclude_id: int | None = None,
    guard_alone: bool = False, one_place: bool = False,
) -> None:
    """Refuse the booking if its held interval is taken, then write it under the database guard.

    ``one_place``: the person the booking is for may not already hold a place of this resource at
    an overlapping time (``PlaceAlreadyHeld``). Decided under the same serialisation as the places
    count: the resource row locked on PostgreSQL (capacity > 1; a one-place resource refuses any
    overlap by its exclusion constraint), ``BEGIN IMMEDIATE`` on SQLite.

    ``guard_alone``: for a caller that ends its request on any error (the API), a new booking of a
    one-place resource skips the check; the guard refuses exactly what the check would (held
    intervals of confirmed exclusive bookings) and the conflict is looked up only then. The
    session is unusable after such a refusal, hence the opt-in: pages re-render their form on a
    conflict. Not when the resource still holds shared (non-exclusive) bookings from a time when
    it had more places, which the guard does not see.
    """
    guard_alone = (
        guard_alone and exclude_id is None and resource.capacity == 1
        and resource.id not in (await snapshot_of(session, space)).shared_ahead
    )
    if not guard_alone:
        # A moved booking is already changed in the session: no autoflush before the check has run.
        with session.no_autoflush:
            if resource.capacity > 1:
                await repository.lock_resource(session, resource.id)
            if one_place and booking.account_id is not None and await repository.holds_place(
                    session, resource.id, booking.account_id, booking.starts_at, booking.ends_at,
                    exclude_id=exclude_id):
                raise PlaceAlreadyHeld()
            held = await repository.overlapping(
                session, resource.id, booking.starts_at, booking.blocked_until, exclude_id=exclude_id
            )
        window = full_window(booking.starts_at, booking.blocked_until, held, resource.capacity)
        if window is not None:
            raise BookingConflict(starts_at=window[0], ends_at=window[1])
    # Read before the flush: a refused flush expires every loaded object of the session.
    ids = (space.id, resource.id, booking.starts_at, booking.ends_at, booking.blocked_until)
    session.add(booking)
    try:
        await session.flush()
    except IntegrityError as exc:
        if not repository.is_overlap_violation(exc):
            raise
        # The guard refused the row: a booking the check did not run for, or lost a race against.
        _space_id, resource_id, starts_at, ends_at, blocked_until = ids
        found = await repository.conflict_after_refusal(session, resource_id, starts_at, blocked_until)
        start, end = found or (starts_at, ends_at)
        raise BookingConflict(starts_at=start, ends_at=end) from None


# -- booking ------------------------------------------------------------------------------------


async def quote(
    session: AsyncSession, *, space: Space, resource: Resource, member: SpaceMember,
    starts_at: datetime, ends_at: datetime, is_staff: bool = False, exclude_id: int | None = None,
    price_kind: PriceKind | None = None,
) -> Quote:
    """Check a booking without making it (conflicts included) and price it, with the credits it
    would use (read only: nothing is debited before the booking is made). A given ``price_kind``
    (a guest's public price) uses no credits."""
    now = clock.now()
    starts_at, ends_at, cal = await _check(session, space, resource, member, starts_at, ends_at,
                                           is_staff=is_staff, now=now)
    until = held_until(resource, ends_at)
    if not is_staff and await repository.holds_place(session, resource.id, member.account_id, starts_at, ends_at,
                                                     exclude_id=exclude_id):
        raise PlaceAlreadyHeld()
    held = await repository.overlapping(session, resource.id, starts_at, until, exclude_id=exclude_id)
    window = full_window(starts_at, until, held, resource.capacity)
    if window is not None:
        raise BookingConflict(starts_at=window[0], ends_at=window[1])
    units = rules.units_for(starts_at, ends_at, unit=resource.unit, cal=cal)
    choice = await credits.preview(session, account_id=member.account_id, use_credits=price_kind is None,
                                   need=credits.need_of(space, resource, starts_at, units))
    kind = price_kind or await price_kind_of(session, space, member, is_staff=is_staff)
    return make_quote(space, resource, starts_at, ends_at, cal, price_kind=kind, choice=choice)


async def book(
    session: AsyncSession,
    *,
    space: Space,
    resource: Resource,
    member: SpaceMember,
    account: Account,
    actor: Account,
    starts_at: datetime,
    ends_at: datetime,
    is_staff: bool = False,
    note: str = "",
    series_id: int | None = None,
    notify_member: bool = True,
    guard_alone: bool = False,
    price_kind: PriceKind | None = None,
    charges_out: list[Charge] | None = None,
) -> Booking:
    """Book ``resource`` for ``member`` (``account`` is the member's account; ``actor`` who acts).

    ``is_staff`` is for staff booking on someone's behalf: the horizon does not apply, every
    other rule does, for the member the booking is for. Raises a booking error, never half-writes.
    ``guard_alone=True`` saves a query when the caller's transaction ends with any error it
    raises (see ``_guard``): after a conflict the session must only be rolled back.
    The member's credits pay first, then the member's price (``price_kind`` lets staff charge a
    guest the public price, and uses no credits): the buckets are locked, debited and the lines
    stored as charges in the same transaction (appended to ``charges_out`` if given: the API
    answers with them without reading them back). ``CreditsRunOut`` when the credits no longer
    cover it and the space refuses such bookings.
    """
    now = clock.now()
    starts_at, ends_at, cal = await _check(session, space, resource, member, starts_at, ends_at,
                                           is_staff=is_staff, now=now)
    units = rules.units_for(starts_at, ends_at, unit=resource.unit, cal=cal)
    locked = await credits.lock(session, account_id=account.id, use_credits=price_kind is None,
                                need=credits.need_of(space, resource, starts_at, units))
    choice = await credits.choose(session, locked, refuse_when_out=True)
    kind = price_kind or await price_kind_of(session, space, member, is_staff=is_staff)
    price = make_quote(space, resource, starts_at, ends_at, cal, price_kind=kind, choice=choice)
    on_behalf = actor.id != account.id
    booking = Booking(
        resource_id=resource.id, account_id=account.id, booked_by_id=actor.id, series_id=series_id,
        starts_at=starts_at, ends_at=ends_at, blocked_until=held_until(resource, ends_at),
        exclusive=resource.capacity == 1, source=BookingSource.staff if on_behalf else BookingSource.member,
        note=clean_text(note, 500), price_cents=price.price_cents, price_kind=price.price_kind,
        currency=price.currency, vat_rate_bp=price.vat_rate_bp, created_at=now, updated_at=now,
    )
    # One place per person at a time; staff may book several (for guests, a group).
    await _guard(session, space, resource, booking, guard_alone=guard_alone, one_place=not is_staff)
    credits.debit(session, choice, locked, booking, actor_id=actor.id)
    written = charges.record(session, list(price.lines), source=charges.Source.booking,
                             source_id=booking.id, account_id=account.id)
    if charges_out is not None:
        charges_out.extend(written)
    log_action(session, "booking.created", space_id=space.id, actor_id=actor.id, obj=booking,
               resource_id=resource.id, account_id=account.id, starts_at=starts_at.isoformat(),
               ends_at=ends_at.isoformat(), on_behalf=on_behalf)
    await _booking_changed(session, space, booking)
    if notify_member:
        notify.booking_confirmed(session, space, resource, booking, account)
    return booking


async def book_for_event(
    session: AsyncSession,
    *,
    space: Space,
    resource: Resource,
    starts_at: datetime,
    ends_at: datetime,
    actor: Account | None,
    event_id: int,
    title: str,
) -> Booking:
    """Hold a room for an event. Opening hours, horizon and member rules do not apply (events often
    run in the evening); conflicts, buffers, capacity, blocks and archiving do. Free of charge."""
    now = clock.now()
    starts_at, ends_at = await _check_event_slot(session, space, resource, starts_at, ends_at, now=now)
    booking = Booking(
        resource_id=resource.id, account_id=None, booked_by_id=actor.id if actor else None,
        starts_at=starts_at, ends_at=ends_at, blocked_until=held_until(resource, ends_at),
        exclusive=resource.capacity == 1, source=BookingSource.event, source_ref=f"event:{event_id}",
        title=clean_text(title, 200), price_cents=0, price_kind="none", currency=space.currency,
        created_at=now, updated_at=now,
    )
    await _guard(session, space, resource, booking)
    log_action(session, "booking.created", space_id=space.id, actor_id=actor.id if actor else None,
               obj=booking, resource_id=resource.id, event_id=event_id, starts_at=starts_at.isoformat())
    await _booking_changed(session, space, booking)
    return booking


async def release_event_bookings(session: AsyncSession, *, space: Space, event_id: int,
                                 actor: Account | None, reason: str = "") -> int:
    """Cancel the room bookings held for an event (event cancelled or moved). Returns how many."""
    count = 0
    released = await repository.bookings_with_source(session, f"event:{event_id}")
    for booking in released:
        _mark_cancelled(booking, actor, reason)
        log_action(session, "booking.cancelled", space_id=space.id, actor_id=actor.id if actor else None,
                   obj=booking, event_id=event_id, reason=reason)
        count += 1
    await session.flush()
    for booking in released:
        await _booking_changed(session, space, booking)
    return count


def _mark_cancelled(booking: Booking, actor: Account | None, reason: str) -> None:
    now = clock.now()
    booking.status = BookingStatus.cancelled
    booking.cancelled_at = now
    booking.cancelled_by_id = actor.id if actor else None
    booking.cancel_reason = clean_text(reason, 500)
    booking.updated_at = now
    booking.sequence += 1


async def cancel_booking(
    session: AsyncSession,
    *,
    space: Space,
    resource: Resource,
    booking: Booking,
    actor: Account,
    reason: str = "",
    as_staff: bool = False,
) -> Booking:
    """Cancel a booking. Members are held to the resource's deadline (refused, or the booking is
    marked ``late_cancel_charged`` under a "charge" policy); staff may cancel any booking that has
    not ended, and the member is told their reason. The credits it used are refunded, except
    after a late cancellation charged, unless the space returns them then too."""
    # Locked and read again: of two cancellations racing, the second sees the first's outcome
    # (and its charges reversed) instead of cancelling and reversing again.
    await session.refresh(booking, with_for_update=True)
    if booking.status != BookingStatus.confirmed:
        raise BookingNotActive()
    now = clock.now()
    if as_staff:
        if booking.ends_at <= now:
            raise BookingNotActive(BookingNotActive.ended_message)
    else:
        outcome = rules.can_cancel(booking.starts_at, rules=resource.rules, now=now)
        booking.late_cancel_charged = outcome == "late_charge"
    _mark_cancelled(booking, actor, reason)
    session.add(booking)
    await session.flush()
    charged = await charges.reverse(session, source=charges.Source.booking, source_id=booking.id)
    if booking.late_cancel_charged:
        charges.record(session, pricing.late_cancel_lines([charges.line_of(c) for c in charged]),
                       source=charges.Source.booking, source_id=booking.id, account_id=booking.account_id)
    if not (booking.late_cancel_charged and await credits.late_cancel_keeps_credits(session)):
        await credits.refund_booking(session, booking, actor_id=actor.id, reason=booking.cancel_reason)
    log_action(session, "booking.cancelled", space_id=space.id, actor_id=actor.id, obj=booking,
               resource_id=resource.id, reason=booking.cancel_reason, late=booking.late_cancel_charged,
               by_staff=as_staff and actor.id != booking.account_id)
    await _booking_changed(session, space, booking)
    if booking.account_id is not None:
        account = await session.get(Account, booking.account_id)
        if account is not None:
            notify.booking_cancelled(session, space, resource, booking, account,
                                     by_staff=as_staff and actor.id != booking.account_id)
    return booking


async def move_booking(
    session: AsyncSession,
    *,
    space: Space,
    booking: Booking,
    resource: Resource,
    new_resource: Resource | None = None,
    starts_at: datetime,
    ends_at: datetime,
    actor: Account,
    reason: str = "",
) -> Booking:
    """Staff move a booking to another time and/or resource; the member is told, with the reason.

    The new slot passes the rules for the member the booking is for (horizon excepted) and the
    same database guard; the price is recomputed for the new slot: the credits used are refunded
    and taken again for it (the member's own units are available to the new slot).
    """
    # Locked and read again, as cancel_booking does: a move racing a cancellation (or another move)
    # sees its outcome instead of moving a cancelled booking or losing its sequence increment.
    await session.refresh(booking, with_for_update=True)
    if booking.status != BookingStatus.confirmed:
        raise BookingNotActive()
    target = new_resource or resource
    member = None
    if booking.account_id is not None:
        from app.space.service import membership

        member = await membership(session, booking.account_id)
    now = clock.now()
    if booking.source == BookingSource.event:
        starts_at, ends_at = await _check_event_slot(session, space, target, starts_at, ends_at, now=now)
    else:
        starts_at, ends_at, cal = await _check(session, space, target, member, starts_at, ends_at,
                                               is_staff=True, now=now)
    if booking.source != BookingSource.event:
        # Locked before the booking changes in the session (the guard checks it first), written after.
        base = credits.base_kind(booking)
        units = rules.units_for(starts_at, ends_at, unit=target.unit, cal=cal)
        given_back = await usage.debits_of(session, booking.id)
        locked = await credits.lock(session, account_id=booking.account_id, use_credits=base == PriceKind.member,
                                    need=credits.need_of(space, target, starts_at, units), give_back=given_back)
    before = (booking.resource_id, booking.starts_at, booking.ends_at)
    booking.resource_id = target.id  # type: ignore[assignment]
    booking.starts_at, booking.ends_at = starts_at, ends_at
    booking.blocked_until = held_until(target, ends_at)
    booking.exclusive = target.capacity == 1
    booking.updated_at = now
    booking.sequence += 1
    try:
        await _guard(session, space, target, booking, exclude_id=booking.id)
    except BookingConflict:
        # Refused: the booking stays where it was (a page re-rendering its form must not flush it).
        if booking in session:
            await session.refresh(booking)
        raise
    if booking.source != BookingSource.event:
        # The old slot's credits and charges are given back and the new slot's taken: never edited.
        choice = await credits.choose(session, locked, refuse_when_out=False, give_back=given_back,
                                      actor_id=actor.id, reason=clean_text(reason, 300))
        price = make_quote(space, target, starts_at, ends_at, cal, price_kind=base, choice=choice)
        booking.price_cents, booking.vat_rate_bp = price.price_cents, price.vat_rate_bp
        booking.price_kind = price.price_kind
        await charges.reverse(session, source=charges.Source.booking, source_id=booking.id)
        charges.record(session, list(price.lines), source=charges.Source.booking, source_id=booking.id,
                       account_id=booking.account_id)
        credits.debit(session, choice, locked, booking, actor_id=actor.id, reason=clean_text(reason, 300))
    log_action(session, "booking.moved", space_id=space.id, actor_id=actor.id, obj=booking,
               from_resource_id=before[0], from_starts_at=before[1].isoformat(), to_resource_id=target.id,
               to_starts_at=starts_at.isoformat(), reason=clean_text(reason, 500))
    await _booking_changed(session, space, booking)
    if booking.account_id is not None:
        account = await session.get(Account, booking.account_id)
        if account is not None:
            notify.booking_moved(session, space, target, booking, account, previous=before,
                                 reason=clean_text(reason, 500))
    return booking


# -- weekly series ------------------------------------------------------------------------------


@dataclass
class Occurrence:
    starts_at: datetime
    ends_at: datetime
    status: str  # "free", "conflict" or "invalid"
    code: str | None = None
    message: str | None = None
    price_cents: int = 0
    conflict: tuple[datetime, datetime] | None = None


@dataclass
class SeriesPlan:
    occurrences: list[Occurrence] = field(default_factory=list)

    @property
    def free(self) -> list[Occurrence]:
        return [o for o in self.occurrences if o.status == "free"]

    @property
    def taken(self) -> list[Occurrence]:
        return [o for o in self.occurrences if o.status != "free"]


async def plan_series(
    session: AsyncSession,
    *,
    space: Space,
    resource: Resource,
    member: SpaceMember,
    starts_at: datetime,
    ends_at: datetime,
    until: date | None = None,
    count: int | None = None,
    is_staff: bool = False,
    price_kind: PriceKind | None = None,
) -> SeriesPlan:
    """Every weekly occurrence with whether it can be booked, in two queries (bookings, blocks).

    Raises only for a malformed repeat; a rule failing on one date marks that occurrence invalid.
    """
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidInterval(InvalidInterval.naive_message)
    rules.check_can_book(resource.rules, role=member.role, member_tags=member.tag_set, archived=resource.is_archived,
                         blocked_periods=(), starts_at=starts_at, ends_at=ends_at)
    intervals = rules.occurrences_weekly(starts_at, ends_at, tz=space.timezone, until=until, count=count)
    cal = await load_calendar(session, space)
    now = clock.now()
    first, last = intervals[0][0], held_until(resource, intervals[-1][1])
    existing = await repository.bookings_between(session, first, last, resource_ids=[resource.id], held=True)
    held = [(b.starts_at, b.ends_at, b.blocked_until) for b in existing]
    blocks = await blocks_between(session, [resource.id], first, last)
    plan = SeriesPlan()
    for start, end in intervals:
        try:
            start, end = rules.validate_interval(start, end, rules=resource.rules, cal=cal, now=now, is_staff=is_staff)
            rules.check_can_book(resource.rules, role=member.role, member_tags=member.tag_set, archived=False,
                                 blocked_periods=[(b.starts_at, b.ends_at) for b in blocks],
                                 starts_at=start, ends_at=end)
        except FabriqueError as exc:
            plan.occurrences.append(Occurrence(start, end, "invalid", exc.error_code, exc.translated_message()))
            continue
        until_ = held_until(resource, end)
        window = full_window(start, until_, [h for h in held if h[0] < until_ and h[2] > start], resource.capacity)
        if window is not None:
            plan.occurrences.append(Occurrence(start, end, "conflict", BookingConflict.code,
                                               BookingConflict(starts_at=window[0], ends_at=window[1]).translated_message(),
                                               conflict=window))
            continue
        plan.occurrences.append(Occurrence(start, end, "free"))
    # Priced in order, each taking the member's credits the previous ones left (as booking them will).
    units = [rules.units_for(o.starts_at, o.ends_at, unit=resource.unit, cal=cal) for o in plan.free]
    needs = [credits.need_of(space, resource, o.starts_at, n) for o, n in zip(plan.free, units, strict=True)]
    choices = (await usage.preview_many(session, account_id=member.account_id, needs=needs) if price_kind is None
               else [credits.priced_only(n) for n in units])
    kind = price_kind or await price_kind_of(session, space, member, is_staff=is_staff)
    for o, choice in zip(plan.free, choices, strict=True):
        o.price_cents = make_quote(space, resource, o.starts_at, o.ends_at, cal, price_kind=kind,
                                   choice=choice).price_cents
    return plan


async def book_series(
    session: AsyncSession,
    *,
    space: Space,
    resource: Resource,
    member: SpaceMember,
    account: Account,
    actor: Account,
    starts_at: datetime,
    ends_at: datetime,
    until: date | None = None,
    count: int | None = None,
    on_conflict: str = "fail",
    is_staff: bool = False,
    price_kind: PriceKind | None = None,
) -> tuple[BookingSeries, list[Booking], SeriesPlan]:
    """Book the weekly occurrences: all or nothing (``on_conflict="fail"``) or the free ones
    (``"skip"``). Raises ``SeriesConflict`` listing the occurrences that cannot be booked."""
    plan = await plan_series(session, space=space, resource=resource, member=member, starts_at=starts_at,
                             ends_at=ends_at, until=until, count=count, is_staff=is_staff,
                             price_kind=price_kind)
    if not plan.free:
        raise SeriesConflict(occurrences=plan.taken, none_free=True)
    if on_conflict == "fail" and plan.taken:
        raise SeriesConflict(occurrences=plan.taken)
    series = BookingSeries(resource_id=resource.id, account_id=account.id, booked_by_id=actor.id,
                           starts_at=plan.occurrences[0].starts_at, ends_at=plan.occurrences[0].ends_at,
                           until=until, count=count)
    session.add(series)
    await session.flush()
    bookings = [
        await book(session, space=space, resource=resource, member=member, account=account, actor=actor,
                   starts_at=o.starts_at, ends_at=o.ends_at, is_staff=is_staff, series_id=series.id,
                   notify_member=False, price_kind=price_kind)
        for o in plan.free
    ]
    log_action(session, "booking.series_created", space_id=space.id, actor_id=actor.id, obj=series,
               resource_id=resource.id, booked=len(bookings), skipped=len(plan.taken))
    notify.series_confirmed(session, space, resource, bookings, account, skipped=plan.taken)
    return series, bookings, plan
