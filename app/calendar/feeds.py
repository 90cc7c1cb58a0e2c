"""Secret feed URLs: who owns them, what each feed holds, and serving one cheaply.

A feed's ETag is computed from ``(uid, sequence, status, last_modified)`` of its items
(``ics.feed_etag``), so a calendar app polling every 15 minutes gets a 304 after one query. The
body is assembled from VEVENTs serialised once per item version (``ics.build_event`` behind an
in-process LRU): icalendar takes ~1.5 ms per event, far too slow to rebuild 1,000 on each poll.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.audit.service import log_action
from app.booking.models import Booking, BookingSource, BookingStatus
from app.calendar import ics
from app.calendar.models import CalendarFeed, FeedKind
from app.config import get_settings
from app.core import clock, i18n
from app.core.i18n import _
from app.core.tenancy import all_spaces, require_scope, set_scope
from app.event.calendar import feed_item as event_feed_item
from app.event.models import Event, EventStatus, Registration, RegistrationStatus, Visibility
from app.resource.models import Resource
from app.space.models import Space

# How long cancelled items stay in a feed (STATUS:CANCELLED), so that subscribed clients drop them.
CANCELLED_KEPT = timedelta(days=30)
# How far back a feed goes: enough for "what did I book last month", small enough to stay fast.
PAST_KEPT = timedelta(days=90)
REFRESH_MINUTES = 15
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


# -- tokens -------------------------------------------------------------------------------------


def _token(nonce: str) -> str:
    key = get_settings().resolved_secret_key().encode()
    digest = hmac.new(key, f"calendar-feed:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(feed: CalendarFeed) -> str | None:
    """The URL to show the feed's owner, or None if it cannot be rebuilt (the secret key changed:
    the old URL still works, but only regenerating gives one to show)."""
    if feed.revoked_at is not None:
        return None
    token = _token(feed.nonce)
    if not hmac.compare_digest(_hash(token), feed.token_hash):
        return None
    return f"{get_settings().base_url.rstrip('/')}/feeds/{token}.ics"


def webcal_url(url: str | None) -> str | None:
    """The same feed as a ``webcal://`` link, which opens the calendar app's subscribe dialog."""
    if url is None:
        return None
    return "webcal://" + url.split("://", 1)[1]


async def current_feed(
    session: AsyncSession, kind: FeedKind, *, account_id: int | None = None, resource_id: int | None = None
) -> CalendarFeed | None:
    require_scope(session)
    stmt = select(CalendarFeed).where(
        CalendarFeed.kind == kind, col(CalendarFeed.revoked_at).is_(None),
        CalendarFeed.account_id == account_id if account_id is not None else col(CalendarFeed.account_id).is_(None),
        CalendarFeed.resource_id == resource_id if resource_id is not None else col(CalendarFeed.resource_id).is_(None),
    )
    return (await session.exec(stmt.order_by(col(CalendarFeed.id).desc()))).first()


async def regenerate_feed(
    session: AsyncSession, space: Space, actor: Account, kind: FeedKind, *,
    account_id: int | None = None, resource_id: int | None = None,
) -> CalendarFeed:
    """Revoke the current URL of this feed (if any) and create a new one."""
    await revoke_feed(session, space, actor, kind, account_id=account_id, resource_id=resource_id)
    nonce = secrets.token_urlsafe(24)
    feed = CalendarFeed(kind=kind, account_id=account_id, resource_id=resource_id, nonce=nonce,
                        token_hash=_hash(_token(nonce)), created_by_id=actor.id, created_at=clock.now())
    session.add(feed)
    await session.flush()
    log_action(session, "calendar.feed_created", space_id=space.id, actor_id=actor.id, obj=feed, kind=kind,
               resource_id=resource_id)
    return feed


async def revoke_feed(
    session: AsyncSession, space: Space, actor: Account, kind: FeedKind, *,
    account_id: int | None = None, resource_id: int | None = None,
) -> bool:
    feed = await current_feed(session, kind, account_id=account_id, resource_id=resource_id)
    if feed is None:
        return False
    feed.revoked_at = clock.now()
    session.add(feed)
    await session.flush()
    log_action(session, "calendar.feed_revoked", space_id=space.id, actor_id=actor.id, obj=feed, kind=kind,
               resource_id=resource_id)
    return True


