"""Test harness: a fresh database built by the migrations, the app with its lifespan, two spaces
with people of every role, API clients and browser-like sessions per role, and the job queue.

SQLite by default; PostgreSQL and Redis when FABRIQUE_TEST_DATABASE_URL / FABRIQUE_TEST_REDIS_URL
are set — the same tests.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="fabrique-test-"))
TEST_DATABASE_URL = os.environ.get("FABRIQUE_TEST_DATABASE_URL") or f"sqlite+aiosqlite:///{_TMP / 'test.db'}"
TEST_REDIS_URL = os.environ.get("FABRIQUE_TEST_REDIS_URL") or None

os.environ.update({
    "FABRIQUE_ENV": "test",
    "FABRIQUE_VAR_DIR": str(_TMP / "var"),
    "FABRIQUE_DATABASE_URL": TEST_DATABASE_URL,
    "FABRIQUE_SECRET_KEY": "test-secret-key-that-is-long-enough-for-the-checks",
    "FABRIQUE_BASE_URL": "http://testserver",
    # The outbox relay runs at start-up only: tests call jobs.relay() when they mean it.
    "FABRIQUE_OUTBOX_RELAY_SECONDS": "0",
})
if TEST_REDIS_URL:
    os.environ["FABRIQUE_REDIS_URL"] = TEST_REDIS_URL
else:
    os.environ.pop("FABRIQUE_REDIS_URL", None)
os.environ.pop("FABRIQUE_SMTP_HOST", None)

import pytest  # noqa: E402

pytest_plugins = ["tests.fixtures.harness"]


def pytest_report_header(config: pytest.Config) -> list[str]:
    db = TEST_DATABASE_URL.split("@")[-1] if "@" in TEST_DATABASE_URL else TEST_DATABASE_URL
    return [f"fabrique: database={db} redis={TEST_REDIS_URL or 'in-process jobs'}"]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last. Playwright's sync API keeps an event loop running in the main thread
    for as long as its (session-wide) driver lives, and pytest-asyncio cannot run an async test while
    another loop runs there: run first, the browser tests would fail every async test after them.
    Run last, the driver stops before the async fixtures' teardown. The order is otherwise kept."""
    items.sort(key=lambda item: "/tests/e2e/" in str(item.path))
