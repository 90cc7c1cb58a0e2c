from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from app.config import ROOT, get_settings


def _config() -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["configure_logger"] = False
    return cfg


def test_models_and_migrations_do_not_drift(app):
    """The test database was built by `alembic upgrade heads`; autogenerate must find nothing to add."""
    from app.core import db

    token = db.set_write_intent(False)  # a read-only comparison: no SQLite write lock to wait for
    try:
        command.check(_config())
    finally:
        db._write_intent.reset(token)


def test_migration_files_are_named_by_date(app):
    import re

    script = ScriptDirectory.from_config(_config())
    for rev in script.walk_revisions():
        name = rev.path.rsplit("/", 1)[-1]
        assert re.match(r"^\d{4}-\d{2}-\d{2}-\d{4}_[a-z0-9_]+\.py$", name), name


def test_the_test_database_is_the_configured_one(app):
    assert get_settings().database_url.startswith(("sqlite+aiosqlite", "postgresql+asyncpg"))
