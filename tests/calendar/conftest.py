"""A real local HTTP server standing in for the calendar providers a space imports from.

It runs in a thread on an ephemeral port for the whole session. Each path plays one behaviour
(a Google export, conditional requests, a slow or huge or broken answer) so that ``fetch_calendar``
is exercised through a real socket, httpx and all.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.config import get_settings

DATA = Path(__file__).parent / "data"
GOOGLE_EXPORT = (DATA / "google_export.ics").read_bytes()

CONDITIONAL_ETAG = '"v1-4f2a"'
CONDITIONAL_LAST_MODIFIED = "Wed, 16 Sep 2026 08:00:00 GMT"
GARBAGE = bytes(range(256)) * 8
HTML_PAGE = b"<!doctype html><html><head><title>Google Agenda</title></head><body>Connexion</body></html>"
# Long enough that a test's timeout always fires first, short enough not to delay teardown much.
SLOW_SECONDS = 5.0


@dataclass
class CalendarServer:
    """The running server, what it serves, and the headers of every request it received."""

    base_url: str
    google_export: bytes = GOOGLE_EXPORT
    etag: str = CONDITIONAL_ETAG
    last_modified: str = CONDITIONAL_LAST_MODIFIED
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    # What /custom.ics serves: tests of the calendar-sync domain put their own calendar there.
    custom: bytes = b""

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def headers_of_last(self, path: str) -> dict[str, str]:
        return next(headers for p, headers in reversed(self.requests) if p == path)


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeCalendarProvider/1.0"
    state: CalendarServer
    stop: threading.Event

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base-class signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self.state.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        route = {
            "/google.ics": self._google,
            "/custom.ics": lambda: self._send(200, self.state.custom, "text/calendar"),
            "/conditional.ics": self._conditional,
            "/slow.ics": self._slow,
            "/drip.ics": self._drip,
            "/huge-declared.ics": self._huge_declared,
            "/huge-streamed.ics": self._huge_streamed,
            "/error.ics": lambda: self._status(500),
            "/missing.ics": lambda: self._status(404),
            "/private.ics": lambda: self._status(403),
            "/garbage.ics": lambda: self._send(200, GARBAGE, "application/octet-stream"),
            "/page.html": lambda: self._send(200, HTML_PAGE, "text/html; charset=utf-8"),
            "/redirect.ics": lambda: self._redirect("/google.ics"),
            "/redirect-to-file": lambda: self._redirect("file:///etc/passwd"),
            "/redirect-loop": lambda: self._redirect("/redirect-loop"),
            "/redirect-to-localhost": lambda: self._redirect(
                f"http://localhost:{self.server.server_address[1]}/google.ics"),
        }.get(self.path.split("?")[0])
        try:
            if route is None:
                self._status(404)
            else:
                route()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on purpose (too large, timeout)

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _status(self, status: int) -> None:
        self._send(status, f"error {status}".encode(), "text/plain")

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _google(self) -> None:
        self._send(200, GOOGLE_EXPORT, "text/calendar; charset=UTF-8")

    def _conditional(self) -> None:
        validators = {"ETag": CONDITIONAL_ETAG, "Last-Modified": CONDITIONAL_LAST_MODIFIED}
        if_none_match = self.headers.get("If-None-Match")
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_none_match is not None:
            fresh = if_none_match == CONDITIONAL_ETAG
        elif if_modified_since is not None:
            fresh = parsedate_to_datetime(if_modified_since) >= parsedate_to_datetime(
                CONDITIONAL_LAST_MODIFIED
            )
        else:
            fresh = False
        if fresh:
            self.send_response(304)
            for name, value in validators.items():
                self.send_header(name, value)
            self.end_headers()
        else:
            self._send(200, GOOGLE_EXPORT, "text/calendar", validators)

    def _slow(self) -> None:
        self.stop.wait(SLOW_SECONDS)
        self._send(200, GOOGLE_EXPORT, "text/calendar")

    def _drip(self) -> None:
        """Headers at once, then a byte every 50 ms: no single read ever times out."""
        self.send_response(200)
        self.send_header("Content-Type", "text/calendar")
        self.send_header("Content-Length", str(len(GOOGLE_EXPORT)))
        self.end_headers()
        for byte in GOOGLE_EXPORT:
            if self.stop.wait(0.05):
                return
            self.wfile.write(bytes([byte]))
            self.wfile.flush()

    def _huge_declared(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/calendar")
        self.send_header("Content-Length", "50000000")
        self.end_headers()
        self.wfile.write(b"BEGIN:VCALENDAR\r\n")

    def _huge_streamed(self) -> None:
        """No Content-Length (HTTP/1.0, ends when the connection closes): only counting can stop it."""
        self.send_response(200)
        self.send_header("Content-Type", "text/calendar")
        self.end_headers()
        self.wfile.write(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
        line = b"X-PADDING:" + b"x" * 60 + b"\r\n"
        for _ in range(20_000):  # about 1.4 MB
            self.wfile.write(line)


@pytest.fixture(autouse=True)
def local_servers_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stand-in servers and Radicale listen on 127.0.0.1, an address refused unless allowed."""
    monkeypatch.setattr(get_settings(), "outbound_allow_hosts", "127.0.0.1")


