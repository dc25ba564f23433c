"""The SSRF guard (infrastructure.net.guard.UrlGuard): a grab's http(s) or .torrent URL is
refused when its host is, or resolves to, anything but a public address, whatever
notation the caller used (a name that does not resolve yet is accepted: it is checked
again when the item is sent, tests/infrastructure/test_guarded_sources.py); and
is_loopback_host, which keeps aria2's RPC on loopback.

Names that need DNS are resolved through a monkeypatched socket.getaddrinfo, so nothing
here depends on the network."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import pytest

from core.errors import InvalidRelease
from infrastructure.net.addresses import is_loopback_host
from infrastructure.net.guard import UrlGuard
from tests.api import conftest as api_conftest
from tests.api.conftest import ApiFactory

# The API suite's fixtures (the memory store and the app factory), for the test at the end.
store = api_conftest.store
make_api = api_conftest.make_api

FAKE_DNS = {
    "evil.example": ["127.0.0.1"],
    "metadata.example": ["169.254.169.254"],
    "lan.example": ["192.168.0.10"],
    "mixed.example": ["93.184.216.34", "10.0.0.7"],  # one private answer is enough
    "v6-loopback.example": ["::1"],
    "public.example": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
}


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """getaddrinfo answers FAKE_DNS for its names and fails for every other name (IP
    literals and the numeric IPv4 forms still go to the real resolver, which parses them
    without DNS)."""
    real: Callable[..., Any] = socket.getaddrinfo

    def fake(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0,
             flags: int = 0) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in FAKE_DNS:
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port, 0, 0) if ":" in a else (a, port))
                for a in FAKE_DNS[name]
            ]
        if name[:1].isdigit() or name in ("localhost",):
            result: list[Any] = real(host, port, family, type, proto, flags)
            return result
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fake)


async def refusal(url: str, guard: UrlGuard | None = None) -> str:
    with pytest.raises(InvalidRelease) as caught:
        await (guard or UrlGuard()).check(url)
    return caught.value.message


PRIVATE_HOSTS = [
    "127.0.0.1",
    "127.255.255.254",
    "[::1]",
    "0.0.0.0",
    "0",
    "[::]",
    "169.254.169.254",  # cloud metadata
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "100.64.0.1",  # CGNAT
    "2130706433",  # 127.0.0.1 in decimal
    "0x7f000001",  # in hex
    "0177.0.0.1",  # in octal
    "127.1",  # shortened
    "[::ffff:127.0.0.1]",  # IPv4-mapped IPv6
    "[::ffff:7f00:1]",
    "[::ffff:10.0.0.1]",
    "[::ffff:169.254.169.254]",
    "[fd00::1]",  # unique local
    "[fe80::1]",  # link-local
    "[fe80::1%25eth0]",  # with a zone
    "[2002:7f00:1::1]",  # 6to4 of 127.0.0.1
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",  # Teredo
    "[::7f00:1]",  # IPv4-compatible IPv6 (::/96) of 127.0.0.1
    "[::127.0.0.1]",
    "[::a9fe:a9fe]",  # of 169.254.169.254
    "[::10.0.0.1]",
    "[64:ff9b::7f00:1]",  # NAT64 (64:ff9b::/96) of 127.0.0.1
    "[64:ff9b::127.0.0.1]",
    "[64:ff9b::a00:1]",  # of 10.0.0.1
    "[64:ff9b::c0a8:101]",  # of 192.168.1.1
    "[64:ff9b:1::808:808]",  # local-use NAT64 (64:ff9b:1::/48): the operator's own network
    "localhost",
    "LOCALHOST",
    "evil.example",  # resolves to 127.0.0.1
    "metadata.example",
    "lan.example",
    "mixed.example",
    "v6-loopback.example",
    "224.0.0.1",  # multicast
    "[ff02::1]",
    "255.255.255.255",  # broadcast
    "192.0.2.1",  # documentation (TEST-NET-1)
]


@pytest.mark.usefixtures("fake_dns")
@pytest.mark.parametrize("host", PRIVATE_HOSTS)
@pytest.mark.parametrize("template", ["http://{}/x.torrent", "https://user:pw@{}:8443/a?b=c"])
async def test_a_url_into_private_address_space_is_refused(host: str, template: str) -> None:
    message = await refusal(template.format(host))
    assert "private address space" in message
    assert "QUEUARR_ALLOW_PRIVATE_URLS" in message


def test_there_are_at_least_twenty_refused_targets() -> None:
    assert len(PRIVATE_HOSTS) >= 20


@pytest.mark.usefixtures("fake_dns")
async def test_the_refusal_names_the_private_address_it_resolved_to() -> None:
    assert "(127.0.0.1)" in await refusal("http://2130706433/x.torrent")
    assert "(127.0.0.1)" in await refusal("http://evil.example/x.torrent")
    assert "(10.0.0.7)" in await refusal("http://mixed.example/x.torrent")


@pytest.mark.usefixtures("fake_dns")
@pytest.mark.parametrize("url", [
    "http://1.1.1.1/x.torrent",
    "https://8.8.8.8:8443/file.mkv",
    "http://[2606:4700:4700::1111]/x.torrent",
    "https://public.example/movie.mkv",
    "https://PUBLIC.Example/movie.mkv",
    "http://[64:ff9b::808:808]/x.torrent",  # NAT64 of 8.8.8.8: public
    "http://[::ffff:1.1.1.1]/x.torrent",
])
async def test_a_public_url_is_accepted(url: str) -> None:
    await UrlGuard().check(url)


@pytest.mark.usefixtures("fake_dns")
@pytest.mark.parametrize("host", PRIVATE_HOSTS)
async def test_allow_private_accepts_everything(host: str) -> None:
    await UrlGuard(allow_private=True).check(f"http://{host}/x.torrent")


async def test_allow_private_asks_no_resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: Any, **__: Any) -> Any:
        raise AssertionError("getaddrinfo called")

    monkeypatch.setattr(socket, "getaddrinfo", boom)
    await UrlGuard(allow_private=True).check("http://nowhere.invalid/x.torrent")


@pytest.mark.usefixtures("fake_dns")
async def test_the_host_is_what_follows_the_user_information() -> None:
    assert "private address space" in await refusal("http://1.1.1.1@127.0.0.1/x.torrent")
    assert "private address space" in await refusal("http://public.example:80@10.0.0.1/x")
    await UrlGuard().check("http://127.0.0.1:80@1.1.1.1/x.torrent")  # a user name


@pytest.mark.usefixtures("fake_dns")
@pytest.mark.parametrize("url", ["http:///x.torrent", "http://:80/x.torrent"])
async def test_a_url_without_a_host_is_refused(url: str) -> None:
    assert "has no host" in await refusal(url)


@pytest.mark.usefixtures("fake_dns")
async def test_a_host_that_does_not_resolve_at_grab_time_is_accepted() -> None:
    await UrlGuard().check("http://nowhere.invalid/x.torrent")  # checked again when sent


async def test_a_resolver_that_hangs_is_given_up_after_the_timeout(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from infrastructure.net.guard import Unresolvable

    async def hang(*_: Any, **__: Any) -> Any:
        await asyncio.Event().wait()

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", hang)
    await UrlGuard(timeout=0.01).check("http://slow.example/x.torrent")  # accepted
    with pytest.raises(Unresolvable, match="does not resolve"):
        await UrlGuard(timeout=0.01).addresses("slow.example", 80)


# -- is_loopback_host ----------------------------------------------------------------


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True),
    ("127.0.0.53", True),
    ("127.255.255.254", True),
    ("::1", True),
    ("[::1]", True),
    ("::ffff:127.0.0.1", True),
    ("[::ffff:127.0.0.1]", True),
    ("localhost", True),
    ("LOCALHOST", True),
    ("localhost.", True),
    ("localhost.localdomain", True),
    ("0.0.0.0", False),
    ("::", False),
    ("10.0.0.5", False),
    ("192.168.1.1", False),
    ("169.254.169.254", False),
    ("1.1.1.1", False),
    ("::ffff:10.0.0.1", False),
    ("fe80::1", False),
    ("example.com", False),
    ("localhost.example.com", False),
    ("127.0.0.1.nip.io", False),
    ("mylocalhost", False),
    ("2130706433", False),  # not parsed without DNS: refused rather than guessed
    ("0x7f000001", False),
    ("127.1", False),
    ("", False),
])
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


# -- through the API -----------------------------------------------------------------


async def test_a_grab_into_private_address_space_is_refused_and_nothing_is_stored(
        make_api: ApiFactory) -> None:
    async with make_api() as api:
        api.container.queue.url_guard = UrlGuard()
        before = (await api.queue({"includeUnknownMovieItems": True}))["totalRecords"]
        for url in ("http://127.0.0.1/x.torrent", "http://[::1]:8080/movie.mkv",
                    "https://169.254.169.254/latest/meta-data"):
            response = await api.client.post("/api/v3/queue/grab", json={
                "title": "Sneaky.2020", "downloadUrl": url, "movieId": 1})
            assert response.status_code == 400, response.text
            assert "private address space" in response.json()["message"]
        after = await api.queue({"includeUnknownMovieItems": True})
        assert after["totalRecords"] == before
        assert await api.details() == []


async def test_a_grab_of_a_public_url_passes_the_guard(make_api: ApiFactory) -> None:
    async with make_api() as api:
        api.container.queue.url_guard = UrlGuard()
        item = await api.grab("Public.2020", downloadUrl="http://1.1.1.1/x.torrent")
        page = await api.queue()
        assert [r["id"] for r in page["records"]] == [item["id"]]


async def test_a_magnet_is_not_resolved_by_the_guard(make_api: ApiFactory,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: Any, **__: Any) -> Any:
        raise AssertionError("getaddrinfo called")

    async with make_api() as api:
        api.container.queue.url_guard = UrlGuard()
        monkeypatch.setattr(socket, "getaddrinfo", boom)
        await api.grab("Magnet.2020")
        assert (await api.queue())["totalRecords"] == 1
