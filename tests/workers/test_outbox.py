"""The job outbox: a job is written with the change that causes it, handed over after the commit,
relayed when that failed or never happened, and has its effect once however often it is handed over."""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from app.config import get_settings
from app.core import clock, db, jobs
from app.core.jobs import JobOutbox
from tests.booking.factories import TOMORROW, create_room, freeze, iso, post_booking
from workers.task import TASKS, cron_trigger, task

needs_redis = pytest.mark.skipif(not os.environ.get("FABRIQUE_TEST_REDIS_URL"),
                                 reason="needs FABRIQUE_TEST_REDIS_URL (real Redis)")

RECORDED: list[tuple[str, object]] = []


async def _rows(**where) -> list[JobOutbox]:
    async with db.transaction(write=False) as session:
        stmt = select(JobOutbox).order_by(JobOutbox.created_at)
        for name, value in where.items():
            stmt = stmt.where(getattr(JobOutbox, name) == value)
        return list((await session.exec(stmt)).all())


def _dead_queue():
    """A queue pointed at a port where no Redis listens: every hand-over raises ConnectionError."""
    from arq import ArqRedis

    from workers.queue import FabriqueQueue

    return FabriqueQueue(ArqRedis(host="127.0.0.1", port=1, socket_connect_timeout=1))


@pytest.fixture(autouse=True)
async def _no_cron_ticks(app):
    """The in-process runner's cron (test.tick runs every minute) writes no row while a test counts."""
    queue = app.state.queue
    cron = getattr(queue, "_cron_task", None)
    if cron is not None:
        cron.cancel()
        queue._cron_task = None
    yield
    if cron is not None:
        queue.start_cron()


@pytest.fixture
def crash_before_hand_over(monkeypatch):
    """The web process dies between its commit and its hand-over: nothing reaches the queue."""
    handed: list[jobs.PendingJob] = []

    async def lost(pending, touched):
        handed.extend(pending)
        return True

    monkeypatch.setattr(jobs, "hand_over", lost)
    return handed


async def _book(world, api):
    room = await create_room(world.a.space)
    return await post_booking(api, world, resource_id=room.id, starts_at=iso(TOMORROW, 9), ends_at=iso(TOMORROW, 11))


async def test_a_booking_is_a_201_with_the_queue_unreachable_and_its_email_goes_once_the_queue_is_back(
    world, api, client, outbox, monkeypatch, caplog
):
    freeze()
    assert await outbox() == []  # the world's own jobs have run
    real = jobs.get_queue()
    monkeypatch.setattr(jobs, "_queue", _dead_queue())
    with caplog.at_level(logging.WARNING, logger="fabrique.jobs"):
        r = await _book(world, api)
    assert r.status_code == 201, r.text
    assert "job queue unreachable (ConnectionError): 1 job(s) wait in the outbox" in caplog.text
    assert "127.0.0.1:1" not in caplog.text
    [row] = await _rows(name="email.send")
    assert row.done_at is None

    ready = await client.get("/readyz")
    assert ready.status_code == 200  # the web process still serves: requests commit, jobs wait
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["queue"]["hand_over_error"] == "ConnectionError"

    monkeypatch.setattr(jobs, "_queue", real)  # Redis is back
    await jobs.relay(older_than=0)
    assert (await _rows(name="email.send"))[0].relayed_at is not None
    mails = await outbox()
    assert [m["To"] for m in mails] == [world.a.member.email]
    assert "Salle Lumière" in mails[0]["Subject"]
    assert (await _rows(name="email.send"))[0].done_at is not None
    assert (await client.get("/readyz")).json()["checks"]["queue"] == "ok"
    await jobs.relay(older_than=0)  # done: not handed over again
    assert len(await outbox()) == 1


