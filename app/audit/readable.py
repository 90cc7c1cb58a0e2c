"""The activity log in words: each entry as a sentence with names and local times, never internal
codes, ids or UTC timestamps.

``app.audit`` imports no domain (every domain imports it), so each domain says, beside the code
that logs, how its data reads: ``audit_fields`` labels the keys it writes into an entry's data,
``audit_values`` the codes it stores as values, and ``@audit_names("resource_id", "resource")``
registers how to name its objects from their ids (a data key and/or an entry's object type), one
query per page for all the entries shown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.models import AuditEntry
from app.audit.service import action_label
from app.core import money
from app.core.i18n import _, _l, format_day, format_hour

Namer = Callable[[AsyncSession, set[int]], Awaitable[dict[int, str]]]

FIELD_LABELS: dict[str, Any] = {
    "reason": _l("Reason"), "name": _l("Name"), "title": _l("Title"), "label": _l("Label"),
    "starts_at": _l("Start"), "ends_at": _l("End"), "start": _l("From"), "end": _l("To"),
    "fields": _l("Changed"), "status": _l("Status"), "email": _l("E-mail address"),
    "amount_cents": _l("Amount"), "old": _l("Before"), "new": _l("After"), "role": _l("Role"),
}
VALUE_LABELS: dict[str, Any] = {}
_NAMERS: dict[str, Namer] = {}  # data key or object type → namer
_MONEY_KEYS = {"amount_cents"}
_ROLE_KEYS = {"role", "old", "new"}


def audit_fields(labels: dict[str, Any]) -> None:
    FIELD_LABELS.update(labels)


def audit_values(labels: dict[str, Any]) -> None:
    VALUE_LABELS.update(labels)


def audit_names(*keys: str) -> Callable[[Namer], Namer]:
    def register(namer: Namer) -> Namer:
        for key in keys:
            _NAMERS[key] = namer
        return namer
    return register


@dataclass
class ReadableEntry:
    when: str
    who: str
    what: str
    about: str | None = None
    details: list[tuple[str, str]] = field(default_factory=list)


def local_time(moment: datetime, tz: str) -> str:
    """"1 mars 2027, 09:00" / "Mar 1, 2027, 9:00 AM": the day and the minute, in the space's zone."""
    return f"{format_day(moment, tz, 'medium')}, {format_hour(moment, tz)}"


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _when(value: str, tz: str) -> str | None:
    try:
        if "T" in value:
            moment = datetime.fromisoformat(value)
            return local_time(moment, tz) if moment.tzinfo else None
        return format_day(date.fromisoformat(value), fmt="long")
    except ValueError:
        return None


def _value(key: str, value: Any, tz: str, currency: str, names: dict[str, dict[int, str]]) -> str:
    from app.core.permissions import role_label

    if key in _NAMERS:
        ident = _int(value)
        return names.get(key, {}).get(ident, "—") if ident is not None else "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if (key in _MONEY_KEYS or key.endswith("_cents")) and isinstance(value, int):
        return money.format_money(value, currency)
    if key in _ROLE_KEYS and isinstance(value, str):
        return str(role_label(value))
    if isinstance(value, str):
        when = _when(value, tz) if (key.endswith(("_at", "_on", "_until")) or key in ("start", "end", "on")) else None
        if when:
            return when
        if value in VALUE_LABELS:
            return str(VALUE_LABELS[value])
        if key == "fields":
            return ", ".join(str(FIELD_LABELS.get(f, f.replace("_", " "))) for f in value.split(",") if f)
        return value
    return "—" if value is None else str(value)


def field_label(key: str) -> str:
    return str(FIELD_LABELS.get(key, key.replace("_", " ").capitalize()))


async def readable(session: AsyncSession, entries: Iterable[AuditEntry], *, tz: str, currency: str,
                   actors: dict[int, str]) -> list[ReadableEntry]:
    """The entries as the audit page shows them, in the space's time zone and the reader's language."""
    entries = list(entries)
    wanted: dict[str, set[int]] = {}
    for e in entries:
        for key, value in e.data.items():
            if key in _NAMERS and _int(value) is not None:
                wanted.setdefault(key, set()).add(_int(value))
        if e.object_type in _NAMERS and _int(e.object_id) is not None:
            wanted.setdefault(e.object_type, set()).add(_int(e.object_id))
    names = {key: await _NAMERS[key](session, ids) for key, ids in wanted.items()}
    out = []
    for e in entries:
        about = names.get(e.object_type or "", {}).get(_int(e.object_id) or 0) if e.object_type else None
        details = [(field_label(k), text) for k, v in e.data.items() if v not in (None, "", False)
                   for text in [_value(k, v, tz, currency, names)] if text != about]
        out.append(ReadableEntry(
            when=local_time(e.created_at, tz),
            who=actors.get(e.actor_id or 0) or (_("Someone no longer in the space") if e.actor_id else _("Fabrique")),
            what=action_label(e.action), about=about, details=details,
        ))
    return out
