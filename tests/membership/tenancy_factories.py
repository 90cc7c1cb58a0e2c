"""Objects of space A for the cross-tenant matrix: a member's account (credits routes)."""

from __future__ import annotations

from tests.tenancy.registry import object_factory


@object_factory("account_id")
async def _member_account(world) -> int:
    return world.a.accounts["member"].id
