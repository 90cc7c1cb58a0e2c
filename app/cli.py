"""The ``fabrique`` command: serve, worker, migrate, demo, createsuperuser."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys

from app.config import ROOT, default_base_url, get_settings


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _fail(message: str) -> None:
    print(f"fabrique: {message}", file=sys.stderr)
    raise SystemExit(1)


def _load_settings():
    try:
        return get_settings()
    except Exception as exc:  # pydantic's message names the variable to set
        _fail(f"invalid configuration: {exc}")


async def _check_database() -> None:
    from sqlalchemy import text

    from app.core.db import make_engine

    settings = get_settings()
    engine = make_engine(settings)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


def check_database_or_exit() -> None:
    settings = _load_settings()
    try:
        asyncio.run(asyncio.wait_for(_check_database(), timeout=15))
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        _fail(f"cannot reach the database at {settings.database_host} ({reason}). "
              "Is it running, and is FABRIQUE_DATABASE_URL right?")


def migrate(url: str | None = None) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if url:
        cfg.attributes["url"] = url
    command.upgrade(cfg, "heads")


def cmd_migrate(args: argparse.Namespace) -> None:
    check_database_or_exit()
    migrate()
    print("Database is up to date.")


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    settings = _load_settings()
    if settings.env == "development":
        settings.resolved_secret_key()
    if args.workers > 1 and not settings.redis_url:
        # Without Redis, jobs, cron and the change counters behind the caches live in the process:
        # several processes would each run the cron jobs and serve stale availability.
        _fail("--workers above 1 needs FABRIQUE_REDIS_URL (jobs, cron and cache counters are "
              "per process without Redis); run one worker, or set it and start `fabrique worker`")
    check_database_or_exit()
    _follow_port(settings, args.host, args.port)
    uvicorn.run(
        "app.main:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
        loop="uvloop", http="httptools", proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips,
        log_level="info", access_log=not args.no_access_log,
    )


def _follow_port(settings, host: str, port: int) -> None:
    """Links in e-mails and feed addresses use FABRIQUE_BASE_URL; unless it is set explicitly, it
    follows the address being served (``PORT=8080 make run`` must not mail links to port 8000).
    The environment carries it to uvicorn's worker processes and to the in-process jobs."""
    import os

    if "base_url" in settings.model_fields_set:
        return
    base_url = default_base_url(host, port)
    os.environ["FABRIQUE_BASE_URL"] = base_url
    get_settings.cache_clear()
    logging.getLogger("fabrique").info("links and feed addresses use %s (set FABRIQUE_BASE_URL to change it)",
                                       base_url)


def cmd_worker(args: argparse.Namespace) -> None:
    settings = _load_settings()
    if not settings.redis_url:
        _fail("FABRIQUE_REDIS_URL is not set. Without Redis, jobs run inside `fabrique serve`; "
              "no separate worker is needed.")
    check_database_or_exit()
    from arq.worker import run_worker

    from workers.settings import WorkerSettings, build_worker_settings

    # Explicit settings: the Redis URL is FABRIQUE_REDIS_URL, never arq's localhost default.
    run_worker(WorkerSettings, **build_worker_settings(settings.redis_url))


def cmd_demo(args: argparse.Namespace) -> None:
    from app.demo import load_demo

    check_database_or_exit()
    # The demo's e-mails (invitations, confirmations) carry links: to the address `serve` will use.
    _follow_port(_load_settings(), args.host, args.port)
    asyncio.run(load_demo())


def cmd_createsuperuser(args: argparse.Namespace) -> None:
    from app.account import service
    from app.core import db
    from app.core.errors import FabriqueError

    check_database_or_exit()
    email = args.email or input("E-mail: ").strip()
    name = args.name or input("Name: ").strip() or email
    password = args.password or getpass.getpass("Password: ")

    async def run() -> None:
        db.init_engine()
        try:
            async with db.transaction() as session:
                account = await service.get_by_email(session, email)
                if account is None:
                    account = await service.create_account(
                        session, name=name, email=email, password=password, verified=True
                    )
                account.is_superuser = True
                session.add(account)
        finally:
            await db.dispose_engine()

    try:
        asyncio.run(run())
    except FabriqueError as exc:
        fields = "; ".join(exc.translated_fields().values())
        _fail(f"{exc.translated_message()} {fields}".strip())
    print(f"{email} is now a platform operator (superuser).")


def cmd_verify_ledger(args: argparse.Namespace) -> None:
    """Walk each space's hash chain (invoices, credit notes, payments, closures); exit 1 at a break."""

    from app.billing.chain import verify_spaces
    from app.core import db

    _load_settings()

    async def run() -> list:
        try:
            return await verify_spaces(args.space)
        finally:
            await db.dispose_engine()

    results = asyncio.run(run())
    if args.space and not results:
        _fail(f"no space {args.space!r}")
    broken = False
    for slug, count, first_break in results:
        if first_break is None:
            print(f"{slug}: ok ({count} links)")
        else:
            broken = True
            print(f"{slug}: BROKEN after {count} links: {first_break}")
    if broken:
        sys.exit(1)


def main(argv: list[str] | None = None) -> None:
    _setup_logging()
    parser = argparse.ArgumentParser(prog="fabrique", description="Fabrique: coworking and tiers-lieux operations")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve the web application")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--forwarded-allow-ips", default="127.0.0.1")
    p.add_argument("--no-access-log", action="store_true")
    p.set_defaults(func=cmd_serve)

    sub.add_parser("worker", help="run the arq worker (needs FABRIQUE_REDIS_URL)").set_defaults(func=cmd_worker)
    sub.add_parser("migrate", help="bring the database schema up to date").set_defaults(func=cmd_migrate)
    p = sub.add_parser("demo", help="load the demo space (idempotent)")
    p.add_argument("--host", default="127.0.0.1", help="where `fabrique serve` will listen (for the links mailed)")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("createsuperuser", help="create (or promote) a platform operator")
    p.add_argument("--email")
    p.add_argument("--name")
    p.add_argument("--password", help="prefer the prompt: a password on the command line lands in shell history")
    p.set_defaults(func=cmd_createsuperuser)

    p = sub.add_parser("verify-ledger", help="check the invoices' and payments' hash chain; report the first broken link")
    p.add_argument("--space", help="the space's slug (default: every space)")
    p.set_defaults(func=cmd_verify_ledger)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
