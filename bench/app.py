"""The application under benchmark: Fabrique itself plus two bare endpoints to compare against.

The bare endpoints run in exactly the same configuration as the real ones — same middleware, same
``TxRoute`` transaction edge (one session per request, commit on success), same engine and pool —
so that the only difference is the work the endpoint does:

- ``POST /bench/insert`` — one INSERT into a small table (created by the bench script with raw SQL,
  not a migration) and the commit;
- ``GET /bench/select/{row_id}?space=ID`` — one SELECT of a resource by primary key, in a scoped
  session (the tenancy hook adds ``space_id = :scope`` like on every real query).

Neither authenticates: each is *one* statement, the ceiling the booking endpoints are measured
against.

A third, ``POST /bench/floor/{slug}``, is not a baseline of the issue but a yardstick for this design:
the round trips any create-booking must make here and nothing else — the same one-query token
lookup, the booking row and its audit row (two Core INSERTs, no rules, no ORM objects), the
confirmation e-mail queued after the commit (with the "bookings" change counter). How close the real
endpoint comes to it says what is left to gain in our code; the floor against the bare insert, what
the design itself costs. Serve with ``uvicorn bench.app:create_bench_app --factory``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import FastAPI, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, insert, text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.deps import bearer_token
from app.audit.models import AuditEntry
from app.booking.models import Booking
from app.core import jobs, security
from app.core.errors import NotFound
from app.core.tenancy import all_spaces, set_scope
from app.core.web import SessionDep, api_router, page_router, render
from app.main import create_app
from app.resource.models import Resource
from app.space.deps import _BY_TOKEN, SpaceView

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


class FloorBody(BaseModel):
    resource_id: int
    starts_at: datetime
    ends_at: datetime


@router.post("/floor/{slug}", status_code=201)
async def floor(slug: str, body: FloorBody, request: Request, session: SessionDep) -> dict[str, int]:
    raw = bearer_token(request)
    params = {"slug": slug, "token_hash": security.hash_token(raw or ""), "now": datetime.now(UTC)}
    row = (await session.exec(_BY_TOKEN, params=params)).first()  # type: ignore[call-overload]
    if row is None or row[2] is None or row[3] is None:
        raise NotFound()
    _token, account, space, _member = row
    set_scope(session, space.id)
    now = datetime.now(UTC)
    booking_id = (await session.execute(insert(Booking.__table__).values(  # type: ignore[attr-defined]
        space_id=space.id, resource_id=body.resource_id, account_id=account.id, booked_by_id=account.id,
        starts_at=body.starts_at, ends_at=body.ends_at, blocked_until=body.ends_at, exclusive=True,
        status="confirmed", source="member", title="", note="", price_cents=0, price_kind="member",
        currency="EUR", vat_rate_bp=0, cancel_reason="", late_cancel_charged=False, sequence=0,
        created_at=now, updated_at=now).returning(Booking.__table__.c.id))).scalar_one()  # type: ignore[attr-defined]
    await session.execute(insert(AuditEntry.__table__).values(  # type: ignore[attr-defined]
        space_id=space.id, actor_id=account.id, action="booking.created", object_type="booking",
        object_id=str(booking_id), data={"resource_id": body.resource_id}, created_at=now))
    jobs.enqueue(session, "email.send", account.email, "booking_confirmed", {"name": account.name}, "fr")
    return {"id": booking_id}


# -- below the floor: what would it take? (``python -m bench.floor``) ---------------------------------
# The booking row and its audit row in one statement (PostgreSQL: DML in a CTE), then the same with
# the token lookup left out (no authentication: not a product option, a measure of its cost), then
# without the e-mail job either.

_BOOKING_AND_AUDIT = text("""
WITH b AS (
  INSERT INTO booking (space_id, resource_id, account_id, booked_by_id, starts_at, ends_at, blocked_until,
    "exclusive", status, source, title, note, price_cents, price_kind, currency, vat_rate_bp, cancel_reason,
    late_cancel_charged, sequence, created_at, updated_at)
  VALUES (:space_id, :resource_id, :account_id, :account_id, :starts_at, :ends_at, :ends_at, true, 'confirmed',
    'member', '', '', 0, 'member', 'EUR', 0, '', false, 0, :now, :now) RETURNING id)
INSERT INTO audit_entry (space_id, actor_id, action, object_type, object_id, data, created_at)
SELECT :space_id, :account_id, 'booking.created', 'booking', b.id::text, '{}'::json, :now FROM b
RETURNING object_id
""")


async def _one_statement(session: AsyncSession, space_id: int, account_id: int, body: FloorBody) -> int:
    # Raw SQL is refused by the tenant guard unless lifted explicitly (app.core.tenancy): this
    # experiment names its space itself.
    with all_spaces(session):
        return int((await session.execute(_BOOKING_AND_AUDIT, {
            "space_id": space_id, "resource_id": body.resource_id, "account_id": account_id,
            "starts_at": body.starts_at, "ends_at": body.ends_at, "now": datetime.now(UTC)})).scalar_one())


@router.post("/floor-cte/{slug}", status_code=201)
async def floor_cte(slug: str, body: FloorBody, request: Request, session: SessionDep) -> dict[str, int]:
    params = {"slug": slug, "token_hash": security.hash_token(bearer_token(request) or ""), "now": datetime.now(UTC)}
    row = (await session.exec(_BY_TOKEN, params=params)).first()  # type: ignore[call-overload]
    if row is None or row[2] is None:
        raise NotFound()
    account, space = row[1], row[2]
    set_scope(session, space.id)
    booking_id = await _one_statement(session, space.id, account.id, body)
    jobs.enqueue(session, "email.send", account.email, "booking_confirmed", {"name": account.name}, "fr")
    return {"id": booking_id}


@router.post("/floor-cte-no-auth/{space_id}/{account_id}", status_code=201)
async def floor_cte_no_auth(space_id: int, account_id: int, body: FloorBody, session: SessionDep) -> dict[str, int]:
    booking_id = await _one_statement(session, space_id, account_id, body)
    jobs.enqueue(session, "email.send", "member@example.org", "booking_confirmed", {"name": "M"}, "fr")
    return {"id": booking_id}


@router.post("/floor-cte-no-auth-no-job/{space_id}/{account_id}", status_code=201)
async def floor_cte_bare(space_id: int, account_id: int, body: FloorBody, session: SessionDep) -> dict[str, int]:
    return {"id": await _one_statement(session, space_id, account_id, body)}


# -- the bare page (``python -m bench.pages``): what every logged-in page costs before its own work ---
# The session cookie resolved, the space and the membership checked (``space_access``, as every
# space page does), the layout rendered with an empty content block, the CSRF cookie set. No query
# of its own: each real page is measured against it.
pages = page_router()


@pages.get("/bench/page/{slug}")
async def bare_page(request: Request, ctx: SpaceView) -> Response:
    return render(request, "layouts/base.html", {"ctx": ctx})


def create_bench_app() -> FastAPI:
    app = create_app()
    app.include_router(router)
    app.include_router(pages)
    return app
