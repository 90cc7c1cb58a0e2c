from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from app.config import Settings


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FABRIQUE_")}
    full_env.update(env)
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, env=full_env,
                          timeout=60)


def test_serve_with_the_database_down_names_the_host_without_a_traceback(tmp_path):
    r = _run("serve", FABRIQUE_DATABASE_URL="postgresql+asyncpg://fabrique@127.0.0.1:1/nope",
             FABRIQUE_VAR_DIR=str(tmp_path))
    assert r.returncode == 1
    assert "127.0.0.1:1" in r.stderr
    assert "Traceback" not in r.stderr


def test_production_refuses_a_missing_or_placeholder_secret():
    with pytest.raises(ValidationError, match="FABRIQUE_SECRET_KEY"):
        Settings(env="production", secret_key=None)
    with pytest.raises(ValidationError, match="FABRIQUE_SECRET_KEY"):
        Settings(env="production", secret_key="changeme")
    Settings(env="production", secret_key="x" * 40)


def test_production_start_says_which_variable_to_set(tmp_path):
    r = _run("serve", FABRIQUE_ENV="production", FABRIQUE_VAR_DIR=str(tmp_path))
    assert r.returncode == 1
    assert "FABRIQUE_SECRET_KEY" in r.stderr
    assert "Traceback" not in r.stderr


def test_development_generates_and_keeps_a_secret_key(tmp_path):
    s = Settings(env="development", var_dir=tmp_path)
    key = s.resolved_secret_key()
    assert len(key) >= 32
    assert Settings(env="development", var_dir=tmp_path).resolved_secret_key() == key


def test_createsuperuser_then_demo_on_a_fresh_sqlite_file(tmp_path):
    env = {"FABRIQUE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'f.db'}", "FABRIQUE_VAR_DIR": str(tmp_path)}
    assert _run("migrate", **env).returncode == 0
    r = _run("createsuperuser", "--email", "op@example.org", "--name", "Op", "--password", "operator-password-1", **env)
    assert r.returncode == 0, r.stderr
    first = _run("demo", **env)
    assert first.returncode == 0, first.stderr
    assert "claire@demo.fabrique.coop" in first.stdout
    import sqlite3

    with sqlite3.connect(tmp_path / "f.db") as con:  # one place per person: no member holds a table twice
        doubles = con.execute(
            "SELECT count(*) FROM booking a JOIN booking b ON a.resource_id = b.resource_id AND a.id < b.id"
            " AND a.account_id = b.account_id AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at"
            " WHERE a.status = 'confirmed' AND b.status = 'confirmed'").fetchone()[0]
        assert doubles == 0 and con.execute("SELECT count(*) FROM booking").fetchone()[0] > 20
    second = _run("demo", **env)  # idempotent
    assert second.returncode == 0, second.stderr


def test_access_log_lines_never_carry_emailed_secrets():
    import logging

    from app.core.logsafety import RedactSecrets

    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/reset-password/eyJhIjo.secret?x=1", "1.1", 200), None)
    RedactSecrets().filter(record)
    line = record.getMessage()
    assert "eyJhIjo" not in line and "/reset-password/***" in line
    for path in ("/invitations/tok123/accept", "/verify-email/tok123", "/api/v1/invitations/tok123/accept",
                 "/x?token=tok123"):
        record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "%s", (path,), None)
        RedactSecrets().filter(record)
        assert "tok123" not in record.getMessage()


def test_several_web_workers_without_redis_are_refused_with_the_reason(tmp_path):
    r = _run("serve", "--workers", "2", FABRIQUE_VAR_DIR=str(tmp_path),
             FABRIQUE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    assert r.returncode == 1
    assert "FABRIQUE_REDIS_URL" in r.stderr and "Traceback" not in r.stderr


def test_mailed_links_follow_the_served_port_unless_the_base_url_is_set(tmp_path):
    """`PORT=8080 make run` (migrate, demo, serve): every link mailed — the demo's invitations and
    confirmations, a password reset — points at the port being served."""
    import socket
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FABRIQUE_")}
    env.update(FABRIQUE_VAR_DIR=str(tmp_path), FABRIQUE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    for args in (["migrate"], ["demo", "--port", str(port)]):
        subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, check=True, capture_output=True,
                       timeout=120)
    server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--no-access-log"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    outbox = tmp_path / "outbox"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        r = httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/password-reset",
                       json={"email": "paul@demo.fabrique.coop"})
        assert r.status_code == 202
        while not any("reset-password" in f.read_text() for f in outbox.glob("*.eml")):
            assert time.monotonic() < deadline, "no reset e-mail was written"
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=20)
    mails = [f.read_text() for f in outbox.glob("*.eml")]
    assert len(mails) > 1  # the demo's own e-mails, sent by the server's relay, and the reset
    assert f"http://127.0.0.1:{port}/reset-password/" in "".join(mails)
    assert not [m for m in mails if "127.0.0.1:8000" in m]


def test_an_explicit_base_url_is_kept_whatever_the_port(monkeypatch):
    from app import cli
    from app.config import get_settings

    monkeypatch.setenv("FABRIQUE_BASE_URL", "https://coworking.example.org")
    get_settings.cache_clear()
    try:
        cli._follow_port(get_settings(), "0.0.0.0", 8080)
        assert get_settings().base_url == "https://coworking.example.org"
    finally:
        get_settings.cache_clear()
