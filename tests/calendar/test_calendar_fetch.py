"""fetch_calendar against a real local HTTP server: every failure is a result, never an exception."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from app.calendar.fetch import (
    CalendarParseError,
    CalendarURLError,
    expand_blocks,
    fetch_calendar,
    looks_like_calendar,
    normalise_calendar_url,
)


async def test_google_export_is_fetched_whole(calendar_server) -> None:
    result = await fetch_calendar(calendar_server.url("/google.ics"))

    assert result.status == "ok"
    assert result.body == calendar_server.google_export
    assert result.http_status == 200
    assert result.error_code is None and result.error_detail is None


async def test_fetch_sends_an_ics_friendly_accept_header_and_user_agent(calendar_server) -> None:
    await fetch_calendar(calendar_server.url("/google.ics"))

    headers = calendar_server.headers_of_last("/google.ics")
    assert headers["accept"].startswith("text/calendar")
    assert headers["user-agent"].startswith("Fabrique")


async def test_first_fetch_returns_validators_to_store(calendar_server) -> None:
    result = await fetch_calendar(calendar_server.url("/conditional.ics"))

    assert result.status == "ok"
    assert result.etag == calendar_server.etag
    assert result.last_modified == calendar_server.last_modified


async def test_matching_etag_gives_not_modified_without_body(calendar_server) -> None:
    result = await fetch_calendar(calendar_server.url("/conditional.ics"), etag=calendar_server.etag)

    assert result.status == "not_modified"
    assert result.http_status == 304
    assert result.body is None
    assert result.etag == calendar_server.etag
    assert calendar_server.headers_of_last("/conditional.ics")["if-none-match"] == calendar_server.etag


async def test_matching_last_modified_gives_not_modified(calendar_server) -> None:
    result = await fetch_calendar(
        calendar_server.url("/conditional.ics"), last_modified=calendar_server.last_modified
    )

    assert result.status == "not_modified"
    assert result.last_modified == calendar_server.last_modified
    sent = calendar_server.headers_of_last("/conditional.ics")["if-modified-since"]
    assert sent == calendar_server.last_modified


async def test_last_modified_may_be_given_as_a_datetime(calendar_server) -> None:
    result = await fetch_calendar(
        calendar_server.url("/conditional.ics"), last_modified=datetime(2026, 9, 16, 8, 0, tzinfo=UTC)
    )

    assert result.status == "not_modified"
    sent = calendar_server.headers_of_last("/conditional.ics")["if-modified-since"]
    assert sent == "Wed, 16 Sep 2026 08:00:00 GMT"


async def test_stale_etag_gets_the_new_body(calendar_server) -> None:
    result = await fetch_calendar(calendar_server.url("/conditional.ics"), etag='"v0-old"')

    assert result.status == "ok"
    assert result.body == calendar_server.google_export
    assert result.etag == calendar_server.etag


async def test_slow_server_times_out(calendar_server) -> None:
    result = await fetch_calendar(calendar_server.url("/slow.ics"), timeout=0.3)

    assert result.status == "error"
    assert result.error_code == "timeout"
    assert "0.3 seconds" in (result.error_detail or "")


async def test_timeout_bounds_the_whole_download_not_each_read(calendar_server) -> None:
    result = await fetch_calendar(calendar_server.url("/drip.ics"), timeout=0.5)

    assert result.error_code == "timeout"


async def test_declared_oversized_body_is_refused_before_reading(calendar_server) -> None:
    result = await fetch_calendar(calendar_server.url("/huge-declared.ics"), max_bytes=1_000_000)

    assert result.status == "error"
    assert result.error_code == "too_large"
    assert result.error_detail == "The calendar is larger than 1 MB."
    assert result.body is None


async def test_undeclared_oversized_body_is_cut_while_streaming(calendar_server) -> None:
    result = await fetch_calendar(calendar_server.url("/huge-streamed.ics"), max_bytes=100_000)

    assert result.error_code == "too_large"
    assert result.body is None


@pytest.mark.parametrize(
    ("path", "status", "hint"),
    [
        ("/error.ics", 500, "server error"),
        ("/missing.ics", 404, "no calendar"),
        ("/private.ics", 403, "private"),
    ],
)
async def test_http_errors_carry_their_status(calendar_server, path: str, status: int, hint: str) -> None:
    result = await fetch_calendar(calendar_server.url(path))

    assert result.status == "error"
    assert result.error_code == "http_error"
    assert result.http_status == status
    assert hint in (result.error_detail or "")
    assert "127.0.0.1" in (result.error_detail or "")


async def test_garbage_bytes_are_not_a_calendar(calendar_server) -> None:
    result = await fetch_calendar(calendar_server.url("/garbage.ics"))

    assert result.error_code == "not_calendar"
    assert result.body is None


async def test_web_page_is_reported_with_a_hint_to_use_the_ics_link(calendar_server) -> None:
    result = await fetch_calendar(calendar_server.url("/page.html"))

    assert result.error_code == "not_calendar"
    assert "web page" in (result.error_detail or "")


async def test_redirects_are_followed(calendar_server) -> None:
    result = await fetch_calendar(calendar_server.url("/redirect.ics"))

    assert result.status == "ok"
    assert result.body == calendar_server.google_export


async def test_redirect_to_a_file_url_is_refused(calendar_server) -> None:
    result = await fetch_calendar(calendar_server.url("/redirect-to-file"))

    assert result.error_code == "unreachable"
    assert result.body is None


async def test_redirect_loop_is_unreachable(calendar_server) -> None:
    result = await fetch_calendar(calendar_server.url("/redirect-loop"))

    assert result.error_code == "unreachable"
    assert "redirected" in (result.error_detail or "")


async def test_nothing_listening_is_unreachable(closed_port_url: str) -> None:
    result = await fetch_calendar(closed_port_url, timeout=5)

    assert result.status == "error"
    assert result.error_code == "unreachable"
    assert result.error_detail == "Could not connect to 127.0.0.1. Check the address."


async def test_unknown_host_name_is_reported_as_such() -> None:
    # .invalid never resolves (RFC 2606); a resolver failure must not look like a timeout.
    result = await fetch_calendar("https://calendar.nonexistent.invalid/basic.ics", timeout=5)

    assert result.error_code == "unreachable"
    assert (
        result.error_detail
        == "The host name calendar.nonexistent.invalid could not be found. Check the address."
    )


async def test_invalid_certificate_is_reported_as_such(self_signed_server: str) -> None:
    result = await fetch_calendar(f"{self_signed_server}/google.ics", timeout=5)

    assert result.error_code == "unreachable"
    assert result.error_detail == "The secure connection to 127.0.0.1 failed: its certificate is not valid."


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.org/cal.ics", "gopher://x/", "/relative.ics"]
)
async def test_non_http_urls_are_refused_without_a_request(url: str) -> None:
    result = await fetch_calendar(url)

    assert result.error_code == "unreachable"
    assert result.error_detail == "Only http://, https:// and webcal:// calendar addresses are supported."


async def test_error_details_are_short_sentences_without_tracebacks(calendar_server) -> None:
    results = [
        await fetch_calendar(calendar_server.url(path), timeout=0.3, max_bytes=100_000)
        for path in ("/slow.ics", "/huge-streamed.ics", "/error.ics", "/garbage.ics", "/redirect-to-file")
    ]

    for result in results:
        detail = result.error_detail or ""
        assert detail and len(detail) < 160
        assert "Traceback" not in detail and "httpx" not in detail and "\n" not in detail


async def test_a_caller_supplied_client_is_used_and_left_open(calendar_server) -> None:
    async with httpx.AsyncClient(headers={"User-Agent": "custom-agent"}) as client:
        first = await fetch_calendar(calendar_server.url("/google.ics"), client=client)
        second = await fetch_calendar(calendar_server.url("/redirect.ics"), client=client)

        assert not client.is_closed
    assert first.status == second.status == "ok"
    assert calendar_server.headers_of_last("/google.ics")["user-agent"] == "custom-agent"


async def test_fetched_google_export_expands_to_blocks(calendar_server) -> None:
    result = await fetch_calendar(calendar_server.url("/google.ics"))
    assert result.body is not None

    blocks = expand_blocks(
        result.body,
        window_start=datetime(2026, 10, 1, tzinfo=UTC),
        window_end=datetime(2026, 11, 1, tzinfo=UTC),
        tz_default="Europe/Paris",
    )

    assert [b.start for b in blocks] == [
        datetime(2026, 10, 8, 8, 0, tzinfo=UTC),
        datetime(2026, 10, 20, 13, 0, tzinfo=UTC),
        datetime(2026, 10, 23, 12, 0, tzinfo=UTC),
        datetime(2026, 10, 24, 22, 0, tzinfo=UTC),
        datetime(2026, 10, 29, 9, 0, tzinfo=UTC),
    ]


async def test_garbage_body_fails_expansion_with_invalid_ics(calendar_server) -> None:
    async with httpx.AsyncClient() as client:
        raw = (await client.get(calendar_server.url("/garbage.ics"))).content

    with pytest.raises(CalendarParseError) as caught:
        expand_blocks(
            raw,
            window_start=datetime(2026, 1, 1, tzinfo=UTC),
            window_end=datetime(2027, 1, 1, tzinfo=UTC),
            tz_default="Europe/Paris",
        )
    assert caught.value.code == "invalid_ics"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "webcal://calendar.google.com/calendar/ical/x/basic.ics",
            "https://calendar.google.com/calendar/ical/x/basic.ics",
        ),
        ("WEBCAL://p01-caldav.icloud.com/published/2/abc", "https://p01-caldav.icloud.com/published/2/abc"),
        ("webcals://example.org/feed.ics?token=1", "https://example.org/feed.ics?token=1"),
        ("  https://example.org/a.ics#frag ", "https://example.org/a.ics"),
        ("http://example.org:8080/a.ics", "http://example.org:8080/a.ics"),
    ],
)
def test_webcal_is_read_as_https_and_fragments_dropped(given: str, expected: str) -> None:
    assert normalise_calendar_url(given) == expected


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "javascript:alert(1)", "https://", "", "data:text/calendar,x"]
)
def test_unfetchable_urls_raise_a_url_error(url: str) -> None:
    with pytest.raises(CalendarURLError):
        normalise_calendar_url(url)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", True),
        (b"\xef\xbb\xbf\r\n  begin:vcalendar\r\n", True),
        (b"<html>BEGIN:VCALENDAR</html>", False),
        (b"", False),
    ],
)
def test_calendar_sniffing(body: bytes, expected: bool) -> None:
    assert looks_like_calendar(body) is expected
