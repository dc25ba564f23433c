"""The guarded HTTP client and what the download client gets (infrastructure.net): every
hop of a redirect chain is checked and connected to the address that was checked; a
.torrent URL is fetched by Queuarr and the client gets its bytes; trackers and web seeds
in private address space are removed; a name that does not resolve at grab time is
accepted and checked when the item is sent. "The public host" is a local web server
behind a pretend internet (tests/pretend_net.py): a table of names and a dialer that
carries pretend public addresses to loopback."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
import torf

from core.domain import ItemState, SourceKind
from core.errors import SourceRefused, SourceUnavailable
from core.grab import GrabRequest
from core.processor import Processor, ProcessorConfig
from core.service import QueueService
from infrastructure.net.sources import SourcePreparer
from infrastructure.torrents import TorfParser
from tests.clients.harness import queue_item
from tests.conftest import Store
from tests.daemons import make_payload
from tests.fakes import FakeClients, FakeClock, FakeDownloadClient
from tests.pretend_net import PretendInternet, Site

PUBLIC = "93.184.216.34"  # films.example in these tests
CDN = "151.101.1.1"  # cdn.example
TRACKER = "198.51.100.0"  # not used to connect: tracker names are only checked




@pytest.fixture
def net(web: Site) -> PretendInternet:
    net = PretendInternet()
    net.host("films.example", PUBLIC, web)
    net.host("cdn.example", CDN, web)
    net.dns["tracker.example"] = ["8.8.4.4"]
    net.dns["lan-tracker.example"] = ["192.168.1.20"]
    return net


@pytest.fixture
async def preparer(net: PretendInternet) -> AsyncIterator[SourcePreparer]:
    guard = net.guard()
    prep = SourcePreparer(guard, TorfParser(), http=net.client(guard))
    yield prep
    await prep.aclose()


def torrent_file(tmp_path: Path, trackers: list[str], webseeds: Sequence[str] = ()
                 ) -> tuple[bytes, str]:
    path, _ = make_payload(tmp_path, "Some.Movie.2024.mkv", 50_000, seed=7)
    torrent = torf.Torrent(path=path, trackers=trackers, webseeds=list(webseeds),
                           created_by=None, creation_date=None)
    torrent.generate()
    return torrent.dump(), torrent.infohash


def read(data: bytes) -> torf.Torrent:
    return torf.Torrent.read_stream(io.BytesIO(data), validate=False)


# -- redirect chains -----------------------------------------------------------------


async def test_a_public_file_that_redirects_into_loopback_is_refused_and_never_fetched(
        preparer: SourcePreparer, web: Site, internal: Site) -> None:
    web.routes["/Some.Movie.mkv"] = (302, {"Location": internal.url("/internal")}, b"")
    item = queue_item(SourceKind.HTTP, url="http://films.example/Some.Movie.mkv")
    with pytest.raises(SourceRefused, match="private address space") as refused:
        await preparer.prepare(item, None)
    assert "127.0.0.1" in refused.value.message
    assert internal.hits == []
    assert web.hits == [("GET", "films.example", "/Some.Movie.mkv")]


@pytest.mark.parametrize("target", [
    "http://[::7f00:1]:{port}/internal",  # IPv4-compatible IPv6 of 127.0.0.1
    "http://[::127.0.0.1]:{port}/internal",
    "http://[64:ff9b::7f00:1]:{port}/internal",  # NAT64 of 127.0.0.1
    "http://[::ffff:127.0.0.1]:{port}/internal",
    "http://2130706433:{port}/internal",  # 127.0.0.1 in decimal
    "http://lan-tracker.example:{port}/internal",  # a name that resolves into a LAN
])
async def test_every_form_of_a_private_hop_is_refused(
        preparer: SourcePreparer, web: Site, internal: Site, net: PretendInternet,
        target: str) -> None:
    net.dns["2130706433"] = ["127.0.0.1"]
    web.routes["/a.mkv"] = (301, {"Location": target.format(port=internal.port)}, b"")
    with pytest.raises(SourceRefused, match="private address space"):
        await preparer.prepare(queue_item(SourceKind.HTTP, url="http://films.example/a.mkv"),
                               None)
    assert internal.hits == []
    assert all(address in (PUBLIC,) for address, _ in net.dialed)


async def test_a_chain_through_public_hosts_hands_the_client_the_final_url(
        preparer: SourcePreparer, web: Site) -> None:
    web.routes["/get/1"] = (302, {"Location": "http://cdn.example/files/1"}, b"")
    web.routes["/files/1"] = (307, {"Location": "/files/Some.Movie.mkv"}, b"")
    web.routes["/files/Some.Movie.mkv"] = (200, {}, b"x" * 1000)
    item = queue_item(SourceKind.HTTP, url="http://films.example/get/1")
    prepared = await preparer.prepare(item, None)
    assert prepared.item.download_url == "http://cdn.example/files/Some.Movie.mkv"
    assert prepared.item.id == item.id and prepared.torrent is None
    assert prepared.notes == (
        "http://films.example/get/1 redirects to http://cdn.example/files/Some.Movie.mkv",)


async def test_each_connection_connects_to_the_address_its_one_lookup_checked(
        preparer: SourcePreparer, web: Site, net: PretendInternet) -> None:
    """DNS rebinding: the name answers a public address once, then loopback. The guard
    looks it up once per connection and connects to what it checked."""
    answers = [[PUBLIC], ["127.0.0.1"], ["127.0.0.1"]]
    resolve = net.resolve

    async def rebinding(host: str, port: int) -> list[object]:
        net.dns["films.example"] = answers.pop(0)
        return await resolve(host, port)  # type: ignore[return-value]

    preparer.guard.resolver = rebinding  # type: ignore[assignment]
    web.routes["/a.mkv"] = (200, {}, b"file")
    prepared = await preparer.prepare(
        queue_item(SourceKind.HTTP, url="http://films.example/a.mkv"), None)
    assert prepared.item.download_url == "http://films.example/a.mkv"
    assert net.lookups == ["films.example"]
    assert net.dialed == [(PUBLIC, 80)]


async def test_a_redirect_loop_and_a_redirect_to_another_scheme_are_refused(
        preparer: SourcePreparer, web: Site) -> None:
    web.routes["/loop"] = (302, {"Location": "/loop"}, b"")
    web.routes["/file"] = (302, {"Location": "file:///etc/passwd"}, b"")
    for path, why in (("/loop", "redirects more than 10 times"),
                      ("/file", "redirects to a 'file' URL")):
        with pytest.raises(SourceRefused, match=why):
            await preparer.prepare(
                queue_item(SourceKind.HTTP, url=f"http://films.example{path}"), None)


# -- .torrent URLs ---------------------------------------------------------------------


async def test_a_torrent_url_is_fetched_and_the_client_gets_bytes_without_private_trackers(
        preparer: SourcePreparer, web: Site, tmp_path: Path) -> None:
    data, info_hash = torrent_file(
        tmp_path, ["http://127.0.0.1:9/announce", "udp://tracker.example:1337/announce",
                   "http://[::7f00:1]/announce", "http://nowhere.example/announce"],
        webseeds=["http://192.168.1.5/seed/", "https://cdn.example/seed/"])
    web.routes["/dl/1"] = (302, {"Location": "/dl/Some.Movie.torrent"}, b"")
    web.routes["/dl/Some.Movie.torrent"] = (200, {}, data)
    item = queue_item(SourceKind.TORRENT_URL, url="http://films.example/dl/1")
    prepared = await preparer.prepare(item, None)
    assert prepared.item.source is SourceKind.TORRENT_FILE
    assert prepared.item.info_hash == info_hash
    assert prepared.torrent is not None
    sent = read(prepared.torrent)
    assert sent.infohash == info_hash
    assert [list(map(str, tier)) for tier in sent.trackers] == [
        ["udp://tracker.example:1337/announce"]]
    assert list(map(str, sent.webseeds)) == ["https://cdn.example/seed/"]
    assert prepared.notes[0] == "Fetched the .torrent from http://films.example/dl/Some.Movie.torrent"
    assert "Removed 4 tracker(s) or web seed(s)" in prepared.notes[1]


async def test_a_torrent_url_that_redirects_to_a_magnet_gives_the_client_the_magnet(
        preparer: SourcePreparer, web: Site) -> None:
    magnet = ("magnet:?xt=urn:btih:" + "ab" * 20 + "&dn=Some.Movie"
              "&tr=http%3A%2F%2F127.0.0.1%3A6969%2Fannounce"
              "&tr=udp%3A%2F%2Ftracker.example%3A80&x.pe=192.168.1.9:6881")
    web.routes["/dl/2"] = (301, {"Location": magnet}, b"")
    prepared = await preparer.prepare(
        queue_item(SourceKind.TORRENT_URL, url="http://films.example/dl/2"), None)
    assert prepared.item.source is SourceKind.MAGNET
    assert prepared.item.info_hash == "ab" * 20
    assert prepared.item.download_url == (
        "magnet:?xt=urn:btih:" + "ab" * 20 + "&dn=Some.Movie"
        "&tr=udp%3A%2F%2Ftracker.example%3A80&x.pe=192.168.1.9:6881")


@pytest.mark.parametrize(("status", "error"), [
    (404, SourceRefused), (410, SourceRefused), (403, SourceRefused),
    (500, SourceUnavailable), (503, SourceUnavailable), (429, SourceUnavailable)])
async def test_a_torrent_url_that_answers_an_error_fails_by_its_class(
        preparer: SourcePreparer, web: Site, status: int, error: type[Exception]) -> None:
    web.routes["/dl/3"] = (status, {}, b"<html>nope</html>")
    with pytest.raises(error, match=f"answered {status}"):
        await preparer.prepare(
            queue_item(SourceKind.TORRENT_URL, url="http://films.example/dl/3"), None)


async def test_a_torrent_url_that_is_not_a_torrent_fails_for_good(
        preparer: SourcePreparer, web: Site) -> None:
    web.routes["/dl/4"] = (200, {}, b"<html>log in first</html>")
    with pytest.raises(SourceRefused, match=r"is not a \.torrent file"):
        await preparer.prepare(
            queue_item(SourceKind.TORRENT_URL, url="http://films.example/dl/4"), None)


async def test_a_host_that_does_not_resolve_when_sent_is_transient(
        preparer: SourcePreparer) -> None:
    with pytest.raises(SourceUnavailable, match="does not resolve"):
        await preparer.prepare(
            queue_item(SourceKind.TORRENT_URL, url="http://later.example/x.torrent"), None)


# -- magnets and stored .torrent files -----------------------------------------------


async def test_a_magnet_loses_its_private_trackers_and_sources_and_keeps_the_rest(
        preparer: SourcePreparer) -> None:
    magnet = ("magnet:?xt=urn:btih:" + "cd" * 20 + "&dn=A.Movie"
              "&tr=http://localhost:6969/announce&tr=http%3A%2F%2Ftracker.example%2Fa"
              "&ws=http%3A%2F%2F10.0.0.2%2Fseed&xs=http%3A%2F%2F169.254.169.254%2Fx"
              "&as=https%3A%2F%2Fcdn.example%2Fa&tr=udp%3A%2F%2F%5B64%3Aff9b%3A%3Aa00%3A1%5D%3A80")
    item = queue_item(SourceKind.MAGNET, url=magnet, info_hash="cd" * 20)
    prepared = await preparer.prepare(item, None)
    assert prepared.item.download_url == (
        "magnet:?xt=urn:btih:" + "cd" * 20 + "&dn=A.Movie"
        "&tr=http%3A%2F%2Ftracker.example%2Fa&as=https%3A%2F%2Fcdn.example%2Fa")
    assert "Removed 4" in prepared.notes[0]


async def test_a_clean_magnet_is_handed_on_unchanged(preparer: SourcePreparer) -> None:
    magnet = "magnet:?xt=urn:btih:" + "ef" * 20 + "&tr=udp%3A%2F%2Ftracker.example%3A80"
    item = queue_item(SourceKind.MAGNET, url=magnet, info_hash="ef" * 20)
    prepared = await preparer.prepare(item, None)
    assert prepared.item == item and prepared.notes == ()


async def test_a_stored_torrent_loses_its_private_trackers(
        preparer: SourcePreparer, tmp_path: Path) -> None:
    data, info_hash = torrent_file(tmp_path, ["http://10.1.1.1/announce",
                                              "http://tracker.example/announce"])
    prepared = await preparer.prepare(queue_item(SourceKind.TORRENT_FILE), data)
    assert prepared.torrent is not None
    sent = read(prepared.torrent)
    assert sent.infohash == info_hash
    assert [list(map(str, t)) for t in sent.trackers] == [["http://tracker.example/announce"]]


def bencode_str(value: bytes) -> bytes:
    return str(len(value)).encode() + b":" + value


async def test_a_torrent_whose_info_keys_are_unsorted_keeps_its_info_hash(
        preparer: SourcePreparer) -> None:
    """torf re-encodes what it writes with sorted keys; the info dictionary's bytes as
    they were sent are what the hash is of, and they must come back unchanged."""
    info = (b"d" + bencode_str(b"name") + bencode_str(b"x.bin") + bencode_str(b"length")
            + b"i5e" + bencode_str(b"piece length") + b"i16384e" + bencode_str(b"pieces")
            + bencode_str(b"\1" * 20) + b"e")
    data = (b"d" + bencode_str(b"announce") + bencode_str(b"http://127.0.0.1:9/announce")
            + bencode_str(b"info") + info + b"e")
    prepared = await preparer.prepare(queue_item(SourceKind.TORRENT_FILE), data)
    assert prepared.torrent is not None and b"127.0.0.1" not in prepared.torrent
    assert info in prepared.torrent
    assert TorfParser().parse(prepared.torrent).info_hash == hashlib.sha1(info).hexdigest()


async def test_allowing_private_urls_keeps_every_tracker(
        net: PretendInternet, tmp_path: Path) -> None:
    guard = net.guard(allow_private=True)
    prep = SourcePreparer(guard, TorfParser(), http=net.client(guard))
    data, _ = torrent_file(tmp_path, ["http://127.0.0.1:9/announce"])
    prepared = await prep.prepare(queue_item(SourceKind.TORRENT_FILE), data)
    await prep.aclose()
    assert prepared.torrent == data


# -- grab, then send -----------------------------------------------------------------


async def test_a_name_that_does_not_resolve_at_grab_is_queued_and_checked_when_sent(
        store: Store, clock: FakeClock, net: PretendInternet) -> None:
    """A DNS hiccup at grab time loses nothing; when the name later resolves into
    private space, the item fails for good with the reason, and the client never sees
    it."""
    guard = net.guard()
    queue = QueueService(store.items, store.blocklist, clock, TorfParser(), url_guard=guard)
    item = await queue.grab(GrabRequest(title="Later.2024",
                                        download_url="http://later.example/Later.2024.mkv"))
    assert item.state is ItemState.QUEUED
    client = FakeDownloadClient("aria2")
    sources = SourcePreparer(guard, TorfParser(), http=net.client(guard))
    processor = Processor(store.items, FakeClients(client), clock, "w", ProcessorConfig(),
                          store.blocklist, sources=sources)
    try:
        await processor.dispatch()
        waiting = await store.items.get(item.id)
        assert waiting is not None and waiting.state is ItemState.RETRYING
        assert "does not resolve" in (waiting.error_message or "")
        net.dns["later.example"] = ["127.0.0.1"]
        clock.advance(minutes=3)
        await processor.dispatch()
    finally:
        await sources.aclose()
    failed = await store.items.get(item.id)
    assert failed is not None and failed.state is ItemState.FAILED
    assert "private address space (127.0.0.1)" in (failed.error_message or "")
    assert "QUEUARR_ALLOW_PRIVATE_URLS" in (failed.error_message or "")
    assert client.added == []
