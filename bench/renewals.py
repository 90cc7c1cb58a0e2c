"""Renewals benchmark: `make bench-renewals` (= `.venv/bin/python -m bench.renewals`, from the repo root).

Seeds a dedicated PostgreSQL database (``fabrique_bench_renewals``) with 10,000 subscriptions due
today across 20 spaces (500 each: a monthly plan at 310.00 € with 8 desk-days, the period ending
today with its allowance bucket, which expires today), then runs the renewal as the worker runs
it: the hourly cron task's fan-out writes one ``membership.renew`` outbox row per space and local
date, and a worker runs the 20 jobs (the task wrapper: outbox claim, own transactions, batches of
500): an arq worker on Redis (db 12, flushed first), several jobs at once as in production, or —
without Redis, or with ``--redis ''`` — the in-process runner of the embedded mode.

Prints the first run (10,000 periods, orders, charges, buckets and grants written; 10,000 buckets
expired) and a second run the same day (the cron fan-out again — its keys are taken — then each
space's renewal run again, as a relay would: 0 renewed). Targets: first ≤ 5 s, second ≤ 1 s.

The last line is ``renew_10k_s=X rerun_s=Y booking_with_credits_vs_plain=R``; R comes from
``bench/booking.py --only credits`` when that benchmark has it (the credits work), else ``NA``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

from bench import _seed

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "fabrique_bench_renewals"
TZ = "Europe/Paris"
TARGET_RENEW, TARGET_RERUN = 5.0, 1.0
REDIS_URL = "redis://127.0.0.1:6379/12"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def local_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(TZ)).astimezone(UTC)


async def seed(conn: asyncpg.Connection, *, spaces: int, per_space: int, today: date) -> None:
    from app.membership import periods

    start = periods.add_months(today, -1, today.day)
    valid_from, valid_until = local_midnight_utc(start), local_midnight_utc(today)
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO space (slug, name, timezone, locale, currency, created_at) "
            "SELECT 'renew-' || lpad(g::text, 2, '0'), 'Espace ' || g, $2, 'fr', 'EUR', now() "
            "FROM generate_series(1, $1) g", spaces, TZ)
        await conn.execute(
            "INSERT INTO account (email, name, is_superuser, created_at) "
            "SELECT 'm' || s.id || '-' || g || '@renew.bench', 'Membre ' || g, false, now() "
            "FROM space s, generate_series(1, $1) g ORDER BY s.id, g", per_space)
        await conn.execute(
            "INSERT INTO space_member (space_id, account_id, role, tags, created_at) "
            "SELECT split_part(substr(email, 2), '-', 1)::int, id, 'member', '', now() FROM account")
        await conn.execute(
            "INSERT INTO plan (space_id, name, description, period, price_cents, vat_rate_bp, rollover_periods, "
            "fixed_desk, domiciliation_only, min_commitment_periods, public, position, created_at, updated_at) "
            "SELECT id, 'Résident', '', 'month', 31000, NULL, 0, false, false, 0, true, 0, now(), now() FROM space")
        await conn.execute(
            "INSERT INTO plan_allowance (space_id, plan_id, resource_kinds, unit, quantity, weekdays_only) "
            "SELECT space_id, id, 'hot_desk', 'day', 8, false FROM plan")
        await conn.execute(
            "INSERT INTO subscription (space_id, account_id, plan_id, status, starts_on, anchor_day, "
            "current_period_start, current_period_end, end_reason, created_at, updated_at) "
            "SELECT m.space_id, m.account_id, p.id, 'active', $1, $3, $1, $2, '', now(), now() "
            "FROM space_member m JOIN plan p ON p.space_id = m.space_id ORDER BY m.account_id",
            start, today, today.day)
        await conn.execute(
            "INSERT INTO subscription_period (space_id, subscription_id, plan_id, starts_on, ends_on, created_at) "
            "SELECT space_id, id, plan_id, current_period_start, current_period_end, now() FROM subscription")
        await conn.execute(
            "INSERT INTO credit_bucket (space_id, account_id, source, label, subscription_period_id, "
            "plan_allowance_id, resource_kinds, unit, unlimited, weekdays_only, valid_from, valid_until, "
            "rollovers_left, created_at) "
            "SELECT sp.space_id, s.account_id, 'allowance', 'Résident', sp.id, a.id, 'hot_desk', 'day', false, "
            "false, $1, $2, 0, now() FROM subscription_period sp JOIN subscription s ON s.id = sp.subscription_id "
            "JOIN plan_allowance a ON a.plan_id = sp.plan_id", valid_from, valid_until)
        await conn.execute(
            "INSERT INTO credit_entry (space_id, account_id, bucket_id, kind, quantity, reason, created_at) "
            "SELECT space_id, account_id, id, 'grant', 8, '', now() FROM credit_bucket")
    await conn.execute("VACUUM ANALYZE")


async def counts(conn: asyncpg.Connection) -> dict[str, int]:
    out = {}
    for table in ("subscription_period", "member_order", "charge", "credit_bucket", "credit_entry"):
        out[table] = int(await conn.fetchval(f"SELECT count(*) FROM {table}"))  # noqa: S608 (fixed names)
    return out


async def run_jobs(label: str, redis_url: str | None) -> tuple[float, int]:
    """The cron task's fan-out, then the worker runs the jobs it wrote. Returns (seconds, renewed).

    With Redis: an arq worker (``workers.settings``, burst mode, in this process) runs the jobs
    from the queue, several at once as in production. Without: the in-process runner of the
    embedded mode, one job at a time."""
    from app.core import clock, db, jobs
    from app.membership import tasks
    from workers import task as task_module

    results: list[dict] = []
    renew = tasks.renew

    async def counting(ctx, space_id, day):  # the task itself; its result kept for the print
        result = await renew(ctx, space_id, day)
        results.append(result)
        return result

    task_module.TASKS["membership.renew"] = task_module._wrap("membership.renew", counting, False)
    t, cpu = time.perf_counter(), time.process_time()
    if redis_url:
        from arq import Worker

        from workers.queue import connect
        from workers.settings import build_worker_settings

        queue = await connect(redis_url)
        jobs.set_queue(queue)
        async with db.transaction() as session:
            written = await tasks.fan_out(session, clock.now())
        settings = build_worker_settings(redis_url)
        worker = Worker(functions=settings["functions"], redis_pool=queue.pool, burst=True, poll_delay=0.01,
                        handle_signals=False, max_tries=settings["max_tries"], keep_result=0)
        await worker.main()
        await worker.close()
    else:
        from workers.inline import InlineQueue

        inline = InlineQueue()
        jobs.set_queue(inline)
        async with db.transaction() as session:
            written = await tasks.fan_out(session, clock.now())
        await inline.drain(timeout=600)
        await inline.close()
    elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
    renewed = sum(r["renewed"] for r in results)
    log(f"{label}: fan-out wrote {written} jobs; {len(results)} ran; renewed {renewed}, "
        f"expired {sum(r['expired'] for r in results)} in {elapsed:.2f} s (this process's CPU: {cpu:.2f} s)")
    return elapsed, renewed


async def rerun_spaces() -> tuple[float, int]:
    """Each space's renewal run again the same day (a relay handing a job over twice)."""
    from app.membership import renewals

    conn_ids = await _space_ids()
    t = time.perf_counter()
    renewed = 0
    for space_id in conn_ids:
        renewed += (await renewals.renew_space(space_id)).renewed
    return time.perf_counter() - t, renewed


