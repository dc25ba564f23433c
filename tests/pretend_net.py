"""A pretend internet for the SSRF tests: names resolve through a table the test writes,
and a connection to a pretend public address is carried to a web server on loopback, so
that "the public host" of a redirect chain is a local server while every address the
guard sees is the one the table gave. Nothing here connects to a non-loopback address:
a public address with no route raises instead."""

from __future__ import annotations

import http.server
import ipaddress
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpcore
import httpx
import pytest

from infrastructure.net.addresses import IPAddress
from infrastructure.net.guard import UrlGuard
from infrastructure.net.http import guarded_client

Route = tuple[int, dict[str, str], bytes]  # status, headers, body


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _answer(self, body_too: bool) -> None:
        site = self.server.site
        site.hits.append((self.command, self.headers.get("Host", ""), self.path))
        status, headers, body = site.routes.get(self.path, (404, {}, b"not here"))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body_too:
            self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer(True)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.site.bodies.append(self.rfile.read(length))
        self._answer(True)

    def log_message(self, *_: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    site: Site

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up after the headers (follow() reads no body)


@dataclass
class Site:
    """A web server on 127.0.0.1 answering `routes` (path -> status, headers, body)."""

    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    hits: list[tuple[str, str, str]] = field(default_factory=list)  # method, Host, path
    bodies: list[bytes] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextmanager
def site() -> Iterator[Site]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.site = Site(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.site
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class PretendInternet:
    """DNS from `dns` (name -> addresses); connections to a pretend public address go to
    the loopback port `routes` gives it. `lookups` and `dialed` record what happened."""

    dns: dict[str, list[str]] = field(default_factory=dict)
    routes: dict[str, int] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    dialed: list[tuple[str, int]] = field(default_factory=list)

    def host(self, name: str, address: str, to: Site) -> None:
        self.dns[name] = [address]
        self.routes[address] = to.port

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        self.lookups.append(host)
        if host not in self.dns:
            raise OSError(f"[Errno -2] Name or service not known: {host}")
        return [ipaddress.ip_address(a) for a in self.dns[host]]

    async def dial(self, address: IPAddress, port: int, limit: float | None
                   ) -> httpcore.AsyncNetworkStream:
        self.dialed.append((str(address), port))
        backend = httpcore.AnyIOBackend()
        if str(address) in self.routes:
            return await backend.connect_tcp("127.0.0.1", self.routes[str(address)],
                                             timeout=limit)
        if address.is_loopback:
            return await backend.connect_tcp(str(address), port, timeout=limit)
        raise httpcore.ConnectError(f"the pretend internet has no route to {address}")

    def guard(self, allow_private: bool = False) -> UrlGuard:
        return UrlGuard(allow_private=allow_private, resolver=self.resolve)

    def client(self, guard: UrlGuard) -> httpx.AsyncClient:
        return guarded_client(guard, timeout=10, dial=self.dial)


@pytest.fixture
def web() -> Iterator[Site]:
    """The "public" web server (reach it through PretendInternet.host)."""
    with site() as s:
        yield s


@pytest.fixture
def internal() -> Iterator[Site]:
    """The internal service an attacker wants to reach: it must never be asked anything."""
    with site() as s:
        s.routes["/internal"] = (200, {}, b"SECRET internal answer")
        yield s
