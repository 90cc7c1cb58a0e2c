"""The task decorator: a job opens its own session (tenant-scoped when given ``space_id``),
runs, and commits once — the same edge as a request. Jobs take ids, never objects, and must be
idempotent: arq may run a job twice.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from app.core import db, i18n

log = logging.getLogger("fabrique.jobs")

TaskFn = Callable[..., Awaitable[Any]]


@dataclass
class Task:
    name: str
    fn: TaskFn
    with_session: bool

    async def __call__(self, ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        space_id = kwargs.pop("space_id", None)
        locale = kwargs.pop("locale", None)
        with i18n.use_locale(locale):
            if not self.with_session:
                return await self.fn(ctx, *args, **kwargs)
            async with db.transaction(space_id=space_id) as session:
                return await self.fn(session, *args, **kwargs)


TASKS: dict[str, Task] = {}

# Modules that define tasks; importing them fills TASKS. Domains' tasks.py are found by convention.
TASK_MODULES = ["app.core.mail_tasks"]

CRON_SPECS: list[dict[str, Any]] = []


def task(name: str, *, session: bool = True) -> Callable[[TaskFn], Task]:
    """Register ``fn(session, *args)`` (or ``fn(ctx, *args)`` with ``session=False``) as job ``name``."""

    def decorator(fn: TaskFn) -> Task:
        if name in TASKS:
            raise RuntimeError(f"task {name!r} registered twice")
        t = Task(name=name, fn=fn, with_session=session)
        TASKS[name] = t
        return t

    return decorator


def cron_task(name: str, **schedule: Any) -> Callable[[TaskFn], Task]:
    """Register a task and run it on a schedule (arq ``cron`` keywords: hour, minute, ...)."""

    def decorator(fn: TaskFn) -> Task:
        t = task(name)(fn)
        CRON_SPECS.append({"name": name, **schedule})
        return t

    return decorator


def load_tasks() -> dict[str, Task]:
    from app.core.discovery import domain_modules

    for module in TASK_MODULES:
        importlib.import_module(module)
    domain_modules("tasks")
    return TASKS
