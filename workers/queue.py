"""The web process's connection to arq: ``connect(url)`` returns what ``app.core.jobs`` enqueues on.

arq's ``enqueue_job`` WATCHes the job's key and checks that neither the job nor its result exists
before MULTI/EXEC, so that a caller-chosen ``_job_id`` runs once: three round trips to Redis.
A committed transaction's jobs come from the outbox, their job id derived from the outbox id, and
a second hand-over (the relay's) must be refused the same way: ``publish`` does arq's check and
write for all of them, and the change counters' INCR, in one Lua script — one round trip on the
path every booking takes (its e-mail) — with arq's own key names and serialisation
(``arq.jobs.serialize_job``): the worker sees exactly what arq would have written. A job enqueued
directly (``enqueue_job``) without ``_job_id`` goes in one MULTI/EXEC; anything else goes to arq
unchanged. ``read_counter`` reads a change counter (GET).
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import uuid4

from arq import ArqRedis, create_pool
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import Job, serialize_job
from arq.utils import timestamp_ms, to_unix_ms
from redis.exceptions import RedisError

from app.core.jobs import PendingJob
from workers.settings import redis_settings

log = logging.getLogger("fabrique.jobs")

# KEYS: the queue, then (job key, result key) per job, then the change counters.
# ARGV: the number of jobs, arq's expires_extra_ms, now in ms, then (job id, job, score) per job.
_PUBLISH = """
local n, extra, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 1, n do
  local job_key, result_key = KEYS[2 * i], KEYS[2 * i + 1]
  local id, data, score = ARGV[3 * i + 1], ARGV[3 * i + 2], tonumber(ARGV[3 * i + 3])
  if redis.call('EXISTS', job_key, result_key) == 0 then
    redis.call('PSETEX', job_key, score - now + extra, data)
    redis.call('ZADD', KEYS[1], score, id)
  end
end
for i = 2 * n + 2, #KEYS do redis.call('INCR', KEYS[i]) end
return n
"""


class FabriqueQueue:
    """An ``ArqRedis`` pool with a one-round-trip ``enqueue_job`` for jobs arq names itself."""

    def __init__(self, pool: ArqRedis) -> None:
        self.pool = pool
        self._publish: Any = None

    async def enqueue_job(self, function: str, *args: Any, **kwargs: Any) -> Job | None:
        if any(key.startswith("_") for key in kwargs):  # _job_id, _defer_by, _expires...: arq's rules
            return await self.pool.enqueue_job(function, *args, **kwargs)
        pool = self.pool
        async with pool.pipeline(transaction=True) as pipe:
            job_id = self._add(pipe, function, args, kwargs)
            await pipe.execute()
        return Job(job_id, redis=pool, _queue_name=pool.default_queue_name, _deserializer=pool.job_deserializer)

    async def publish(self, jobs: list[PendingJob], counters: set[str]) -> None:
        """A committed transaction's jobs and counters: one round trip (a Lua script).

        Each job's arq id is its outbox id; like arq's own ``enqueue_job``, a job whose key or
        result is still in Redis is not queued again (the relay and the request may both hand it
        over), but checked and written atomically in the script instead of WATCH/EXISTS/MULTI.
        """
        pool = self.pool
        if any(job.outbox_id is None for job in jobs):  # not from the outbox: arq's way
            for job in [j for j in jobs if j.outbox_id is None]:
                await self.enqueue_job(job.name, *job.args, **job.queue_kwargs())
            jobs = [j for j in jobs if j.outbox_id is not None]
        if not jobs and not counters:
            return
        now_ms = timestamp_ms()
        keys: list[str] = [pool.default_queue_name]
        argv: list[Any] = [len(jobs), pool.expires_extra_ms, now_ms]
        for job in jobs:
            job_id = job.job_id
            assert job_id is not None
            kwargs = {k: v for k, v in job.queue_kwargs().items() if not k.startswith("_")}
            score = max(now_ms, to_unix_ms(job.run_at)) if job.run_at is not None else now_ms
            keys += [job_key_prefix + job_id, result_key_prefix + job_id]
            argv += [job_id, serialize_job(job.name, job.args, kwargs, None, now_ms,
                                           serializer=pool.job_serializer), score]
        keys += sorted(counters)
        if self._publish is None:  # EVALSHA, and EVAL once when Redis does not know the script yet
            self._publish = pool.register_script(_PUBLISH)
        await self._publish(keys=keys, args=argv)
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
    """The queue on Redis. A web process starts even when Redis does not answer yet: its jobs wait
    in the outbox, and the relay hands them over once Redis answers."""
    settings = redis_settings(url)
    try:
        return FabriqueQueue(await create_pool(settings))
    except (OSError, RedisError) as exc:
        log.warning("Redis unreachable at start-up (%s): jobs wait in the outbox until it answers",
                    type(exc).__name__)
        return FabriqueQueue(ArqRedis(
            host=settings.host, port=settings.port, db=settings.database, username=settings.username,
            password=settings.password, ssl=settings.ssl, socket_connect_timeout=settings.conn_timeout,
        ))
