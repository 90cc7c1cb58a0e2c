"""The application under benchmark: Fabrique itself plus two bare endpoints to compare against.

The bare endpoints run in exactly the same configuration as the real ones — same middleware, same
``TxRoute`` transaction edge (one session per request, commit on success), same engine and pool —
so that the only difference is the work the endpoint does:

- ``POST /bench/insert`` — one INSERT into a small table (created by the bench script with raw SQL,
  not a migration) and the commit;
- ``GET /bench/select/{row_id}?space=ID`` — one SELECT of a resource by primary key, in a scoped
  session (the tenancy hook adds ``space_id = :scope`` like on every real query).

Neither authenticates: each is *one* statement, the ceiling the booking endpoints are measured
against. Serve with ``uvicorn bench.app:create_bench_app --factory``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import FastAPI, Query
from pydantic import BaseModel, Field
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, insert
from sqlmodel import select

from app.core.errors import NotFound
from app.core.tenancy import set_scope
from app.core.web import SessionDep, api_router
from app.main import create_app
from app.resource.models import Resource

# Deliberately not on SQLModel.metadata: the bench table is no part of the schema (no migration,
# no drift in `alembic check`).
bench_metadata = MetaData()
bench_insert = Table(
    "bench_insert", bench_metadata,
    Column("id", Integer, primary_key=True),
    Column("payload", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
CREATE_TABLE_SQL = (
    "CREATE TABLE IF NOT EXISTS bench_insert ("
    "id serial PRIMARY KEY, payload varchar(200) NOT NULL, created_at timestamptz NOT NULL)"
)

router = api_router(prefix="/bench", tags=["bench"], include_in_schema=False)


class InsertBody(BaseModel):
    payload: str = Field(max_length=200)


@router.post("/insert", status_code=201)
async def bare_insert(body: InsertBody, session: SessionDep) -> dict[str, int]:
    result = await session.execute(
        insert(bench_insert).values(payload=body.payload, created_at=datetime.now(UTC)).returning(bench_insert.c.id)
    )
    return {"id": result.scalar_one()}


@router.get("/select/{row_id}")
async def bare_select(row_id: int, space: Annotated[int, Query(ge=1)], session: SessionDep) -> Resource:
    set_scope(session, space)
    found = (await session.exec(select(Resource).where(Resource.id == row_id))).first()
    if found is None:
        raise NotFound()
    return found


def create_bench_app() -> FastAPI:
    app = create_app()
    app.include_router(router)
    return app
