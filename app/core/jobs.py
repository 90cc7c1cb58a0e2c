"""Jobs enqueued during a transaction are sent only after it commits.

Services call ``enqueue(session, "email.send", ...)``; the edge calls ``dispatch(session)`` after
its commit. A rolled-back transaction sends nothing. The queue is arq on Redis when
``FABRIQUE_REDIS_URL`` is set, otherwise the in-process runner in ``workers.inline``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

BUFFER_KEY = "pending_jobs"


@dataclass
class PendingJob:
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


class Queue(Protocol):
    async def enqueue_job(self, function: str, *args: Any, **kwargs: Any) -> Any: ...


_queue: Queue | None = None


def set_queue(queue: Queue | None) -> None:
    global _queue
    _queue = queue


def get_queue() -> Queue | None:
    return _queue


def enqueue(session: Any, name: str, *args: Any, **kwargs: Any) -> None:
    """Buffer a job on the session's transaction (arq's ``_job_id``/``_defer_by`` pass through)."""
    session.info.setdefault(BUFFER_KEY, []).append(PendingJob(name, args, kwargs))


def discard(session: Any) -> None:
    session.info.pop(BUFFER_KEY, None)


async def dispatch(session: Any) -> None:
    pending: list[PendingJob] = session.info.pop(BUFFER_KEY, [])
    if not pending:
        return
    queue = _queue
    if queue is None:
        from workers.inline import default_queue

        queue = default_queue()
    for job in pending:
        await queue.enqueue_job(job.name, *job.args, **job.kwargs)
