"""The in-process job runner of the embedded default (no Redis).

It has arq's ``enqueue_job`` signature and runs the same task functions as the arq worker, in
the web process, after the request's commit, one at a time in the order they were handed over. Cron jobs are driven with arq's own schedule
calculation (their trigger writes the period's outbox row). Failures are logged and retried a few
times, like arq would; a job that was never run to its end (the process stopped) is still pending
in the outbox, and the relay runs it when the process starts again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
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
        self._fifo: deque[tuple[str, tuple, dict, str | None]] = deque()
        self._consumer: asyncio.Task | None = None
        self._cron_task: asyncio.Task | None = None
        self.failures: list[tuple[str, BaseException]] = []
        self.counters: dict[str, int] = {}  # app.core.jobs change counters: this process is the only one
        load_tasks()

    async def publish(self, jobs: list[Any], counters: set[str]) -> None:
        for key in counters:
            self.counters[key] = self.counters.get(key, 0) + 1
        for job in jobs:
            await self.enqueue_job(job.name, *job.args, **job.queue_kwargs())

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
        item = (function, args, kwargs, _job_id)
        if delay > 0:
            self._start(self._later(item, delay))
        else:
            self._push(item)
        return _job_id or function

    def _start(self, coro: Any) -> None:
        t = asyncio.create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    def _push(self, item: tuple[str, tuple, dict, str | None]) -> None:
        # One job at a time, in the order they were handed over: a member's "you are on the waitlist"
        # is sent before their "a seat is yours", and jobs do not compete for SQLite's one writer.
        self._fifo.append(item)
        if self._consumer is None or self._consumer.done():
            self._consumer = asyncio.create_task(self._consume())
            self._tasks.add(self._consumer)
            self._consumer.add_done_callback(self._tasks.discard)

    async def _later(self, item: tuple[str, tuple, dict, str | None], delay: float) -> None:
        await asyncio.sleep(delay)
        self._push(item)

    async def _consume(self) -> None:
        while self._fifo:
            await self._run(*self._fifo.popleft())

    async def _run(self, function: str, args: tuple, kwargs: dict, job_id: str | None) -> None:
        try:
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
            soonest = min(_next_run(job) for job in jobs)
            await asyncio.sleep(max(0.0, (soonest - datetime.now(UTC)).total_seconds()))
            now = datetime.now(UTC)
            for job in jobs:
                next_run = _next_run(job)
                if next_run <= now:
                    period = next_run.replace(second=0, microsecond=0)
                    try:  # writes the period's outbox row, then hands it over to this queue
                        await job.coroutine({"period": period})
                    except Exception:  # the database away: this period is lost, the next one comes
                        log.exception("cron job %s of %s could not be written", job.name, period.isoformat())
                    job.calculate_next(next_run + timedelta(seconds=1))

    async def close(self) -> None:
        if self._cron_task is not None:
            self._cron_task.cancel()
            self._cron_task = None
        await self.drain()


def _next_run(job: CronJob) -> datetime:
    assert job.next_run is not None  # set by calculate_next(), called on every job before the loop
    return job.next_run


_default: InlineQueue | None = None


def default_queue() -> InlineQueue:
    global _default
    if _default is None:
        _default = InlineQueue()
    return _default
