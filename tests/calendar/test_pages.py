"""The managers' calendar-sync pages and a member's feed page: what a failed form shows again, and
a query count that does not grow with the number of resources."""

from __future__ import annotations

import re

from app.calendar.models import CaldavTarget, FeedKind
from app.core import db
from tests.booking.factories import create_room
from tests.calendar.helpers import create_feed
from tests.event.factories import statements

CALDAV_URL = "https://cloud.example.org/remote.php/dav/calendars/rooms/ada/"


def _checked(html: str, name: str) -> bool:
    m = re.search(rf'<input type="checkbox" name="{name}"([^>]*)>', html)
    assert m, f"no {name} checkbox"
    return "checked" in m.group(1)


async def test_a_refused_calendar_address_is_said_once(world, web) -> None:
    room = await create_room(world.a.space)
    browser = await web(world.a.manager)
    r = await browser.post(f"/s/{world.a.slug}/resources/{room.id}/calendar/sources", {"url": "file:///etc/passwd"})
    assert r.status_code == 422
    assert r.text.count('role="alert"') == 1


async def test_a_refused_calendar_keeps_the_saved_caldav_settings_on_the_page(world, web) -> None:
    room = await create_room(world.a.space)
    browser = await web(world.a.manager)
    base = f"/s/{world.a.slug}/resources/{room.id}/calendar"
    r = await browser.post(f"{base}/caldav", {"caldav_url": CALDAV_URL, "caldav_username": "rooms",
                                              "caldav_password": "s3cret", "enabled": "on"})
    assert r.status_code == 303, r.text
    r = await browser.post(f"{base}/sources", {"url": "file:///etc/passwd", "label": "Mairie"})
    assert r.status_code == 422
    assert f'value="{CALDAV_URL}"' in r.text and 'value="rooms"' in r.text
    assert _checked(r.text, "enabled") and not _checked(r.text, "show_names")
    assert 'value="file:///etc/passwd"' in r.text and 'value="Mairie"' in r.text  # what was typed stays


async def test_a_refused_caldav_form_shows_what_was_posted_not_the_saved_settings(world, web) -> None:
    room = await create_room(world.a.space)
    browser = await web(world.a.manager)
    base = f"/s/{world.a.slug}/resources/{room.id}/calendar"
    await browser.post(f"{base}/caldav", {"caldav_url": CALDAV_URL, "caldav_username": "rooms", "enabled": "on"})
    r = await browser.post(f"{base}/caldav", {"caldav_url": "ftp://nowhere", "caldav_username": "other"})
    assert r.status_code == 422
    assert 'value="ftp://nowhere"' in r.text and 'value="other"' in r.text
    assert not _checked(r.text, "enabled")  # unticked in the refused form: not ticked again


async def test_the_sync_page_reads_the_caldav_targets_once_for_all_resources(world, web) -> None:
    browser = await web(world.a.manager)
    rooms = [await create_room(world.a.space, name=f"Salle {i}") for i in range(3)]
    async with db.transaction(space_id=world.a.space.id) as session:  # no job: nothing else reads targets
        session.add(CaldavTarget(resource_id=rooms[1].id, url=CALDAV_URL, enabled=True))
    with statements() as seen:
        page = await browser.get(f"/s/{world.a.slug}/calendar-sync")
    assert page.status_code == 200
    assert len([s for s in seen if "FROM caldav_target" in s]) == 1
    cells = re.findall(r"<td>(on|—)</td>", page.text)
    assert cells == ["—", "on", "—"]


async def test_the_feed_page_reads_the_busy_feeds_once_for_all_resources(world, web) -> None:
    rooms = [await create_room(world.a.space, name=f"Salle {i}") for i in range(3)]
    for room in rooms[:2]:
        await create_feed(world.a.space, world.a.manager, FeedKind.resource_busy, resource_id=room.id)
    # A regenerated feed: only the newest address is shown.
    newest = await create_feed(world.a.space, world.a.manager, FeedKind.resource_busy, resource_id=rooms[0].id)
    browser = await web(world.a.member)
    with statements() as seen:
        page = await browser.get(f"/s/{world.a.slug}/calendar-feed")
    assert page.status_code == 200
    assert len([s for s in seen if "FROM calendar_feed" in s]) == 3  # mine, the events feed, the busy ones
    shown = re.findall(r'data-testid="busy-feed-(\d+)"', page.text)
    assert shown == [str(rooms[0].id), str(rooms[1].id)]
    assert newest in page.text
