"""The "add to my calendar" file of an event, built with the shared iCalendar layer."""

from __future__ import annotations

from fastapi.responses import Response

from app.config import get_settings
from app.core.ics import FeedItem, build_feed, make_uid
from app.core.markdown import render_markdown
from app.event.models import Event, EventStatus, Registration
from app.space.models import Space


def feed_item(space: Space, event: Event, *, url: str | None = None) -> FeedItem:
    text = render_markdown(event.description).striptags() if event.description else None
    return FeedItem(
        uid=make_uid("event", event.id, space.slug),
        start=event.starts_at,
        end=event.ends_at,
        summary=event.title,
        description=text or None,
        location=event.place or None,
        url=url,
        sequence=event.sequence,
        status="CANCELLED" if event.status == EventStatus.cancelled else "CONFIRMED",
        last_modified=event.updated_at,
    )


def event_ics(space: Space, event: Event, *, public: bool) -> bytes:
    base = get_settings().base_url
    url = f"{base}/p/{space.slug}/events/{event.id}" if public else f"{base}/s/{space.slug}/events/{event.id}"
    return build_feed([feed_item(space, event, url=url)], name=event.title, tz=space.timezone,
                      stamp=event.updated_at)


def ics_filename(event: Event) -> str:
    return f"event-{event.id}.ics"


def ics_response(space: Space, event: Event, *, public: bool) -> Response:
    """The event's .ics as a download (the API, the member page and the public page)."""
    return Response(event_ics(space, event, public=public), media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{ics_filename(event)}"'})


def registration_sequence(event: Event, reg: Registration, *, cancelled: bool) -> int:
    """SEQUENCE of an event as one registrant's calendar holds it; grows with every message they get.

    The event's own sequence grows with each change told to everyone; ``reg.seq`` grows each time
    the person (re-)registers; the last term orders the cancellation of a registration after the
    registration it cancels. So register → cancel → register again → event moved never repeats a
    number.
    """
    return event.sequence + 2 * reg.seq + (1 if cancelled else 0)
