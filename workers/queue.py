"""The web process's connection to arq: ``connect(url)`` returns what ``app.core.jobs`` enqueues on.

arq's ``enqueue_job`` WATCHes the job's key and checks that neither the job nor its result exists
before MULTI/EXEC, so that a caller-chosen ``_job_id`` runs once: three round trips to Redis. A job
without ``_job_id`` gets a fresh uuid4 from arq, which cannot exist yet, so that check buys nothing
on the path every booking takes (its e-mail). ``FabriqueQueue`` enqueues such jobs in one
MULTI/EXEC, with arq's own key names and serialisation (``arq.jobs.serialize_job``): the worker
sees exactly what arq would have written. Everything else goes to arq unchanged.

It also keeps the change counters of ``app.core.jobs`` (Redis INCR, in the same MULTI/EXEC as the
transaction's jobs) and reads them (GET).
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from arq import ArqRedis, create_pool
from arq.constants import job_key_prefix
from arq.jobs import Job, serialize_job
from arq.utils import timestamp_ms

from app.core.jobs import PendingJob
from workers.settings import redis_settings


class FabriqueQueue:
    """An ``ArqRedis`` pool with a one-round-trip ``enqueue_job`` for jobs arq names itself."""

    def __init__(self, pool: ArqRedis) -> None:
        self.pool = pool

    async def enqueue_job(self, function: str, *args: Any, **kwargs: Any) -> Job | None:
        if any(key.startswith("_") for key in kwargs):  # _job_id, _defer_by, _expires...: arq's rules
            return await self.pool.enqueue_job(function, *args, **kwargs)
        pool = self.pool
        async with pool.pipeline(transaction=True) as pipe:
            job_id = self._add(pipe, function, args, kwargs)
            await pipe.execute()
        return Job(job_id, redis=pool, _queue_name=pool.default_queue_name, _deserializer=pool.job_deserializer)

    async def publish(self, jobs: list[PendingJob], counters: set[str]) -> None:
        """A committed transaction's jobs and counters: one round trip for the common case."""
        pool = self.pool
        chosen = [j for j in jobs if any(key.startswith("_") for key in j.kwargs)]
        plain = [j for j in jobs if j not in chosen]
        if plain or counters:
            async with pool.pipeline(transaction=True) as pipe:
                for job in plain:
                    self._add(pipe, job.name, job.args, job.kwargs)
                for key in sorted(counters):
                    pipe.incr(key)
                await pipe.execute()
        for job in chosen:
            await pool.enqueue_job(job.name, *job.args, **job.kwargs)

    async def read_counter(self, key: str) -> int:
        value = await self.pool.get(key)
        return int(value) if value is not None else 0

    def _add(self, pipe: Any, function: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        pool = self.pool
        job_id = uuid4().hex
        enqueued_ms = timestamp_ms()
        data = serialize_job(function, args, kwargs, None, enqueued_ms, serializer=pool.job_serializer)
        pipe.psetex(job_key_prefix + job_id, pool.expires_extra_ms, data)
        pipe.zadd(pool.default_queue_name, {job_id: enqueued_ms})
        return job_id

    def __getattr__(self, name: str) -> Any:  # aclose, flushdb, queued_jobs...: the pool's own
        return getattr(self.pool, name)


async def connect(url: str | None = None) -> FabriqueQueue:
    return FabriqueQueue(await create_pool(redis_settings(url)))