async def test_a_job_committed_but_never_handed_over_runs_when_the_app_starts_again(
    app, world, api, outbox, crash_before_hand_over, monkeypatch
):
    freeze()
    r = await _book(world, api)
    assert r.status_code == 201, r.text
    assert [j.name for j in crash_before_hand_over] == ["email.send"]
    assert await outbox() == []  # the process died: nothing was queued
    monkeypatch.undo()

    from app.main import create_app

    restarted = create_app()
    try:
        async with restarted.router.lifespan_context(restarted):  # the start-up relay hands it over
            mails = await outbox()
    finally:
        jobs.set_queue(app.state.queue)  # the test session's app goes on
        if not get_settings().redis_url:
            app.state.queue.start_cron()
    assert [m["To"] for m in mails] == [world.a.member.email]


async def test_the_relay_and_the_request_both_handing_over_one_job_send_one_email(world, api, outbox, monkeypatch):
    freeze()
    assert await outbox() == []  # the world's own jobs have run
    real = jobs.get_queue()

    class Held:  # the request's hand-over, held back until the relay has handed the job over too
        def __init__(self):
            self.held: list[tuple[list, set]] = []

        async def publish(self, pending, counters):
            self.held.append((pending, counters))

        async def enqueue_job(self, *args, **kwargs):
            raise AssertionError("not used")

    held = Held()
    monkeypatch.setattr(jobs, "_queue", held)
    r = await _book(world, api)
    assert r.status_code == 201, r.text
    monkeypatch.setattr(jobs, "_queue", real)
    await jobs.relay(older_than=0)
    assert (await _rows(name="email.send"))[0].relayed_at is not None  # the relay handed it over
    [(pending, counters)] = held.held
    assert await jobs.hand_over(pending, counters)  # the request's own hand-over lands second
    mails = await outbox()
    assert [m["To"] for m in mails] == [world.a.member.email]

    # Handed over once more after it ran (an arq retry, a relay racing the worker): still one e-mail.
    assert await jobs.hand_over(pending, set())
    assert len(await outbox()) == 1


async def test_an_email_job_run_twice_at_once_or_one_after_the_other_sends_one_email(
    app, outbox, crash_before_hand_over
):
    from app.core.mail import queue_email

    async with db.transaction() as session:
        queue_email(session, "reader@example.org", "verify_email", {"name": "R", "url": "http://testserver/v"},
                    locale="en")
    [job] = crash_before_hand_over
    run = TASKS["email.send"]
    kwargs = {k: v for k, v in job.queue_kwargs().items() if not k.startswith("_")}
    results = await asyncio.gather(run({}, *job.args, **kwargs), run({}, *job.args, **kwargs))
    assert sorted(r is None for r in results) == [False, True]  # one sent, one skipped
    await run({}, *job.args, **kwargs)
    assert len(await outbox()) == 1
    [row] = await _rows()
    assert row.done_at is not None and row.claimed_until is None


async def test_a_failed_run_releases_its_job_for_the_retry(app, crash_before_hand_over, monkeypatch):
    from app.core import mail_tasks
    from app.core.mail import queue_email

    async with db.transaction() as session:
        queue_email(session, "reader@example.org", "verify_email", {"name": "R", "url": "http://testserver/v"},
                    locale="en")
    [job] = crash_before_hand_over
    kwargs = {k: v for k, v in job.queue_kwargs().items() if not k.startswith("_")}

    async def smtp_down(msg):
        raise ConnectionError("smtp away")

    monkeypatch.setattr(mail_tasks, "send_message", smtp_down)
    with pytest.raises(ConnectionError):
        await TASKS["email.send"]({}, *job.args, **kwargs)
    [row] = await _rows()
    assert row.done_at is None and row.claimed_until is None and row.attempts == 1
    monkeypatch.undo()
    assert await TASKS["email.send"]({}, *job.args, **kwargs) is not None  # the retry sends it


@task("test.outbox_record")
async def _record(session, value):
    RECORDED.append(("record", value))


@pytest.fixture
def record_task():
    RECORDED.clear()
    return TASKS["test.outbox_record"]


async def test_a_job_with_a_session_run_twice_has_its_effect_once(app, record_task, crash_before_hand_over):
    async with db.transaction() as session:
        jobs.enqueue(session, "test.outbox_record", 7)
    [job] = crash_before_hand_over
    kwargs = {k: v for k, v in job.queue_kwargs().items() if not k.startswith("_")}
    await asyncio.gather(record_task({}, *job.args, **kwargs), record_task({}, *job.args, **kwargs))
    await record_task({}, *job.args, **kwargs)
    assert RECORDED == [("record", 7)]
    [row] = await _rows()
    assert row.done_at is not None and row.attempts == 1


