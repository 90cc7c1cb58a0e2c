"""Secret feed URLs: who owns them, what each feed holds, and serving one cheaply.

A feed's ETag is computed from ``(uid, sequence, status, last_modified)`` of its items
(``ics.feed_etag``), so a calendar app polling every 15 minutes gets a 304 after one query. The
body is assembled from VEVENTs serialised once per item version (``ics.build_event`` behind an
in-process LRU): icalendar takes ~1.5 ms per event, far too slow to rebuild 1,000 on each poll.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, func, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.account.models import Account
from app.audit.readable import audit_fields, audit_values
from app.audit.service import audit_labels, log_action
from app.booking.models import Booking, BookingSource, BookingStatus
from app.calendar.models import CalendarFeed, FeedKind
from app.config import get_settings
from app.core import clock, i18n, ics
from app.core.i18n import _, _l
from app.core.markdown import render_markdown
from app.core.tenancy import all_spaces, require_scope, set_scope
from app.event.calendar import registration_sequence
from app.event.models import Event, EventStatus, Registration, RegistrationStatus, Visibility
from app.resource.models import Resource
from app.space.models import Space

# What the audit page calls the actions logged here.
audit_labels({
    "calendar.feed_created": _l("Calendar feed link created"),
    "calendar.feed_revoked": _l("Calendar feed link revoked"),
})
audit_fields({"kind": _l("Feed")})
audit_values({"member": _l("a member's bookings"), "events": _l("the events"), "resource": _l("a resource, for the team"),
              "resource_busy": _l("a resource, busy times only")})

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


async def current_resource_feeds(session: AsyncSession, kind: FeedKind) -> dict[int, CalendarFeed]:
    """``current_feed(kind, resource_id=…)`` of every resource at once, by resource id (one query)."""
    require_scope(session)
    stmt = select(CalendarFeed).where(
        CalendarFeed.kind == kind, col(CalendarFeed.revoked_at).is_(None),
        col(CalendarFeed.account_id).is_(None), col(CalendarFeed.resource_id).is_not(None),
    )
    found: dict[int, CalendarFeed] = {}
    for feed in (await session.exec(stmt.order_by(col(CalendarFeed.id).desc()))).all():
        found.setdefault(feed.resource_id, feed)  # the newest one, as current_feed
    return found


async def regenerate_feed(
    session: AsyncSession, space: Space, actor: Account, kind: FeedKind, *,
    account_id: int | None = None, resource_id: int | None = None,
) -> CalendarFeed:
    """Revoke the current URL of this feed (if any) and create a new one.

    One live URL per feed, decided by the database: a partial unique index
    (``uq_calendar_feed_live``) admits one unrevoked row per (space, kind, account, resource). Of two
    concurrent regenerations, the second's insert waits for the first and then conflicts; it adopts
    the winner's new URL, so both callers show the one address that works."""
    await revoke_feed(session, space, actor, kind, account_id=account_id, resource_id=resource_id)
    nonce = secrets.token_urlsafe(24)
    feed = CalendarFeed(kind=kind, account_id=account_id, resource_id=resource_id, nonce=nonce,
                        token_hash=_hash(_token(nonce)), created_by_id=actor.id, created_at=clock.now())
    try:
        async with session.begin_nested():
            session.add(feed)
            await session.flush()
    except IntegrityError:
        winner = await current_feed(session, kind, account_id=account_id, resource_id=resource_id)
        if winner is None:
            raise
        return winner
    log_action(session, "calendar.feed_created", space_id=space.id, actor_id=actor.id, obj=feed, kind=kind,
               resource_id=resource_id)
    return feed


