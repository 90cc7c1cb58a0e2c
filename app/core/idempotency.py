"""``Idempotency-Key``: a retried request returns the first response and creates nothing new.

The key is claimed *before* the work, by inserting its row: a concurrent retry with the same key
then waits on the unique index (PostgreSQL) or on the write lock (SQLite) until the first request
ends. If the first committed, the retry replays its response (same status, same body, header
``Idempotent-Replayed: true``); it never answers 409 "in progress", because it cannot see the
first request before that one has finished. If the first failed, it left no row (its transaction
rolled back), so the retry runs the request again. Keys are per space and per account. The INSERT
runs in a savepoint: losing the race on PostgreSQL must not roll back (and expire) what the request
had already loaded — that was the 500 answered to concurrent retries.
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
from app.core.tenancy import SpaceScoped, require_scope

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
    try:
        # A savepoint: losing the race spoils only the INSERT, not the request's transaction, so
        # nothing this request loaded before (its account, its space) is expired and re-read.
        async with session.begin_nested():
            session.add(record)
            await session.flush()
    except IntegrityError:
        # A concurrent request with this key committed first: PostgreSQL held our INSERT on the
        # unique index until it did, and a new statement (READ COMMITTED) sees its row.
        winner = await _find(session, account_id, key)
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
