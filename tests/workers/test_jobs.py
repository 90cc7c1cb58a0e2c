from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.core import db, jobs
from app.core.mail import queue_email
from workers.task import CRON_SPECS, TASKS, cron_task, task

HITS: list[tuple[str, object]] = []


@task("test.record")
async def _record(session, value, note: str | None = None):
    HITS.append(("record", value))


@cron_task("test.tick", minute=set(range(60)))
async def _tick(session, period):
    HITS.append(("tick", period))


async def test_jobs_enqueued_in_a_transaction_are_sent_only_after_commit(app, run_jobs):
    HITS.clear()
    async with db.transaction() as session:
        jobs.enqueue(session, "test.record", 1)
        await run_jobs()
        assert HITS == []  # not sent before the commit
    await run_jobs()
    assert HITS == [("record", 1)]


async def test_a_rolled_back_transaction_sends_nothing(app, run_jobs, outbox):
    HITS.clear()
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            jobs.enqueue(session, "test.record", 2)
            queue_email(session, "ghost@example.org", "verify_email", {"name": "G", "url": "http://x"})
            raise RuntimeError("boom")
    await run_jobs()
    assert HITS == []
    assert await outbox() == []


async def test_email_job_writes_a_real_message_to_the_outbox(app, outbox):
    async with db.transaction() as session:
        queue_email(session, "reader@example.org", "verify_email", {"name": "Reader", "url": "http://testserver/v/1"},
                    locale="en")
    [msg] = await outbox()
    assert msg["Subject"] == "Confirm your e-mail address"
    assert msg.get_body(preferencelist=("html",)) is not None


async def test_inline_runner_computes_cron_schedules_with_arqs_own_calculation(app):
    from workers.inline import InlineQueue

    queue = InlineQueue()
    jobs_ = {j.name: j for j in queue.cron_jobs()}
    assert "test.tick@cron" in jobs_
    job = jobs_["test.tick@cron"]
    job.calculate_next(datetime(2026, 11, 26, 10, 0, 30, tzinfo=UTC))
    assert job.next_run.replace(microsecond=0) == datetime(2026, 11, 26, 10, 1, tzinfo=UTC)


@pytest.mark.skipif(not os.environ.get("FABRIQUE_TEST_REDIS_URL"), reason="needs FABRIQUE_TEST_REDIS_URL (real Redis)")
async def test_arq_worker_on_real_redis_runs_an_enqueued_job_and_a_cron_job(app):
    from arq import Worker

    from workers.queue import connect
    from workers.settings import build_worker_settings

    HITS.clear()
    settings = build_worker_settings(os.environ["FABRIQUE_TEST_REDIS_URL"])
    queue = await connect(os.environ["FABRIQUE_TEST_REDIS_URL"])
    pool = queue.pool
    await pool.flushdb()
    # One round trip (a job id arq draws itself), then arq's own path (a job id chosen by the caller).
    fast = await queue.enqueue_job("test.record", 42, note="fast")
    assert await queue.enqueue_job("test.record", 43, _job_id="test-record-43") is not None
    assert await queue.enqueue_job("test.record", 43, _job_id="test-record-43") is None  # once only
    queued = {j.job_id: j for j in await pool.queued_jobs()}
    assert queued[fast.job_id].function == "test.record"
    assert queued[fast.job_id].args == (42,) and queued[fast.job_id].kwargs == {"note": "fast"}
    assert (await fast.info()).function == "test.record"
    worker = Worker(
        functions=settings["functions"], cron_jobs=[c for c in settings["cron_jobs"] if c.name == "test.tick@cron"],
        redis_pool=pool, burst=True, poll_delay=0.01, handle_signals=False, keep_result=0,
    )
    # run the cron job now, as arq does when its time has come
    for cron in worker.cron_jobs:
        cron.run_at_startup = True
    try:
        await worker.main()
    finally:
        await worker.close()
    assert ("record", 42) in HITS and ("record", 43) in HITS
    [(_, period)] = [hit for hit in HITS if hit[0] == "tick"]  # the trigger wrote its row, the task ran from it
    assert period.tzinfo is not None and period.second == 0
    assert worker.jobs_complete >= 4 and worker.jobs_failed == 0
    await queue.aclose()


def test_every_task_has_a_domain_dot_verb_name():
    assert TASKS and all("." in name for name in TASKS)
    assert all(spec["name"] in TASKS for spec in CRON_SPECS)


def test_an_arq_worker_process_renders_booking_emails_with_the_domains_template_filters():
    # The web process has imported every domain; a fresh `fabrique worker` has only imported the
    # task modules, so the "when" filter of app/booking/formatting.py must be loaded by the job.
    script = """
from datetime import UTC, datetime
from workers.task import TASKS, load_tasks
load_tasks()
from app.core.mail import render_email
at = datetime(2027, 3, 2, 8, tzinfo=UTC)
subject, _text, _html = render_email("booking_confirmed", {
    "space_name": "A", "tz": "Europe/Paris", "resource_name": "Salle", "name": "N", "starts_at": at,
    "ends_at": at.replace(hour=9), "price_cents": 100, "currency": "EUR", "url": "u"}, "en")
print(subject)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Booking confirmed: Salle, Tuesday, March 2, 2027")


async def test_the_arq_worker_sends_its_jobs_and_change_counters_to_redis(monkeypatch):
    """A task that writes bookings must bump the counters the web processes read (in Redis), not
    counters in the worker's own memory."""
    from app.core import jobs
    from workers import settings as worker_settings
    from workers.queue import FabriqueQueue

    monkeypatch.setattr(worker_settings.db, "init_engine", lambda *a, **k: None)
    monkeypatch.setattr(worker_settings.db, "dispose_engine", _no_dispose)
    before = jobs.get_queue()
    pool = object()  # arq's pool, as arq hands it to on_startup
    try:
        await worker_settings.startup({"redis": pool})
        queue = jobs.get_queue()
        assert isinstance(queue, FabriqueQueue) and queue.pool is pool
        await worker_settings.shutdown({"redis": pool})
        assert jobs.get_queue() is None
    finally:
        jobs.set_queue(before)


async def _no_dispose() -> None:
    return None


async def test_an_unreadable_change_counter_means_no_caching_not_an_error():
    from app.core import jobs

    class Broken:
        async def enqueue_job(self, *args, **kwargs):
            return None

        async def read_counter(self, key):
            raise ConnectionError("redis is away")

    before = jobs.get_queue()
    jobs.set_queue(Broken())
    try:
        assert await jobs.counter("bookings", 1) is None
    finally:
        jobs.set_queue(before)
