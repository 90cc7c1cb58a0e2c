"""Bookings benchmark: `make bench-booking` (= `.venv/bin/python -m bench.booking`, from the repo root).

Starts the app (``bench.app``: Fabrique plus two bare endpoints) with 2 uvicorn workers (uvloop,
httptools) on a dedicated PostgreSQL database, seeds one big space (50 resources, 200 members,
~100,000 bookings over a year) and 999 other spaces, then drives load with wrk from a separate
process and prints, from the same run:

- create-booking req/s and p50/p99 beside ``POST /bench/insert`` (one INSERT + commit);
- week availability for the 50 resources beside ``GET /bench/select/{id}`` (one SELECT by key);
- the availability request and its bookings query with the big space alone, then with 1,000
  spaces of data (the cost must not grow with other spaces' data).

The last line is ``create_vs_insert=R1 availability_vs_select=R2`` (ratios of req/s).
Targets: R1 >= 0.70 with p99 <= 1.5x the insert's; R2 >= 0.50. See docs/performance.md.

``--only credits`` (its own database, ``fabrique_bench_credits``): the create-booking figure for
members who have a plan allowance and a pass (the buckets locked, summed and debited in the
booking's transaction, ``docs/credits.md``) beside the same figure for members without credits,
same run, same server, in interleaved runs (``--rounds``, medians compared). Last line:
``booking_with_credits_vs_plain=R`` (ratio of req/s; target >= 0.90, i.e. within 10 %).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import secrets
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

from bench import _load, _seed
from bench._load import LoadResult
from bench._server import Server

DB_NAME = "fabrique_bench"
REDIS_URL = "redis://127.0.0.1:6379/6"
CREDITS_DB_NAME, CREDITS_REDIS_URL = "fabrique_bench_credits", "redis://127.0.0.1:6379/11"
TARGET_CREATE, TARGET_CREATE_P99, TARGET_AVAILABILITY = 0.70, 1.5, 0.50
TARGET_CREDITS = 0.90
MIN_RESPONSES = 100  # fewer in a window is not a rate: the window grows (up to --max-seconds)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def redis_usable(url: str) -> bool:
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        client.ping()
        client.flushdb()  # db 6 is the bench's own: the e-mail jobs of the previous run
        client.close()
        return True
    except Exception:
        return False


def flush_redis(url: str) -> None:
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        client.flushdb()
        client.close()
    except Exception:
        pass


def drain(base: str, timeout: float = 120) -> None:
    """Wait for the requests still in flight after wrk stopped (the server finishes them)."""
    import urllib.request

    deadline, fast = time.monotonic() + timeout, 0
    while time.monotonic() < deadline and fast < 3:
        t = time.perf_counter()
        with urllib.request.urlopen(f"{base}/healthz", timeout=timeout) as r:
            r.read()
        fast = fast + 1 if time.perf_counter() - t < 0.02 else 0
        time.sleep(0.05)


def timed_gets(url: str, token: str, n: int, before=None) -> list[float]:
    """``n`` sequential requests on an idle server: ms each (``before()`` runs untimed before each)."""
    import urllib.request

    out = []
    for _ in range(n):
        if before is not None:
            before()
        t = time.perf_counter()
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=120) as r:
            r.read()
            assert r.status == 200
        out.append((time.perf_counter() - t) * 1000)
    return out


def bookings_changed(space_id: int):
    """A callable that says "this space's bookings changed" the way a commit does (the change
    counter in Redis, ``app.core.jobs``): the next availability request rebuilds its answer."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)

    def bump() -> None:
        client.incr(f"fabrique:changes:bookings:{space_id}")
    return bump


def timed_both(url: str, token: str, space_id: int, use_redis: bool) -> tuple[list[float], list[float]]:
    """Availability one request at a time: answered from the cache, then rebuilt after a change."""
    warm = timed_gets(url, token, 8)
    cold = timed_gets(url, token, 8, before=bookings_changed(space_id)) if use_redis else [float("nan")]
    return warm, cold


