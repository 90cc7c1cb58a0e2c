"""``Idempotency-Key``: a retried request returns the first response and creates nothing new.

The key is claimed *before* the work, by inserting its row: a concurrent retry with the same key
then waits on the unique index (PostgreSQL) or on the write lock (SQLite) until the first request
commits, and replays its response. A request that fails leaves no row (its transaction rolls
back), so retrying it runs it again. Keys are per space and per account.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.clock import now
from app.core.errors import ValidationFailed
from app.core.i18n import N_
from app.core.tenancy import SpaceScoped, require_scope, set_scope

REPLAY_HEADER = "Idempotent-Replayed"


class IdempotencyKey(SpaceScoped, table=True):
    """The first successful response to a request sent with an ``Idempotency-Key`` header."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("space_id", "account_id", "key", name="uq_idempotency_key"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", ondelete="CASCADE")
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)
    status_code: int
    response: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=now)


class IdempotencyKeyReused(ValidationFailed):
    code = "idempotency_key_reused"
    message = N_("This Idempotency-Key was already used for a different request.")


def request_hash(payload: Any) -> str:
    body = json.dumps(jsonable_encoder(payload), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def _replay(record: IdempotencyKey, digest: str) -> JSONResponse:
    if record.request_hash != digest:
        raise IdempotencyKeyReused()
    return JSONResponse(record.response, status_code=record.status_code, headers={REPLAY_HEADER: "true"})


async def _find(session: AsyncSession, account_id: int, key: str) -> IdempotencyKey | None:
    require_scope(session)
    stmt = select(IdempotencyKey).where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
    return (await session.exec(stmt)).first()


async def claim(
    session: AsyncSession, account_id: int, key: str | None, kind: str, payload: Any
) -> IdempotencyKey | JSONResponse | None:
    """The row to fill with the response (``remember``), the stored response to send back as is,
    or None when the request carries no key. ``kind`` keeps one key from serving two endpoints."""
    if not key:
        return None
    digest = request_hash([kind, payload])
    existing = await _find(session, account_id, key)
    if existing is not None:
        return _replay(existing, digest)
    record = IdempotencyKey(space_id=require_scope(session), account_id=account_id, key=key, request_hash=digest, status_code=0, response={})
    session.add(record)
    try:
        await session.flush()
    except IntegrityError:
        # A concurrent request with this key committed first. Our transaction is spoilt (PostgreSQL):
        # end it and read the winner's response in a fresh one.
        space_id = record.space_id
        await session.rollback()
        set_scope(session, space_id)
        winner = await _find(session, account_id, key)
        await session.rollback()
        if winner is None:
            raise
        return _replay(winner, digest)
    return record


def remember(record: IdempotencyKey | None, status_code: int, body: Any) -> Any:
    """Store the response a retry will get (nothing without a key); returns ``body``."""
    if record is not None:
        record.status_code = status_code
        record.response = jsonable_encoder(body)
    return body
