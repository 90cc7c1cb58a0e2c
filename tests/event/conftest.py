"""The event and directory tests read English source strings: their two spaces speak English
(pages, e-mails) and their API clients ask for it. French is the translators' to check."""

from __future__ import annotations

import pytest
from sqlmodel import col, update

from app.core import db
from app.space.models import Space


@pytest.fixture
async def world(world):
    async with db.transaction() as session:
        await session.exec(update(Space).where(col(Space.id).in_([world.a.space.id, world.b.space.id]))
                           .values(locale="en"))
    world.a.space.locale = world.b.space.locale = "en"
    return world


@pytest.fixture
def api(api):
    def make(token: str | None = None, **headers: str):
        return api(token, **{"Accept-Language": "en", **headers})

    return make
