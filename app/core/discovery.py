"""Domain packages plug themselves in by convention: ``app/<domain>/{models,api,pages,tasks,demo}.py``.

Adding a domain never means editing a central list (and two domains never fight over one).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

APP_DIR = Path(__file__).resolve().parents[1]
# Order matters only for routes: pages are matched after the API, and "core" domains first.
FIRST = ("account", "space", "platform")


def domains() -> list[str]:
    names = [p.name for p in APP_DIR.iterdir() if p.is_dir() and (p / "__init__.py").exists() and p.name != "core"]
    return sorted(names, key=lambda n: (FIRST.index(n) if n in FIRST else len(FIRST), n))


def domain_modules(kind: str) -> list[ModuleType]:
    return [importlib.import_module(f"app.{d}.{kind}") for d in domains() if (APP_DIR / d / f"{kind}.py").exists()]


def load_models() -> list[ModuleType]:
    """Every table: the domains' ``models.py`` and the few that live in app.core."""
    importlib.import_module("app.core.idempotency")
    return domain_modules("models")


def load_hooks() -> list[ModuleType]:
    """Every domain's ``hooks.py``: what it registers with the others (listeners, snapshot facts)."""
    return domain_modules("hooks")
