"""Addresses typed by a manager never make the server reach its own internal network (SSRF)."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator

import pytest
from sqlmodel import select

from app.calendar.fetch import fetch_calendar
from app.calendar.models import CaldavTarget, CalendarSource
from app.config import get_settings
from app.core import db
from app.core.outbound import OutboundRefused, refused_address, resolve
from tests.booking.factories import TOMORROW, create_room, every_day, freeze, iso


@pytest.fixture
def nothing_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "outbound_allow_hosts", "")


@pytest.fixture
def listener() -> Iterator[tuple[str, list[bytes]]]:
    """A bare TCP listener on 127.0.0.1 that records whatever reaches it."""
    received: list[bytes] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _addr = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    received.append(conn.recv(65536))
                    if b"/endless/" in received[-1]:  # a body that never ends, one byte at a time
                        conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 999999999999\r\n\r\n")
                        while not stop.wait(0.05):
                            conn.sendall(b"x")
                    conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", received
    stop.set()
    thread.join()
    server.close()


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "224.0.0.1", "240.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "2002:7f00:1::",
])
def test_internal_addresses_are_refused(address: str) -> None:
    assert refused_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert not refused_address(ipaddress.ip_address(address))


async def test_a_name_is_judged_by_the_addresses_it_resolves_to(nothing_allowed) -> None:
    with pytest.raises(OutboundRefused):
        await resolve("localhost", 80)


async def test_the_operator_can_allow_an_internal_host(monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "outbound_allow_hosts", "localhost, radicale.internal")
    assert await resolve("localhost", 80) == ["localhost"]


async def test_fetching_a_loopback_calendar_is_refused_without_a_request(nothing_allowed, calendar_server) -> None:
    before = len(calendar_server.requests)
    result = await fetch_calendar(calendar_server.url("/google.ics"))
    assert result.status == "error" and result.error_code == "forbidden_address"
    assert len(calendar_server.requests) == before


async def test_a_redirect_to_an_internal_host_is_refused(calendar_server) -> None:
    # 127.0.0.1 is allowed (the fixture); localhost, where the redirect leads, is not.
    result = await fetch_calendar(calendar_server.url("/redirect-to-localhost"))
    assert result.status == "error" and result.error_code == "forbidden_address"
    assert calendar_server.requests[-1][0] == "/redirect-to-localhost"


async def test_a_manager_cannot_import_a_calendar_from_an_internal_address(world, web, nothing_allowed) -> None:
    room = await create_room(world.a.space)
    browser = await web(world.a.manager)
    for url in ("http://169.254.169.254/latest/meta-data/", "http://[::ffff:127.0.0.1]:8000/x.ics",
                "webcal://localhost/cal.ics"):
        r = await browser.post(f"/s/{world.a.slug}/resources/{room.id}/calendar/sources", {"url": url})
        assert r.status_code == 422 and "internal network" in r.text, url
        assert url in r.text  # the form keeps what was typed
    async with db.transaction(space_id=world.a.space.id, write=False) as session:
        assert (await session.exec(select(CalendarSource))).all() == []


async def test_a_manager_cannot_point_caldav_at_an_internal_address(world, web, nothing_allowed, listener) -> None:
    base, received = listener
    room = await create_room(world.a.space)
    browser = await web(world.a.manager)
    r = await browser.post(f"/s/{world.a.slug}/resources/{room.id}/calendar/caldav",
                           {"caldav_url": f"{base}/rooms/x/", "caldav_password": "pw", "enabled": "on"})
    assert r.status_code == 422 and "internal network" in r.text
    async with db.transaction(space_id=world.a.space.id, write=False) as session:
        assert (await session.exec(select(CaldavTarget))).all() == []
    assert received == []


async def test_no_booking_is_pushed_to_an_internal_address_saved_before(world, web, api, run_jobs, listener,
                                                                      monkeypatch) -> None:
    base, received = listener
    freeze()
    room = await create_room(world.a.space, cancel_deadline_hours=0)
    await every_day(world.a.space, world.a.owner)
    browser = await web(world.a.manager)
    r = await browser.post(f"/s/{world.a.slug}/resources/{room.id}/calendar/caldav",
                           {"caldav_url": f"{base}/rooms/x/", "caldav_password": "pw", "enabled": "on"})
    assert r.status_code == 303, r.text
    await run_jobs()
    monkeypatch.setattr(get_settings(), "outbound_allow_hosts", "")  # the operator withdraws the allowance
    r = await api(world.a.tokens["member"]).post(f"/api/v1/spaces/{world.a.slug}/bookings", json={
        "resource_id": room.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 10)})
    assert r.status_code == 201, r.text
    await run_jobs()
    assert not any(b"PUT" in request for request in received)
    page = await browser.get(f"/s/{world.a.slug}/resources/{room.id}/calendar")
    assert "internal network" in page.text


async def test_a_caldav_server_sending_an_endless_answer_does_not_hold_the_push(world, web, api, run_jobs,
                                                                               listener) -> None:
    base, received = listener
    freeze()
    room = await create_room(world.a.space, cancel_deadline_hours=0)
    await every_day(world.a.space, world.a.owner)
    browser = await web(world.a.manager)
    r = await browser.post(f"/s/{world.a.slug}/resources/{room.id}/calendar/caldav",
                           {"caldav_url": f"{base}/endless/", "enabled": "on"})
    assert r.status_code == 303, r.text
    r = await api(world.a.tokens["member"]).post(f"/api/v1/spaces/{world.a.slug}/bookings", json={
        "resource_id": room.id, "starts_at": iso(TOMORROW, 9), "ends_at": iso(TOMORROW, 10)})
    await run_jobs()  # returns: only the status line and headers are read
    assert any(request.startswith(b"PUT /endless/") for request in received)
    async with db.transaction(space_id=world.a.space.id, write=False) as session:
        target = (await session.exec(select(CaldavTarget))).one()
    assert target.last_error is None and target.last_success_at is not None
