"""Imports every domain's models so SQLModel.metadata is complete (Alembic, tests)."""

from app.core.discovery import load_models

MODELS = load_models()
