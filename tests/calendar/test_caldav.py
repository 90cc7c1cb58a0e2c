"""CalDAV push against a real Radicale server started by the test."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from icalendar import Calendar
from sqlmodel import select

from app.calendar import caldav
from app.calendar.models import CaldavTarget
from app.core import db
from app.core.crypto import decrypt_secret
from tests.booking.factories import TOMORROW, create_room, every_day, freeze, iso, tick


@pytest.fixture(scope="module")
def radicale(tmp_path_factory) -> Iterator[str]:
    pytest.importorskip("radicale", reason="radicale is in the dev extra")
    folder = tmp_path_factory.mktemp("radicale")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", "", "--server-hosts", f"127.0.0.1:{port}",
         "--auth-type", "none", "--storage-filesystem-folder", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(base + "/", timeout=0.5)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def make_calendar(base: str, name: str) -> str:
    url = f"{base}/rooms/{name}/"
    r = httpx.request("MKCALENDAR", url, auth=("rooms", "x"))
    assert r.status_code in (201, 405), r.text
    return url


def objects(url: str) -> dict[str, Calendar]:
    """Every object of the collection, read back with Radicale's own GET of the collection."""
    r = httpx.get(url, auth=("rooms", "x"))
    assert r.status_code == 200
    cal = Calendar.from_ical(r.content)
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


async def test_bookings_are_written_moved_and_removed_in_the_caldav_calendar(
    world, web, api, run_jobs, radicale
) -> None:
    freeze()
    room = await create_room(world.a.space, cancel_deadline_hours=0)
    other = await create_room(world.a.space, name="Salle Bleue")
    await every_day(world.a.space, world.a.owner)
    url = make_calendar(radicale, f"room-{room.id}-{world.a.slug}")
    browser = await web(world.a.manager)
    r = await browser.post(f"/s/{world.a.slug}/resources/{room.id}/calendar/caldav", {
        "caldav_url": url, "caldav_username": "rooms", "caldav_password": "s3cret-password", "enabled": "on"})
    assert r.status_code == 303, r.text
    page = await browser.get(f"/s/{world.a.slug}/resources/{room.id}/calendar")
    assert "s3cret-password" not in page.text
    async with db.transaction(space_id=world.a.space.id, write=False) as session:
        target = (await session.exec(select(CaldavTarget))).one()
        assert "s3cret" not in target.password_encrypted
        assert decrypt_secret(caldav.PASSWORD_PURPOSE, target.password_encrypted) == "s3cret-password"

    base = f"/api/v1/spaces/{world.a.slug}/bookings"
    r = await api(world.a.tokens["member"]).post(base, json={
        "resource_id": room.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 10)})
    booking_id = r.json()["id"]
    await run_jobs()
    uid = f"booking-{booking_id}@{world.a.slug}.fabrique"
    written = objects(url)[uid]
    assert written["DTSTART"].dt.hour == 9 and str(written["SUMMARY"]).startswith("Booked")
    assert "a Member" not in str(written["SUMMARY"])

    tick()
    r = await api(world.a.tokens["manager"]).post(f"{base}/{booking_id}/move", json={
        "starts_at": iso(TOMORROW, 14), "ends_at": iso(TOMORROW, 15)})
    assert r.status_code == 200, r.text
    await run_jobs()
    moved = objects(url)[uid]
    assert moved["DTSTART"].dt.hour == 14 and int(moved["SEQUENCE"]) == 1

    tick()
    r = await api(world.a.tokens["manager"]).post(f"{base}/{booking_id}/move", json={
        "starts_at": iso(TOMORROW, 14), "ends_at": iso(TOMORROW, 15), "resource_id": other.id})
    assert r.status_code == 200, r.text
    await run_jobs()
    assert uid not in objects(url)  # it left this room's calendar

    async with db.transaction(space_id=world.a.space.id, write=False) as session:
        target = (await session.exec(select(CaldavTarget))).one()
    assert target.last_error is None and target.last_success_at is not None


async def test_a_cancelled_booking_is_removed_and_an_unreachable_server_is_told(world, web, api, run_jobs,
                                                                               radicale) -> None:
    freeze()
    room = await create_room(world.a.space, cancel_deadline_hours=0)
    await every_day(world.a.space, world.a.owner)
    url = make_calendar(radicale, f"room-{room.id}-{world.a.slug}")
    browser = await web(world.a.manager)
    await browser.post(f"/s/{world.a.slug}/resources/{room.id}/calendar/caldav",
                       {"caldav_url": url, "enabled": "on", "show_names": "on"})
    base = f"/api/v1/spaces/{world.a.slug}/bookings"
    r = await api(world.a.tokens["member"]).post(base, json={
        "resource_id": room.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 10)})
    booking_id = r.json()["id"]
    await run_jobs()
    uid = f"booking-{booking_id}@{world.a.slug}.fabrique"
    assert str(objects(url)[uid]["SUMMARY"]).startswith("a Member")

    tick()
    assert (await api(world.a.tokens["member"]).post(f"{base}/{booking_id}/cancel", json={})).status_code == 200
    await run_jobs()
    assert uid not in objects(url)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/rooms/x/"
    await browser.post(f"/s/{world.a.slug}/resources/{room.id}/calendar/caldav", {"caldav_url": dead, "enabled": "on"})
    r = await api(world.a.tokens["member"]).post(base, json={
        "resource_id": room.id, "starts_at": iso(TOMORROW, 11), "ends_at": iso(TOMORROW, 12)})
    await run_jobs()
    page = await browser.get(f"/s/{world.a.slug}/resources/{room.id}/calendar")
    assert "The CalDAV server could not be reached" in page.text
