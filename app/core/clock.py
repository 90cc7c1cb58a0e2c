"""The one source of "now". Tests freeze or move it; nothing else calls datetime.now()."""

from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen if _frozen is not None else datetime.now(UTC)


def freeze(at: datetime | None) -> None:
    """Freeze the clock at an aware instant (``None`` releases it). For tests and the demo loader."""
    global _frozen
    if at is not None and at.tzinfo is None:
        raise ValueError("the clock only holds aware datetimes")
    _frozen = at.astimezone(UTC) if at is not None else None


def aware(value: datetime | str) -> datetime:
    """A stored instant as aware UTC: SQLite gives aggregates (``max``…) back as text, and a
    timestamp read without its zone as naive UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
