"""Helpers of the calendar-sync tests: feed URLs through the pages, parsing with three libraries."""

from __future__ import annotations

import re

import recurring_ical_events
import vobject
from icalendar import Calendar

from app.calendar import feeds
from app.calendar.models import FeedKind
from app.core import db


async def create_feed(space, actor, kind: FeedKind, **owner) -> str:
    """A feed created through the service (as the page does); returns its path."""
    async with db.transaction(space_id=space.id) as session:
        feed = await feeds.regenerate_feed(session, space, actor, kind, **owner)
        url = feeds.feed_url(feed)
    assert url is not None
    return url.removeprefix("http://testserver")


def feed_path_in(html: str) -> str:
    m = re.search(r'value="http://testserver(/feeds/[A-Za-z0-9_-]+\.ics)"', html)
    assert m, "no feed address on the page"
    return m.group(1)


def parse_everywhere(body: bytes) -> Calendar:
    """Parse a feed with icalendar, recurring-ical-events and vobject; return icalendar's view."""
    cal = Calendar.from_ical(body)
    assert cal.walk("VTIMEZONE"), "every feed carries the space's VTIMEZONE"
    for event in cal.walk("VEVENT"):
        assert event.get("UID") and event.get("DTSTAMP") and event.get("DTSTART") and event.get("DTEND")
    recurring_ical_events.of(cal).between((2000, 1, 1), (2100, 1, 1))
    parsed = vobject.readOne(body.decode())
    assert len(list(parsed.contents.get("vevent", []))) == len(cal.walk("VEVENT"))
    return cal


def events_by_uid(cal: Calendar) -> dict[str, object]:
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}
