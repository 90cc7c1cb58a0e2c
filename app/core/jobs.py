"""Jobs enqueued during a transaction are sent only after it commits, and so are change counters.

Services call ``enqueue(session, "email.send", ...)``; the edge calls ``dispatch(session)`` after
its commit. A rolled-back transaction sends nothing. The queue is arq on Redis when
``FABRIQUE_REDIS_URL`` is set, otherwise the in-process runner in ``workers.inline``.

Change counters say "this space's bookings changed" to per-process caches in every web process:
``touch(session, "bookings", space_id)`` (done for you by ``app.core.tenancy.space_counter``
models) is published with the jobs, after the commit; ``await counter("bookings", space_id)``
reads it. They live where the queue lives — Redis (one round trip with the jobs), or the process
itself in the embedded mode, which is one process. A cache keyed by a counter read *before* its
data is never served once a later commit is published; ``None`` means no counter can be read
(a queue without counters): do not cache.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("fabrique.jobs")

BUFFER_KEY = "pending_jobs"
TOUCH_KEY = "pending_touches"


@dataclass
class PendingJob:
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


class Queue(Protocol):
    """arq's ``enqueue_job``. The two queues of the project (``workers.queue``, ``workers.inline``)
    also have ``publish(jobs, counters)`` and ``read_counter(key)``; a queue without them (a test's)
    gets its jobs one by one and keeps no counters."""

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


def touch(session: Any, name: str, space_id: int) -> None:
    """Bump the space's ``name`` counter once this transaction commits."""
    session.info.setdefault(TOUCH_KEY, set()).add(counter_key(name, space_id))


def counter_key(name: str, space_id: int) -> str:
    return f"fabrique:changes:{name}:{space_id}"


async def counter(name: str, space_id: int) -> int | None:
    queue = _current_queue()
    read = getattr(queue, "read_counter", None)
    if read is None:
        return None
    try:
        return await read(counter_key(name, space_id))
    except Exception:  # Redis away: answer uncached rather than fail the request
        log.warning("change counter %s of space %s unreadable; not caching", name, space_id, exc_info=True)
        return None


def discard(session: Any) -> None:
    session.info.pop(BUFFER_KEY, None)
    session.info.pop(TOUCH_KEY, None)


def _current_queue() -> Queue:
    if _queue is not None:
        return _queue
    from workers.inline import default_queue

    return default_queue()


async def dispatch(session: Any) -> None:
    pending: list[PendingJob] = session.info.pop(BUFFER_KEY, [])
    touched: set[str] = session.info.pop(TOUCH_KEY, set())
    if not pending and not touched:
        return
    queue = _current_queue()
    publish = getattr(queue, "publish", None)
    if publish is not None:
        await publish(pending, touched)
        return
    for job in pending:
        await queue.enqueue_job(job.name, *job.args, **job.kwargs)