def next_week(tz: str) -> tuple[date, date]:
    today = datetime.now(ZoneInfo(tz)).date()
    monday = today + timedelta(days=7 - today.weekday())
    return monday, monday + timedelta(days=6)


async def explain_bookings_query(conn: asyncpg.Connection, big: _seed.BigSpace, first: date, last: date) -> tuple[float, str]:
    """EXPLAIN ANALYZE of the availability's bookings query (``repository.held_rows_between`` with
    the tenancy filter, as the app sends it on PostgreSQL). Returns (ms, scans and rows read)."""
    zone = ZoneInfo(_seed.TZ)
    lo = datetime.combine(first, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    hi = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=zone).astimezone(UTC)
    sql = ("EXPLAIN (ANALYZE, FORMAT JSON) SELECT booking.id, booking.resource_id, booking.account_id, "
           "booking.starts_at, booking.ends_at, booking.blocked_until, booking.title FROM booking "
           "WHERE booking.starts_at < $1 AND booking.blocked_until > $2 "
           "AND tstzrange(booking.starts_at, booking.blocked_until, '[)') && tstzrange($2, $1, '[)') "
           "AND booking.resource_id = ANY($3::int[]) AND booking.status = 'confirmed' "
           "AND booking.space_id = $4 ORDER BY booking.starts_at, booking.id")
    best = float("inf")
    plan: dict = {}
    for _ in range(5):
        raw = await conn.fetchval(sql, hi, lo, big.resource_ids, big.space_id)
        doc = json.loads(raw)[0]
        if doc["Execution Time"] < best:
            best, plan = doc["Execution Time"], doc["Plan"]
    return best, describe_plan(plan)


def describe_plan(plan: dict) -> str:
    """The scans of a plan and the rows each read (returned + removed by its filter)."""
    scans: list[str] = []

    def walk(node: dict) -> None:
        read = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
        if "Index Name" in node:
            scans.append(f"{node['Node Type'].lower()} {node['Index Name']} ({read:,} rows read)")
        elif node.get("Node Type") == "Seq Scan":
            scans.append(f"seq scan ({read:,} rows read)")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return ", ".join(dict.fromkeys(scans)) or "?"


async def explain_overlap_query(conn: asyncpg.Connection, big: _seed.BigSpace, slot: tuple[int, datetime]) -> tuple[float, str]:
    """EXPLAIN ANALYZE of the create path's conflict check (``repository.overlapping``) for one slot."""
    rid, start = slot
    sql = ("EXPLAIN (ANALYZE, FORMAT JSON) SELECT starts_at, ends_at, blocked_until FROM booking "
           "WHERE resource_id = $1 AND status = 'confirmed' AND starts_at < $2 AND blocked_until > $3 "
           "AND space_id = $4")
    best, plan = float("inf"), {}
    for _ in range(5):
        doc = json.loads(await conn.fetchval(sql, rid, start + timedelta(minutes=30), start, big.space_id))[0]
        if doc["Execution Time"] < best:
            best, plan = doc["Execution Time"], doc["Plan"]
    return best, describe_plan(plan)


def email_cost_ms(n: int = 200) -> float:
    """In-process time to render one booking confirmation (text + HTML + .ics): the ``email.send``
    job's work, which no longer happens in the request (the request only queues plain data)."""
    from app.account.models import Account
    from app.booking import notify
    from app.booking.models import Booking
    from app.core.mail import render_email
    from app.core.mail_tasks import build_invitation
    from app.resource.models import Resource
    from app.space.models import Space

    space = Space(id=1, slug="grand-atelier", name="Le Grand Atelier", timezone=_seed.TZ, locale="fr",
                  address="12 rue des Forges, 69001 Lyon")
    resource = Resource(id=1, space_id=1, name="Salle 1")
    now = datetime.now(UTC)
    booking = Booking(id=1, space_id=1, resource_id=1, account_id=1, starts_at=now + timedelta(days=9),
                      ends_at=now + timedelta(days=9, minutes=30), blocked_until=now + timedelta(days=9, minutes=30),
                      price_cents=750, created_at=now, updated_at=now)
    account = Account(id=1, email="m1@grand-atelier.bench", name="Membre 1")
    for _ in range(5):  # templates compiled, catalogs loaded
        render_email("booking_confirmed", notify._context(space, resource, booking, account), "fr")
        build_invitation(notify._invitation(space, resource, booking, account, "REQUEST"))
    t = time.perf_counter()
    for _ in range(n):
        render_email("booking_confirmed", notify._context(space, resource, booking, account), "fr")
        build_invitation(notify._invitation(space, resource, booking, account, "REQUEST"))
    return (time.perf_counter() - t) / n * 1000