async def revoke_feed(
    session: AsyncSession, space: Space, actor: Account, kind: FeedKind, *,
    account_id: int | None = None, resource_id: int | None = None,
) -> bool:
    """Revoke the feed's live URL; a conditional UPDATE, so of concurrent revocations one counts."""
    require_scope(session)
    feed = await current_feed(session, kind, account_id=account_id, resource_id=resource_id)
    if feed is None:
        return False
    now = clock.now()
    done = await session.exec(update(CalendarFeed).where(
        col(CalendarFeed.id) == feed.id, col(CalendarFeed.revoked_at).is_(None),
    ).values(revoked_at=now).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        return False
    set_committed_value(feed, "revoked_at", now)
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


def _kept(status_cancelled: bool, cancelled_at: datetime | None, now: datetime) -> bool:
    return not status_cancelled or (cancelled_at is not None and cancelled_at >= now - CANCELLED_KEPT)


def _base() -> str:
    return get_settings().base_url.rstrip("/")


def booking_item(space: Space, booking: Any, resource: Resource, *, summary: str | None = None,
                 description: str | None = None) -> ics.FeedItem:
    return ics.FeedItem(
        uid=ics.make_uid("booking", booking.id, space.slug), start=booking.starts_at, end=booking.ends_at,
        summary=summary or f"{resource.name} · {space.name}", last_modified=booking.updated_at,
        sequence=booking.sequence, status="CANCELLED" if booking.status == BookingStatus.cancelled else "CONFIRMED",
        location=space.address or None, description=description,
        url=f"{_base()}/s/{space.slug}/bookings/mine",
    )


# Feeds read plain rows, not ORM objects: building 1,000 entities costs more than the whole answer.
_BOOKING_COLUMNS = (Booking.id, Booking.resource_id, Booking.account_id, Booking.starts_at, Booking.ends_at,
                    Booking.status, Booking.sequence, Booking.updated_at, Booking.source, Booking.title, Booking.note)
_EVENT_COLUMNS = (Event.id, Event.title, Event.description, Event.starts_at, Event.ends_at, Event.place,
                  Event.sequence, Event.status, Event.updated_at, Event.cancelled_at)


@functools.lru_cache(maxsize=4096)
def _plain_text(markdown: str) -> str | None:
    return render_markdown(markdown).striptags() or None if markdown else None


def event_item(space: Space, event: Any, *, url: str | None) -> ics.FeedItem:
    """``app.event.calendar.feed_item`` for a row, with the Markdown-to-text step cached (it is
    the costliest part of a large events feed). Same UID and fields, so both name one event."""
    return ics.FeedItem(
        uid=ics.make_uid("event", event.id, space.slug), start=event.starts_at, end=event.ends_at,
        summary=event.title, description=_plain_text(event.description), location=event.place or None, url=url,
        sequence=event.sequence, status="CANCELLED" if event.status == EventStatus.cancelled else "CONFIRMED",
        last_modified=event.updated_at,
    )


async def _bookings(session: AsyncSession, now: datetime, **where: Any) -> list[Any]:
    stmt = select(*_BOOKING_COLUMNS).where(  # type: ignore[call-overload]
        col(Booking.ends_at) >= now - PAST_KEPT,
        or_(Booking.status == BookingStatus.confirmed, col(Booking.cancelled_at) >= now - CANCELLED_KEPT),
    )
    for name, value in where.items():
        stmt = stmt.where(getattr(Booking, name) == value)
    return list((await session.exec(stmt)).all())


async def _resources(session: AsyncSession) -> dict[int, Resource]:  # a few dozen rows
    return {r.id: r for r in (await session.exec(select(Resource))).all()}  # type: ignore[misc]


async def member_content(session: AsyncSession, space: Space, account: Account, now: datetime) -> FeedContent:
    """A member's bookings and event registrations in this space, and nothing of anyone else."""
    resources = await _resources(session)
    items = [booking_item(space, b, resources[b.resource_id])
             for b in await _bookings(session, now, account_id=account.id)]
    rows = (await session.exec(
        select(Registration.status, Registration.seq, Registration.created_at, Registration.confirmed_at,  # type: ignore[call-overload]
               Registration.cancelled_at, *_EVENT_COLUMNS).join(Event, col(Event.id) == Registration.event_id).where(
            Registration.account_id == account.id,
            col(Event.status).in_([EventStatus.published, EventStatus.cancelled]),
            col(Event.ends_at) >= now - PAST_KEPT,
            col(Registration.status).in_([RegistrationStatus.confirmed, RegistrationStatus.cancelled]),
        )
    )).all()
    for row in rows:
        reg_status, reg_seq, reg_created, reg_confirmed, reg_cancelled_at, *event_values = row
        event = SimpleNamespace(**{c.key: v for c, v in zip(_EVENT_COLUMNS, event_values, strict=True)})
        reg_cancelled = reg_status == RegistrationStatus.cancelled
        cancelled = reg_cancelled or event.status == EventStatus.cancelled
        if not _kept(cancelled, reg_cancelled_at if reg_cancelled else event.cancelled_at, now):
            continue
        changed = [t for t in (event.updated_at, reg_created, reg_confirmed, reg_cancelled_at) if t]
        item = event_item(space, event, url=f"{_base()}/s/{space.slug}/events/{event.id}")
        items.append(dataclasses.replace(
            item, sequence=registration_sequence(event, SimpleNamespace(seq=reg_seq), cancelled=reg_cancelled),
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
    events = (await session.exec(select(*_EVENT_COLUMNS).where(  # type: ignore[call-overload]
        Event.visibility == Visibility.public, col(Event.ends_at) >= now - PAST_KEPT,
        or_(Event.status == EventStatus.published,
            (Event.status == EventStatus.cancelled) & (col(Event.cancelled_at) >= now - CANCELLED_KEPT)),  # type: ignore[operator]
    ))).all()
    base = _base()
    items = [event_item(space, e, url=f"{base}/p/{space.slug}/events/{e.id}") for e in events]  # type: ignore[attr-defined]
    with i18n.use_locale(space.locale):
        name = _("%(space)s: events", space=space.name)
    return FeedContent(name=name, items=items, public=True)


async def _owner(session: AsyncSession, feed: CalendarFeed) -> Account | Resource | Space | None:
    """Who or what the feed is about, if it still may be shown (a member who left: None)."""
    if feed.kind == FeedKind.member:
        from app.space.service import membership

        account = await session.get(Account, feed.account_id)
        if account is None or account.suspended_at is not None or await membership(session, account.id) is None:
            return None
        return account
    if feed.kind in (FeedKind.resource, FeedKind.resource_busy):
        return (await session.exec(select(Resource).where(Resource.id == feed.resource_id))).first()
    return None


async def _content(session: AsyncSession, feed: CalendarFeed, space: Space, owner: Any,
                   now: datetime) -> FeedContent | None:
    if feed.kind == FeedKind.member and isinstance(owner, Account):
        return await member_content(session, space, owner, now)
    if feed.kind in (FeedKind.resource, FeedKind.resource_busy) and isinstance(owner, Resource):
        return await resource_content(session, space, owner, now, busy_only=feed.kind == FeedKind.resource_busy)
    if feed.kind == FeedKind.events:
        return await events_content(session, space, now)
    return None


async def _fingerprint(session: AsyncSession, feed: CalendarFeed, owner: Any, now: datetime) -> tuple:
    """A one-row summary of the rows behind a feed that changes whenever they do.

    Services move ``updated_at`` on every change a feed shows; the count catches rows that enter
    or leave the feed's window. Names (a resource renamed) are not in it: the cache entry also
    expires after ``RENDER_TTL``.
    """
    booking_filter = (col(Booking.ends_at) >= now - PAST_KEPT,
                      or_(Booking.status == BookingStatus.confirmed, col(Booking.cancelled_at) >= now - CANCELLED_KEPT))
    parts: list[Any] = [feed.kind]
    if feed.kind == FeedKind.events:
        parts += (await session.exec(select(func.count(), func.max(Event.updated_at)).select_from(Event).where(
            Event.visibility == Visibility.public, col(Event.ends_at) >= now - PAST_KEPT,
            or_(Event.status == EventStatus.published,
                (Event.status == EventStatus.cancelled) & (col(Event.cancelled_at) >= now - CANCELLED_KEPT)),  # type: ignore[operator]
        ))).one()
        return tuple(parts)
    if isinstance(owner, Resource):
        parts += [owner.name, owner.updated_at]
        parts += (await session.exec(select(func.count(), func.max(Booking.updated_at)).select_from(Booking).where(
            Booking.resource_id == owner.id, *booking_filter))).one()
        return tuple(parts)
    parts += [owner.name, owner.locale]
    parts += (await session.exec(select(func.count(), func.max(Booking.updated_at)).select_from(Booking).where(
        Booking.account_id == owner.id, *booking_filter))).one()
    parts += (await session.exec(select(  # type: ignore[call-overload]
        func.count(), func.max(Event.updated_at), func.max(Registration.created_at),
        func.max(Registration.confirmed_at), func.max(Registration.cancelled_at),
    ).select_from(Registration).join(Event, col(Event.id) == Registration.event_id).where(
        Registration.account_id == owner.id, col(Event.ends_at) >= now - PAST_KEPT))).one()
    return tuple(parts)


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

    _body: bytes | None = None

    def body(self) -> bytes:
        if self._body is None:
            self._body = ics.assemble_feed(self.content.items, name=self.content.name, tz=self.tz,
                                           event_bytes=lambda item: EVENTS.get(item, self.tz),
                                           refresh_minutes=REFRESH_MINUTES, now=clock.now())
        return self._body


RENDER_TTL = 300.0
_RENDERED: OrderedDict[int, tuple[tuple, float, Rendered]] = OrderedDict()


async def rendered_feed(session: AsyncSession, feed: CalendarFeed, space: Space, now: datetime) -> Rendered | None:
    """The feed, ready to serve: rebuilt only when its fingerprint changed (or after RENDER_TTL).

    Who may see it is checked on every request, before the cache: a member who left the space,
    like a revoked token, gets a 404 at once.
    """
    owner = await _owner(session, feed)
    if feed.kind != FeedKind.events and owner is None:
        return None
    key = (await _fingerprint(session, feed, owner, now), space.name, space.timezone, space.locale, space.slug)
    hit = _RENDERED.get(feed.id)
    if hit is not None and hit[0] == key and hit[1] > time.monotonic():
        return hit[2]
    content = await _content(session, feed, space, owner, now)
    if content is None:
        return None
    rendered = render_feed(space, content)
    _RENDERED[feed.id] = (key, time.monotonic() + RENDER_TTL, rendered)
    if len(_RENDERED) > 2_000:
        _RENDERED.popitem(last=False)
    return rendered


def render_feed(space: Space, content: FeedContent) -> Rendered:
    etag = ics.feed_etag(content.items, content.name, space.timezone,
                         variant=f"{content.variant}|{REFRESH_MINUTES}|{ics.DEFAULT_PRODID}")
    return Rendered(etag=etag, last_modified=ics.feed_last_modified(content.items), content=content,
                    tz=space.timezone)
