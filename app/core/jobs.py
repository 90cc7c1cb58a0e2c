"""Jobs are written to an outbox table in the transaction that causes them, handed to the queue
after its commit, and relayed again if that hand-over never happened. Change counters go with them.

Services call ``enqueue(session, "email.send", ...)``: it adds a ``JobOutbox`` row to the session,
so the job is INSERTed in the same flush as the booking that causes it, and commits or rolls back
with it. The edge calls ``dispatch(session)`` after its commit: the job goes to arq (job id
``outbox:<outbox id>``) when ``FABRIQUE_REDIS_URL`` is set, otherwise to the in-process runner in
``workers.inline``. A hand-over that fails (Redis away) is logged, never raised: the request has
committed, the job waits in the outbox, and ``relay()`` hands it over later — at start-up,
every ``outbox_relay_seconds``, and so as soon as the queue answers again.

Delivery is at least once, so a job knows its outbox id (``outbox_id=``, popped by the task
wrapper in ``workers.task``) and claims its row before its effect: ``claim_in`` for a job that
runs in a transaction (the claim commits with the effect), ``claim`` / ``finish`` / ``release``
for one that talks to the outside world (an e-mail). A job handed over twice has its effect once.
Nothing after the request's commit writes to the outbox: the job itself records that it ran.

Scheduled work goes through the same table: ``enqueue_once(session, key, ...)`` writes a row only
if none has that key yet (one row per cron job and period, one per job, space and period in a
fan-out), so a run that died half-way is resumed by the relay, and a period is never run twice.

Change counters say "this space's bookings changed" to per-process caches in every web process:
``touch(session, "bookings", space_id)`` (done for you by ``app.core.tenancy.space_counter``
models) is published with the jobs, after the commit; ``await counter("bookings", space_id)``
reads it. They live where the queue lives — Redis (one round trip with the jobs), or the process
itself in the embedded mode, which is one process. A cache keyed by a counter read *before* its
data is never served once a later commit is published; ``None`` means no counter can be read
(a queue without counters): do not cache. Counters that could not be published (Redis away) are
published by the next relay.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from uuid import uuid4

from sqlalchemy import Column, Index, LargeBinary, Table, delete, func, or_, update
from sqlmodel import Field, SQLModel, select

from app.core import clock
from app.core.dialect import insert_ignoring_conflict

if TYPE_CHECKING:
    pass

log = logging.getLogger("fabrique.jobs")

BUFFER_KEY = "pending_jobs"
TOUCH_KEY = "pending_touches"

# A job that claimed its row and then vanished (its worker killed) may be run again after this.
CLAIM_LEASE = timedelta(minutes=15)
# The relay hands a job over again if it has still not run this long after its last hand-over
# (arq de-duplicates it meanwhile: the job id is the outbox id).
RELAY_AGAIN = timedelta(minutes=10)
# A job that failed this many runs stays in the outbox, not handed over again (see /readyz).
MAX_ATTEMPTS = 20
RELAY_BATCH = 500


class JobOutbox(SQLModel, table=True):
    """One job, written in the transaction that causes it. A platform table: ``space_id`` says
    whose job it is (no foreign key: a space's deletion must not wait on, or erase, its jobs)."""

    __tablename__ = "job_outbox"
    __table_args__ = (Index("ix_job_outbox_pending", "done_at", "created_at"),)

    id: str = Field(primary_key=True, max_length=32)  # drawn by the process: no RETURNING needed
    name: str = Field(max_length=64)
    space_id: int | None = None
    key: str | None = Field(default=None, max_length=200, unique=True)  # scheduled work: one per period
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # pickled (args, kwargs), as arq
    run_at: datetime | None = None  # deferred (``_defer_by`` / ``_defer_until``)
    created_at: datetime = Field(default_factory=clock.now)
    relayed_at: datetime | None = None
    claimed_until: datetime | None = None
    attempts: int = 0
    done_at: datetime | None = None


# Core statements (no ORM synchronisation) name the table itself: the metadata's entry is the Table
# SQLAlchemy mapped the model to (``JobOutbox.__table__``, which SQLModel's typing does not declare).
_T: Table = JobOutbox.metadata.tables["job_outbox"]


@dataclass
class PendingJob:
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    outbox_id: str | None = None
    run_at: datetime | None = None

    @property
    def job_id(self) -> str | None:
        return f"outbox:{self.outbox_id}" if self.outbox_id else None

    def queue_kwargs(self) -> dict[str, Any]:
        """What ``enqueue_job`` receives besides the arguments: the job's keywords, its outbox id
        (for the task wrapper) and arq's options."""
        kwargs = dict(self.kwargs)
        if self.outbox_id is not None:
            kwargs["outbox_id"] = self.outbox_id
            kwargs["_job_id"] = self.job_id
        if self.run_at is not None:
            kwargs["_defer_until"] = self.run_at
        return kwargs


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


# -- writing ------------------------------------------------------------------------------------

def _new_row(name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
             key: str | None = None) -> tuple[JobOutbox, PendingJob]:
    kwargs.pop("_job_id", None)  # the outbox id is the job id
    defer_by = kwargs.pop("_defer_by", None)
    run_at: datetime | None = kwargs.pop("_defer_until", None)
    if defer_by:
        run_at = clock.now() + (defer_by if isinstance(defer_by, timedelta) else timedelta(seconds=defer_by))
    if any(k.startswith("_") for k in kwargs):
        raise TypeError(f"job {name!r}: unsupported queue option(s) {sorted(k for k in kwargs if k.startswith('_'))}")
    outbox_id = uuid4().hex
    job = PendingJob(name, args, kwargs, outbox_id, run_at)
    space_id = kwargs.get("space_id")
    row = JobOutbox(id=outbox_id, name=name, space_id=space_id if isinstance(space_id, int) else None,
                    key=key, payload=pickle.dumps((args, kwargs)), run_at=run_at, created_at=clock.now())
    return row, job


def enqueue(session: Any, name: str, *args: Any, **kwargs: Any) -> None:
    """Write job ``name`` in the session's transaction; it is handed over after the commit.

    ``space_id=`` scopes the job's transaction, ``locale=`` its language; ``_defer_by`` /
    ``_defer_until`` delay it (arq's options). ``_job_id`` is ignored: the outbox id is the job id.
    """
    row, job = _new_row(name, args, dict(kwargs))
    session.add(row)  # INSERTed with the transaction's next flush (at the latest, its commit)
    session.info.setdefault(BUFFER_KEY, []).append(job)


async def enqueue_once(session: Any, key: str, name: str, *args: Any, **kwargs: Any) -> bool:
    """Like ``enqueue``, unless a job with ``key`` was ever written (and not purged): False then.

    For scheduled work: ``cron:<job>:<period>``, ``<job>:<space>:<period>``. The INSERT is sent now
    (ON CONFLICT DO NOTHING), so two processes writing the same key write one row.
    """
    row, job = _new_row(name, args, dict(kwargs), key=key)
    values = {c.name: getattr(row, c.name) for c in _T.columns}
    stmt = insert_ignoring_conflict(session, _T, values, on=["key"]).returning(_T.c.id)
    inserted = (await session.exec(stmt)).first() is not None
    if inserted:
        session.info.setdefault(BUFFER_KEY, []).append(job)
    return inserted


def touch(session: Any, name: str, space_id: int) -> None:
    """Bump the space's ``name`` counter once this transaction commits."""
    session.info.setdefault(TOUCH_KEY, set()).add(counter_key(name, space_id))


def counter_key(name: str, space_id: int) -> str:
    return f"fabrique:changes:{name}:{space_id}"


async def counter(name: str, space_id: int) -> int | None:
    queue = _current_queue()
    read: Callable[[str], Awaitable[int]] | None = getattr(queue, "read_counter", None)
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


# -- handing over -------------------------------------------------------------------------------

@dataclass
class _Health:
    failing_since: datetime | None = None
    last_error: str | None = None
    unpublished: set[str] = field(default_factory=set)  # change counters a failed hand-over missed


_health = _Health()


async def dispatch(session: Any) -> None:
    """Hand the committed transaction's jobs and counters over. Never raises for the queue."""
    pending: list[PendingJob] = session.info.pop(BUFFER_KEY, [])
    touched: set[str] = session.info.pop(TOUCH_KEY, set())
    if not pending and not touched:
        return
    await hand_over(pending, touched)


async def hand_over(pending: list[PendingJob], touched: set[str]) -> bool:
    """Give jobs (and counters) to the queue; False, with a warning logged, if it could not."""
    queue = _current_queue()
    counters = touched | _health.unpublished
    try:
        publish = getattr(queue, "publish", None)
        if publish is not None:
            await publish(pending, counters)
        else:
            for job in pending:
                await queue.enqueue_job(job.name, *job.args, **job.queue_kwargs())
    except Exception as exc:  # the transaction has committed: the caller must still get its answer
        _health.unpublished |= touched
        if _health.failing_since is None:
            _health.failing_since = clock.now()
        _health.last_error = type(exc).__name__
        # The exception's type only: a connection error's text may carry the Redis URL (a password).
        log.warning("job queue unreachable (%s): %d job(s) wait in the outbox for the relay",
                    type(exc).__name__, len(pending))
        return False
    _health.unpublished -= counters
    if _health.failing_since is not None:
        log.warning("job queue reachable again after failing since %s", _health.failing_since.isoformat())
        _health.failing_since = None
        _health.last_error = None
    return True


def _pending_from(row: JobOutbox) -> PendingJob:
    args, kwargs = pickle.loads(row.payload)  # noqa: S301  (written by enqueue(), as arq's own pickles)
    return PendingJob(row.name, tuple(args), dict(kwargs), row.id, row.run_at)


async def relay(*, older_than: float | None = None, limit: int = RELAY_BATCH) -> int:
    """Hand over the jobs still pending: not done, not claimed by a running job, written at least
    ``older_than`` seconds ago (default ``outbox_relay_after_seconds``: the request hands its
    own over) and not handed over by a relay in the last ``RELAY_AGAIN``. Returns how many went.

    Several processes may relay at once: PostgreSQL skips the rows another relay has locked
    (``FOR UPDATE SKIP LOCKED``); SQLite's single writer (``BEGIN IMMEDIATE``) serialises them.
    """
    from app.config import get_settings
    from app.core import db

    now = clock.now()
    after = get_settings().outbox_relay_after_seconds if older_than is None else older_than
    due = (_T.c.done_at.is_(None), _T.c.attempts < MAX_ATTEMPTS,
           _T.c.created_at <= now - timedelta(seconds=after),
           or_(_T.c.claimed_until.is_(None), _T.c.claimed_until < now),
           or_(_T.c.relayed_at.is_(None), _T.c.relayed_at < now - RELAY_AGAIN))
    # A read first, so that an idle relay never takes SQLite's write lock.
    async with db.transaction(write=False) as session:
        if (await session.exec(select(_T.c.id).where(*due).limit(1))).first() is None:
            if _health.unpublished:
                await hand_over([], set())
            return 0
    async with db.transaction() as session:
        rows = (await session.exec(
            select(JobOutbox).where(*due).order_by(_T.c.created_at).limit(limit)
            .with_for_update(skip_locked=True)
        )).all()
        if not rows:
            return 0
        if not await hand_over([_pending_from(row) for row in rows], set()):
            return 0
        await session.exec(update(_T).where(_T.c.id.in_([r.id for r in rows]))
                              .values(relayed_at=now))
    log.info("relay handed over %d pending job(s)", len(rows))
    return len(rows)


async def purge(*, now: datetime | None = None) -> int:
    """Delete the jobs done more than ``outbox_retention_days`` ago. Pending jobs are never purged."""
    from app.config import get_settings
    from app.core import db

    cutoff = (now or clock.now()) - timedelta(days=get_settings().outbox_retention_days)
    async with db.transaction() as session:
        result = await session.exec(delete(_T).where(
            _T.c.done_at.is_not(None), _T.c.done_at < cutoff))
    return int(result.rowcount or 0)


async def relay_loop(every: float) -> None:  # noqa: ASYNC109
    """The relay, every ``every`` seconds, and the purge once an hour, until cancelled."""
    last_purge: datetime | None = None
    while True:
        await asyncio.sleep(every)
        try:
            await relay()
            await warn_if_behind()
            if last_purge is None or clock.now() - last_purge > timedelta(hours=1):
                last_purge = clock.now()
                if purged := await purge():
                    log.info("purged %d done job(s) from the outbox", purged)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database away: try again next time, never end the loop
            log.warning("outbox relay failed; retrying in %ss", every, exc_info=True)


async def start_relay() -> asyncio.Task[None] | None:
    """At a process's start: hand over every job still pending (a crash between a commit and its
    hand-over, a queue away), then keep relaying every ``outbox_relay_seconds`` (0: not)."""
    from app.config import get_settings
    from app.core import db

    try:
        if not get_settings().redis_url:
            # The embedded mode is one process, and it has just started: a job it had claimed
            # died with it and can run at once, not after its lease.
            async with db.transaction() as session:
                await session.exec(update(_T).where(_T.c.done_at.is_(None), _T.c.claimed_until.is_not(None))
                                   .values(claimed_until=None))
        await relay(older_than=0)
    except Exception:  # the process must start even if the database or the queue is not there yet
        log.warning("outbox relay at start-up failed; the periodic relay will retry", exc_info=True)
    every = get_settings().outbox_relay_seconds
    return asyncio.create_task(relay_loop(every)) if every > 0 else None


async def stop_relay(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass


# -- running: each job claims its row -----------------------------------------------------------

async def claim_in(session: Any, outbox_id: str) -> bool:
    """In the job's own transaction: mark the job done, if no run has done it yet. The mark
    commits with the job's effect, or rolls back with it; a second run waits for the first
    (the row's lock) and then finds it done."""
    result = await session.exec(update(_T).where(
        _T.c.id == outbox_id, _T.c.done_at.is_(None),
    ).values(done_at=clock.now(), attempts=_T.c.attempts + 1, claimed_until=None))
    return bool(result.rowcount)


async def claim(outbox_id: str) -> bool:
    """Before an effect outside the database (an e-mail): take the job for ``CLAIM_LEASE``, in a
    transaction of its own, unless it is done or another run holds it. False: do nothing."""
    from app.core import db

    # One claim at a time in this process, first come first served (asyncio.Lock is fair): jobs
    # reach their effect in the order the queue started them, as they did before they had a claim
    # to wait for — a member's "booking confirmed" is written before its "booking moved".
    async with _claim_order():
        now = clock.now()
        async with db.transaction() as session:
            result = await session.exec(update(_T).where(
                _T.c.id == outbox_id, _T.c.done_at.is_(None),
                or_(_T.c.claimed_until.is_(None), _T.c.claimed_until < now),
            ).values(claimed_until=now + CLAIM_LEASE, attempts=_T.c.attempts + 1))
    return bool(result.rowcount)


_claim_locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}


def _claim_order() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _claim_locks.get(loop)
    if lock is None:
        _claim_locks.clear()  # a lock belongs to one event loop (tests start several)
        lock = _claim_locks[loop] = asyncio.Lock()
    return lock


async def finish(outbox_id: str) -> None:
    from app.core import db

    async with db.transaction() as session:
        await session.exec(update(_T).where(_T.c.id == outbox_id)
                              .values(done_at=clock.now(), claimed_until=None))


async def release(outbox_id: str) -> None:
    """The run failed: let a retry (arq's, or the relay's) claim the job again."""
    from app.core import db

    async with db.transaction() as session:
        await session.exec(update(_T).where(_T.c.id == outbox_id, _T.c.done_at.is_(None))
                              .values(claimed_until=None))


# -- readiness ----------------------------------------------------------------------------------

async def backlog(session: Any) -> tuple[int, int]:
    """(jobs pending for longer than ``outbox_behind_seconds`` past their time — written, or deferred
    to — and jobs given up after MAX_ATTEMPTS)."""
    from app.config import get_settings

    cutoff = clock.now() - timedelta(seconds=get_settings().outbox_behind_seconds)
    late = (await session.exec(select(func.count()).select_from(JobOutbox).where(
        _T.c.done_at.is_(None), _T.c.created_at < cutoff, or_(_T.c.run_at.is_(None), _T.c.run_at < cutoff),
    ))).one()
    failed = (await session.exec(select(func.count()).select_from(JobOutbox).where(
        _T.c.done_at.is_(None), _T.c.attempts >= MAX_ATTEMPTS))).one()
    return int(late), int(failed)


def reset_health() -> None:
    """Forget failed hand-overs (tests: one test's dead queue must not make the next one's /readyz)."""
    global _health
    _health = _Health()


def hand_over_failing() -> str | None:
    """The error type of the failing hand-over, while the queue has not answered again."""
    return _health.last_error if _health.failing_since is not None else None


async def warn_if_behind() -> None:
    from app.core import db

    async with db.transaction(write=False) as session:
        late, failed = await backlog(session)
    if late:
        log.warning("job queue behind: %d job(s) pending in the outbox for too long (%d given up)", late, failed)
