"""Calendar benchmark: serving large feeds, and importing a large external calendar into blocks.

    .venv/bin/python -m bench.calendar        (or: make bench-calendar)

Seeds its own database in a temporary directory (SQLite; PostgreSQL when FABRIQUE_DATABASE_URL
is set — that database is wiped), then serves the app in-process (httpx's ASGI transport, so the
figures are server time without network) and times:

* the public events feed of a space with 1,000 events and a member's feed with 500 bookings:
  the first request of a fresh process (every VEVENT serialised), the steady state (200 with the
  serialised events cached), and the 304 answer to a client that sends the ETag back;
* importing an external calendar of 2,000 events, 40 % of them recurring, served by a local HTTP
  server, into blocks over a 90-day horizon: download, expansion and the write of the blocks;
  then the same import again (nothing changed: only the difference is written).

The last line is ``feed_1000_ms=X import_2000_s=Y`` (median steady-state 200, first import).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TMP = Path(tempfile.mkdtemp(prefix="fabrique-bench-calendar-"))
os.environ.setdefault("FABRIQUE_DATABASE_URL", f"sqlite+aiosqlite:///{TMP / 'bench.db'}")
os.environ.update({
    "FABRIQUE_ENV": "test",
    "FABRIQUE_VAR_DIR": str(TMP / "var"),
    "FABRIQUE_SECRET_KEY": "bench-secret-key-that-is-long-enough-for-the-checks",
    "FABRIQUE_BASE_URL": "http://bench",
})
os.environ.pop("FABRIQUE_REDIS_URL", None)

import httpx  # noqa: E402

EVENTS, BOOKINGS, EXTERNAL_EVENTS = 1_000, 500, 2_000
NOW = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)  # the external calendar starts that week


def log(message: str) -> None:
    print(message, flush=True)


def reset_database() -> None:
    from sqlalchemy import text

    from app.cli import migrate
    from app.config import get_settings
    from app.core import db

    url = get_settings().database_url
    if url.startswith("postgresql"):
        async def drop() -> None:
            engine = db.make_engine(url=url)
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            await engine.dispose()

        asyncio.run(drop())
    migrate()


async def seed() -> dict:
    from app.account.models import Account
    from app.booking.models import Booking
    from app.calendar import feeds
    from app.calendar.models import FeedKind
    from app.core import db
    from app.event.models import Event
    from app.resource.models import Resource
    from app.space.models import Space, SpaceMember

    async with db.transaction() as session:
        space = Space(slug="bench", name="Tiers-lieu du banc d'essai", locale="fr", address="1 place du Marché")
        member = Account(name="Camille Martin", email="camille@example.org", email_verified_at=NOW)
        session.add_all([space, member])
        await session.flush()
    async with db.transaction(space_id=space.id) as session:
        session.add(SpaceMember(account_id=member.id, role="member"))
        room = Resource(name="Salle des fêtes", horizon_days=90)
        session.add(room)
        await session.flush()
        start = NOW.replace(hour=17)
        for n in range(EVENTS):
            at = start + timedelta(days=n // 3, hours=n % 3)
            session.add(Event(title=f"Atelier n°{n}", description=f"**Atelier** {n}: réparer, coudre, souder.",
                              starts_at=at, ends_at=at + timedelta(minutes=50), place="Grande salle",
                              status="published", published_at=NOW, updated_at=NOW - timedelta(minutes=n)))
        for n in range(BOOKINGS):
            at = NOW.replace(hour=8) + timedelta(days=n // 4, hours=2 * (n % 4))
            session.add(Booking(resource_id=room.id, account_id=member.id, starts_at=at,
                                ends_at=at + timedelta(hours=1), blocked_until=at + timedelta(hours=1),
                                price_cents=1500, created_at=NOW, updated_at=NOW - timedelta(minutes=n)))
        await session.flush()
        owner = await session.get(Account, member.id)
        events_feed = await feeds.regenerate_feed(session, space, owner, FeedKind.events)
        member_feed = await feeds.regenerate_feed(session, space, owner, FeedKind.member, account_id=member.id)
        urls = {"events": feeds.feed_url(events_feed), "member": feeds.feed_url(member_feed)}
    return {"space": space, "room": room, "urls": {k: v.removeprefix("http://bench") for k, v in urls.items()}}


async def timed(client: httpx.AsyncClient, path: str, n: int, **headers: str) -> tuple[list[float], httpx.Response]:
    times = []
    response = None
    for _ in range(n):
        started = time.perf_counter()
        response = await client.get(path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
    assert response is not None
    return times, response


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms   (n={len(ordered)})"


async def bench_feeds(seeded: dict) -> float:
    from app.main import create_app

    application = create_app()
    medians = {}
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for kind, label in (("events", f"space feed, {EVENTS} events"), ("member", f"member feed, {BOOKINGS} bookings")):
                path = seeded["urls"][kind]
                cold, first = await timed(client, path, 1)
                assert first.status_code == 200, first.text
                assert first.text.count("BEGIN:VEVENT") == (EVENTS if kind == "events" else BOOKINGS)
                warm, _r = await timed(client, path, 40)
                etag = first.headers["etag"]
                not_modified, last = await timed(client, path, 100, **{"If-None-Match": etag})
                assert last.status_code == 304
                log(f"{label}  ({len(first.content) / 1024:.0f} KiB)")
                log(f"  first request of a process  {cold[0]:7.1f} ms")
                log(f"  200, steady state           {summary(warm)}")
                log(f"  304 with If-None-Match      {summary(not_modified)}")
                medians[kind] = statistics.median(warm)
    return medians["events"]


class _Feed(BaseHTTPRequestHandler):
    body = b""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "text/calendar")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


async def bench_import(seeded: dict) -> float:
    from app.calendar import sources
    from app.calendar.models import CalendarSource
    from app.core import db
    from tests.calendar.conftest import _many_events_ics

    _Feed.body = _many_events_ics(EXTERNAL_EVENTS)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Feed)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        space, room = seeded["space"], seeded["room"]
        async with db.transaction(space_id=space.id) as session:
            source = CalendarSource(resource_id=room.id, url=f"http://127.0.0.1:{httpd.server_address[1]}/c.ics")
            session.add(source)
        started = time.perf_counter()
        status = await sources.import_source(space.id, source.id)
        first = time.perf_counter() - started
        assert status == "ok", status
        async with db.transaction(space_id=space.id, write=False) as session:
            count = (await session.get(CalendarSource, source.id)).block_count
        started = time.perf_counter()
        await sources.import_source(space.id, source.id)
        again = time.perf_counter() - started
    finally:
        httpd.shutdown()
        httpd.server_close()
    log(f"import of {EXTERNAL_EVENTS} external events ({len(_Feed.body) / 1024:.0f} KiB), 90-day horizon")
    log(f"  first import: {count} blocks     {first:6.2f} s")
    log(f"  same calendar again (no change)  {again:6.2f} s")
    return first


async def main() -> None:
    from app.core import clock

    clock.freeze(NOW)
    seeded = await seed()
    feed_ms = await bench_feeds(seeded)
    import_s = await bench_import(seeded)
    log(f"(data in {TMP})")
    print(f"feed_1000_ms={feed_ms:.1f} import_2000_s={import_s:.2f}")


if __name__ == "__main__":
    db_url = os.environ["FABRIQUE_DATABASE_URL"]
    log(f"database: {db_url.split('@')[-1]}   python {sys.version.split()[0]}")
    reset_database()
    asyncio.run(main())
