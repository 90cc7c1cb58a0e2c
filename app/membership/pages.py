"""The memberships pages: each area's router, gathered (discovered as ``app.membership.pages``)."""

from __future__ import annotations

from fastapi import APIRouter

from app.membership import pages_plans

router = APIRouter()
router.include_router(pages_plans.router)
