"""Calendar pages: the feed URLs themselves, a member's "My calendar feed", and the managers'
calendar sync (feeds of each resource, external calendars, CalDAV)."""

from __future__ import annotations

from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from app.calendar import caldav, feeds, sources
from app.calendar.models import CalendarSource, FeedKind
from app.core import clock
from app.core.errors import FabriqueError, NotFound
from app.core.i18n import _, _l
from app.core.permissions import Perm
from app.core.web import SessionDep, form_data, page_router, redirect, register_space_nav, render
from app.resource.models import Resource
from app.resource.service import get_resource, list_resources
from app.space import service as spaces
from app.space.deps import SpaceContext, SpaceView, space_access

router = page_router()

CalendarManage = Annotated[SpaceContext, Depends(space_access(Perm.calendar_manage))]

register_space_nav(25, None, _l("Calendar feed"), "calendar-feed")
register_space_nav(48, Perm.calendar_manage, _l("Calendar sync"), "calendar-sync", group="manage")


# -- the feeds ----------------------------------------------------------------------------------


def _not_modified(request: Request, rendered: feeds.Rendered) -> bool:
    """RFC 9110, 13.2.2: If-None-Match decides when present; If-Modified-Since only otherwise."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or rendered.etag in tags
    since = request.headers.get("if-modified-since")
    if since and rendered.last_modified is not None:
        try:
            return rendered.last_modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


@router.api_route("/feeds/{token}.ics", methods=["GET", "HEAD"])
async def feed(token: str, request: Request, session: SessionDep) -> Response:
    """A calendar feed by its secret token: 404 for an unknown or revoked token, 304 when unchanged."""
    found = await feeds.feed_by_token(session, token)
    if found is None:
        raise NotFound()
    calendar_feed, space = found
    rendered = await feeds.rendered_feed(session, calendar_feed, space, clock.now())
    if rendered is None:
        raise NotFound()
    content = rendered.content
    headers = {
        "ETag": rendered.etag,
        # Personal feeds must not sit in shared caches; calendar apps revalidate with the ETag.
        "Cache-Control": "public, max-age=300" if content.public else "private, max-age=300",
        "X-Robots-Tag": "noindex",
    }
    if rendered.last_modified is not None:
        headers["Last-Modified"] = format_datetime(rendered.last_modified, usegmt=True)
    if _not_modified(request, rendered):
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = 'inline; filename="calendar.ics"'
    body = b"" if request.method == "HEAD" else rendered.body()
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)


# -- a member's feed ----------------------------------------------------------------------------


async def _page(request: Request, ctx: SpaceContext, session, template: str, context: dict, **kw) -> Response:
    request.state.my_spaces = await spaces.spaces_of(session, ctx.account.id)
    return render(request, template, {"ctx": ctx, "tz": ctx.space.timezone, **context}, **kw)


async def _confirm_feed(request: Request, ctx: SpaceContext, session, action: str, back: str,
                        fields: dict | None = None) -> Response:
    """Ask before a feed's address changes or stops (the buttons link here with ``?confirm=``; with
    JavaScript the same question opens in a dialog)."""
    what = "revoke" if request.query_params.get("confirm") == "revoke" else "regenerate"
    return await _page(request, ctx, session, "confirm/page.html", {"kind": "change_feed", "args": {
        "action": action, "back": back, "what": what, "fields": fields or {}}})


def _links(feed) -> dict:
    url = feeds.feed_url(feed) if feed is not None else None
    return {"url": url, "webcal": feeds.webcal_url(url), "exists": feed is not None}


@router.get("/s/{slug}/calendar-feed")
async def my_feed_page(request: Request, ctx: SpaceView, session: SessionDep) -> Response:
    if request.query_params.get("confirm"):
        path = f"/s/{ctx.space.slug}/calendar-feed"
        return await _confirm_feed(request, ctx, session, path, path)
    mine = await feeds.current_feed(session, FeedKind.member, account_id=ctx.account.id)
    events = await feeds.current_feed(session, FeedKind.events)
    busy_feeds = await feeds.current_resource_feeds(session, FeedKind.resource_busy)
    busy = [{"resource": resource, **_links(busy_feeds[resource.id])}
            for resource in await list_resources(session) if resource.id in busy_feeds]
    return await _page(request, ctx, session, "calendar/my_feed.html", {
        "mine": _links(mine), "events": _links(events), "busy": busy})


@router.post("/s/{slug}/calendar-feed")
async def my_feed_action(request: Request, ctx: SpaceView, session: SessionDep) -> Response:
    form = await form_data(request)
    back = f"/s/{ctx.space.slug}/calendar-feed"
    if form.get("action") == "revoke":
        await feeds.revoke_feed(session, ctx.space, ctx.account, FeedKind.member, account_id=ctx.account.id)
        return redirect(back, message=_("Your calendar feed is switched off: its address no longer works."))
    await feeds.regenerate_feed(session, ctx.space, ctx.account, FeedKind.member, account_id=ctx.account.id)
    return redirect(back, message=_("Your calendar feed has a new address: the previous one no longer works."))


# -- managers -----------------------------------------------------------------------------------


@router.get("/s/{slug}/calendar-sync")
async def sync_page(request: Request, ctx: CalendarManage, session: SessionDep) -> Response:
    events = await feeds.current_feed(session, FeedKind.events)
    all_sources = await sources.list_sources(session)
    targets = await caldav.targets_by_resource(session)
    rows = []
    for resource in await list_resources(session):
        mine = [s for s in all_sources if s.resource_id == resource.id]
        target = targets.get(resource.id)
        rows.append({"resource": resource, "sources": len(mine), "failing": sum(1 for s in mine if s.failing),
                     "caldav": target is not None and target.enabled})
    return await _page(request, ctx, session, "calendar/sync.html", {"events": _links(events), "rows": rows})


@router.get("/s/{slug}/calendar-sync/events-feed")
async def events_feed_confirm(request: Request, ctx: CalendarManage, session: SessionDep) -> Response:
    return await _confirm_feed(request, ctx, session, f"/s/{ctx.space.slug}/calendar-sync/events-feed",
                               f"/s/{ctx.space.slug}/calendar-sync")


@router.post("/s/{slug}/calendar-sync/events-feed")
async def events_feed_action(request: Request, ctx: CalendarManage, session: SessionDep) -> Response:
    form = await form_data(request)
    back = f"/s/{ctx.space.slug}/calendar-sync"
    if form.get("action") == "revoke":
        await feeds.revoke_feed(session, ctx.space, ctx.account, FeedKind.events)
        return redirect(back, message=_("The events feed is switched off: its address no longer works."))
    await feeds.regenerate_feed(session, ctx.space, ctx.account, FeedKind.events)
    return redirect(back, message=_("The events feed has a new address."))


async def valid_resource(resource_id: int, ctx: CalendarManage, session: SessionDep) -> Resource:
    return await get_resource(session, resource_id)


ValidResource = Annotated[Resource, Depends(valid_resource)]


async def valid_source(source_id: int, resource: ValidResource, session: SessionDep) -> CalendarSource:
    return await sources.get_source(session, resource, source_id)


ValidSource = Annotated[CalendarSource, Depends(valid_source)]


async def _resource_page(request: Request, ctx: SpaceContext, session, resource: Resource, *,
                         error: FabriqueError | None = None, form: dict | None = None) -> Response:
    now = clock.now()
    staff = await feeds.current_feed(session, FeedKind.resource, resource_id=resource.id)
    busy = await feeds.current_feed(session, FeedKind.resource_busy, resource_id=resource.id)
    rows = []
    for source in await sources.list_sources(session, resource.id):
        rows.append({"source": source, "error": sources.error_message(source),
                     "blocks": await sources.source_blocks(session, source, since=now, limit=10)})
    target = await caldav.get_target(session, resource.id)
    # The page holds two forms: the CalDAV one shows the saved settings unless it is the one posted.
    values = {"enabled": "on"} if target is None else {
        "caldav_url": target.url, "caldav_username": target.username,
        "show_names": "on" if target.show_names else "", "enabled": "on" if target.enabled else ""}
    return await _page(request, ctx, session, "calendar/resource.html", {
        "resource": resource, "staff": _links(staff), "busy": _links(busy), "sources": rows, "target": target,
        "target_error": caldav.error_message(target) if target is not None else None,
        "has_password": bool(target and target.password_encrypted),
    }, error=error, form=values | (form or {}))


@router.get("/s/{slug}/resources/{resource_id}/calendar")
async def resource_page(request: Request, resource: ValidResource, ctx: CalendarManage,
                        session: SessionDep) -> Response:
    return await _resource_page(request, ctx, session, resource)


@router.get("/s/{slug}/resources/{resource_id}/calendar/feed")
async def resource_feed_confirm(request: Request, resource: ValidResource, ctx: CalendarManage,
                                session: SessionDep) -> Response:
    base = f"/s/{ctx.space.slug}/resources/{resource.id}/calendar"
    audience = "busy" if request.query_params.get("audience") == "busy" else "staff"
    return await _confirm_feed(request, ctx, session, f"{base}/feed", base, {"audience": audience})


@router.post("/s/{slug}/resources/{resource_id}/calendar/feed")
async def resource_feed_action(request: Request, resource: ValidResource, ctx: CalendarManage,
                               session: SessionDep) -> Response:
    form = await form_data(request)
    kind = FeedKind.resource_busy if form.get("audience") == "busy" else FeedKind.resource
    back = f"/s/{ctx.space.slug}/resources/{resource.id}/calendar"
    if form.get("action") == "revoke":
        await feeds.revoke_feed(session, ctx.space, ctx.account, kind, resource_id=resource.id)
        return redirect(back, message=_("The feed is switched off: its address no longer works."))
    await feeds.regenerate_feed(session, ctx.space, ctx.account, kind, resource_id=resource.id)
    return redirect(back, message=_("The feed has a new address: the previous one no longer works."))


@router.post("/s/{slug}/resources/{resource_id}/calendar/sources")
async def add_source(request: Request, resource: ValidResource, ctx: CalendarManage,
                     session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        await sources.add_source(session, ctx.space, ctx.account, resource, url=form.get("url", ""),
                                 label=form.get("label", ""))
    except FabriqueError as exc:
        return await _resource_page(request, ctx, session, resource, error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/resources/{resource.id}/calendar",
                    message=_("The calendar is added: its events will block %(name)s in a moment.", name=resource.name))


@router.post("/s/{slug}/resources/{resource_id}/calendar/sources/{source_id}/delete")
async def remove_source(resource: ValidResource, source: ValidSource, ctx: CalendarManage,
                        session: SessionDep) -> Response:
    await sources.remove_source(session, ctx.space, ctx.account, source)
    return redirect(f"/s/{ctx.space.slug}/resources/{resource.id}/calendar",
                    message=_("The calendar is removed, with the periods it blocked."))


@router.post("/s/{slug}/resources/{resource_id}/calendar/sources/{source_id}/import")
async def import_now(resource: ValidResource, source: ValidSource, ctx: CalendarManage,
                     session: SessionDep) -> Response:
    sources.enqueue_import(session, ctx.space.id, source.id, reason="now")
    return redirect(f"/s/{ctx.space.slug}/resources/{resource.id}/calendar",
                    message=_("The import has started: reload this page in a moment."))


@router.post("/s/{slug}/resources/{resource_id}/calendar/caldav")
async def save_caldav(request: Request, resource: ValidResource, ctx: CalendarManage,
                      session: SessionDep) -> Response:
    form = await form_data(request)
    try:
        await caldav.save_target(session, ctx.space, ctx.account, resource, url=form.get("caldav_url", ""),
                                 username=form.get("caldav_username", ""), password=form.get("caldav_password", ""),
                                 show_names=bool(form.get("show_names")), enabled=bool(form.get("enabled")))
    except FabriqueError as exc:
        form.pop("caldav_password", None)
        # An unticked box is not posted: say so, or the saved setting would show ticked again.
        form = {"show_names": "", "enabled": ""} | form
        return await _resource_page(request, ctx, session, resource, error=exc, form=form)
    return redirect(f"/s/{ctx.space.slug}/resources/{resource.id}/calendar",
                    message=_("CalDAV settings saved: the bookings to come are being written."))


@router.post("/s/{slug}/resources/{resource_id}/calendar/caldav/delete")
async def remove_caldav(resource: ValidResource, ctx: CalendarManage, session: SessionDep) -> Response:
    target = await caldav.get_target(session, resource.id)
    if target is not None:
        await caldav.remove_target(session, ctx.space, ctx.account, target)
    return redirect(f"/s/{ctx.space.slug}/resources/{resource.id}/calendar",
                    message=_("Bookings are no longer written to the CalDAV calendar."))

