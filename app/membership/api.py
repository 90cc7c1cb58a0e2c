"""The memberships API: each area's router, gathered (discovered as ``app.membership.api``)."""

from __future__ import annotations

from fastapi import APIRouter

from app.membership import api_credits, api_orders, api_plans

router = APIRouter()
router.include_router(api_plans.router)
router.include_router(api_credits.router)
router.include_router(api_orders.router)
