"""The space's booking calendar: weekly opening hours, closures and the half-day boundary.

``load_calendar`` turns the rows into the pure ``SpaceCalendar`` the rules engine works with. A
space that never saved its hours gets DEFAULT_HOURS (Monday to Friday, 9:00–18:00), so a new space
can take bookings the day it opens; once saved, the rows are the truth (even "closed every day").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, time

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.audit.service import audit_labels, log_action
from app.booking import rules
from app.booking.errors import N_
from app.booking.models import BookingSettings, Closure, OpeningHours
from app.core import db
from app.core.clock import now
from app.core.errors import NotFound, ValidationFailed
from app.core.i18n import _l
from app.core.tenancy import require_scope
from app.core.text import check_length, clean_text, column_limit, require_one_line
from app.space.models import Space

# What the audit page calls the actions logged here.
audit_labels({
    "booking.hours_changed": _l("Opening hours changed"),
    "booking.closure_added": _l("Closure added"),
    "booking.closure_removed": _l("Closure removed"),
})

DEFAULT_HOURS: dict[int, tuple[tuple[time, time], ...]] = {d: ((time(9), time(18)),) for d in range(5)}
DEFAULT_BOUNDARY = time(13, 0)


async def get_settings_row(session: AsyncSession) -> BookingSettings | None:
    require_scope(session)
    return (await session.exec(select(BookingSettings))).first()


async def weekly_hours(session: AsyncSession) -> dict[int, tuple[tuple[time, time], ...]]:
    """Weekday → opening intervals, falling back to DEFAULT_HOURS for a space that never saved any."""
    require_scope(session)
    rows = (await session.exec(select(OpeningHours).order_by(OpeningHours.weekday, OpeningHours.opens))).all()
    if not rows and await get_settings_row(session) is None:
        return dict(DEFAULT_HOURS)
    days: dict[int, list[tuple[time, time]]] = {}
    for row in rows:
        days.setdefault(row.weekday, []).append((row.opens, row.closes))
    return {d: tuple(v) for d, v in days.items()}


async def list_closures(session: AsyncSession, *, since: date | None = None) -> list[Closure]:
    require_scope(session)
    stmt = select(Closure)
    if since is not None:
        stmt = stmt.where(Closure.end_date >= since)
    return list((await session.exec(stmt.order_by(Closure.start_date))).all())


async def load_calendar(session: AsyncSession, space: Space) -> rules.SpaceCalendar:
    """The space's calendar for the rules engine (from the space's booking snapshot: no query
    unless a manager changed something since this process last looked)."""
    from app.booking.snapshot import snapshot_of

    return (await snapshot_of(session, space)).calendar


async def _settings_for_update(session: AsyncSession) -> BookingSettings:
    """The space's settings row, locked until the transaction ends (created on first use): the lock
    that serialises two managers saving the hours at once, so the second replaces the first's
    hours instead of adding its own to them."""
    require_scope(session)

    async def locked() -> BookingSettings | None:
        return (await session.exec(select(BookingSettings).with_for_update())).first()

    settings = await locked()
    if settings is not None:
        return settings
    created: BookingSettings = await db.insert_or_existing(
        session, BookingSettings(half_day_boundary=DEFAULT_BOUNDARY), locked)
    return created


async def save_hours(
    session: AsyncSession,
    space: Space,
    actor: Account,
    *,
    days: Mapping[int, Iterable[tuple[time, time]]],
    half_day_boundary: time | None = None,
) -> rules.SpaceCalendar:
    """Replace the weekly hours (weekday → intervals; a missing weekday is closed)."""
    try:
        opening = rules.OpeningHours({d: tuple(v) for d, v in days.items()})
    except ValueError as exc:
        raise ValidationFailed(N_("These opening hours are not valid: each interval must close after it opens "
                                  "and intervals must not overlap."), code="invalid_opening_hours") from exc
    settings = await _settings_for_update(session)  # first: it is the lock on the space's hours
    await session.exec(delete(OpeningHours).where(col(OpeningHours.space_id) == space.id))
    for weekday, intervals in opening.days.items():
        for opens, closes in intervals:
            session.add(OpeningHours(weekday=weekday, opens=opens, closes=closes))
    if half_day_boundary is not None:
        settings.half_day_boundary = half_day_boundary
    settings.updated_at = now()
    await session.flush()
    log_action(session, "booking.hours_changed", space_id=space.id, actor_id=actor.id, obj=settings)
    return await load_calendar(session, space)


async def add_closure(
    session: AsyncSession, space: Space, actor: Account, *, start_date: date, end_date: date | None, label: str
) -> Closure:
    end_date = end_date or start_date
    if end_date < start_date:
        message = N_("A closure must end on or after its first day.")
        raise ValidationFailed(message, code="invalid_closure", fields={"end_date": message})
    closure = Closure(start_date=start_date, end_date=end_date, label=check_length(
        clean_text(require_one_line(label, "label")), "label", column_limit(Closure, "label")))
    session.add(closure)
    await session.flush()
    log_action(session, "booking.closure_added", space_id=space.id, actor_id=actor.id, obj=closure,
               start=start_date.isoformat(), end=end_date.isoformat(), label=closure.label)
    return closure


async def get_closure(session: AsyncSession, closure_id: int) -> Closure:
    require_scope(session)
    closure = (await session.exec(select(Closure).where(Closure.id == closure_id))).first()
    if closure is None:
        raise NotFound()
    return closure


async def remove_closure(session: AsyncSession, space: Space, actor: Account, closure: Closure) -> None:
    await session.delete(closure)
    await session.flush()
    log_action(session, "booking.closure_removed", space_id=space.id, actor_id=actor.id, obj=closure,
               start=closure.start_date.isoformat(), label=closure.label)