async def _space_ids() -> list[int]:
    from sqlmodel import select

    from app.core import db
    from app.core.tenancy import all_spaces
    from app.space.models import Space

    async with db.transaction(write=False) as session:
        with all_spaces(session):
            return [s for s in (await session.exec(select(Space.id))).all() if s is not None]


def redis_usable(url: str) -> bool:
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        client.flushdb()  # the bench's own database: nothing left from a previous run
        client.close()
        return True
    except Exception:
        return False


def booking_ratio() -> str:
    """``booking_with_credits_vs_plain`` from the credits benchmark, when it exists on this branch."""
    source = ROOT / "bench" / "booking.py"
    if "--only" not in source.read_text():
        log("bench/booking.py has no --only credits here (the credits work adds it): R = NA")
        return "NA"
    proc = subprocess.run([sys.executable, "-m", "bench.booking", "--only", "credits"], cwd=ROOT,
                          capture_output=True, text=True)
    found = re.search(r"booking_with_credits_vs_plain=(\S+)", proc.stdout)
    return found.group(1) if found else "NA"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PGPORT", "5432")))
    parser.add_argument("--user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument("--spaces", type=int, default=20)
    parser.add_argument("--per-space", type=int, default=500)
    parser.add_argument("--skip-booking", action="store_true", help="print booking_with_credits_vs_plain=NA")
    parser.add_argument("--redis", default=REDIS_URL, help="the arq worker's Redis ('' for the in-process runner)")
    args = parser.parse_args()

    admin = _seed.dsn(args.host, args.port, args.user, "postgres")
    url = _seed.dsn(args.host, args.port, args.user, DB_NAME)
    sa_url = url.replace("postgresql://", "postgresql+asyncpg://")
    log(f"database {DB_NAME}: recreate and migrate")
    await _seed.recreate_database(admin, DB_NAME)
    _seed.migrate(sa_url)
    today = datetime.now(ZoneInfo(TZ)).date()
    conn = await asyncpg.connect(url)
    try:
        log(f"seeding {args.spaces} spaces × {args.per_space} subscriptions due today ({today})")
        await seed(conn, spaces=args.spaces, per_space=args.per_space, today=today)
        before = await counts(conn)
        if os.environ.get("BENCH_LOG_SLOW"):
            await conn.execute(f"ALTER DATABASE {DB_NAME} SET log_min_duration_statement = {os.environ['BENCH_LOG_SLOW']}")

        os.environ.update({"FABRIQUE_DATABASE_URL": sa_url, "FABRIQUE_ENV": "production",
                           "FABRIQUE_SECRET_KEY": "bench-secret-key-that-is-long-enough-for-the-checks",
                           "FABRIQUE_OUTBOX_RELAY_SECONDS": "0"})
        redis_url = args.redis if args.redis and redis_usable(args.redis) else None
        if redis_url:
            os.environ["FABRIQUE_REDIS_URL"] = redis_url
        else:
            log("no Redis: the jobs run in the in-process runner of the embedded mode")
            os.environ.pop("FABRIQUE_REDIS_URL", None)
        from app import models  # noqa: F401  (every table)
        from app.config import get_settings
        from app.core import db

        get_settings.cache_clear()
        db.init_engine(url=sa_url)
        first_s, renewed = await run_jobs("first run", redis_url)
        after = await counts(conn)
        log("written: " + ", ".join(f"{k} +{after[k] - before[k]}" for k in after))
        again_s, again = await run_jobs("second run (cron)", redis_url)
        rerun_s, rerun = await rerun_spaces()
        log(f"second run (each space's job run again): renewed {rerun} in {rerun_s:.2f} s")
        total_rerun = again_s + rerun_s
        await db.dispose_engine()
    finally:
        await conn.close()

    expected = args.spaces * args.per_space
    ok = renewed == expected and again == 0 and rerun == 0
    print(f"renewed {renewed} of {expected} in {first_s:.2f} s (target ≤ {TARGET_RENEW} s): "
          f"{'OK' if first_s <= TARGET_RENEW and renewed == expected else 'MISSED'}")
    print(f"second run the same day renewed {again + rerun} in {total_rerun:.2f} s (target 0 in ≤ {TARGET_RERUN} s): "
          f"{'OK' if total_rerun <= TARGET_RERUN and again + rerun == 0 else 'MISSED'}")
    ratio = "NA" if args.skip_booking else booking_ratio()
    print(f"renew_10k_s={first_s:.2f} rerun_s={total_rerun:.2f} booking_with_credits_vs_plain={ratio}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
