from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.config import get_settings
from app.core import db

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz() -> JSONResponse:
    """The database (and Redis when configured) answer."""
    checks: dict[str, str] = {}
    token = db.set_write_intent(False)  # a probe must never queue behind SQLite writers
    try:
        async with db.get_engine().connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # report, never raise: this is what load balancers poll
        checks["database"] = f"error: {type(exc).__name__}"
    finally:
        db._write_intent.reset(token)
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
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)
