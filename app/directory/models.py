from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field

from app.core.clock import now
from app.core.tenancy import SpaceScoped


class Profile(SpaceScoped, table=True):
    """A member's card in one space's directory. Hidden unless the member opts in; never public."""

    __tablename__ = "profile"
    __table_args__ = (UniqueConstraint("space_id", "account_id", name="uq_profile_space_account"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True, ondelete="CASCADE")
    display_name: str = Field(max_length=120)
    headline: str = Field(default="", max_length=160)
    bio: str = Field(default="", max_length=4000)
    # Lower-cased, de-duplicated, sorted; stored as ",a,b," so "skill = x" is a LIKE '%,x,%'.
    skills: str = Field(default="", max_length=1000)
    website: str | None = Field(default=None, max_length=300)
    links: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    visible: bool = False
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)

    @property
    def skill_list(self) -> list[str]:
        return [s for s in self.skills.split(",") if s]
