"""The membership API: one router gathering each area's (credits, plans, orders...)."""

from __future__ import annotations

from fastapi import APIRouter

from app.membership import api_credits

router = APIRouter()
router.include_router(api_credits.router)
