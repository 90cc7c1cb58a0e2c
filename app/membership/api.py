"""The memberships API: each part adds its router here (one include line each)."""

from fastapi import APIRouter

from app.membership import api_orders

router = APIRouter()
router.include_router(api_orders.router)