def fmt_row(label: str, r: LoadResult) -> str:
    errs = f"{r.errors}" + (f" ({r.conflicts}x409, {r.other} other, last {r.last_other})" if r.errors else "")
    if r.socket_errors:
        errs += f" +{r.socket_errors} socket"
    if r.exhausted:
        errs += " SLOTS EXHAUSTED"
    return f"  {label:<44} {r.rps:>8.1f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f} {r.ok:>8} {r.seconds:>6.1f}  {errs}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="measured duration of each load (default 10)")
    parser.add_argument("--max-seconds", type=float, default=90,
                        help="longest window when an endpoint is too slow to answer 100 times in --seconds")
    parser.add_argument("--warmup", type=float, default=2, help="warm-up before each load (default 2)")
    parser.add_argument("--connections", type=int, default=50, help="for create-booking and the bare insert")
    parser.add_argument("--read-connections", type=int, default=8,
                        help="for availability and the bare select (default 8: a week's availability takes "
                             "long enough that 50 queued requests would outlast a 10 s window)")
    parser.add_argument("--pg", default="postgres@127.0.0.1:5432", help="user@host:port of PostgreSQL")
    parser.add_argument("--no-redis", action="store_true", help="in-process jobs instead of arq on Redis")
    parser.add_argument("--other-spaces", type=int, default=999)
    parser.add_argument("--rounds", type=int, default=4, help="credits: interleaved runs of each kind (default 4)")
    parser.add_argument("--only", choices=["create", "availability", "credits"],
                        help="run one comparison only (credits: bookings using credits vs plain, its own database)")
    args = parser.parse_args()
    global DB_NAME, REDIS_URL
    if args.only == "credits":
        DB_NAME, REDIS_URL = CREDITS_DB_NAME, CREDITS_REDIS_URL

    # `timeout` or kill: stop the server on the way out, like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not _load.wrk_available():
        print("bench-booking needs wrk, the HTTP load generator: apt-get install -y wrk", file=sys.stderr)
        return 2
    user, _at, hostport = args.pg.partition("@")
    host, _colon, port = hostport.partition(":")
    admin_dsn = _seed.dsn(host, int(port or 5432), user, "postgres")
    bench_dsn = _seed.dsn(host, int(port or 5432), user, DB_NAME)
    sa_url = f"postgresql+asyncpg://{user}@{host}:{port or 5432}/{DB_NAME}"
    use_redis = not args.no_redis and redis_usable(REDIS_URL)
    work = Path(tempfile.mkdtemp(prefix="fabrique-bench-"))
    env = {
        "FABRIQUE_ENV": "production", "FABRIQUE_SECRET_KEY": secrets.token_urlsafe(48),
        "FABRIQUE_DATABASE_URL": sa_url, "FABRIQUE_VAR_DIR": str(work / "var"),
        "FABRIQUE_BASE_URL": "http://127.0.0.1:8000", "FABRIQUE_SMTP_HOST": "",
    }
    if use_redis:
        env["FABRIQUE_REDIS_URL"] = REDIS_URL
    os.environ.update({k: v for k, v in env.items() if k != "FABRIQUE_REDIS_URL"})
    started = time.monotonic()
    if args.only == "credits":
        return asyncio.run(run_credits(args, env, admin_dsn, bench_dsn, sa_url, use_redis, work, started))
    return asyncio.run(run(args, env, admin_dsn, bench_dsn, sa_url, use_redis, work, started))


