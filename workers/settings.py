"""arq ``WorkerSettings`` for ``fabrique worker`` (production: Redis)."""

from __future__ import annotations

from typing import Any

from arq.connections import RedisSettings

from app.config import get_settings
from app.core import db
from workers.task import TASKS, cron_jobs, load_tasks

load_tasks()


async def startup(ctx: dict[str, Any]) -> None:
    from app.core import jobs
    from workers.queue import FabriqueQueue

    db.init_engine()
    # Jobs a task enqueues, and the change counters its writes bump, go to this worker's Redis
    # (not to an in-process queue and counters that the web processes would never see).
    jobs.set_queue(FabriqueQueue(ctx["redis"]))
    # What the web processes committed but could not hand over is handed over now, then periodically.
    ctx["outbox_relay"] = await jobs.start_relay()


async def shutdown(ctx: dict[str, Any]) -> None:
    from app.core import jobs

    await jobs.stop_relay(ctx.pop("outbox_relay", None))
    jobs.set_queue(None)
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
    """Everything arq's Worker needs; ``fabrique worker`` and the tests both start from it."""
    return {
        "functions": [_arq_function(name) for name in TASKS],
        "cron_jobs": cron_jobs(),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": redis_settings(url),
        "max_tries": 5,
        "keep_result": 3600,
    }


def _redis_settings_or_default() -> RedisSettings:
    url = get_settings().redis_url
    return RedisSettings.from_dsn(url) if url else RedisSettings()


class WorkerSettings:
    """For ``arq workers.settings.WorkerSettings``; ``redis_settings`` comes from FABRIQUE_REDIS_URL."""

    functions = [_arq_function(name) for name in TASKS]
    cron_jobs = cron_jobs()
    on_startup = startup
    on_shutdown = shutdown
    max_tries = 5
    keep_result = 3600
    redis_settings = _redis_settings_or_default()
