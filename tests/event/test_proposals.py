"""Members propose events; animators accept them (as a draft or published) or decline with a message."""

from __future__ import annotations

from datetime import timedelta

from tests.event.factories import soon
from tests.fixtures.harness import mail_text


def _proposal(title="Initiation couture"):
    start = soon(days=10)
    return {"title": title, "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(),
            "place": "Atelier", "capacity": 6}


async def test_a_member_proposes_and_an_animator_publishes_it(world, api, outbox):
    member = api(world.a.tokens["member"])
    r = await member.post(f"/api/v1/spaces/{world.a.slug}/event-proposals", json=_proposal())
    assert r.status_code == 201 and r.json()["status"] == "proposed"
    proposal = r.json()
    animator = api(world.a.tokens["animator"])
    waiting = (await animator.get(f"/api/v1/spaces/{world.a.slug}/event-proposals")).json()
    assert [p["id"] for p in waiting] == [proposal["id"]]
    # Other members do not see it.
    assert (await api(world.a.tokens["manager"]).get(
        f"/api/v1/spaces/{world.a.slug}/events/{proposal['id']}")).status_code == 200  # staff
    r = await animator.post(f"/api/v1/spaces/{world.a.slug}/events/{proposal['id']}/approve", json={"publish": True})
    assert r.status_code == 200 and r.json()["status"] == "published"
    mails = [m for m in await outbox() if m["To"] == world.a.member.email]
    assert mails[-1]["Subject"] == "Your event proposal is accepted: Initiation couture"


async def test_an_accepted_proposal_can_become_a_draft_to_edit(world, api):
    r = await api(world.a.tokens["member"]).post(f"/api/v1/spaces/{world.a.slug}/event-proposals", json=_proposal())
    r = await api(world.a.tokens["animator"]).post(
        f"/api/v1/spaces/{world.a.slug}/events/{r.json()['id']}/approve", json={})
    assert r.json()["status"] == "draft"


async def test_a_declined_proposal_shows_the_animators_message_to_the_member(world, api, web, outbox):
    member = api(world.a.tokens["member"])
    proposal = (await member.post(f"/api/v1/spaces/{world.a.slug}/event-proposals", json=_proposal())).json()
    animator = api(world.a.tokens["animator"])
    r = await animator.post(f"/api/v1/spaces/{world.a.slug}/events/{proposal['id']}/decline", json={"message": ""})
    assert r.status_code == 422
    r = await animator.post(f"/api/v1/spaces/{world.a.slug}/events/{proposal['id']}/decline",
                            json={"message": "The workshop is booked that week, try the next one?"})
    assert r.status_code == 200 and r.json()["status"] == "declined"
    mine = (await member.get(f"/api/v1/spaces/{world.a.slug}/event-proposals")).json()
    assert mine[0]["decline_message"] == "The workshop is booked that week, try the next one?"
    page = await (await web(world.a.member)).get(f"/s/{world.a.slug}/events/proposals")
    assert "The workshop is booked that week" in page.text
    mail = [m for m in await outbox() if m["To"] == world.a.member.email][-1]
    assert "The workshop is booked that week" in mail_text(mail)
    # Another member cannot see it at all.
    assert (await api(world.b.tokens["member"]).get(
        f"/api/v1/spaces/{world.a.slug}/events/{proposal['id']}")).status_code == 404


async def test_answering_something_that_is_not_a_proposal_is_refused(world, api):
    from tests.event.factories import create_event

    event = await create_event(world.a.space, world.a.animator)
    r = await api(world.a.tokens["animator"]).post(
        f"/api/v1/spaces/{world.a.slug}/events/{event.id}/approve", json={"publish": True})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_a_proposal"
    r = await api(world.a.tokens["member"]).post(
        f"/api/v1/spaces/{world.a.slug}/events/{event.id}/approve", json={"publish": True})
    assert r.status_code == 403


async def test_a_refused_decline_keeps_the_animators_own_proposals_on_the_page(world, api, web):
    base = f"/api/v1/spaces/{world.a.slug}"
    own = (await api(world.a.tokens["animator"]).post(f"{base}/event-proposals", json=_proposal("Soirée jeux"))).json()
    await api(world.a.tokens["manager"]).post(f"{base}/events/{own['id']}/decline",
                                              json={"message": "Not on a Monday, please."})
    theirs = (await api(world.a.tokens["member"]).post(f"{base}/event-proposals", json=_proposal())).json()
    animator = await web(world.a.animator)
    page = await animator.get(f"/s/{world.a.slug}/events/proposals")
    assert "Not on a Monday, please." in page.text
    r = await animator.post(f"/s/{world.a.slug}/events/{theirs['id']}/decline", {"message": " "})
    assert r.status_code == 422
    assert 'aria-invalid="true"' in r.text  # beside the proposal that was being declined
    assert "My proposals" in r.text and "Not on a Monday, please." in r.text