async def seed_credits(conn: asyncpg.Connection, big: _seed.BigSpace, account_ids: list[int]) -> None:
    """Each of ``account_ids`` gets this month's plan allowance (hours of any kind, enough for the
    whole load: every booking takes from it) and a 10-unit pass valid six months with a rate for
    meeting rooms and hot desks: both buckets are locked and summed by each booking, one debited."""
    async with conn.transaction():
        product = await conn.fetchval(
            "INSERT INTO pass_product (space_id, name, description, units, valid_months, price_cents, public, "
            "position, created_at, updated_at) VALUES ($1, 'Carnet 10 heures', '', 10, 6, 12000, true, 0, now(), "
            "now()) RETURNING id", big.space_id)
        await conn.execute(
            "INSERT INTO pass_rate (space_id, pass_product_id, resource_kind, unit, units_per) VALUES "
            "($1, $2, 'meeting_room', 'hour', 1), ($1, $2, 'hot_desk', 'hour', 1)", big.space_id, product)
        for source, label, quantity, pass_id in (("allowance", "Formule Résident", 100_000, None),
                                                 ("pass", "Carnet 10 heures", 10, product)):
            ids = [r["id"] for r in await conn.fetch(
                "INSERT INTO credit_bucket (space_id, account_id, source, label, pass_product_id, resource_kinds, "
                "unit, unlimited, weekdays_only, valid_from, valid_until, rollovers_left, created_at) "
                "SELECT $1, a, $2, $3, $4, '', CASE WHEN $4::int IS NULL THEN 'hour' ELSE '' END, false, false, "
                "now() - interval '1 day', now() + interval '90 days', 0, now() FROM unnest($5::int[]) a "
                "RETURNING id", big.space_id, source, label, pass_id, account_ids)]
            await conn.execute(
                "INSERT INTO credit_entry (space_id, account_id, bucket_id, kind, quantity, reason, created_at) "
                "SELECT $1, b.account_id, b.id, 'grant', $2, '', now() FROM credit_bucket b WHERE b.id = ANY($3::int[])",
                big.space_id, quantity, ids)