async def test_a_job_queued_before_the_outbox_existed_still_runs(app, record_task):
    await record_task({"job_try": 1}, 8)  # no outbox_id: as arq would run a job left in Redis
    await record_task({"job_try": 1}, 8)
    assert RECORDED == [("record", 8), ("record", 8)]


async def test_a_rolled_back_transaction_writes_no_job(app, record_task):
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            jobs.enqueue(session, "test.outbox_record", 9)
            await session.flush()
            raise RuntimeError("boom")
    assert await _rows() == []


async def test_two_relays_at_once_hand_each_pending_job_over_once(app, record_task, crash_before_hand_over, monkeypatch):
    async with db.transaction() as session:
        for value in range(6):
            jobs.enqueue(session, "test.outbox_record", value)
    monkeypatch.undo()
    handed: list[str] = []

    class Recording:
        async def publish(self, pending, counters):
            handed.extend(job.outbox_id for job in pending)

        async def enqueue_job(self, *args, **kwargs):
            raise AssertionError("not used")

    monkeypatch.setattr(jobs, "_queue", Recording())
    counts = await asyncio.gather(jobs.relay(older_than=0), jobs.relay(older_than=0), jobs.relay(older_than=0))
    assert sum(counts) == 6
    assert sorted(handed) == sorted(r.id for r in await _rows())
    assert await jobs.relay(older_than=0) == 0  # just handed over: not again before RELAY_AGAIN


async def test_a_cron_run_that_died_half_way_is_resumed_by_the_relay_and_sends_each_reminder_once(
    world, outbox, run_jobs, monkeypatch
):
    from app.event.models import Registration
    from tests.event.factories import create_event, register

    clock.freeze(datetime(2031, 3, 10, 12, 0, tzinfo=UTC))
    first = await create_event(world.a.space, world.a.animator, title="Repair café",
                               starts_at=datetime(2031, 3, 12, 17, 0, tzinfo=UTC))
    second = await create_event(world.a.space, world.a.animator, title="Atelier vélo",
                                starts_at=datetime(2031, 3, 12, 18, 0, tzinfo=UTC))
    await register(world.a.space, first, world.a.member)
    await register(world.a.space, second, world.a.manager)
    before = len(await outbox())
    crash_before_hand_over = []

    async def lost(pending, touched):  # from now on, the worker dies before handing anything over
        crash_before_hand_over.extend(pending)
        return True

    monkeypatch.setattr(jobs, "hand_over", lost)

    period = datetime(2031, 3, 11, 8, 5, tzinfo=UTC)  # 09:05 in Paris
    clock.freeze(period)
    trigger = cron_trigger("event.send_reminders")
    assert await trigger({"period": period}) is True
    assert await trigger({"period": period}) is False  # a second scheduler, same period: one row
    [fan_out] = await _rows(name="event.send_reminders")
    # The worker runs the fan-out, then one of its two reminders, and dies.
    await TASKS["event.send_reminders"]({}, period, outbox_id=fan_out.id)
    reminders = await _rows(name="event.remind")
    assert len(reminders) == 2 and all(r.key.endswith(":2031-03-11T08:05Z") for r in reminders)
    done_one = next(j for j in crash_before_hand_over if j.outbox_id == reminders[0].id)
    await TASKS["event.remind"]({}, *done_one.args, outbox_id=done_one.outbox_id, space_id=world.a.space.id)
    # Run again (arq's retry of the fan-out): it was done, nothing more is written.
    await TASKS["event.send_reminders"]({}, period, outbox_id=fan_out.id)
    assert len(await _rows(name="event.remind")) == 2

    monkeypatch.undo()  # the process starts again
    await jobs.relay(older_than=0)
    await run_jobs()
    mails = await outbox()
    assert sorted(m["To"] for m in mails[before:]) == sorted([world.a.member.email, world.a.manager.email])
    async with db.transaction(space_id=world.a.space.id) as session:
        regs = (await session.exec(select(Registration))).all()
        assert all(reg.reminded_at is not None for reg in regs)
    assert all(r.done_at is not None for r in await _rows())


