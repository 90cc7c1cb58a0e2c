"""A benchmark database on PostgreSQL, migrated with ``fabrique migrate`` and seeded with bulk SQL.

The data respects what the app expects: aware UTC timestamps (``timestamptz``), the exclusion
constraint (seeded bookings are whole local hours, one per resource and hour, so they never
overlap), ``blocked_until`` (= ``ends_at``: no buffer), prices frozen on the row, API tokens stored
as the SHA-256 of the raw token (``app.account.service.create_api_token``).
"""

from __future__ import annotations

import hashlib
import os
import random
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

from bench.app import CREATE_TABLE_SQL

ROOT = Path(__file__).resolve().parents[1]
TZ = "Europe/Paris"
OPEN_HOUR, CLOSE_HOUR = 8, 20       # every day, 08:00–20:00 local
PAST_DAYS, FUTURE_DAYS = 305, 60    # a year of bookings: 305 days back, 60 ahead (= the horizon)


def local_today() -> date:
    return datetime.now(ZoneInfo(TZ)).date()


def dsn(host: str, port: int, user: str, db: str) -> str:
    return f"postgresql://{user}@{host}:{port}/{db}"


async def recreate_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def migrate(sqlalchemy_url: str) -> None:
    fabrique = Path(sys.executable).with_name("fabrique")
    cmd = [str(fabrique), "migrate"] if fabrique.exists() else [sys.executable, "-m", "app.cli", "migrate"]
    subprocess.run(cmd, cwd=ROOT, env={**os.environ, "FABRIQUE_DATABASE_URL": sqlalchemy_url}, check=True,
                   capture_output=True)


@dataclass
class BigSpace:
    space_id: int
    slug: str
    resource_ids: list[int]
    member_account_ids: list[int]
    tokens: list[str] = field(repr=False)   # raw API tokens of the members, same order
    bookings: int


