"""Imports every table so SQLModel.metadata is complete (Alembic, tests)."""

import app.account.models  # noqa: F401
import app.audit.models  # noqa: F401
import app.space.models  # noqa: F401
