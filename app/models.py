"""Imports every domain's models so SQLModel.metadata is complete (Alembic, tests)."""

from app.core.discovery import domain_modules

MODELS = domain_modules("models")
