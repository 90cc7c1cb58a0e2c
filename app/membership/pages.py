"""The memberships pages: each area's router, gathered (discovered as ``app.membership.pages``)."""

from __future__ import annotations

from fastapi import APIRouter

from app.membership import pages_manage, pages_member  # noqa: F401  (they add their routes to web.router)
from app.membership.web import router as orders_pages

router = APIRouter()
router.include_router(orders_pages)
