"""Events through the API: creating, publishing, editing, cancelling; the bad inputs, each with its code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.core import clock
from tests.event.factories import create_event, register, soon
from tests.fixtures.harness import mail_text


def _payload(**overrides):
    start = soon()
    return {"title": "Atelier vélo", "description": "Réparez votre **vélo**.", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(), "place": "Atelier", "capacity": 8} | overrides


async def test_animator_creates_a_draft_then_publishes_it(world, api):
    animator = api(world.a.tokens["animator"])
    r = await animator.post(f"/api/v1/spaces/{world.a.slug}/events", json=_payload())
    assert r.status_code == 201, r.text
    event = r.json()
    assert event["status"] == "draft"
    assert event["description_html"] == "<p>Réparez votre <strong>vélo</strong>.</p>\n"
    member = api(world.a.tokens["member"])
    assert (await member.get(f"/api/v1/spaces/{world.a.slug}/events/{event['id']}")).status_code == 404
    r = await animator.post(f"/api/v1/spaces/{world.a.slug}/events/{event['id']}/publish")
    assert r.status_code == 200 and r.json()["status"] == "published"
    r = await member.get(f"/api/v1/spaces/{world.a.slug}/events")
    assert [e["id"] for e in r.json()] == [event["id"]]
    assert r.json()[0]["seats_left"] == 8


async def test_a_member_cannot_create_an_event(world, api):
    r = await api(world.a.tokens["member"]).post(f"/api/v1/spaces/{world.a.slug}/events", json=_payload())
    assert r.status_code == 403


async def test_an_event_ending_before_it_starts_is_refused(world, api):
    start = soon()
    r = await api(world.a.tokens["animator"]).post(f"/api/v1/spaces/{world.a.slug}/events", json=_payload(
        ends_at=(start - timedelta(hours=1)).isoformat(), starts_at=start.isoformat()))
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "event_ends_before_start"
    assert "ends_at" in r.json()["error"]["fields"]


async def test_a_number_is_not_taken_for_a_date(world, api):
    r = await api(world.a.tokens["animator"]).post(f"/api/v1/spaces/{world.a.slug}/events",
                                                    json=_payload(starts_at=0))
    assert r.status_code == 422
    assert "starts_at" in r.json()["error"]["fields"]


async def test_times_without_an_offset_are_read_in_the_spaces_timezone(world, api):
    r = await api(world.a.tokens["animator"]).post(f"/api/v1/spaces/{world.a.slug}/events", json=_payload(
        starts_at="2031-07-01T18:30:00", ends_at="2031-07-01T20:00:00"))
    assert r.status_code == 201, r.text
    # Europe/Paris is UTC+2 in July.
    assert datetime.fromisoformat(r.json()["starts_at"]) == datetime(2031, 7, 1, 16, 30, tzinfo=UTC)


async def test_capacity_cannot_go_below_the_confirmed_registrations(world, api):
    event = await create_event(world.a.space, world.a.animator, capacity=5)
    for role in ("member", "manager", "owner"):
        await register(world.a.space, event, getattr(world.a, role))
    animator = api(world.a.tokens["animator"])
    r = await animator.patch(f"/api/v1/spaces/{world.a.slug}/events/{event.id}", json={"capacity": 2})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "capacity_below_registrations"
    assert r.json()["error"]["confirmed"] == 3
    r = await animator.patch(f"/api/v1/spaces/{world.a.slug}/events/{event.id}", json={"capacity": 3})
    assert r.status_code == 200 and r.json()["seats_left"] == 0


async def test_registering_after_the_deadline_is_refused(world, api):
    start = soon(days=3)
    event = await create_event(world.a.space, world.a.animator, starts_at=start,
                               registration_deadline=start - timedelta(days=2))
    clock.freeze(start - timedelta(days=1))
    r = await api(world.a.tokens["member"]).post(f"/api/v1/spaces/{world.a.slug}/events/{event.id}/registrations")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "registration_closed"


async def test_registering_for_a_cancelled_event_is_refused(world, api):
    event = await create_event(world.a.space, world.a.animator)
    r = await api(world.a.tokens["animator"]).post(f"/api/v1/spaces/{world.a.slug}/events/{event.id}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = await api(world.a.tokens["member"]).post(f"/api/v1/spaces/{world.a.slug}/events/{event.id}/registrations")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "event_cancelled"


async def test_registering_twice_is_refused(world, api):
    event = await create_event(world.a.space, world.a.animator)
    member = api(world.a.tokens["member"])
    url = f"/api/v1/spaces/{world.a.slug}/events/{event.id}/registrations"
    assert (await member.post(url)).status_code == 201
    r = await member.post(url)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "already_registered"
    assert r.json()["error"]["message"] == "You are already registered for this event."


async def test_a_full_event_waitlists_and_a_cancellation_promotes_the_first_in_line(world, api, outbox):
    event = await create_event(world.a.space, world.a.animator, capacity=1, title="Soirée jeux")
    url = f"/api/v1/spaces/{world.a.slug}/events/{event.id}/registrations"
    first = (await api(world.a.tokens["member"]).post(url)).json()
    second = (await api(world.a.tokens["manager"]).post(url)).json()
    third = (await api(world.a.tokens["owner"]).post(url)).json()
    assert [first["status"], second["status"], third["status"]] == ["confirmed", "waitlisted", "waitlisted"]
    assert [second["position"], third["position"]] == [1, 2]
    r = await api(world.a.tokens["member"]).post(f"/api/v1/spaces/{world.a.slug}/registrations/{first['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    rows = (await api(world.a.tokens["animator"]).get(url)).json()
    assert [(x["id"], x["status"], x["position"]) for x in rows] == [
        (second["id"], "confirmed", None), (third["id"], "waitlisted", 1)]
    mails = await outbox()
    promoted = [m for m in mails if m["To"] == world.a.manager.email and "seat" in m["Subject"]]
    assert len(promoted) == 1 and "Soirée jeux" in promoted[0]["Subject"]
    [cancelled] = [m for m in mails if m["Subject"] == "Registration cancelled: Soirée jeux"]
    assert cancelled["To"] == world.a.member.email
    invite = [p for p in cancelled.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert invite and "METHOD:CANCEL" in invite[0].get_content()


async def test_raising_the_capacity_promotes_from_the_waitlist_in_order(world, api):
    event = await create_event(world.a.space, world.a.animator, capacity=1)
    regs = [await register(world.a.space, event, getattr(world.a, r)) for r in ("member", "manager", "owner")]
    r = await api(world.a.tokens["animator"]).patch(f"/api/v1/spaces/{world.a.slug}/events/{event.id}",
                                                    json={"capacity": 2})
    assert r.status_code == 200
    rows = (await api(world.a.tokens["animator"]).get(
        f"/api/v1/spaces/{world.a.slug}/events/{event.id}/registrations")).json()
    assert {x["id"]: x["status"] for x in rows} == {
        regs[0].id: "confirmed", regs[1].id: "confirmed", regs[2].id: "waitlisted"}


async def test_registrants_are_told_when_the_time_changes_but_not_for_a_typo(world, api, outbox):
    event = await create_event(world.a.space, world.a.animator)
    await register(world.a.space, event, world.a.member)
    animator = api(world.a.tokens["animator"])
    url = f"/api/v1/spaces/{world.a.slug}/events/{event.id}"
    await animator.patch(url, json={"title": "Atelier réparation (corrigé)"})
    new_start = event.starts_at + timedelta(days=1)
    r = await animator.patch(url, json={"starts_at": new_start.isoformat(),
                                        "ends_at": (new_start + timedelta(hours=2)).isoformat()})
    assert r.status_code == 200
    changed = [m for m in await outbox() if "Change of time or place" in m["Subject"]]
    assert [m["To"] for m in changed] == [world.a.member.email]
    assert "Atelier réparation (corrigé)" in mail_text(changed[0])


async def test_cancelling_an_event_tells_everyone_registered_or_waiting(world, api, outbox):
    event = await create_event(world.a.space, world.a.animator, capacity=1)
    await register(world.a.space, event, world.a.member)
    await register(world.a.space, event, world.a.manager)
    await api(world.a.tokens["animator"]).post(f"/api/v1/spaces/{world.a.slug}/events/{event.id}/cancel")
    told = sorted(m["To"] for m in await outbox() if m["Subject"].startswith("Event cancelled"))
    assert told == sorted([world.a.member.email, world.a.manager.email])


async def test_a_weekly_series_keeps_its_local_time_across_the_clock_change(world, api):
    # 2031-10-26 is the end of summer time in Paris: 18:00 stays 18:00 on the wall.
    r = await api(world.a.tokens["animator"]).post(f"/api/v1/spaces/{world.a.slug}/events", json=_payload(
        title="Repair café", starts_at="2031-10-15T18:00:00", ends_at="2031-10-15T21:00:00",
        repeat_weeks=3, publish=True))
    assert r.status_code == 201, r.text
    series_id = r.json()["series_id"]
    assert series_id is not None
    events = (await api(world.a.tokens["member"]).get(
        f"/api/v1/spaces/{world.a.slug}/events", params={"series_id": series_id})).json()
    assert [e["starts_at"][:16] for e in events] == ["2031-10-15T16:00", "2031-10-22T16:00", "2031-10-29T17:00"]
    assert {e["status"] for e in events} == {"published"}


async def test_a_paid_event_registration_is_to_pay_on_site_until_marked_paid(world, api):
    event = await create_event(world.a.space, world.a.animator, price_public_cents=1500, price_member_cents=1000,
                               vat_rate_bp=2000)
    reg = (await api(world.a.tokens["member"]).post(
        f"/api/v1/spaces/{world.a.slug}/events/{event.id}/registrations")).json()
    assert (reg["price_cents"], reg["payment_status"]) == (1000, "to_pay")
    r = await api(world.a.tokens["animator"]).put(
        f"/api/v1/spaces/{world.a.slug}/events/{event.id}/registrations/{reg['id']}/payment", json={"paid": True})
    assert r.status_code == 200 and r.json()["payment_status"] == "paid"


async def test_attendance_is_taken_on_the_day_and_counted(world, api):
    start = soon(days=2)
    event = await create_event(world.a.space, world.a.animator, starts_at=start, capacity=2)
    regs = [await register(world.a.space, event, getattr(world.a, r)) for r in ("member", "manager", "owner")]
    animator = api(world.a.tokens["animator"])
    base = f"/api/v1/spaces/{world.a.slug}/events/{event.id}"
    r = await animator.put(f"{base}/registrations/{regs[0].id}/attendance", json={"attendance": "present"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "attendance_not_open"
    clock.freeze(start - timedelta(minutes=10))
    r = await animator.put(f"{base}/registrations/{regs[0].id}/attendance", json={"attendance": "present"})
    assert r.status_code == 200 and r.json()["attendance"] == "present"
    r = await animator.put(f"{base}/registrations/{regs[2].id}/attendance", json={"attendance": "present"})
    assert r.status_code == 409  # waitlisted: no seat, no attendance
    stats = (await animator.get(f"{base}/stats")).json()
    assert (stats["registered"], stats["present"], stats["waitlisted"], stats["no_show"]) == (2, 1, 1, None)
    clock.freeze(start + timedelta(hours=3))
    stats = (await animator.get(f"{base}/stats")).json()
    assert stats["no_show"] == 1
    period = (await animator.get(f"/api/v1/spaces/{world.a.slug}/event-stats", params={
        "from": (start - timedelta(days=1)).isoformat(), "to": (start + timedelta(days=1)).isoformat()})).json()
    assert [(s["event_id"], s["registered"], s["present"], s["no_show"]) for s in period] == [(event.id, 2, 1, 1)]
    csv = await animator.get(f"{base}/attendance.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("\ufeffName,E-mail,Status")  # UTF-8 with a BOM: Excel reads accents right
    assert any(world.a.member.email in line and line.endswith("Present") for line in lines)


async def test_the_event_can_be_added_to_a_calendar(world, api):
    event = await create_event(world.a.space, world.a.animator, title="Conférence low-tech")
    r = await api(world.a.tokens["member"]).get(f"/api/v1/spaces/{world.a.slug}/events/{event.id}/event.ics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    assert "SUMMARY:Conférence low-tech" in r.text
    assert f"UID:event-{event.id}@{world.a.slug}.fabrique" in r.text
    assert "TZID=Europe/Paris" in r.text


async def test_a_date_in_a_far_off_year_is_refused_not_crashed_on(world, api):
    r = await api(world.a.tokens["animator"]).post(f"/api/v1/spaces/{world.a.slug}/events", json=_payload(
        starts_at="0014-01-01T00:01:00Z", ends_at="0001-01-01T01:00:00+18:17"))
    assert r.status_code == 422
    assert {"starts_at", "ends_at"} <= set(r.json()["error"]["fields"])


async def test_control_characters_in_an_event_are_dropped(world, api):
    animator = api(world.a.tokens["animator"])
    r = await animator.post(f"/api/v1/spaces/{world.a.slug}/events", json=_payload(
        title="Ate\u0000lier", description="x", place="Sa\u0001lle"))
    assert r.status_code == 422 and set(r.json()["error"]["fields"]) == {"title", "place"}  # one line each
    r = await animator.post(f"/api/v1/spaces/{world.a.slug}/events", json=_payload(
        title="Atelier", description="x\u0000y", place="Salle"))
    assert r.status_code == 201
    assert (r.json()["title"], r.json()["description"], r.json()["place"]) == ("Atelier", "xy", "Salle")


async def test_a_series_is_found_whatever_the_number_of_events_before_it(world, api):
    start = soon()
    for i in range(4):  # 208 drafts before the series: more than one page of the list
        await create_event(world.a.space, world.a.animator, publish=False, repeat_weeks=52,
                           starts_at=start + timedelta(hours=i), title=f"Permanence {i}")
    later = start + timedelta(weeks=60)
    series = await create_event(world.a.space, world.a.animator, repeat_weeks=2, starts_at=later, title="Repair café")
    animator = api(world.a.tokens["animator"])
    events = (await animator.get(f"/api/v1/spaces/{world.a.slug}/events",
                                 params={"series_id": series.series_id})).json()
    assert [e["title"] for e in events] == ["Repair café", "Repair café"]
    assert {e["series_id"] for e in events} == {series.series_id}
    r = await animator.get(f"/api/v1/spaces/{world.a.slug}/events", params={"series_id": 2**40})
    assert r.status_code == 422  # no such id can exist: refused before any query
