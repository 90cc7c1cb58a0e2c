"""The raw SQL check of ``make lint`` (.ci/check_raw_sql.py): app/ and workers/ are clean, and each
way around the tenant guard is caught outside its allow-list."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from app.config import ROOT

SCRIPT = ROOT / ".ci" / "check_raw_sql.py"


def _checker():
    spec = importlib.util.spec_from_file_location("check_raw_sql", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_code_base_has_no_raw_sql_outside_the_allow_list():
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout


def test_each_way_around_the_guard_is_reported(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text(
        "import sqlalchemy as sa\n"
        "from sqlalchemy import text as raw\n"
        "from app.core.db import get_engine\n"
        "async def leak(session, conn):\n"
        "    await session.execute(raw('SELECT * FROM booking'))\n"
        "    await session.execute(sa.text('SELECT * FROM booking'))\n"
        "    await conn.exec_driver_sql('SELECT * FROM booking')\n"
        "    connection = await session.connection()\n"
        "    async with get_engine().connect() as c:\n"
        "        pass\n"
        "    async with session.bind.begin() as c:\n"
        "        pass\n"
        "def fine(path):\n"
        "    return path.read_text(), clean_text('x')\n"
    )
    problems, _used = _checker().check_file(source, "app/probe.py")
    assert [p.split(": raw SQL (")[1].split(")")[0] for p in problems] == [
        "text", "text", "exec_driver_sql", "connection", "engine", "engine"]
    assert all(p.startswith("app/probe.py:") for p in problems)