async def test_done_jobs_are_purged_after_the_retention_and_pending_ones_never(app, record_task, crash_before_hand_over):
    clock.freeze(datetime(2030, 1, 1, tzinfo=UTC))
    async with db.transaction() as session:
        jobs.enqueue(session, "test.outbox_record", 1)
        jobs.enqueue(session, "test.outbox_record", 2)
    done, pending = crash_before_hand_over
    kwargs = {k: v for k, v in done.queue_kwargs().items() if not k.startswith("_")}
    await record_task({}, *done.args, **kwargs)
    retention = timedelta(days=get_settings().outbox_retention_days)
    assert await jobs.purge(now=datetime(2030, 1, 1, tzinfo=UTC) + retention - timedelta(minutes=1)) == 0
    assert await jobs.purge(now=datetime(2030, 1, 1, tzinfo=UTC) + retention + timedelta(minutes=1)) == 1
    assert [r.id for r in await _rows()] == [pending.outbox_id]


async def test_readyz_says_the_queue_is_behind_when_a_job_waits_too_long(client, record_task, crash_before_hand_over):
    clock.freeze(datetime(2030, 1, 1, tzinfo=UTC))
    async with db.transaction() as session:
        jobs.enqueue(session, "test.outbox_record", 1)
        jobs.enqueue(session, "test.outbox_record", 2, _defer_by=timedelta(days=1))  # not due: not late
    assert (await client.get("/readyz")).json()["checks"]["queue"] == "ok"
    clock.freeze(datetime(2030, 1, 1, tzinfo=UTC) + timedelta(seconds=get_settings().outbox_behind_seconds + 1))
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["status"] == "degraded"
    assert r.json()["checks"]["queue"]["late_jobs"] == 1


@needs_redis
async def test_a_real_arq_worker_runs_an_outbox_job_once_and_marks_it_done(app, record_task):
    from arq import Worker

    from workers.settings import build_worker_settings

    async with db.transaction() as session:  # handed over to Redis after the commit
        jobs.enqueue(session, "test.outbox_record", 11)
    assert await jobs.relay(older_than=0) == 1  # and once more by a relay: arq keeps one
    settings = build_worker_settings(os.environ["FABRIQUE_TEST_REDIS_URL"])
    worker = Worker(functions=settings["functions"], redis_pool=app.state.queue.pool, burst=True, poll_delay=0.01,
                    handle_signals=False, keep_result=0)
    try:
        await worker.main()
    finally:
        await worker.close()
    assert RECORDED == [("record", 11)]
    assert worker.jobs_complete == 1 and worker.jobs_failed == 0
    [row] = await _rows()
    assert row.done_at is not None


async def test_a_job_whose_run_died_after_claiming_it_runs_again(app, outbox, crash_before_hand_over, monkeypatch):
    from app.core.mail import queue_email
    from app.main import create_app

    start = datetime(2030, 1, 1, 9, tzinfo=UTC)
    clock.freeze(start)
    async with db.transaction() as session:
        queue_email(session, "reader@example.org", "verify_email", {"name": "R", "url": "http://testserver/v"},
                    locale="en")
    [job] = crash_before_hand_over
    monkeypatch.undo()
    assert await jobs.claim(job.outbox_id)  # a run took it, then its process was killed
    assert await jobs.relay(older_than=0) == 0  # held by that run's claim
    if get_settings().redis_url:
        # Another worker may still be running it: the claim is respected until its lease ends.
        clock.freeze(start + jobs.CLAIM_LEASE + timedelta(minutes=1))
        assert await jobs.relay(older_than=0) == 1
        assert len(await outbox()) == 1
        return
    # The embedded mode is one process: when it starts again, whatever it had claimed runs at once.
    restarted = create_app()
    try:
        async with restarted.router.lifespan_context(restarted):
            mails = await outbox()
    finally:
        jobs.set_queue(app.state.queue)
        app.state.queue.start_cron()
    assert [m["To"] for m in mails] == ["reader@example.org"]
