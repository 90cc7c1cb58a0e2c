from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.core.schemas import SingleLine, Strict


class ProfileWrite(Strict):
    display_name: SingleLine = Field(min_length=1, max_length=120)
    headline: SingleLine = Field(default="", max_length=160)
    bio: str = Field(default="", max_length=4000, description="Markdown")
    skills: list[str] = Field(default_factory=list, max_length=20)
    website: str | None = Field(default=None, max_length=300)
    links: list[str] = Field(default_factory=list, max_length=5)
    visible: bool = Field(default=False, strict=True, description="shown to the other members of the space (never public)")


class ProfileRead(BaseModel):
    id: int | None
    account_id: int
    display_name: str
    headline: str
    bio: str
    bio_html: str
    skills: list[str]
    website: str | None
    links: list[str]
    visible: bool
    updated_at: datetime | None