async def feed_by_token(session: AsyncSession, token: str) -> tuple[CalendarFeed, Space] | None:
    """The live feed a token names, with the session scoped to its space; None for anything else.

    The lookup is by hash across spaces (the token is the capability); the space is then bound so
    every query that builds the feed is confined to it like a request of a member of that space.
    """
    if not _TOKEN.match(token):
        return None
    with all_spaces(session):
        feed = (await session.exec(
            select(CalendarFeed).where(CalendarFeed.token_hash == _hash(token), col(CalendarFeed.revoked_at).is_(None))
        )).first()
    if feed is None:
        return None
    space = await session.get(Space, feed.space_id)
    if space is None or space.suspended_at is not None:
        return None
    set_scope(session, space.id)
    return feed, space


# -- contents -----------------------------------------------------------------------------------


@dataclass
class FeedContent:
    name: str
    items: list[ics.FeedItem]
    variant: str = ""
    public: bool = False


def registration_sequence(event: Event, reg: Registration, *, cancelled: bool) -> int:
    """SEQUENCE of an event as one registrant's calendar holds it; grows with every message they get.

    The event's own sequence grows with each change told to everyone; ``reg.seq`` grows each time
    the person (re-)registers; the last term orders the cancellation of a registration after the
    registration it cancels. So register → cancel → register again → event moved never repeats a
    number.
    """
    return event.sequence + 2 * reg.seq + (1 if cancelled else 0)


def _kept(status_cancelled: bool, cancelled_at: datetime | None, now: datetime) -> bool:
    return not status_cancelled or (cancelled_at is not None and cancelled_at >= now - CANCELLED_KEPT)


def _base() -> str:
    return get_settings().base_url.rstrip("/")


def booking_item(space: Space, booking: Booking, resource: Resource, *, summary: str | None = None,
                 description: str | None = None) -> ics.FeedItem:
    return ics.FeedItem(
        uid=ics.make_uid("booking", booking.id, space.slug), start=booking.starts_at, end=booking.ends_at,
        summary=summary or f"{resource.name} · {space.name}", last_modified=booking.updated_at,
        sequence=booking.sequence, status="CANCELLED" if booking.status == BookingStatus.cancelled else "CONFIRMED",
        location=space.address or None, description=description,
        url=f"{_base()}/s/{space.slug}/bookings/mine",
    )


async def _bookings(session: AsyncSession, now: datetime, **where: Any) -> list[Booking]:
    stmt = select(Booking).where(
        col(Booking.ends_at) >= now - PAST_KEPT,
        or_(Booking.status == BookingStatus.confirmed, col(Booking.cancelled_at) >= now - CANCELLED_KEPT),
    )
    for name, value in where.items():
        stmt = stmt.where(getattr(Booking, name) == value)
    return list((await session.exec(stmt)).all())


async def _resources(session: AsyncSession) -> dict[int, Resource]:
    return {r.id: r for r in (await session.exec(select(Resource))).all()}  # type: ignore[misc]


async def member_content(session: AsyncSession, space: Space, account: Account, now: datetime) -> FeedContent:
    """A member's bookings and event registrations in this space, and nothing of anyone else."""
    resources = await _resources(session)
    items = [booking_item(space, b, resources[b.resource_id])
             for b in await _bookings(session, now, account_id=account.id)]
    rows = (await session.exec(
        select(Registration, Event).join(Event, col(Event.id) == Registration.event_id).where(
            Registration.account_id == account.id,
            col(Event.status).in_([EventStatus.published, EventStatus.cancelled]),
            col(Event.ends_at) >= now - PAST_KEPT,
            col(Registration.status).in_([RegistrationStatus.confirmed, RegistrationStatus.cancelled]),
        )
    )).all()
    for reg, event in rows:
        reg_cancelled = reg.status == RegistrationStatus.cancelled
        cancelled = reg_cancelled or event.status == EventStatus.cancelled
        if not _kept(cancelled, reg.cancelled_at if reg_cancelled else event.cancelled_at, now):
            continue
        changed = [t for t in (event.updated_at, reg.created_at, reg.confirmed_at, reg.cancelled_at) if t]
        item = event_feed_item(space, event, url=f"{_base()}/s/{space.slug}/events/{event.id}")
        items.append(dataclasses.replace(
            item, sequence=registration_sequence(event, reg, cancelled=reg_cancelled),
            status="CANCELLED" if cancelled else "CONFIRMED", last_modified=max(changed),
        ))
    with i18n.use_locale(account.locale or space.locale):
        name = _("%(space)s: my bookings and events", space=space.name)
    return FeedContent(name=name, items=items)


