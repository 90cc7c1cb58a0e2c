#!/usr/bin/env python3
"""Refuse raw SQL in app/ and workers/ outside a short, commented allow-list (``make lint``).

The tenant guard (``app.core.tenancy``) scopes every ORM statement to the request's space; raw SQL
is what it cannot read. Through a session it raises at run time; this check keeps the places that
run it outside a session — or lift the guard on purpose — few, named and explained:

- ``text(...)`` (sqlalchemy's, whatever it was imported as),
- ``.exec_driver_sql(...)``,
- ``.connection()`` / ``Session.connection(session)`` (a connection the guard never sees),
- ``.connect()`` / ``.begin()`` on an engine (a name holding "engine", ``get_engine()``,
  ``make_engine()``, ``session.bind``, ``session.get_bind()``).

Migrations, tests and benchmarks are outside its scope. Usage: ``python .ci/check_raw_sql.py``
from the repository root; exits 1 listing each offending call.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("app", "workers")

# (file, enclosing function, what it runs) → why it may. Keep it short: a new entry is a review topic.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("app/cli.py", "_check_database", "text"):
        "`fabrique migrate` probes the database before migrating: SELECT 1, no tenant data",
    ("app/cli.py", "_check_database", "engine"):
        "the same probe opens its own engine: no session exists yet",
    ("app/core/db.py", "_on_begin", "exec_driver_sql"):
        "SQLite's BEGIN IMMEDIATE, issued by the engine's begin event (STACK.md)",
    ("app/core/tenancy.py", "_bump_config", "text"):
        "the guard's own bookkeeping: bumps space.config_version of the space being written",
    ("app/core/tenancy.py", "connection", "connection"):
        "GuardedSession.connection() itself, which hands a connection out only with the guard lifted",
    ("app/core/tenancy.py", "_bump_config", "connection"):
        "the same statement, run on the flush's connection from inside the guard",
}


def _kind(call: ast.Call, text_names: set[str]) -> str | None:
    func = call.func
    if isinstance(func, ast.Name) and func.id in text_names:
        return "text"
    if not isinstance(func, ast.Attribute):
        return None
    if func.attr == "text" and isinstance(func.value, ast.Name) and func.value.id in {"sa", "sqlalchemy"}:
        return "text"
    if func.attr == "exec_driver_sql":
        return "exec_driver_sql"
    if func.attr == "connection":
        return "connection"
    if func.attr in {"connect", "begin"}:
        receiver = func.value
        if isinstance(receiver, ast.Call):
            receiver = receiver.func  # get_engine().connect(), session.get_bind().connect()
        name = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(receiver, "id", "")
        if "engine" in name or name in {"bind", "get_bind"}:
            return "engine"
    return None


def _text_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            names.update(alias.asname or alias.name for alias in node.names if alias.name == "text")
    return names


def check_file(path: Path, rel: str) -> tuple[list[str], set[tuple[str, str, str]]]:
    tree = ast.parse(path.read_text(), filename=rel)
    text_names = _text_names(tree)
    problems: list[str] = []
    used: set[tuple[str, str, str]] = set()

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if isinstance(child, ast.Call):
                kind = _kind(child, text_names)
                if kind is not None:
                    key = (rel, function, kind)
                    if key in ALLOWED:
                        used.add(key)
                    else:
                        problems.append(f"{rel}:{child.lineno}: raw SQL ({kind}) in {function or 'module'}() "
                                        "bypasses the tenant guard; use the ORM, or allow-list it in "
                                        ".ci/check_raw_sql.py with the reason")
            visit(child, inner)

    visit(tree, "")
    return problems, used


def main() -> int:
    problems: list[str] = []
    used: set[tuple[str, str, str]] = set()
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            found, seen = check_file(path, path.relative_to(ROOT).as_posix())
            problems += found
            used |= seen
    for key in sorted(set(ALLOWED) - used):
        problems.append(f"{key[0]}: allow-list entry {key[1]}/{key[2]} matches nothing any more: remove it")
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
