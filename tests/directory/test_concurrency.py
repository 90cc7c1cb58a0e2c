"""The first save of a directory profile, raced through the real HTTP API."""

from __future__ import annotations

from sqlmodel import select

from app.core import db
from app.directory.models import Profile
from tests.fixtures.concurrency import bearer, codes, fire, warm


async def test_five_concurrent_first_saves_of_a_profile_make_one_and_all_answer_it(world, live_server):
    bodies = [{"display_name": f"Ada {i}", "headline": "Lasers", "skills": ["laser"], "visible": True}
              for i in range(5)]
    await warm(live_server, [world.a.tokens["member"]])
    responses = await fire(live_server, [("PUT", f"/api/v1/spaces/{world.a.slug}/profile", body,
                                          bearer(world.a.tokens["member"])) for body in bodies])

    assert codes(responses) == {200: 5}, [r.text for r in responses if r.status_code != 200]
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 1 and None not in ids
    assert sorted(r.json()["display_name"] for r in responses) == [b["display_name"] for b in bodies]
    async with db.transaction(space_id=world.a.space.id) as session:
        rows = (await session.exec(select(Profile).where(Profile.account_id == world.a.member.id))).all()
    assert [p.id for p in rows] == list(ids)
    assert rows[0].display_name in {b["display_name"] for b in bodies} and rows[0].visible
