"""Requests the server sends to addresses typed by a space manager (calendar imports, CalDAV).

Anyone can create a space and so type such an address: without a guard, the server would fetch
its own loopback, the private network or a cloud metadata endpoint for them (server-side request
forgery). The guard sits where the connection is opened, in the network backend of the HTTP
client: the host name is resolved once, every address it resolves to is checked, and the socket
is connected to the checked address itself, so a DNS answer that changes between the check and
the connection (DNS rebinding) cannot slip through. Because every connection goes through it,
each redirect's target is checked too. TLS still verifies the certificate against the host name
(httpcore sends the original name as SNI and checks it).

Refused: loopback, private, link-local, shared (100.64/10), multicast, reserved and unspecified
addresses, IPv4 and IPv6, an IPv4 address wrapped in IPv6 (``::ffff:127.0.0.1``, 6to4, NAT64
well-known prefix) judged as the IPv4 address. An operator can allow a list of internal hosts
(``FABRIQUE_OUTBOUND_ALLOW_HOSTS``, e.g. a Radicale on the same machine): names or IP addresses,
compared with the host of the URL before resolution.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import typing
from urllib.parse import urlsplit

import httpcore
import httpx

from app.config import get_settings

__all__ = ["OutboundRefused", "check_url", "guarded_client", "refused_address"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
SAVE_LOOKUP_SECONDS = 5.0


class OutboundRefused(Exception):
    """The destination is an internal address the server must not reach for a manager."""

    def __init__(self, host: str) -> None:
        super().__init__(f"{host} is an internal address")
        self.host = host


def _allowed_hosts() -> set[str]:
    raw = get_settings().outbound_allow_hosts or ""
    return {h.strip().lower().strip("[]") for h in raw.split(",") if h.strip()}


def refused_address(address: IPAddress) -> bool:
    """Whether ``address`` is one the server must not connect to for a manager."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return refused_address(embedded)
    return not address.is_global or address.is_multicast or address.is_reserved or address.is_unspecified


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def resolve(host: str, port: int) -> list[str]:
    """The addresses to connect to for ``host``, every one checked; OutboundRefused if any is internal.

    A name that resolves to both a public and an internal address is refused: which one a client
    picks is not ours to predict.
    """
    host = host.lower().strip("[]")
    literal = _literal(host)
    if host in _allowed_hosts():
        return [host]
    if literal is not None:
        if refused_address(literal):
            raise OutboundRefused(host)
        return [str(literal)]
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses or any(refused_address(ipaddress.ip_address(a.split("%")[0])) for a in addresses):
        raise OutboundRefused(host)
    return addresses


async def check_url(url: str) -> None:
    """Refuse (OutboundRefused) a URL whose host is or resolves to an internal address.

    Used when a manager saves an address, to answer at once; a name that does not resolve (yet) is
    let through, the connection will say. The fetch checks again, after resolution and redirects.
    """
    parts = urlsplit(url)
    if not parts.hostname:
        return
    try:
        async with asyncio.timeout(SAVE_LOOKUP_SECONDS):  # a slow DNS must not hold the request
            await resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (OSError, TimeoutError):
        return


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's default backend, connecting only to checked addresses (see the module docstring)."""

    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):  # the connect timeout covers the name lookup too
                addresses = await resolve(host, port)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"looking up {host} took too long") from exc
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._backend.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                       socket_options=socket_options)
            except httpcore.ConnectError as exc:
                error = exc
        raise error or httpcore.ConnectError(f"no address for {host}")

    async def connect_unix_socket(self, *args: typing.Any, **kwargs: typing.Any) -> httpcore.AsyncNetworkStream:
        raise OutboundRefused("unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def guarded_client(**kwargs: typing.Any) -> httpx.AsyncClient:
    """An httpx client whose every connection (redirects included) goes through the guard.

    Proxies from the environment are not used: a proxy would resolve the name itself, after our
    check (an operator who wants an egress proxy allows nothing and routes at the network level).
    """
    transport = httpx.AsyncHTTPTransport()
    transport._pool._network_backend = _GuardedBackend()  # httpx has no public hook for it
    return httpx.AsyncClient(transport=transport, trust_env=False, **kwargs)