async def run_credits(args, env, admin_dsn, bench_dsn, sa_url, use_redis, work, started) -> int:
    """Create-booking with credits vs plain: half the members have credits, the other half none."""
    load_before = os.getloadavg()[0]
    log(f"database {DB_NAME}: drop, create, migrate (load average {load_before:.1f})")
    await _seed.recreate_database(admin_dsn, DB_NAME)
    _seed.migrate(sa_url)
    conn = await asyncpg.connect(bench_dsn)
    big = await _seed.seed_big_space(conn)
    half = len(big.member_account_ids) // 2
    await seed_credits(conn, big, big.member_account_ids[:half])
    slots = await _seed.create_slots(conn, big)
    await _seed.vacuum(conn)
    log(f"big space: {big.bookings:,} bookings; {half} members with an allowance and a pass, {half} without")
    booking_path = f"/api/v1/spaces/{big.slug}/bookings"
    with_credits, plain = big.tokens[:half], big.tokens[half:]

    def rows(chunk: list, tokens: list[str]) -> list[tuple[str, str, str]]:
        return [(booking_path, json.dumps({
            "resource_id": rid, "starts_at": s.isoformat().replace("+00:00", "Z"),
            "ends_at": (s + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")}, separators=(",", ":")),
            tokens[i % len(tokens)]) for i, (rid, s) in enumerate(chunk)]

    # Interleaved runs on disjoint slots, in ABBA order (plain, credits, credits, plain, ...): the
    # machine drifts (other work, autovacuum, checkpoints), and a drift steady over the run then
    # weighs on both kinds alike; the medians are compared.
    runs = [f"{kind}{i}" for i in range(1, args.rounds + 1)
            for kind in (("plain", "credits") if i % 2 else ("credits", "plain"))]
    n = len(slots) // (2 * len(runs))
    files = {}
    for i, name in enumerate(runs):
        toks = with_credits if name.startswith("credits") else plain
        files[f"{name}_warm"] = _load.write_requests(work / f"{name}_warm.data.lua", rows(slots[2 * i * n:(2 * i + 1) * n], toks))
        files[name] = _load.write_requests(work / f"{name}.data.lua", rows(slots[(2 * i + 1) * n:(2 * i + 2) * n], toks))
    server = Server(env, workers=2, log_path=work / "server.log")
    server.start()
    results: dict[str, LoadResult] = {}
    try:
        for name in runs:
            if args.warmup > 0:
                _load.run_wrk(f"{name}-warmup", server.base, files[f"{name}_warm"], method="POST", ok_status=201,
                              seconds=args.warmup, connections=args.connections, wrap=False, workdir=work,
                              timeout_s=max(10, int(args.max_seconds)))
                drain(server.base)
            r = _load.run_wrk(name, server.base, files[name], method="POST", ok_status=201, seconds=args.seconds,
                              connections=args.connections, wrap=False, workdir=work,
                              timeout_s=max(10, int(args.seconds)))
            drain(server.base)
            log(f"{name}: {r.rps:.0f} req/s ok, p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, {r.errors} errors")
            results[name] = r
        used = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE kind = 'debit') AS debits, "
            "(SELECT count(*) FROM charge WHERE price_kind = 'plan') AS plan_lines FROM credit_entry")
    finally:
        server.stop()
        await conn.close()
        if use_redis:
            flush_redis(REDIS_URL)
    med = statistics.median
    plain_rps = med(results[x].rps for x in runs if x.startswith("plain"))
    credits_rps = med(results[x].rps for x in runs if x.startswith("credits"))
    ratio = credits_rps / plain_rps if plain_rps else 0.0
    print()
    print(f"Fabrique bookings with credits — {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs; "
          f"load average before {load_before:.1f}, after {os.getloadavg()[0]:.1f}"
          + ("  <- OTHER PROCESSES BUSY: absolute figures are low, ratios noisy" if load_before > 1 else ""))
    print(f"  {'endpoint':<44} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ok':>8} {'s':>6}  errors")
    for name in runs:
        label = ("POST bookings, allowance + pass (debited)" if name.startswith("credits")
                 else "POST bookings, members without credits")
        print(fmt_row(f"{label} #{name[-1]}", results[name]))
    print(f"    {used['debits']:,} debits written, {used['plan_lines']:,} plan lines charged at 0")
    print(f"    with credits / plain (medians of {args.rounds} interleaved runs each, ABBA): {ratio:.2f} of the req/s "
          f"(target >= {TARGET_CREDITS:.2f}) -> {'MET' if ratio >= TARGET_CREDITS else 'NOT MET'}; "
          f"total {time.monotonic() - started:.0f} s")
    print(f"booking_with_credits_vs_plain={ratio:.2f}")
    return 0


async def run(args, env, admin_dsn, bench_dsn, sa_url, use_redis, work, started) -> int:  # noqa: C901, PLR0915
    load_before = os.getloadavg()[0]
    log(f"database {DB_NAME}: drop, create, migrate (load average {load_before:.1f})")
    await _seed.recreate_database(admin_dsn, DB_NAME)
    _seed.migrate(sa_url)
    conn = await asyncpg.connect(bench_dsn)
    t = time.monotonic()
    big = await _seed.seed_big_space(conn)
    slots = await _seed.create_slots(conn, big)
    await _seed.vacuum(conn)
    seed_s = time.monotonic() - t
    log(f"big space: {len(big.resource_ids)} resources, {len(big.member_account_ids)} members, "
        f"{big.bookings:,} bookings, {len(slots):,} free slots for the load ({seed_s:.0f} s)")

    first, last = next_week(_seed.TZ)
    avail_path = f"/api/v1/spaces/{big.slug}/availability?start={first}&end={last}"
    tokens = big.tokens
    files = {
        "insert": _load.write_requests(work / "insert.data.lua", [("/bench/insert", '{"payload":"bench"}', "")]),
        "select": _load.write_requests(work / "select.data.lua", [
            (f"/bench/select/{rid}?space={big.space_id}", "", "") for rid in big.resource_ids]),
        "availability": _load.write_requests(work / "availability.data.lua", [
            (avail_path, "", tok) for tok in tokens]),
        "availability_lean": _load.write_requests(work / "availability_lean.data.lua", [
            (avail_path + "&slots=false", "", tok) for tok in tokens]),
    }
    booking_path = f"/api/v1/spaces/{big.slug}/bookings"

    def create_rows(chunk: list) -> list[tuple[str, str, str]]:
        return [(booking_path, json.dumps({
            "resource_id": rid, "starts_at": s.isoformat().replace("+00:00", "Z"),
            "ends_at": (s + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")}, separators=(",", ":")),
            tokens[i % len(tokens)]) for i, (rid, s) in enumerate(chunk)]

    warm_n = min(4000, len(slots) // 6)
    floor_n = len(slots) // 4  # the floor's own slots, from the end: the two never meet in 10 s
    files["create_warm"] = _load.write_requests(work / "create_warm.data.lua", create_rows(slots[:warm_n]))
    files["create"] = _load.write_requests(work / "create.data.lua", create_rows(slots[warm_n:-floor_n]))
    floor_rows = [(f"/bench/floor/{big.slug}", body, tok) for _path, body, tok in create_rows(slots[-floor_n:])]
    files["floor_warm"] = _load.write_requests(work / "floor_warm.data.lua", floor_rows[:warm_n])
    files["floor"] = _load.write_requests(work / "floor.data.lua", floor_rows[warm_n:])

    server = Server(env, workers=2, log_path=work / "server.log")
    log(f"server: uvicorn, 2 workers, uvloop, httptools; jobs {'on Redis ' + REDIS_URL if use_redis else 'in-process'}")
    server.start()
    results: dict[str, LoadResult] = {}
    scale: dict[str, tuple] = {}
    try:
        def load(name: str, data: str, *, method: str = "GET", ok: int = 200, wrap: bool = True,
                 warm_data: str | None = None, connections: int | None = None, seconds: float | None = None,
                 warm: bool = True) -> LoadResult:
            conns = connections or args.connections
            if warm and args.warmup > 0:
                _load.run_wrk(f"{name}-warmup", server.base, files[warm_data or data], method=method, ok_status=ok,
                              seconds=args.warmup, connections=conns, wrap=wrap, workdir=work,
                              timeout_s=max(10, int(args.max_seconds)))
                drain(server.base)
            window = seconds or args.seconds
            while True:
                # wrk's timeout is the window itself: a slow response is counted, not dropped as an error.
                r = _load.run_wrk(name, server.base, files[data], method=method, ok_status=ok, seconds=window,
                                  connections=conns, wrap=wrap, workdir=work, timeout_s=max(10, int(window)))
                drain(server.base)
                if r.ok >= MIN_RESPONSES or window >= args.max_seconds:
                    break
                # Adaptive window: too few responses to be a rate (a slow endpoint used to report 0 req/s
                # when its queued requests outlasted the window). Grow it to expect MIN_RESPONSES.
                grown = window * 4 if r.ok < 5 else window * MIN_RESPONSES / r.ok * 1.25
                log(f"{name}: only {r.ok} responses in {r.seconds:.1f} s; again over {min(math.ceil(grown), args.max_seconds):.0f} s")
                window = float(min(math.ceil(grown), args.max_seconds))  # wrk takes whole seconds
            log(f"{name}: {r.rps:.0f} req/s ok over {r.seconds:.1f} s, p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, "
                f"{r.errors} errors")
            return r

        if args.only != "create":
            # The availability request alone (1 connection), with one space's data...
            url = server.base + avail_path
            scale["one"] = (await asyncio.to_thread(timed_both, url, tokens[0], big.space_id, use_redis),
                            *await explain_bookings_query(conn, big, first, last))
            log(f"other spaces: {args.other_spaces} spaces with their members, resources and bookings")
            t = time.monotonic()
            added = await _seed.seed_other_spaces(conn, spaces=args.other_spaces)
            await _seed.vacuum(conn)
            log(f"  {added:,} bookings added ({time.monotonic() - t:.0f} s)")
            # ... and with 1,000 spaces' data.
            scale["all"] = (await asyncio.to_thread(timed_both, url, tokens[0], big.space_id, use_redis),
                            *await explain_bookings_query(conn, big, first, last))
        overlap = await explain_overlap_query(conn, big, slots[-1])
        totals = await conn.fetchrow("SELECT (SELECT count(*) FROM space) AS spaces, (SELECT count(*) FROM booking) "
                                     "AS bookings, (SELECT count(*) FROM account) AS accounts")

        if args.only != "availability":
            results["insert"] = load("bare-insert", "insert", method="POST", ok=201)
            results["create"] = load("create-booking", "create", method="POST", ok=201, wrap=False,
                                     warm_data="create_warm")
            results["floor"] = load("floor", "floor", method="POST", ok=201, wrap=False, warm_data="floor_warm")
            # The baseline again after: the machine drifts (autovacuum, checkpoints, other work); the
            # ratios are taken against the mean of the two.
            results["insert_after"] = load("bare-insert-again", "insert", method="POST", ok=201)
        if args.only != "create":
            results["select"] = load("bare-select", "select", connections=args.read_connections)
            results["availability"] = load("availability", "availability", connections=args.read_connections)
            results["availability_lean"] = load("availability-lean", "availability_lean",
                                                connections=args.read_connections)
            results["select_after"] = load("bare-select-again", "select", connections=args.read_connections)
        response_bytes = lean_bytes = None
        if args.only != "create":
            import urllib.request

            req = urllib.request.Request(server.base + avail_path, headers={"Authorization": f"Bearer {tokens[0]}"})

            def fetch() -> bytes:
                with urllib.request.urlopen(req) as resp:
                    return resp.read()

            body = await asyncio.to_thread(fetch)
            response_bytes = len(body)
            req = urllib.request.Request(server.base + avail_path + "&slots=false",
                                         headers={"Authorization": f"Bearer {tokens[0]}"})
            lean_bytes = len(await asyncio.to_thread(fetch))
            answer = json.loads(body)["resources"]
            n_slots = sum(len(d["slots"]) for r in answer for d in r["days"])
            n_cells = sum(round((datetime.fromisoformat(s["ends_at"]) - datetime.fromisoformat(s["starts_at"]))
                                / timedelta(minutes=r["step_minutes"] or 1440))
                          for r in answer for d in r["days"] for s in d["slots"])
    finally:
        server.stop()
        await conn.close()
        if use_redis:
            flush_redis(REDIS_URL)
    mail_ms = email_cost_ms()

    # -- report -------------------------------------------------------------------------------------
    print()
    print(f"Fabrique bookings benchmark — {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs")
    print(f"  server: uvicorn, 2 workers, uvloop + httptools, FABRIQUE_ENV=production, PostgreSQL at 127.0.0.1; "
          f"jobs: {'arq on Redis (db 6, no worker running)' if use_redis else 'in-process runner'}")
    print(f"  data:   {totals['spaces']:,} spaces, {totals['accounts']:,} accounts, {totals['bookings']:,} bookings; "
          f"big space: {len(big.resource_ids)} resources, {len(big.member_account_ids)} members, "
          f"{big.bookings:,} bookings over a year")
    print(f"  load:   wrk from a separate process, {args.connections} connections (reads: {args.read_connections}), "
          f"{args.seconds:g} s (longer for a slow endpoint, column s) after a {args.warmup:g} s warm-up; "
          f"load average before the run "
          f"{load_before:.1f}, after {os.getloadavg()[0]:.1f}"
          + ("  <- OTHER PROCESSES BUSY: absolute figures are low, ratios noisy" if load_before > 1 else ""))
    print()
    print(f"  {'endpoint':<44} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ok':>8} {'s':>6}  errors")
    r1 = r2 = float("nan")
    if "create" in results:
        ins, cre, ins2 = results["insert"], results["create"], results["insert_after"]
        print(fmt_row("POST /bench/insert (bare: 1 INSERT + commit)", ins))
        print(fmt_row("POST /api/v1/spaces/{slug}/bookings (201s)", cre))
        print(fmt_row("POST /bench/insert, again after", ins2))
        base_rps, base_p99 = (ins.rps + ins2.rps) / 2, (ins.p99_ms + ins2.p99_ms) / 2
        r1 = cre.rps / base_rps if base_rps else 0.0
        p99x = cre.p99_ms / base_p99 if base_p99 else float("inf")
        ok1 = r1 >= TARGET_CREATE and p99x <= TARGET_CREATE_P99
        print(f"    create / insert (mean of the two): {r1:.2f} of the req/s (target >= {TARGET_CREATE:.2f}), p99 {p99x:.2f}x "
              f"(target <= {TARGET_CREATE_P99}x) -> {'MET' if ok1 else 'NOT MET'}")
        fl = results["floor"]
        print(fmt_row("POST /bench/floor (auth + 2 INSERTs + job)", fl))
        print(f"    the design's floor: {fl.rps / base_rps if base_rps else 0.0:.2f} of the bare insert's req/s, "
              f"and create reaches {cre.rps / fl.rps if fl.rps else 0.0:.2f} of the floor's (no rules, no ORM objects "
              f"in the floor: what remains to gain in our own code)")
        print(f"    e-mail of each create (text + HTML + .ics), rendered by the job, not the request: {mail_ms:.2f} ms of CPU")
    if "availability" in results:
        sel, av, sel2 = results["select"], results["availability"], results["select_after"]
        sel_rps = (sel.rps + sel2.rps) / 2
        print(fmt_row("GET /bench/select/{id} (bare: 1 SELECT by key)", sel))
        print(fmt_row("GET availability, a week x 50 resources", av))
        print("    (answered from the per-process cache: no booking changes during the load; the cost of a"
              " rebuild is below)")
        r2 = av.rps / sel_rps if sel_rps else 0.0
        print(f"    availability / select (mean of the two): {r2:.2f} of the req/s (target >= {TARGET_AVAILABILITY:.2f}) -> "
              f"{'MET' if r2 >= TARGET_AVAILABILITY else 'NOT MET'}; response {response_bytes:,} bytes, "
              f"{n_cells:,} cells in {n_slots:,} runs")
        lean = results["availability_lean"]
        print(fmt_row("GET availability, slots=false (busy + blocks)", lean))
        print(f"    without slots / select: {lean.rps / sel_rps if sel_rps else 0.0:.2f} of the req/s (the staff "
              f"calendar's view; not the target's); response {lean_bytes:,} bytes")
        print(fmt_row("GET /bench/select/{id}, again after", sel2))
    if scale:
        (a1, q1, i1), (a2, q2, i2) = scale["one"], scale["all"]
        print()
        med = statistics.median
        print(f"  availability of the big space, one request at a time  {'1 space':>12} {'1,000 spaces':>14}")
        for label, x1, x2 in (("cached answer", a1[0], a2[0]), ("rebuilt after a change", a1[1], a2[1])):
            print(f"    request ms, {label + ', median (min) of 8':<42}{med(x1):>6.1f} ({min(x1):>5.1f}) "
                  f"{med(x2):>8.1f} ({min(x2):>5.1f})")
        print(f"    bookings query, EXPLAIN ANALYZE ms (best of 5)        {q1:>12.2f} {q2:>14.2f}")
        print(f"    plan: {i1}  |  {i2}")
    print(f"  create's conflict check (repository.overlapping), EXPLAIN ANALYZE: {overlap[0]:.2f} ms, {overlap[1]}")
    print(f"\n  total {time.monotonic() - started:.0f} s (seeding the big space {seed_s:.0f} s); server log: "
          f"{work / 'server.log'}")
    print(f"create_vs_insert={r1:.2f} availability_vs_select={r2:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
