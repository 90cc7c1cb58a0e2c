"""Server time of each page of the pages benchmark, one request at a time, in process.

    .venv/bin/python -m bench.pages_inprocess [--seed] [--db NAME] [-n 15]

Independent of the machine's load as far as anything can be: no wrk, no network, no second worker —
httpx's ASGI transport calls the app (``bench.app``) directly. ``--seed`` drops and seeds the database
exactly as ``make bench-pages`` does (its own name, ``fabrique_bench_pages_inproc`` by default, so a
load run elsewhere is left alone); without it the seeded database is reused. For each page it prints
the median and best time of ``-n`` warm requests, the number of SQL statements of one request, and the
size of the page; the last line is ``pages_inprocess_max_ms=X slowest=NAME``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

from bench import _seed, pages


async def seed(args, admin_dsn: str, bench_dsn: str, sa_url: str) -> None:
    pages.log(f"database {args.db}: drop, create, migrate, seed")
    await _seed.recreate_database(admin_dsn, args.db)
    _seed.migrate(sa_url)
    conn = await asyncpg.connect(bench_dsn)
    big = await _seed.seed_big_space(conn, members=pages.MEMBERS)
    owner_id = await conn.fetchval(
        "SELECT account_id FROM space_member WHERE space_id = $1 AND role = 'owner'", big.space_id)
    await pages.seed_extras(conn, big, owner_id)
    await _seed.seed_other_spaces(conn, spaces=args.other_spaces)
    await _seed.vacuum(conn)
    await conn.close()


async def cookies(bench_dsn: str) -> tuple[str, str, str]:
    """The busy space's slug, a session cookie of its member with the most bookings ahead, one of its owner."""
    conn = await asyncpg.connect(bench_dsn)
    space_id, slug = await conn.fetchrow(
        "SELECT s.id, s.slug FROM space s JOIN space_member m ON m.space_id = s.id "
        "GROUP BY s.id ORDER BY count(*) DESC LIMIT 1")
    member = await conn.fetchval(
        "SELECT account_id FROM booking WHERE space_id = $1 AND starts_at > now() GROUP BY account_id "
        "ORDER BY count(*) DESC, account_id LIMIT 1", space_id)
    owner = await conn.fetchval("SELECT account_id FROM space_member WHERE space_id = $1 AND role = 'owner'", space_id)
    member_raw, owner_raw = await pages.sessions(conn, [member, owner])
    await conn.close()
    return slug, f"fabrique_session={member_raw}", f"fabrique_session={owner_raw}"


async def timing(args, bench_dsn: str) -> int:
    import httpx
    from sqlalchemy import event

    from app.core import db
    from bench.app import create_bench_app

    slug, member, owner = await cookies(bench_dsn)
    tomorrow = (datetime.now(ZoneInfo(_seed.TZ)) + timedelta(days=1)).date().isoformat()
    s = f"/s/{slug}"
    targets = {
        "bare": (f"/bench/page/{slug}", member),
        "book_tomorrow": (f"{s}/book?date={tomorrow}", member),
        "my_bookings": (f"{s}/bookings/mine", member),
        "directory_search": (f"{s}/directory?q=soudure", member),
        "calendar_week": (f"{s}/calendar?view=week&date={tomorrow}", owner),
        "events": (f"{s}/events", member),
        "audit_log": (f"{s}/audit", owner),
    }
    app = create_bench_app()
    statements = [0]
    results = {}
    async with app.router.lifespan_context(app):
        event.listen(db.get_engine().sync_engine, "before_cursor_execute",
                     lambda *a, **k: statements.__setitem__(0, statements[0] + 1))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for name, (path, cookie) in targets.items():
                if args.only and name not in args.only and name != "bare":
                    continue
                for _ in range(2):  # warm-up (caches, prepared statements)
                    r = await client.get(path, headers={"cookie": cookie})
                    if r.status_code != 200:
                        print(f"{name}: {r.status_code} {r.text[:300]}", file=sys.stderr)
                        return 1
                statements[0] = 0
                await client.get(path, headers={"cookie": cookie})
                count = statements[0]
                times = []
                for _ in range(args.n):
                    started = time.perf_counter()
                    r = await client.get(path, headers={"cookie": cookie})
                    times.append((time.perf_counter() - started) * 1000)
                results[name] = (statistics.median(times), min(times), count, len(r.content))
                if args.dump:
                    Path(args.dump, f"{name}.html").write_bytes(r.content)
                if args.profile == name:
                    import cProfile
                    import pstats

                    profiler = cProfile.Profile()
                    profiler.enable()
                    for _ in range(5):
                        await client.get(path, headers={"cookie": cookie})
                    profiler.disable()
                    pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(45)
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} cores; one request at a time, in process, n={args.n}")
    print(f"{'page':17} {'median ms':>10} {'best ms':>8} {'queries':>8} {'bytes':>10}")
    for name, (med, best, count, size) in results.items():
        print(f"{name:17} {med:10.1f} {best:8.1f} {count:8d} {size:10,d}")
    slowest = max((n for n in results if n != "bare"), key=lambda n: results[n][0])
    print(f"pages_inprocess_max_ms={results[slowest][0]:.1f} slowest={slowest}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", action="store_true", help="drop and seed the database first")
    parser.add_argument("--db", default="fabrique_bench_pages_inproc")
    parser.add_argument("--pg", default="postgres@127.0.0.1:5432", help="user@host:port of PostgreSQL")
    parser.add_argument("--other-spaces", type=int, default=999)
    parser.add_argument("-n", type=int, default=15, help="timed requests per page (default 15)")
    parser.add_argument("--profile", help="print a cProfile of 5 requests of this page (stderr)")
    parser.add_argument("--dump", help="write each page's body to this directory")
    parser.add_argument("--only", nargs="*", help="pages to time (default: all)")
    args = parser.parse_args()
    user, _at, hostport = args.pg.partition("@")
    host, _colon, port = hostport.partition(":")
    admin_dsn = _seed.dsn(host, int(port or 5432), user, "postgres")
    bench_dsn = _seed.dsn(host, int(port or 5432), user, args.db)
    sa_url = f"postgresql+asyncpg://{user}@{host}:{port or 5432}/{args.db}"
    work = Path(tempfile.mkdtemp(prefix="fabrique-bench-pages-inproc-"))
    os.environ.update({
        "FABRIQUE_ENV": "production", "FABRIQUE_SECRET_KEY": secrets.token_urlsafe(48),
        "FABRIQUE_DATABASE_URL": sa_url, "FABRIQUE_VAR_DIR": str(work / "var"),
        "FABRIQUE_BASE_URL": "http://127.0.0.1:8000", "FABRIQUE_SMTP_HOST": "",
    })
    os.environ.pop("FABRIQUE_REDIS_URL", None)
    from app.config import get_settings

    get_settings.cache_clear()  # read at import (bench.pages imports the app's seeding helpers)
    if args.seed:
        asyncio.run(seed(args, admin_dsn, bench_dsn, sa_url))
    return asyncio.run(timing(args, bench_dsn))


if __name__ == "__main__":
    sys.exit(main())
