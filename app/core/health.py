from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import literal
from sqlmodel import select

from app.config import get_settings
from app.core import db, jobs

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz() -> JSONResponse:
    """503 when the database does not answer: nothing can be served. The job queue (Redis, when
    configured, and the outbox) is reported but keeps the process ready: while it is away requests
    still commit and their jobs wait in the outbox, so taking the process out of rotation would turn
    late e-mails into an outage. ``"status": "degraded"`` and ``checks.queue`` say it is behind."""
    checks: dict[str, Any] = {}
    token = db.set_write_intent(False)  # a probe must never queue behind SQLite writers
    try:
        async with db.sessionmaker()() as session:
            await session.exec(select(literal(1)))  # no table: nothing for the tenant guard to scope
            checks["database"] = "ok"
            late, failed = await jobs.backlog(session)
    except Exception as exc:  # report, never raise: this is what load balancers poll
        checks["database"] = f"error: {type(exc).__name__}"
        late = failed = 0
    finally:
        db._write_intent.reset(token)
    queue_ok = True
    url = get_settings().redis_url
    if url:
        try:
            from redis.asyncio import Redis

            client = Redis.from_url(url, socket_connect_timeout=2)
            try:
                await client.ping()
            finally:
                await client.aclose()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
            queue_ok = False
    failing = jobs.hand_over_failing()
    if late or failed or failing:
        queue_ok = False
        checks["queue"] = {"status": "behind", "late_jobs": late, "failed_jobs": failed,
                           "hand_over_error": failing,
                           "late_after_seconds": get_settings().outbox_behind_seconds}
    else:
        checks["queue"] = "ok"
    if checks["database"] != "ok":
        return JSONResponse({"status": "unavailable", "checks": checks}, status_code=503)
    return JSONResponse({"status": "ok" if queue_ok else "degraded", "checks": checks}, status_code=200)