async def resource_content(
    session: AsyncSession, space: Space, resource: Resource, now: datetime, *, busy_only: bool
) -> FeedContent:
    """A resource's bookings: who booked for staff, "Busy" alone for members."""
    bookings = await _bookings(session, now, resource_id=resource.id)
    names = {}
    if not busy_only:
        ids = {b.account_id for b in bookings if b.account_id is not None}
        if ids:
            names = {a.id: a.name for a in (await session.exec(select(Account).where(col(Account.id).in_(ids)))).all()}
    with i18n.use_locale(space.locale):
        busy = _("Busy")
        items = []
        for b in bookings:
            if b.source == BookingSource.event:
                who = b.title or _("Event")
            else:
                who = names.get(b.account_id, "") or _("Booking")
            item = booking_item(space, b, resource, summary=f"{who} · {resource.name}",
                                description=b.note or None)
            items.append(ics.anonymise(item, busy) if busy_only else item)
        name = f"{resource.name} · {space.name}"
        if busy_only:
            name = _("%(resource)s (busy/free)", resource=name)
    return FeedContent(name=name, items=items, variant=f"busy:{busy}" if busy_only else "staff")


async def events_content(session: AsyncSession, space: Space, now: datetime) -> FeedContent:
    """The space's public events (members-only events are not in it: the URL is meant to be shared)."""
    events = (await session.exec(select(Event).where(
        Event.visibility == Visibility.public, col(Event.ends_at) >= now - PAST_KEPT,
        or_(Event.status == EventStatus.published,
            (Event.status == EventStatus.cancelled) & (col(Event.cancelled_at) >= now - CANCELLED_KEPT)),
    ))).all()
    items = [event_feed_item(space, e, url=f"{_base()}/p/{space.slug}/events/{e.id}") for e in events]
    with i18n.use_locale(space.locale):
        name = _("%(space)s: events", space=space.name)
    return FeedContent(name=name, items=items, public=True)


async def feed_content(session: AsyncSession, feed: CalendarFeed, space: Space, now: datetime) -> FeedContent | None:
    """What ``feed`` shows now; None when its owner or resource is gone (the URL is then a 404)."""
    if feed.kind == FeedKind.member:
        account = await session.get(Account, feed.account_id)
        from app.space.service import membership

        if account is None or account.suspended_at is not None or await membership(session, account.id) is None:
            return None
        return await member_content(session, space, account, now)
    if feed.kind in (FeedKind.resource, FeedKind.resource_busy):
        resource = (await session.exec(select(Resource).where(Resource.id == feed.resource_id))).first()
        if resource is None:
            return None
        return await resource_content(session, space, resource, now, busy_only=feed.kind == FeedKind.resource_busy)
    if feed.kind == FeedKind.events:
        return await events_content(session, space, now)
    return None


# -- serving ------------------------------------------------------------------------------------


class _EventCache:
    """Serialised VEVENTs by (item, zone): a FeedItem is frozen, so any change is a new key."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self.data: OrderedDict[tuple[ics.FeedItem, str], bytes] = OrderedDict()

    def get(self, item: ics.FeedItem, tz: str) -> bytes:
        key = (item, tz)
        found = self.data.get(key)
        if found is not None:
            self.data.move_to_end(key)
            return found
        built = ics.build_event(item, tz=tz)
        self.data[key] = built
        if len(self.data) > self.size:
            self.data.popitem(last=False)
        return built


EVENTS = _EventCache()


@dataclass
class Rendered:
    etag: str
    last_modified: datetime | None
    content: FeedContent
    tz: str

    def body(self) -> bytes:
        return ics.assemble_feed(self.content.items, name=self.content.name, tz=self.tz,
                                 event_bytes=lambda item: EVENTS.get(item, self.tz),
                                 refresh_minutes=REFRESH_MINUTES, now=clock.now())


def render_feed(space: Space, content: FeedContent) -> Rendered:
    etag = ics.feed_etag(content.items, content.name, space.timezone,
                         variant=f"{content.variant}|{REFRESH_MINUTES}|{ics.DEFAULT_PRODID}")
    return Rendered(etag=etag, last_modified=ics.feed_last_modified(content.items), content=content,
                    tz=space.timezone)
