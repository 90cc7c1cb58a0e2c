"""The memberships pages: each area's router, gathered (discovered as ``app.membership.pages``)."""

from __future__ import annotations

from fastapi import APIRouter

from app.membership import pages_manage, pages_member, pages_plans  # noqa: F401  (pages_manage/member add to web.router)
from app.membership.web import router as orders_pages

router = APIRouter()
router.include_router(pages_plans.router)
router.include_router(orders_pages)
