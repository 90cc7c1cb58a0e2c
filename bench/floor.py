"""Below the floor: `make bench-floor` (= `.venv/bin/python -m bench.floor`, from the repo root).

``bench.booking`` shows the create-booking endpoint at the level of its *floor* (``POST
/bench/floor/{slug}``: the token lookup, the booking and audit rows as two INSERTs, the e-mail job;
no rules, no ORM objects). This asks what it would take to reach the issue's target (0.70 of the
bare INSERT's req/s), by taking round trips away from the floor one at a time — all on the big
space of ``bench._seed``, 2 uvicorn workers, wrk with 50 connections, 5 s each after a 2 s warm-up,
between two runs of the bare insert:

- ``floor``: as in bench.booking;
- ``floor-cte``: the booking and its audit row in one statement (PostgreSQL: DML in a CTE);
- ``floor-cte-no-auth``: the same without the token lookup (no authentication at all);
- ``floor-cte-no-auth-no-job``: and without queueing the e-mail.

The last line is ``floor=R cte=R no_auth=R no_auth_no_job=R`` (ratios to the bare insert).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import asyncpg

from bench import _load, _seed
from bench._server import Server
from bench.booking import DB_NAME, REDIS_URL, flush_redis, log, redis_usable

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DSN = f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}"
SA_URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DB_NAME}"
SECONDS, WARMUP, CONNECTIONS = 5, 2, 50


async def run() -> int:
    if not _load.wrk_available():
        print("bench.floor needs wrk (apt-get install wrk)", file=sys.stderr)
        return 2
    use_redis = redis_usable(REDIS_URL)
    log(f"database {DB_NAME}: drop, create, migrate, seed")
    await _seed.recreate_database(ADMIN, DB_NAME)
    _seed.migrate(SA_URL)
    conn = await asyncpg.connect(DSN)
    big = await _seed.seed_big_space(conn)
    slots = await _seed.create_slots(conn, big)
    await _seed.vacuum(conn)
    work = Path(tempfile.mkdtemp(prefix="fabrique-floor-"))
    member = big.member_account_ids[0]
    paths = {
        "floor": f"/bench/floor/{big.slug}",
        "cte": f"/bench/floor-cte/{big.slug}",
        "no_auth": f"/bench/floor-cte-no-auth/{big.space_id}/{member}",
        "no_auth_no_job": f"/bench/floor-cte-no-auth-no-job/{big.space_id}/{member}",
    }
    share = len(slots) // len(paths)
    files: dict[str, tuple[Path, Path]] = {}
    for k, (name, path) in enumerate(paths.items()):
        rows = [(path, json.dumps({"resource_id": rid, "starts_at": s.isoformat(),
                                   "ends_at": (s + timedelta(minutes=30)).isoformat()}), big.tokens[i % len(big.tokens)])
                for i, (rid, s) in enumerate(slots[k * share:(k + 1) * share])]
        half = len(rows) // 4  # the warm-up's own slots, then the measured run's
        files[name] = (_load.write_requests(work / f"{name}_warm.data.lua", rows[:half]),
                       _load.write_requests(work / f"{name}.data.lua", rows[half:]))
    insert = _load.write_requests(work / "insert.data.lua", [("/bench/insert", '{"payload":"bench"}', "")])
    env = {"FABRIQUE_DATABASE_URL": SA_URL, "FABRIQUE_ENV": "production", "FABRIQUE_SECRET_KEY": "bench-" + "x" * 40}
    if use_redis:
        env["FABRIQUE_REDIS_URL"] = REDIS_URL
    server = Server(env, workers=2, log_path=work / "server.log")
    server.start()

    def measure(name: str, data: Path, warm: Path, *, wrap: bool) -> float:
        _load.run_wrk(f"{name}-warmup", server.base, warm, method="POST", ok_status=201, seconds=WARMUP,
                      connections=CONNECTIONS, wrap=wrap, workdir=work)
        r = _load.run_wrk(name, server.base, data, method="POST", ok_status=201, seconds=SECONDS,
                          connections=CONNECTIONS, wrap=wrap, workdir=work)
        log(f"{name}: {r.rps:.0f} req/s ok, p99 {r.p99_ms:.1f} ms, {r.errors} errors")
        return r.rps

    try:
        base = [measure("bare-insert", insert, insert, wrap=True)]
        rates = {name: measure(name, data, warm, wrap=False) for name, (warm, data) in files.items()}
        base.append(measure("bare-insert-again", insert, insert, wrap=True))
    finally:
        server.stop()
        await conn.close()
        if use_redis:
            flush_redis(REDIS_URL)
    mean = sum(base) / len(base)
    print(f"\nbare insert: {base[0]:.0f} then {base[1]:.0f} req/s (mean {mean:.0f}); jobs "
          f"{'on Redis' if use_redis else 'in-process'}")
    for name, rps in rates.items():
        print(f"  {name:<16} {rps:>7.0f} req/s  {rps / mean:.2f} of the bare insert")
    print(" ".join(f"{name}={rps / mean:.2f}" for name, rps in rates.items()))
    return 0


def main() -> int:
    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
