"""arq ``WorkerSettings`` for ``fabrique worker`` (production: Redis)."""

from __future__ import annotations

from typing import Any

from arq.connections import RedisSettings
from arq.cron import cron

from app.config import get_settings
from app.core import db
from workers.task import CRON_SPECS, TASKS, load_tasks

load_tasks()


async def startup(ctx: dict[str, Any]) -> None:
    db.init_engine()


async def shutdown(ctx: dict[str, Any]) -> None:
    await db.dispose_engine()


def _arq_function(name: str) -> Any:
    from arq.worker import func

    return func(TASKS[name], name=name)


def redis_settings(url: str | None = None) -> RedisSettings:
    url = url or get_settings().redis_url
    if not url:
        raise RuntimeError("FABRIQUE_REDIS_URL is not set: the arq worker needs Redis")
    return RedisSettings.from_dsn(url)


def build_worker_settings(url: str | None = None) -> dict[str, Any]:
    return {
        "functions": [_arq_function(name) for name in TASKS],
        "cron_jobs": [
            cron(TASKS[s["name"]], name=s["name"], **{k: v for k, v in s.items() if k != "name"})
            for s in CRON_SPECS
        ],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": redis_settings(url),
        "max_tries": 5,
        "keep_result": 3600,
    }


class WorkerSettings:
    functions = [_arq_function(name) for name in TASKS]
    cron_jobs = [
        cron(TASKS[s["name"]], name=s["name"], **{k: v for k, v in s.items() if k != "name"}) for s in CRON_SPECS
    ]
    on_startup = startup
    on_shutdown = shutdown
    max_tries = 5

    @classmethod
    def redis(cls) -> RedisSettings:
        return redis_settings()
