"""The task decorator: a job opens its own session (tenant-scoped when given ``space_id``),
runs, and commits once — the same edge as a request. Jobs take ids, never objects, and must be
idempotent: arq may run a job twice.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from app.core import db, i18n

log = logging.getLogger("fabrique.jobs")

TaskFn = Callable[..., Awaitable[Any]]


def _wrap(name: str, fn: TaskFn, with_session: bool) -> TaskFn:
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        space_id = kwargs.pop("space_id", None)
        locale = kwargs.pop("locale", None)
        with i18n.use_locale(locale):
            if not with_session:
                return await fn(ctx, *args, **kwargs)
            async with db.transaction(space_id=space_id) as session:
                return await fn(session, *args, **kwargs)

    run.__name__ = run.__qualname__ = name.replace(".", "_")
    run.__doc__ = fn.__doc__
    run.__wrapped__ = fn  # type: ignore[attr-defined]
    return run


TASKS: dict[str, TaskFn] = {}

# Modules that define tasks; importing them fills TASKS. Domains' tasks.py are found by convention.
TASK_MODULES = ["app.core.mail_tasks"]

CRON_SPECS: list[dict[str, Any]] = []


def task(name: str, *, session: bool = True) -> Callable[[TaskFn], TaskFn]:
    """Register ``fn(session, *args)`` (or ``fn(ctx, *args)`` with ``session=False``) as job ``name``.

    The job opens its own transaction (scoped to ``space_id=`` when the caller passes one) and
    runs in ``locale=`` when given. The decorated function itself is returned unchanged, so it
    can be called directly in tests.
    """

    def decorator(fn: TaskFn) -> TaskFn:
        if name in TASKS:
            raise RuntimeError(f"task {name!r} registered twice")
        TASKS[name] = _wrap(name, fn, session)
        return fn

    return decorator


def cron_task(name: str, **schedule: Any) -> Callable[[TaskFn], TaskFn]:
    """Register a task and run it on a schedule (arq ``cron`` keywords: hour, minute, ...)."""

    def decorator(fn: TaskFn) -> TaskFn:
        t = task(name)(fn)
        CRON_SPECS.append({"name": name, **schedule})
        return t

    return decorator


def load_tasks() -> dict[str, TaskFn]:
    from app.core.discovery import domain_modules

    for module in TASK_MODULES:
        importlib.import_module(module)
    domain_modules("tasks")
    return TASKS


def cron_jobs() -> list[Any]:
    """arq CronJobs for every @cron_task (the arq worker and the in-process runner use the same)."""
    from arq.cron import cron

    return [cron(TASKS[s["name"]], name=s["name"], **{k: v for k, v in s.items() if k != "name"})
            for s in CRON_SPECS]
