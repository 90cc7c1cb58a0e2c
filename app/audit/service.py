"""``log_action`` records every mutation: space, actor, action code, object, time."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.models import AuditEntry
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


async def space_entries_page(session: AsyncSession, *, limit: int = 50, offset: int = 0) -> tuple[list[AuditEntry], bool]:
    """A page of the space's entries, newest first, and whether older ones follow — without counting
    them all (the log only grows: a count reads every entry the space ever wrote)."""
    rows = list((await session.exec(
        select(AuditEntry).order_by(col(AuditEntry.created_at).desc(), col(AuditEntry.id).desc())
        .offset(offset).limit(limit + 1))).all())
    return rows[:limit], len(rows) > limit


# Human labels for action codes, shown on the audit page. Each domain names the actions it logs,
# beside the code that logs them: ``audit_labels({"booking.created": _l("Booking made")})``.
ACTION_LABELS: dict[str, Any] = {}


def audit_labels(labels: dict[str, Any]) -> None:
    ACTION_LABELS.update(labels)


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action