async def seed_big_space(conn: asyncpg.Connection, *, resources: int = 50, members: int = 200,
                         past_rate: float = 0.5, future_rate: float = 0.25) -> BigSpace:
    """One space: ``resources`` hourly resources, ``members`` members with API tokens, an owner, and
    a year of bookings (``past_rate`` of the hours taken in the past, ``future_rate`` ahead)."""
    async with conn.transaction():
        space_id = await conn.fetchval(
            "INSERT INTO space (slug, name, timezone, locale, currency, address, created_at) "
            "VALUES ('grand-atelier', 'Le Grand Atelier', $1, 'fr', 'EUR', '12 rue des Forges, 69001 Lyon', now()) "
            "RETURNING id", TZ)
        account_ids = [r["id"] for r in await conn.fetch(
            "INSERT INTO account (email, name, is_superuser, email_verified_at, created_at) "
            "SELECT 'm' || g || '@grand-atelier.bench', 'Membre ' || g, false, now(), now() "
            "FROM generate_series(0, $1) g ORDER BY g RETURNING id", members)]
        owner, member_ids = account_ids[0], account_ids[1:]
        await conn.execute(
            "INSERT INTO space_member (space_id, account_id, role, tags, created_at) "
            "SELECT $1, a, CASE WHEN a = $2 THEN 'owner' ELSE 'member' END, '', now() FROM unnest($3::int[]) a",
            space_id, owner, account_ids)
        tokens = [f"fab_bench{i}_{secrets.token_urlsafe(24)}" for i in range(len(member_ids))]
        await conn.executemany(
            "INSERT INTO api_token (account_id, name, kind, prefix, token_hash, created_at) "
            "VALUES ($1, 'bench', 'personal', $2, $3, now())",
            [(a, t[:10], hashlib.sha256(t.encode()).hexdigest()) for a, t in zip(member_ids, tokens, strict=True)])
        await conn.execute(
            "INSERT INTO booking_settings (space_id, half_day_boundary, updated_at) VALUES ($1, '13:00', now())",
            space_id)
        await conn.execute(
            "INSERT INTO opening_hours (space_id, weekday, opens, closes) "
            "SELECT $1, d, make_time($2, 0, 0), make_time($3, 0, 0) FROM generate_series(0, 6) d",
            space_id, OPEN_HOUR, CLOSE_HOUR)
        await conn.execute(
            "INSERT INTO closure (space_id, start_date, end_date, label, created_at) VALUES "
            "($1, $2::date - 120, $2::date - 120, 'Jour férié', now()), "
            "($1, $2::date - 200, $2::date - 196, 'Fermeture d''hiver', now())", space_id, local_today())
        resource_ids = [r["id"] for r in await conn.fetch(
            "INSERT INTO resource (space_id, name, kind, description, capacity, unit, granularity_minutes, "
            "buffer_minutes, horizon_days, cancel_deadline_hours, late_cancel, allowed_roles, required_tags, "
            "price_public_cents, price_member_cents, vat_rate_bp, position, created_at, updated_at) "
            "SELECT $1, CASE WHEN g <= 20 THEN 'Salle ' ELSE 'Poste ' END || g, "
            "CASE WHEN g <= 20 THEN 'meeting_room' ELSE 'hot_desk' END, '', 1, 'hour', 30, 0, $3, 24, 'refuse', "
            "'', '', 2500, 1500, 2000, g, now(), now() FROM generate_series(1, $2) g ORDER BY g RETURNING id",
            space_id, resources, FUTURE_DAYS)]
        # Two past maintenance blocks.
        await conn.execute(
            "INSERT INTO resource_block (space_id, resource_id, starts_at, ends_at, reason, source, created_at) "
            "SELECT $1, r, now() - interval '40 days', now() - interval '39 days', 'Maintenance', 'manual', now() "
            "FROM unnest($2::int[]) r", space_id, resource_ids[:2])
        # Whole local hours, each taken with a probability: never overlapping by construction.
        await conn.execute("SELECT setseed(0.42)")  # the same data from run to run
        await conn.execute(
            """
            INSERT INTO booking (space_id, resource_id, account_id, booked_by_id, starts_at, ends_at,
                blocked_until, exclusive, status, source, title, note, price_cents, price_kind, currency,
                vat_rate_bp, cancelled_at, cancel_reason, late_cancel_charged, created_at, updated_at)
            SELECT $1, r, a, a, s, s + interval '1 hour', s + interval '1 hour', true,
                   CASE WHEN c THEN 'cancelled' ELSE 'confirmed' END, 'member', '', '', 1500, 'member', 'EUR',
                   2000, CASE WHEN c THEN now() END, '', false, now(), now()
            FROM (
                SELECT r, ((($12::date + dd) + make_interval(hours => h)) AT TIME ZONE $2) AS s,
                       ($3::int[])[1 + floor(random() * $4)::int] AS a, random() < 0.05 AS c, dd
                FROM unnest($5::int[]) r, generate_series(-$6::int, $7::int - 1) dd,
                     generate_series($8::int, $9::int - 1) h
            ) x
            WHERE random() < CASE WHEN dd < 0 THEN $10::float8 ELSE $11::float8 END
            ORDER BY r, s
            """,
            space_id, TZ, member_ids, len(member_ids), resource_ids, PAST_DAYS, FUTURE_DAYS, OPEN_HOUR,
            CLOSE_HOUR, past_rate, future_rate, local_today())
        count = await conn.fetchval("SELECT count(*) FROM booking WHERE space_id = $1", space_id)
        await conn.execute(CREATE_TABLE_SQL)
    return BigSpace(space_id, "grand-atelier", resource_ids, member_ids, tokens, count)


