"""Regenerating a feed address, raced through the real HTTP pages: one live address at the end."""

from __future__ import annotations

import httpx
from sqlmodel import col, select

from app.calendar.models import CalendarFeed, FeedKind
from app.core import db
from app.core.security import CSRF_COOKIE, CSRF_HEADER
from tests.fixtures.concurrency import codes, fire
from tests.fixtures.factories import session_cookie


async def _page_headers(base_url: str, account) -> dict:
    """A logged-in browser's cookies and the CSRF header its forms would send."""
    async with httpx.AsyncClient(base_url=base_url) as client:
        await client.get("/login")
        csrf = client.cookies[CSRF_COOKIE]
    return {"Cookie": f"fabrique_session={await session_cookie(account)}; {CSRF_COOKIE}={csrf}",
            CSRF_HEADER: csrf}


async def _live(space_id: int, kind: FeedKind) -> list[CalendarFeed]:
    async with db.transaction(space_id=space_id, write=False) as session:
        return list((await session.exec(select(CalendarFeed).where(
            CalendarFeed.kind == kind, col(CalendarFeed.revoked_at).is_(None)))).all())


async def test_concurrent_regenerations_of_a_feed_leave_one_live_address(world, live_server):
    headers = await _page_headers(live_server, world.a.manager)
    path = f"/s/{world.a.slug}/calendar-sync/events-feed"
    assert (await fire(live_server, [("POST", path, None, headers)]))[0].status_code == 303  # a live one first

    responses = await fire(live_server, [("POST", path, None, headers) for _ in range(8)])

    assert codes(responses) == {303: 8}, [r.text for r in responses if r.status_code != 303]
    assert len(await _live(world.a.space.id, FeedKind.events)) == 1


async def test_concurrent_first_feeds_of_a_member_make_one(world, live_server):
    headers = await _page_headers(live_server, world.a.member)
    responses = await fire(live_server, [("POST", f"/s/{world.a.slug}/calendar-feed", None, headers)
                                         for _ in range(6)])

    assert codes(responses) == {303: 6}, [r.text for r in responses if r.status_code != 303]
    live = await _live(world.a.space.id, FeedKind.member)
    assert [f.account_id for f in live] == [world.a.member.id]
