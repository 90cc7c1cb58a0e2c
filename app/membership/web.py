"""The one page router of the memberships pages (``pages.py`` imports the modules that fill it)."""

from app.core.web import page_router

router = page_router()
