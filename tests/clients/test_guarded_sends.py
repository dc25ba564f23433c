"""The SSRF findings replayed with a real aria2c (issue 12, finding 1): before, a grab of
a public-looking file whose server redirected into loopback was handed to aria2, which
followed the redirect and saved the internal service's answer; trackers on loopback were
handed on as they were. Now the processor prepares every release through the guarded
client first (infrastructure.net.sources): aria2 gets nothing for the redirect, and the
.torrent's bytes without the private trackers. "The public host" is a local server
behind the pretend internet of tests/pretend_net.py."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from core.clients import ClientState
from core.domain import DownloadProtocol, HistoryEvent, ItemState, NewItem, SourceKind
from core.processor import Processor, ProcessorConfig
from infrastructure.memory import MemoryBlocklistRepository, MemoryQueueRepository
from infrastructure.net.sources import SourcePreparer
from infrastructure.torrents import TorfParser
from tests.clients.harness import aria2_client, aria2_downloads
from tests.daemons import Aria2Daemon, Payload, make_payload, make_torrent
from tests.fakes import FakeClients, FakeClock
from tests.pretend_net import PretendInternet, Site, site

PUBLIC = "93.184.216.34"


async def send_one(aria2: Aria2Daemon, net: PretendInternet, new: NewItem,
                   allow_private: bool = False) -> tuple[MemoryQueueRepository, int]:
    clock = FakeClock()
    items = MemoryQueueRepository(clock)
    item = await items.add(new, HistoryEvent("grabbed"))
    guard = net.guard(allow_private)
    sources = SourcePreparer(guard, TorfParser(), http=net.client(guard))
    client = aria2_client(aria2)
    processor = Processor(items, FakeClients(client), clock, "w",  # type: ignore[arg-type]
                          ProcessorConfig(), MemoryBlocklistRepository(), sources=sources)
    try:
        await processor.dispatch()
    finally:
        await sources.aclose()
        client.close()
    return items, item.id


def new_item(source: SourceKind, url: str, title: str = "Some.Movie.2024") -> NewItem:
    clock = FakeClock()
    return NewItem(title=title, source=source, added_at=clock.now(), download_url=url,
                   protocol=DownloadProtocol.UNKNOWN if source is SourceKind.HTTP
                   else DownloadProtocol.TORRENT,
                   url_hash=hashlib.sha256(url.encode()).hexdigest())


async def test_a_redirect_into_loopback_never_reaches_aria2(
        aria2: Aria2Daemon, web: Site, internal: Site) -> None:
    net = PretendInternet()
    net.host("films.example", PUBLIC, web)
    web.routes["/Some.Movie.mkv"] = (302, {"Location": internal.url("/internal")}, b"")
    items, item_id = await send_one(
        aria2, net, new_item(SourceKind.HTTP, "http://films.example/Some.Movie.mkv"))
    item = await items.get(item_id)
    assert item is not None and item.state is ItemState.FAILED
    assert "private address space (127.0.0.1)" in (item.error_message or "")
    assert aria2_downloads(aria2) == []
    assert internal.hits == []
    assert list(aria2.download_dir.iterdir()) == []


async def test_aria2_gets_the_torrent_bytes_without_the_trackers_on_loopback(
        aria2: Aria2Daemon, web: Site, tmp_path: Path) -> None:
    path, _ = make_payload(tmp_path, "Guarded.Movie.2024.mkv", 64 * 1024, seed=3)
    data, info_hash, _ = make_torrent(path, "http://127.0.0.1:9/announce")
    web.routes["/dl/Guarded.torrent"] = (200, {}, data)
    net = PretendInternet()
    net.host("films.example", PUBLIC, web)
    items, item_id = await send_one(aria2, net, new_item(
        SourceKind.TORRENT_URL, "http://films.example/dl/Guarded.torrent"))
    item = await items.get(item_id)
    assert item is not None and item.state is ItemState.DOWNLOADING, item
    assert [hit[2] for hit in web.hits] == ["/dl/Guarded.torrent"]  # Queuarr fetched it
    status = aria2.rpc("aria2.tellStatus", item.download_id, ["infoHash", "bittorrent"])
    assert status["infoHash"] == info_hash
    assert status["bittorrent"].get("announceList", []) == []
    history = [h.message or "" for h in await items.history(item_id)]
    assert any("Removed 1 tracker(s)" in m and "127.0.0.1:9" in m for m in history)


async def test_a_torrent_url_fetched_by_queuarr_downloads_real_bytes_through_aria2(
        aria2: Aria2Daemon, payload: Payload) -> None:
    """With private URLs allowed (a LAN tracker), Queuarr still fetches the .torrent
    itself and aria2 downloads the seeded file from the bytes it was given."""
    with site() as lan:
        lan.routes["/x.torrent"] = (200, {}, payload.torrent)
        net = PretendInternet()
        items, item_id = await send_one(
            aria2, net, new_item(SourceKind.TORRENT_URL, lan.url("/x.torrent"),
                                 payload.name), allow_private=True)
        assert [hit[2] for hit in lan.hits] == ["/x.torrent"]
    item = await items.get(item_id)
    assert item is not None and item.state is ItemState.DOWNLOADING, item
    client = aria2_client(aria2)
    try:
        for _ in range(600):
            status = (await client.statuses([item.download_id or ""]))[item.download_id or ""]
            if status.state is ClientState.COMPLETED:
                break
            await asyncio.sleep(0.1)
        assert status.state is ClientState.COMPLETED, status
        assert status.output_path is not None
        digest = hashlib.sha256(Path(status.output_path).read_bytes()).hexdigest()
        assert digest == payload.sha256
    finally:
        client.close()
