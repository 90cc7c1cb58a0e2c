"""The in-process job runner of the embedded default (no Redis).

It has arq's ``enqueue_job`` signature and runs the same task functions as the arq worker, in
the web process, after the request's commit. Cron jobs are driven with arq's own schedule
calculation. Failures are logged and retried a few times, like arq would.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.cron import CronJob

from workers.task import CRON_SPECS, TASKS, cron_jobs, load_tasks

log = logging.getLogger("fabrique.jobs")

MAX_TRIES = 3


class InlineQueue:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()
        self._pending_ids: set[str] = set()
        self._cron_task: asyncio.Task | None = None
        self.failures: list[tuple[str, BaseException]] = []
        self.counters: dict[str, int] = {}  # app.core.jobs change counters: this process is the only one
        load_tasks()

    async def publish(self, jobs: list[Any], counters: set[str]) -> None:
        for key in counters:
            self.counters[key] = self.counters.get(key, 0) + 1
        for job in jobs:
            await self.enqueue_job(job.name, *job.args, **job.kwargs)

    async def read_counter(self, key: str) -> int:
        return self.counters.get(key, 0)

    async def enqueue_job(
        self,
        function: str,
        *args: Any,
        _job_id: str | None = None,
        _defer_by: float | timedelta | None = None,
        _defer_until: datetime | None = None,
        **kwargs: Any,
    ) -> str | None:
        if function not in TASKS:
            raise LookupError(f"unknown task {function!r}")
        if _job_id is not None:
            if _job_id in self._pending_ids:
                return None
            self._pending_ids.add(_job_id)
        delay = 0.0
        if isinstance(_defer_by, timedelta):
            delay = _defer_by.total_seconds()
        elif _defer_by:
            delay = float(_defer_by)
        if _defer_until is not None:
            delay = max(delay, (_defer_until - datetime.now(UTC)).total_seconds())
        t = asyncio.create_task(self._run(function, args, kwargs, delay, _job_id))
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)
        return _job_id or function

    async def _run(self, function: str, args: tuple, kwargs: dict, delay: float, job_id: str | None) -> None:
        try:
            if delay > 0:
                await asyncio.sleep(delay)
            for attempt in range(1, MAX_TRIES + 1):
                try:
                    await TASKS[function]({"job_try": attempt}, *args, **kwargs)
                    return
                except Exception as exc:  # a job failure must never take the web process down
                    if attempt == MAX_TRIES:
                        log.exception("job %s failed after %s tries", function, attempt)
                        self.failures.append((function, exc))
                    else:
                        await asyncio.sleep(0.05 * attempt)
        finally:
            if job_id is not None:
                self._pending_ids.discard(job_id)

    async def drain(self, timeout: float = 30) -> None:  # noqa: ASYNC109
        """Wait until every queued job (and any job they enqueue) has finished. For tests and the CLI."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._tasks:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError("jobs still running")
            await asyncio.wait(set(self._tasks), timeout=remaining)

    def cron_jobs(self) -> list[CronJob]:
        return cron_jobs()

    def start_cron(self) -> None:
        if self._cron_task is None and CRON_SPECS:
            self._cron_task = asyncio.create_task(self._cron_loop())

    async def _cron_loop(self) -> None:
        jobs = self.cron_jobs()
        now = datetime.now(UTC)
        for job in jobs:
            job.calculate_next(now)
        while True:
            soonest = min(job.next_run for job in jobs)
            await asyncio.sleep(max(0.0, (soonest - datetime.now(UTC)).total_seconds()))
            now = datetime.now(UTC)
            for job in jobs:
                if job.next_run <= now:
                    await self.enqueue_job(job.name, _job_id=f"cron:{job.name}:{job.next_run.isoformat()}")
                    job.calculate_next(job.next_run + timedelta(seconds=1))

    async def close(self) -> None:
        if self._cron_task is not None:
            self._cron_task.cancel()
            self._cron_task = None
        await self.drain()



_default: InlineQueue | None = None


def default_queue() -> InlineQueue:
    global _default
    if _default is None:
        _default = InlineQueue()
    return _default
