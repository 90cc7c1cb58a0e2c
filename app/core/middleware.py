"""Pure ASGI middleware: the request's locale and the security headers."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

from app.config import get_settings
from app.core import i18n

LANG_COOKIE = "fabrique_lang"

CSP = (
    "default-src 'self'; img-src 'self' data: https:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)
# Swagger UI and ReDoc load their assets from a CDN.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; frame-ancestors 'none'; object-src 'none'"
)


class LocaleAndSecurityMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        path: str = scope.get("path", "")
        locale = None
        cookie_header = headers.get("cookie")
        if cookie_header:
            jar = SimpleCookie()
            try:
                jar.load(cookie_header)
            except Exception:  # a malformed cookie header must not fail the request
                jar = SimpleCookie()
            if LANG_COOKIE in jar:
                locale = i18n.normalize_locale(jar[LANG_COOKIE].value)
        if locale is None and path.startswith("/api/"):
            locale = i18n.accept_language(headers.get("accept-language"))
        token = i18n.set_locale(locale)
        is_docs = path in ("/docs", "/redoc") or path.startswith("/docs/")
        secure = get_settings().secure_cookies

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"strict-origin-when-cross-origin"),
                    (b"x-frame-options", b"DENY"),
                    (b"content-security-policy", (DOCS_CSP if is_docs else CSP).encode()),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                    (b"content-language", i18n.get_locale().encode()),
                ]
                if secure:
                    extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                present = {k.lower() for k, _v in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in extra if h[0] not in present]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            i18n._locale.reset(token)
