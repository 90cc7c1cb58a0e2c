"""What PostgreSQL and SQLite spell alike but SQLAlchemy builds per dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite


def insert_ignoring_conflict(session: Any, table: Any, values: dict[str, Any],
                             *, on: list[str]) -> postgresql.Insert | sqlite.Insert:
    """``INSERT … ON CONFLICT (on) DO NOTHING`` in the session's dialect: a "first time" row that a
    concurrent transaction may have written first (add ``.returning(...)`` to learn which)."""
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    return insert(table).values(**values).on_conflict_do_nothing(index_elements=on)