async def seed_other_spaces(conn: asyncpg.Connection, *, spaces: int = 999, resources: int = 6, members: int = 10,
                            bookings_per_resource: int = 30) -> int:
    """``spaces`` more spaces with their members, resources and bookings spread over the same year.
    Returns how many bookings were added."""
    hours = CLOSE_HOUR - OPEN_HOUR
    slots = (PAST_DAYS + FUTURE_DAYS) * hours
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO space (slug, name, timezone, locale, currency, created_at) "
            "SELECT 'espace-' || lpad(g::text, 4, '0'), 'Espace ' || g, $2, 'fr', 'EUR', now() "
            "FROM generate_series(1, $1) g", spaces, TZ)
        await conn.execute(
            "INSERT INTO account (email, name, is_superuser, created_at) "
            "SELECT 'a' || s.id || '-' || g || '@espace.bench', 'Personne ' || g, false, now() "
            "FROM space s, generate_series(1, $1) g WHERE s.slug LIKE 'espace-%' ORDER BY s.id, g", members)
        await conn.execute(
            "INSERT INTO space_member (space_id, account_id, role, tags, created_at) "
            "SELECT split_part(substr(email, 2), '-', 1)::int, id, "
            "CASE WHEN email LIKE '%-1@%' THEN 'owner' ELSE 'member' END, '', now() "
            "FROM account WHERE email LIKE '%@espace.bench'")
        await conn.execute(
            "INSERT INTO resource (space_id, name, kind, description, capacity, unit, granularity_minutes, "
            "buffer_minutes, horizon_days, cancel_deadline_hours, late_cancel, allowed_roles, required_tags, "
            "price_public_cents, price_member_cents, vat_rate_bp, position, created_at, updated_at) "
            "SELECT s.id, 'Salle ' || g, 'meeting_room', '', 1, 'hour', 30, 0, 60, 24, 'refuse', '', '', "
            "2000, 1000, 2000, g, now(), now() FROM space s, generate_series(1, $1) g "
            "WHERE s.slug LIKE 'espace-%' ORDER BY s.id, g", resources)
        # k-th booking of a resource at slot (k * 37 + resource id) mod slots: distinct hours (37 is
        # prime to the slot count), so no two overlap.
        assert slots % 37
        before = await conn.fetchval("SELECT count(*) FROM booking")
        await conn.execute(
            """
            INSERT INTO booking (space_id, resource_id, account_id, booked_by_id, starts_at, ends_at,
                blocked_until, exclusive, status, source, title, note, price_cents, price_kind, currency,
                vat_rate_bp, cancel_reason, late_cancel_charged, created_at, updated_at)
            SELECT r.space_id, r.id, m.account_id, m.account_id, x.s, x.s + interval '1 hour',
                   x.s + interval '1 hour', true, 'confirmed', 'member', '', '', 1000, 'member', 'EUR', 2000, '',
                   false, now(), now()
            FROM resource r
            JOIN space s ON s.id = r.space_id AND s.slug LIKE 'espace-%'
            CROSS JOIN generate_series(1, $1) k
            CROSS JOIN LATERAL (
                SELECT ((($7::date - $2::int) + ((k * 37 + r.id) % $3) / $4
                        + make_interval(hours => $5 + ((k * 37 + r.id) % $3) % $4)) AT TIME ZONE $6) AS s
            ) x
            JOIN space_member m ON m.space_id = r.space_id AND m.role = 'owner'
            ORDER BY r.id, x.s
            """,
            bookings_per_resource, PAST_DAYS, slots, hours, OPEN_HOUR, TZ, local_today())
        after = await conn.fetchval("SELECT count(*) FROM booking")
    return after - before


async def create_slots(conn: asyncpg.Connection, big: BigSpace, *, first_day: int = 8) -> list[tuple[int, datetime]]:
    """Free half-hour slots of the big space from ``first_day`` days ahead to the horizon, shuffled:
    each create-booking request of the load takes its own."""
    today = local_today()
    zone = ZoneInfo(TZ)
    lo = datetime.combine(today + timedelta(days=first_day), time(0), tzinfo=zone)
    hi = datetime.combine(today + timedelta(days=FUTURE_DAYS), time(0), tzinfo=zone)
    taken = {(r["resource_id"], r["starts_at"]) for r in await conn.fetch(
        "SELECT resource_id, starts_at FROM booking WHERE space_id = $1 AND status = 'confirmed' "
        "AND starts_at >= $2 AND starts_at < $3", big.space_id, lo, hi)}
    slots = []
    for offset in range(first_day, FUTURE_DAYS):
        day = today + timedelta(days=offset)
        for hour in range(OPEN_HOUR, CLOSE_HOUR):
            start = datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)
            for rid in big.resource_ids:
                if (rid, start) not in taken:  # seeded bookings are whole hours
                    slots += [(rid, start), (rid, start + timedelta(minutes=30))]
    random.Random(42).shuffle(slots)
    return slots


async def vacuum(conn: asyncpg.Connection) -> None:
    """Statistics for the planner, then a checkpoint: seeding writes ~100 MB of WAL, and the
    checkpoint it triggers would otherwise run during the next load and tax whichever endpoint is
    measured then (create fell from 0.45 to 0.27 of the bare insert right after the 999 spaces)."""
    await conn.execute("VACUUM ANALYZE")
    await conn.execute("CHECKPOINT")
