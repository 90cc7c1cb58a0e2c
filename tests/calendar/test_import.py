"""External calendars block a resource: imported by a job from a real local HTTP server."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from app.calendar import sources
from app.calendar.models import CalendarSource
from app.core import clock, db
from app.resource.models import ResourceBlock
from tests.booking.factories import create_room, every_day

PARIS = ZoneInfo("Europe/Paris")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS)


@pytest.fixture
def october():
    clock.freeze(at(date(2026, 10, 1), 8))


async def add_source(world, web, room, url: str) -> CalendarSource:
    browser = await web(world.a.manager)
    r = await browser.post(f"/s/{world.a.slug}/resources/{room.id}/calendar/sources", {"url": url, "label": "Copeaux"})
    assert r.status_code == 303, r.text
    async with db.transaction(space_id=world.a.space.id, write=False) as session:
        return (await session.exec(select(CalendarSource).order_by(CalendarSource.id.desc()))).first()


async def blocks_of(world, source: CalendarSource) -> list[ResourceBlock]:
    async with db.transaction(space_id=world.a.space.id, write=False) as session:
        return list((await session.exec(select(ResourceBlock).where(
            ResourceBlock.source == f"ical:{source.id}").order_by(ResourceBlock.starts_at))).all())


async def reload(world, source: CalendarSource) -> CalendarSource:
    async with db.transaction(space_id=world.a.space.id, write=False) as session:
        return await session.get(CalendarSource, source.id)


async def set_url(world, source: CalendarSource, url: str) -> None:
    async with db.transaction(space_id=world.a.space.id) as session:
        row = await session.get(CalendarSource, source.id)
        row.url = url
        session.add(row)


async def book(api, world, room, start: datetime, end: datetime):
    return await api(world.a.tokens["member"]).post(f"/api/v1/spaces/{world.a.slug}/bookings", json={
        "resource_id": room.id, "starts_at": start.isoformat(), "ends_at": end.isoformat()})


async def test_a_google_calendar_blocks_the_room_with_its_moved_and_cancelled_occurrences(
    world, web, api, run_jobs, calendar_server, october
) -> None:
    room = await create_room(world.a.space, horizon_days=90)
    await every_day(world.a.space, world.a.owner, time(8), time(20))
    # Free before the import: this quote also caches the space's booking snapshot, which the import
    # (a bulk INSERT of blocks) must make old.
    quote = await api(world.a.tokens["member"]).post(f"/api/v1/spaces/{world.a.slug}/bookings/quote", json={
        "resource_id": room.id, "starts_at": at(date(2026, 10, 8), 10).isoformat(),
        "ends_at": at(date(2026, 10, 8), 11).isoformat()})
    assert quote.status_code == 200, quote.text
    source = await add_source(world, web, room, calendar_server.url("/google.ics"))
    await run_jobs()

    source = await reload(world, source)
    assert source.last_success_at is not None and source.last_error_code is None and source.block_count > 0
    starts = {b.starts_at.astimezone(PARIS).replace(tzinfo=None) for b in await blocks_of(world, source)}
    assert datetime(2026, 10, 8, 10) in starts          # the weekly meeting
    assert datetime(2026, 10, 15, 10) not in starts     # EXDATE
    assert datetime(2026, 10, 22, 10) not in starts     # moved...
    assert datetime(2026, 10, 23, 14) in starts         # ...to the Friday afternoon
    assert datetime(2026, 11, 5, 10) not in starts      # cancelled occurrence
    assert datetime(2026, 10, 25, 0) in starts          # all-day, on the DST day

    refused = await book(api, world, room, at(date(2026, 10, 8), 10), at(date(2026, 10, 8), 11))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "resource_blocked"
    assert (await book(api, world, room, at(date(2026, 10, 23), 14), at(date(2026, 10, 23), 15))).status_code == 422
    assert (await book(api, world, room, at(date(2026, 10, 22), 10), at(date(2026, 10, 22), 11))).status_code == 201
    assert (await book(api, world, room, at(date(2026, 11, 5), 10), at(date(2026, 11, 5), 11))).status_code == 201


async def test_the_all_day_block_lasts_the_25_hours_of_the_dst_day(world, web, run_jobs, calendar_server,
                                                                    october) -> None:
    room = await create_room(world.a.space, horizon_days=90)
    source = await add_source(world, web, room, calendar_server.url("/google.ics"))
    await run_jobs()
    all_day = [b for b in await blocks_of(world, source) if b.starts_at == at(date(2026, 10, 25), 0)]
    assert len(all_day) == 1 and (all_day[0].ends_at - all_day[0].starts_at).total_seconds() == 25 * 3600


async def test_the_next_import_is_a_conditional_get_and_keeps_the_blocks(world, web, run_jobs, calendar_server,
                                                                        october) -> None:
    room = await create_room(world.a.space, horizon_days=90)
    source = await add_source(world, web, room, calendar_server.url("/conditional.ics"))
    await run_jobs()
    count = (await reload(world, source)).block_count

    status = await sources.import_source(world.a.space.id, source.id)

    assert status == "not_modified"
    assert calendar_server.headers_of_last("/conditional.ics")["if-none-match"] == calendar_server.etag
    assert len(await blocks_of(world, source)) == count > 0


async def test_a_failing_source_keeps_the_blocks_of_its_last_good_import_and_says_why(
    world, web, run_jobs, calendar_server, october
) -> None:
    room = await create_room(world.a.space, horizon_days=90)
    source = await add_source(world, web, room, calendar_server.url("/google.ics"))
    await run_jobs()
    good = [(b.starts_at, b.ends_at) for b in await blocks_of(world, source)]
    await set_url(world, source, calendar_server.url("/error.ics"))

    assert await sources.import_source(world.a.space.id, source.id) == "error"

    assert [(b.starts_at, b.ends_at) for b in await blocks_of(world, source)] == good
    failed = await reload(world, source)
    assert failed.last_error_code == "http_error" and failed.last_error_status == 500 and failed.failures == 1
    page = await (await web(world.a.manager)).get(f"/s/{world.a.slug}/resources/{room.id}/calendar")
    assert "The calendar&#39;s server answered with an error (HTTP 500)." in page.text
    assert "the periods of the last good import are kept" in page.text


@pytest.mark.parametrize(("path", "code", "words"), [
    ("/missing.ics", "http_error", "(HTTP 404)"),
    ("/page.html", "not_calendar", "does not return a calendar"),
    ("/garbage.ics", "not_calendar", "does not return a calendar"),
    ("/huge-declared.ics", "too_large", "too large"),
    ("/slow.ics", "timeout", "did not answer in time"),
])
async def test_each_failure_is_told_in_plain_words(world, web, run_jobs, calendar_server, monkeypatch, october,
                                                   path, code, words) -> None:
    monkeypatch.setattr(sources, "FETCH_TIMEOUT", 0.5)
    room = await create_room(world.a.space)
    source = await add_source(world, web, room, calendar_server.url(path))
    await run_jobs()

    assert (await reload(world, source)).last_error_code == code
    page = await (await web(world.a.manager)).get(f"/s/{world.a.slug}/resources/{room.id}/calendar")
    assert words in page.text


async def test_an_unreachable_server_and_an_unreadable_file_are_told_too(world, web, run_jobs, calendar_server,
                                                                        closed_port_url, october) -> None:
    room = await create_room(world.a.space)
    unreachable = await add_source(world, web, room, closed_port_url)
    calendar_server.custom = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:garbage\r\n"
    broken = await add_source(world, web, room, calendar_server.url("/custom.ics"))
    await run_jobs()

    assert (await reload(world, unreachable)).last_error_code == "unreachable"
    assert (await reload(world, broken)).last_error_code in ("invalid_ics",)


async def test_one_bad_source_never_stops_the_others(world, web, run_jobs, calendar_server, october) -> None:
    from app.calendar.tasks import import_due

    room = await create_room(world.a.space, horizon_days=90)
    other_room = await create_room(world.a.space, name="Atelier")
    bad = await add_source(world, web, room, calendar_server.url("/error.ics"))
    good = await add_source(world, web, other_room, calendar_server.url("/google.ics"))
    await run_jobs()
    async with db.transaction(space_id=world.a.space.id) as session:  # forget the imports made on adding
        for row in (await session.exec(select(CalendarSource))).all():
            row.last_attempt_at = None
            session.add(row)
        for block in (await session.exec(select(ResourceBlock))).all():
            await session.delete(block)

    async with db.transaction() as session:
        assert await import_due(session, clock.now()) == 2
    await run_jobs()

    assert (await reload(world, bad)).failing
    assert len(await blocks_of(world, good)) == (await reload(world, good)).block_count > 0


async def test_a_source_that_keeps_failing_is_tried_less_and_less_often() -> None:
    from datetime import timedelta

    intervals = [sources.retry_interval(CalendarSource(resource_id=1, url="x", failures=n)) for n in range(8)]
    assert intervals[0] == intervals[1] == timedelta(minutes=30)
    assert intervals == sorted(intervals) and intervals[-1] == timedelta(hours=12)


async def test_removing_a_source_frees_the_periods_it_blocked(world, web, run_jobs, calendar_server,
                                                             october) -> None:
    room = await create_room(world.a.space, horizon_days=90)
    source = await add_source(world, web, room, calendar_server.url("/google.ics"))
    await run_jobs()
    assert await blocks_of(world, source)

    browser = await web(world.a.manager)
    r = await browser.post(f"/s/{world.a.slug}/resources/{room.id}/calendar/sources/{source.id}/delete")

    assert r.status_code == 303 and await blocks_of(world, source) == []


async def test_our_own_bookings_written_to_a_shared_calendar_do_not_come_back_as_blocks(
    world, web, run_jobs, calendar_server, october
) -> None:
    room = await create_room(world.a.space, horizon_days=90)
    calendar_server.custom = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:booking-7@{world.a.slug}.fabrique\r\nDTSTAMP:20261001T000000Z\r\n"
        "DTSTART:20261012T080000Z\r\nDTEND:20261012T090000Z\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:mairie-1@example.org\r\nDTSTAMP:20261001T000000Z\r\n"
        "DTSTART:20261013T080000Z\r\nDTEND:20261013T090000Z\r\nSUMMARY:Conseil\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    ).encode()
    source = await add_source(world, web, room, calendar_server.url("/custom.ics"))
    await run_jobs()

    blocks = await blocks_of(world, source)
    assert [(b.external_uid, b.starts_at.astimezone(UTC).hour) for b in blocks] == [("mairie-1@example.org", 8)]


async def test_a_changed_calendar_replaces_only_what_changed(world, web, run_jobs, calendar_server,
                                                            october) -> None:
    room = await create_room(world.a.space, horizon_days=90)
    event = ("BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261001T000000Z\r\nDTSTART:{start}\r\n"
             "DTEND:{end}\r\nEND:VEVENT\r\n")
    head, tail = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n", "END:VCALENDAR\r\n"
    calendar_server.custom = (head + event.format(uid="a", start="20261012T080000Z", end="20261012T090000Z")
                              + event.format(uid="b", start="20261013T080000Z", end="20261013T090000Z") + tail).encode()
    source = await add_source(world, web, room, calendar_server.url("/custom.ics"))
    await run_jobs()
    kept_id = next(b.id for b in await blocks_of(world, source) if b.external_uid == "a")

    calendar_server.custom = (head + event.format(uid="a", start="20261012T080000Z", end="20261012T090000Z")
                              + event.format(uid="b", start="20261014T080000Z", end="20261014T090000Z") + tail).encode()
    await sources.import_source(world.a.space.id, source.id)

    blocks = await blocks_of(world, source)
    assert [(b.external_uid, b.starts_at.day) for b in blocks] == [("a", 12), ("b", 14)]
    assert blocks[0].id == kept_id


async def test_members_and_animators_cannot_reach_calendar_sync(world, web) -> None:
    room = await create_room(world.a.space)
    for role in ("member", "animator"):
        browser = await web(world.a.accounts[role])
        assert (await browser.get(f"/s/{world.a.slug}/calendar-sync")).status_code == 403
        assert (await browser.get(f"/s/{world.a.slug}/resources/{room.id}/calendar")).status_code == 403


async def test_an_address_that_is_not_http_is_refused_with_a_message(world, web) -> None:
    room = await create_room(world.a.space)
    browser = await web(world.a.manager)
    r = await browser.post(f"/s/{world.a.slug}/resources/{room.id}/calendar/sources", {"url": "file:///etc/passwd"})
    assert r.status_code == 422 and "starting with https://" in r.text
