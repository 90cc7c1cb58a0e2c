"""The task decorator: a job opens its own session (tenant-scoped when given ``space_id``),
runs, and commits once — the same edge as a request. Jobs take ids, never objects.

Delivery is at least once (the outbox relay and arq's retries may hand a job over twice), so a
job handed over from the outbox (``outbox_id=``) claims its row first and has its effect once:
in its own transaction for a job with a session (the claim commits with the effect), around the
call for one without (``session=False``: the row is held for ``jobs.CLAIM_LEASE``, marked done
after, released when the call fails). Cron jobs write one outbox row per scheduled period
(``cron_trigger``); their fan-out writes one row per job, space and period (``jobs.enqueue_once``).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from app.core import clock, db, i18n, jobs

if TYPE_CHECKING:
    from arq.cron import CronJob
    from arq.typing import WorkerCoroutine

log = logging.getLogger("fabrique.jobs")

TaskFn = Callable[..., Awaitable[Any]]


def _wrap(name: str, fn: TaskFn, with_session: bool) -> WorkerCoroutine:
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        outbox_id = kwargs.pop("outbox_id", None)  # None: a job queued before the outbox existed
        space_id = kwargs.pop("space_id", None)
        locale = kwargs.pop("locale", None)
        with i18n.use_locale(locale):
            if not with_session:
                if outbox_id is None:
                    return await fn(ctx, *args, **kwargs)
                if not await jobs.claim(outbox_id):
                    log.info("job %s %s already done or running; skipped", name, outbox_id)
                    return None
                try:
                    result = await fn(ctx, *args, **kwargs)
                except BaseException:
                    await jobs.release(outbox_id)
                    raise
                await jobs.finish(outbox_id)
                return result
            async with db.transaction(space_id=space_id) as session:
                if outbox_id is not None and not await jobs.claim_in(session, outbox_id):
                    log.info("job %s %s already done; skipped", name, outbox_id)
                    return None
                return await fn(session, *args, **kwargs)

    run.__name__ = run.__qualname__ = name.replace(".", "_")
    run.__doc__ = fn.__doc__
    run.__wrapped__ = fn  # type: ignore[attr-defined]
    return run


TASKS: dict[str, WorkerCoroutine] = {}

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
    """Register ``fn(session, period)`` as a task run on a schedule (arq ``cron`` keywords: hour,
    minute, ...). ``period`` is the scheduled minute (aware UTC): the fan-out keys the jobs it
    writes with it (``jobs.enqueue_once``), so a period resumed after a crash writes no job twice."""

    def decorator(fn: TaskFn) -> TaskFn:
        t = task(name)(fn)
        CRON_SPECS.append({"name": name, **schedule})
        return t

    return decorator


CRON_SUFFIX = "@cron"  # arq names a cron job like a function: the trigger must not shadow the task


def _scheduled_at(ctx: dict[str, Any]) -> datetime:
    """The minute arq scheduled this cron run for (its job id ends with it, in ms), else now."""
    job_id = str(ctx.get("job_id") or "")
    stamp = job_id.rsplit(":", 1)[-1]
    at = datetime.fromtimestamp(int(stamp) / 1000, UTC) if stamp.isdecimal() else clock.now()
    return at.replace(second=0, microsecond=0)


def cron_trigger(name: str) -> TaskFn:
    """What the scheduler (arq's cron, or the in-process runner's) runs: one outbox row for the
    task and its period, written once however many schedulers fire; the task itself then runs
    from the outbox like any job, and the relay resumes it if it dies."""

    async def trigger(ctx: dict[str, Any]) -> bool:
        period = ctx["period"] if "period" in ctx else _scheduled_at(ctx)
        async with db.transaction() as session:
            return await jobs.enqueue_once(session, f"cron:{name}:{period:%Y-%m-%dT%H:%MZ}", name, period)

    trigger.__name__ = trigger.__qualname__ = name.replace(".", "_") + "_cron"
    return trigger


def load_tasks() -> dict[str, WorkerCoroutine]:
    from app.core.discovery import domain_modules

    for module in TASK_MODULES:
        importlib.import_module(module)
    domain_modules("tasks")
    return TASKS


def cron_jobs() -> list[CronJob]:
    """arq CronJobs for every @cron_task (the arq worker and the in-process runner use the same)."""
    from arq.cron import cron

    # A trigger takes the context only, and arq calls a cron job with nothing else.
    return [cron(cast("WorkerCoroutine", cron_trigger(s["name"])), name=s["name"] + CRON_SUFFIX,
                 **{k: v for k, v in s.items() if k != "name"}) for s in CRON_SPECS]
