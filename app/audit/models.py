from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field

from app.core.clock import now
from app.core.records import kept_record
from app.core.tenancy import SpaceScoped


@kept_record
class AuditEntry(SpaceScoped, table=True):
    """Who did what, where and when. Account-level actions have no space.

    A tenant table like any other: read and written through the tenant guard. Entries of no space
    (``platform_rows``) are written and read with the guard lifted (``all_spaces``).
    """

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_space_created", "space_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    space_id: int | None = Field(default=None, foreign_key="space.id", ondelete="RESTRICT")  # type: ignore[assignment]
    actor_id: int | None = Field(default=None, foreign_key="account.id", ondelete="SET NULL")
    action: str = Field(max_length=64)
    object_type: str | None = Field(default=None, max_length=32)
    object_id: str | None = Field(default=None, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=now)

    platform_rows = True
