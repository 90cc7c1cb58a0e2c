"""Browser tests: a real server (uvicorn subprocess, same test database) and Debian's chromium.

The server runs in its own process so that it has its own engine and job runner, exactly as in
production; tests prepare data with the factories (through the same database) or through the UI.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(autouse=True)
def _clean_state():
    """Browser tests share one live server and database: they use distinct data instead of
    emptying tables (and Playwright's own loop forbids the async clean-up of other tests)."""
    yield


def run_in_db(fn, *args, **kwargs):
    """Run ``await fn(*args, **kwargs)`` (e.g. a factory) in a thread with its own loop and engine.

    Playwright's sync API owns the main thread's event loop, so async set-up runs beside it.
    """
    import asyncio
    import threading

    from app.core import db

    result: list = []
    errors: list[BaseException] = []

    async def main():
        db.init_engine()
        try:
            return await fn(*args, **kwargs)
        finally:
            await db.dispose_engine()

    def work():
        try:
            result.append(asyncio.run(main()))
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    if errors:
        raise errors[0]
    return result[0]


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (the browser tests are required)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR", "timezone_id": "Europe/Paris"}


@pytest.fixture
def phone():
    """Context options for a phone-sized viewport: ``browser.new_context(**phone)``."""
    return {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "locale": "fr-FR",
            "timezone_id": "Europe/Paris"}


def latest_link(to: str, prefix: str, base_url: str) -> str:
    """The newest e-mailed link to ``to`` starting with base_url + prefix (the server's outbox)."""
    import email
    import email.policy
    import re

    from app.config import get_settings

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for path in sorted(get_settings().outbox_dir.glob("*.eml"), reverse=True):
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if msg["To"] != to:
                continue
            body = msg.get_body(preferencelist=("plain",)).get_content()
            m = re.search(re.escape(base_url + prefix) + r"[^\s]+", body)
            if m:
                return m.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no {prefix} link mailed to {to}")
