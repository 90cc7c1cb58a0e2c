"""``log_action`` records every mutation: space, actor, action code, object, time."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.models import AuditEntry
from app.core.i18n import _l
from app.core.tenancy import all_spaces


def log_action(
    session: AsyncSession,
    action: str,
    *,
    space_id: int | None = None,
    actor_id: int | None = None,
    obj: Any = None,
    object_type: str | None = None,
    object_id: Any = None,
    **data: Any,
) -> AuditEntry:
    """Record an action. ``space_id=None`` records an account-level entry, of no space: it is
    written with the tenant guard lifted for this row alone; any other entry goes through the guard
    (another space's entry in a space's scope raises)."""
    if obj is not None:
        object_type = object_type or getattr(obj, "__tablename__", type(obj).__name__.lower())
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    entry = AuditEntry(
        space_id=space_id, actor_id=actor_id, action=action, object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        data={k: v if isinstance(v, (str, int, float, bool, type(None))) else str(v) for k, v in data.items()},
    )
    if space_id is None:
        with all_spaces(session):
            session.add(entry)
    else:
        session.add(entry)
    return entry


async def list_space_entries(
    session: AsyncSession, *, limit: int = 50, offset: int = 0
) -> tuple[list[AuditEntry], int]:
    """The entries of the session's space, newest first (the tenant guard does the filtering)."""
    base = select(AuditEntry)
    total = (await session.exec(select(func.count()).select_from(base.subquery()))).one()
    rows = await session.exec(
        base.order_by(col(AuditEntry.created_at).desc(), col(AuditEntry.id).desc()).offset(offset).limit(limit)
    )
    return list(rows.all()), total


# Human labels for action codes, shown on the audit page.
ACTION_LABELS = {
    "space.created": _l("Space created"),
    "space.updated": _l("Space settings changed"),
    "space.suspended": _l("Space suspended"),
    "space.reactivated": _l("Space reactivated"),
    "member.invited": _l("Person invited"),
    "member.joined": _l("Invitation accepted"),
    "member.role_changed": _l("Role changed"),
    "member.tags_changed": _l("Member tags changed"),
    "calendar.feed_created": _l("Calendar feed link created"),
    "calendar.feed_revoked": _l("Calendar feed link revoked"),
    "calendar.source_added": _l("Outside calendar added"),
    "calendar.source_removed": _l("Outside calendar removed"),
    "calendar.caldav_saved": _l("Writing bookings to a CalDAV calendar set up"),
    "calendar.caldav_removed": _l("Writing bookings to CalDAV stopped"),
    "member.removed": _l("Person removed"),
    "invitation.revoked": _l("Invitation revoked"),
    "account.created": _l("Account created"),
    "account.password_changed": _l("Password changed"),
    "account.password_reset": _l("Password reset"),
    "account.email_verified": _l("E-mail address verified"),
    "token.created": _l("Access token created"),
    "token.revoked": _l("Access token revoked"),
    "resource.created": _l("Resource created"),
    "resource.updated": _l("Resource changed"),
    "resource.archived": _l("Resource archived"),
    "resource.restored": _l("Resource restored"),
    "resource.blocked": _l("Resource blocked"),
    "resource.unblocked": _l("Resource block removed"),
    "booking.created": _l("Booking made"),
    "booking.cancelled": _l("Booking cancelled"),
    "booking.moved": _l("Booking moved"),
    "booking.series_created": _l("Weekly booking made"),
    "booking.hours_changed": _l("Opening hours changed"),
    "booking.closure_added": _l("Closure added"),
    "booking.closure_removed": _l("Closure removed"),
}


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action
