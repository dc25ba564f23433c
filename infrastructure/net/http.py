"""The one guarded HTTP client: every connection it opens (each hop of a redirect chain
is a connection) resolves its host once through the UrlGuard, refuses private addresses,
and connects to the address it checked, so a DNS answer that changes between the check
and the connect (rebinding) cannot steer it. No proxy from the environment (a proxy would
do its own lookup); TLS still verifies the host name."""

from __future__ import annotations

import functools
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from infrastructure.net.addresses import IPAddress
from infrastructure.net.guard import PrivateAddress, Unresolvable, UrlGuard

Dialer = Callable[[IPAddress, int, float | None], Awaitable[httpcore.AsyncNetworkStream]]
MAX_HOPS = 10


def direct_dialer() -> Dialer:
    backend = httpcore.AnyIOBackend()

    async def dial(address: IPAddress, port: int, limit: float | None
                   ) -> httpcore.AsyncNetworkStream:
        return await backend.connect_tcp(str(address), port, timeout=limit)

    return dial


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the guard in front of every connect."""

    def __init__(self, guard: UrlGuard, dial: Dialer | None = None) -> None:
        self.guard = guard
        self.dial = dial or direct_dialer()
        self._sleeper = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int,
                          timeout: float | None = None,  # noqa: ASYNC109 (httpcore's API)
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None
                          ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self.guard.addresses(host, port)
        except Unresolvable as exc:
            raise httpcore.ConnectError(exc.message) from None
        error: Exception | None = None
        for address in addresses:  # PrivateAddress propagates as itself (not retried)
            try:
                return await self.dial(address, port, timeout)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(self, path: str,
                                  timeout: float | None = None,  # noqa: ASYNC109
                                  socket_options: Iterable[Any] | None = None
                                  ) -> httpcore.AsyncNetworkStream:
        raise PrivateAddress("unix sockets are not reachable through the guarded client")

    async def sleep(self, seconds: float) -> None:
        await self._sleeper.sleep(seconds)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The one verifying TLS context of every guarded client, built at the first: each
    reads the whole CA bundle (~13 ms), and a context is safe to share."""
    return httpx.create_ssl_context(trust_env=False)


class GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, guard: UrlGuard, dial: Dialer | None = None) -> None:
        super().__init__(verify=tls_context(), trust_env=False)
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=tls_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(guard, dial))


def guarded_client(guard: UrlGuard, timeout: float = 30.0,
                   headers: Mapping[str, str] | None = None,
                   dial: Dialer | None = None) -> httpx.AsyncClient:
    """An httpx client whose every connection passes `guard` (redirects are not followed
    by httpx: use follow(), which checks each hop's scheme too)."""
    return httpx.AsyncClient(transport=GuardedTransport(guard, dial), timeout=timeout,
                             follow_redirects=False, trust_env=False,
                             headers=dict(headers or {}))


class NotFetchable(Exception):
    """The URL leads somewhere Queuarr does not fetch (another scheme, a redirect loop,
    a body past the size limit)."""

    @property
    def message(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class Answer:
    url: str  # the URL that answered, after redirects
    status: int
    body: bytes = b""
    magnet: str | None = None  # the chain ended in a redirect to a magnet link


async def follow(http: httpx.AsyncClient, url: str, max_bytes: int | None) -> Answer:
    """GET `url` through the guarded client, following up to 10 redirects (each hop is a
    checked connection). The body of a 2xx answer is read when `max_bytes` is set
    (NotFetchable past it), else left unread."""
    for _ in range(MAX_HOPS + 1):
        async with http.stream("GET", url) as response:
            if response.is_redirect:
                target = urljoin(url, response.headers["location"].strip())
                if target[:7].lower() == "magnet:":
                    return Answer(url, response.status_code, magnet=target)
                if urlsplit(target).scheme.lower() not in ("http", "https"):
                    raise NotFetchable(f"{url} redirects to a {urlsplit(target).scheme!r} "
                                       "URL, which Queuarr does not fetch")
                url = target
                continue
            body = b""
            if max_bytes is not None and response.is_success:
                chunks, total = [], 0
                async for chunk in response.aiter_bytes():
                    total += len(chunk)
                    if total > max_bytes:
                        raise NotFetchable(f"{url} is larger than {max_bytes} bytes")
                    chunks.append(chunk)
                body = b"".join(chunks)
            return Answer(url, response.status_code, body)
    raise NotFetchable(f"{url} redirects more than {MAX_HOPS} times")
