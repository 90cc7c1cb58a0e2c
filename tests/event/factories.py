"""Plain helpers that create events and registrations, each in its own committed transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event as sa_event

from app.account.models import Account, ApiToken
from app.core import clock, db, security
from app.core.permissions import Role
from app.event import registration as registrations
from app.event import service
from app.event.inputs import EventInput
from app.event.models import Event, Registration
from app.space.models import Space, SpaceMember


def soon(days: int = 7, hour: int = 18) -> datetime:
    base = clock.now().astimezone(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    return base + timedelta(days=days)


async def create_event(space: Space, actor: Account, *, publish: bool = True, repeat_weeks: int | None = None,
                       **fields: Any) -> Event:
    starts_at = fields.pop("starts_at", None) or soon()
    values = {"title": "Atelier réparation", "starts_at": starts_at,
              "ends_at": fields.pop("ends_at", None) or starts_at + timedelta(hours=2),
              "place": "Grande salle", "capacity": 10} | fields
    async with db.transaction(space_id=space.id) as session:
        events = await service.create_event(session, space, actor, EventInput(**values), publish=publish,
                                            repeat_weeks=repeat_weeks)
    return events[0]


async def register(space: Space, event: Event, account: Account) -> Registration:
    async with db.transaction(space_id=space.id) as session:
        return await registrations.register_member(session, space, event, account)


async def many_members(space: Space, n: int, prefix: str = "crowd") -> list[tuple[Account, str]]:
    """n members with API tokens, created directly (no password hashing: it is slow on purpose)."""
    out = []
    async with db.transaction(space_id=space.id) as session:
        for i in range(n):
            account = Account(name=f"{prefix} {i:03d}", email=f"{prefix}-{i:03d}-{space.id}@example.org",
                              email_verified_at=clock.now())
            session.add(account)
            await session.flush()
            session.add(SpaceMember(account_id=account.id, role=Role.member))
            raw = security.new_token("fab_")
            session.add(ApiToken(account_id=account.id, name="t", prefix=raw[:10], token_hash=security.hash_token(raw)))
            out.append((account, raw))
    return out


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements sent to the database meanwhile (to check a page's query count)."""
    seen: list[str] = []
    engine = db.get_engine().sync_engine

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    sa_event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)