@pytest.fixture(scope="session")
def calendar_server() -> Iterator[CalendarServer]:
    stop = threading.Event()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    state = CalendarServer(base_url=f"http://127.0.0.1:{httpd.server_address[1]}")
    _Handler.state = state
    _Handler.stop = stop
    thread = threading.Thread(target=httpd.serve_forever, name="calendar-test-server", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def self_signed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same routes over https with a self-signed certificate, as a home-made Nextcloud has."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, name="calendar-tls-server", daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port_url() -> str:
    """An address where nothing listens: a port the OS just handed out and took back."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/calendar.ics"


@pytest.fixture(scope="session")
def google_export() -> bytes:
    """tests/calendar/data/google_export.ics: the shape of a real Google Calendar export."""
    return GOOGLE_EXPORT


@pytest.fixture(scope="session")
def many_events_ics() -> bytes:
    return _many_events_ics()


def _many_events_ics(count: int = 2_000, *, first_day: date = date(2026, 1, 5)) -> bytes:
    """A Europe/Paris calendar of ``count`` VEVENTs, most of them recurring.

    Per 10 events: 5 one-off meetings, 3 weekly series (one with an EXDATE, one limited by COUNT),
    1 daily series with a moved occurrence and 1 monthly series with a cancelled occurrence. The
    overrides are extra VEVENTs sharing the series' UID, on top of ``count``.
    """
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Fabrique tests//Many events//FR",
        "X-WR-TIMEZONE:Europe/Paris",
    ]
    for n in range(count):
        day = first_day + timedelta(days=n % 300)
        hour = 8 + n % 10
        start = f"{day:%Y%m%d}T{hour:02d}0000"
        end = f"{day:%Y%m%d}T{hour + 1:02d}0000"
        uid = f"evt-{n}@example.org"
        kind = n % 10
        event = [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            "DTSTAMP:20260101T000000Z",
            f"DTSTART;TZID=Europe/Paris:{start}",
            f"DTEND;TZID=Europe/Paris:{end}",
            f"SUMMARY:Event {n}",
        ]
        overrides: list[list[str]] = []
        if kind in (5, 6, 7):
            rule = "RRULE:FREQ=WEEKLY;COUNT=20" if kind == 7 else "RRULE:FREQ=WEEKLY"
            event.append(rule)
            if kind == 6:
                event.append(f"EXDATE;TZID=Europe/Paris:{day + timedelta(weeks=2):%Y%m%d}T{hour:02d}0000")
        elif kind == 8:
            event.append("RRULE:FREQ=DAILY;COUNT=30")
            moved = day + timedelta(days=3)
            overrides.append(
                [
                    "BEGIN:VEVENT",
                    f"UID:{uid}",
                    "DTSTAMP:20260101T000000Z",
                    f"RECURRENCE-ID;TZID=Europe/Paris:{moved:%Y%m%d}T{hour:02d}0000",
                    f"DTSTART;TZID=Europe/Paris:{moved:%Y%m%d}T{hour + 2:02d}0000",
                    f"DTEND;TZID=Europe/Paris:{moved:%Y%m%d}T{hour + 3:02d}0000",
                    f"SUMMARY:Event {n} (moved)",
                    "END:VEVENT",
                ]
            )
        elif kind == 9:
            event.append("RRULE:FREQ=MONTHLY;BYMONTHDAY=1,15")
            overrides.append(
                [
                    "BEGIN:VEVENT",
                    f"UID:{uid}",
                    "DTSTAMP:20260101T000000Z",
                    f"RECURRENCE-ID;TZID=Europe/Paris:{start}",
                    f"DTSTART;TZID=Europe/Paris:{start}",
                    f"DTEND;TZID=Europe/Paris:{end}",
                    "STATUS:CANCELLED",
                    "END:VEVENT",
                ]
            )
        event.append("END:VEVENT")
        lines += event
        for override in overrides:
            lines += override
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


# -- the calendar-sync tests (feeds, invitations, imports, CalDAV) read English messages ------------


@pytest.fixture
async def world(world):
    from sqlmodel import col, update

    from app.core import db
    from app.space.models import Space

    async with db.transaction() as session:
        await session.exec(update(Space).where(col(Space.id).in_([world.a.space.id, world.b.space.id]))
                           .values(locale="en"))
    world.a.space.locale = world.b.space.locale = "en"
    return world
