"""The web process's connection to arq: ``connect(url)`` returns what ``app.core.jobs`` enqueues on.

arq's ``enqueue_job`` WATCHes the job's key and checks that neither the job nor its result exists
before MULTI/EXEC, so that a caller-chosen ``_job_id`` runs once: three round trips to Redis. A job
without ``_job_id`` gets a fresh uuid4 from arq, which cannot exist yet, so that check buys nothing
on the path every booking takes (its e-mail). ``FabriqueQueue`` enqueues such jobs in one
MULTI/EXEC, with arq's own key names and serialisation (``arq.jobs.serialize_job``): the worker
sees exactly what arq would have written. Everything else goes to arq unchanged.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from arq import ArqRedis, create_pool
from arq.constants import job_key_prefix
from arq.jobs import Job, serialize_job
from arq.utils import timestamp_ms

from workers.settings import redis_settings


class FabriqueQueue:
    """An ``ArqRedis`` pool with a one-round-trip ``enqueue_job`` for jobs arq names itself."""

    def __init__(self, pool: ArqRedis) -> None:
        self.pool = pool

    async def enqueue_job(self, function: str, *args: Any, **kwargs: Any) -> Job | None:
        if any(key.startswith("_") for key in kwargs):  # _job_id, _defer_by, _expires...: arq's rules
            return await self.pool.enqueue_job(function, *args, **kwargs)
        pool = self.pool
        job_id = uuid4().hex
        enqueued_ms = timestamp_ms()
        data = serialize_job(function, args, kwargs, None, enqueued_ms, serializer=pool.job_serializer)
        async with pool.pipeline(transaction=True) as pipe:
            pipe.psetex(job_key_prefix + job_id, pool.expires_extra_ms, data)
            pipe.zadd(pool.default_queue_name, {job_id: enqueued_ms})
            await pipe.execute()
        return Job(job_id, redis=pool, _queue_name=pool.default_queue_name, _deserializer=pool.job_deserializer)

    def __getattr__(self, name: str) -> Any:  # aclose, flushdb, queued_jobs...: the pool's own
        return getattr(self.pool, name)


async def connect(url: str | None = None) -> FabriqueQueue:
    return FabriqueQueue(await create_pool(redis_settings(url)))
