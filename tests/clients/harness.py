"""One face for the fake, qBittorrent and aria2, so that one contract suite runs on all
three: the adapter under test, plus what the test needs to look behind it (how many
downloads the client really holds for an item), stop and start it, and lose replies."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr

from core.domain import DownloadProtocol, ItemState, QueueItem, SourceKind
from core.ports import DownloadClient
from infrastructure.clients.aria2 import Aria2Client, Aria2Config, item_gid
from infrastructure.clients.qbittorrent import QbittorrentClient, QbittorrentConfig, item_tag
from tests.clients.proxy import reply_losing_proxy
from tests.daemons import Aria2Daemon, QbittorrentDaemon, make_payload, make_torrent
from tests.fakes import FakeDownloadClient

NOW = datetime(2026, 11, 21, tzinfo=UTC)
_ids = itertools.count(1000)


def queue_item(source: SourceKind, *, url: str | None = None, info_hash: str | None = None,
               title: str = "Some.Movie.2024.1080p", size: int = 0) -> QueueItem:
    item_id = next(_ids)
    return QueueItem(
        id=item_id, title=title, source=source,
        protocol=DownloadProtocol.UNKNOWN if source is SourceKind.HTTP
        else DownloadProtocol.TORRENT,
        state=ItemState.SENDING, added_at=NOW, updated_at=NOW, download_url=url,
        has_torrent_file=source is SourceKind.TORRENT_FILE, info_hash=info_hash,
        url_hash=hashlib.sha256(url.encode()).hexdigest() if url else None, size=size)


@dataclass
class TorrentRelease:
    """A torrent nobody seeds: enough to add, pause and remove."""

    item: QueueItem
    torrent: bytes | None


def unseeded_torrent(directory: Path, as_magnet: bool) -> TorrentRelease:
    n = next(_ids)
    path, _ = make_payload(directory, f"unseeded-{n}.bin", 64 * 1024 + n, seed=n)
    torrent, info_hash, magnet = make_torrent(path, "http://127.0.0.1:9/announce")
    if as_magnet:
        return TorrentRelease(queue_item(SourceKind.MAGNET, url=magnet, info_hash=info_hash),
                              None)
    return TorrentRelease(queue_item(SourceKind.TORRENT_FILE, info_hash=info_hash), torrent)


@dataclass
class Harness:
    kind: str
    client: DownloadClient
    count: Callable[[QueueItem], Awaitable[int]]
    stop: Callable[[], None]
    start: Callable[[], None]
    lossy: Callable[[], AbstractContextManager[DownloadClient]]
    work_dir: Path
    lose: Callable[[str], None]  # delete a download behind the adapter's back


# -- the fake ---------------------------------------------------------------------------

def fake_harness(work_dir: Path) -> Harness:
    fake = FakeDownloadClient("fake")

    async def count(item: QueueItem) -> int:
        download_id = fake.download_id(item)
        return fake.added.count(download_id) if download_id in fake.downloads else 0

    def stop() -> None:
        fake.down = True

    def start() -> None:
        fake.down = False

    @contextmanager
    def lossy() -> Iterator[DownloadClient]:
        fake.lose_reply_on_add = True
        yield fake

    return Harness("fake", fake, count, stop, start, lossy, work_dir, fake.lose)


# -- real daemons ---------------------------------------------------------------------------

@contextmanager
def _losing_adds(
    port: int, add_request: str, make: Callable[[str], QbittorrentClient | Aria2Client]
) -> Iterator[DownloadClient]:
    """An adapter reaching the daemon through a proxy that loses the replies to adds."""
    with reply_losing_proxy(port, add_request) as proxy:
        lossy_client = make(proxy.url)
        try:
            yield lossy_client
        finally:
            lossy_client.close()
            assert proxy.lost >= 1, "the proxy lost no reply: the test proved nothing"


# -- qBittorrent --------------------------------------------------------------------------

def qbittorrent_client(daemon: QbittorrentDaemon, url: str | None = None,
                       **options: Any) -> QbittorrentClient:
    return QbittorrentClient("qBittorrent", QbittorrentConfig(
        url=url or daemon.url, username=daemon.username,
        password=SecretStr(daemon.password), save_path=str(daemon.save_path), **options))


def qbittorrent_harness(daemon: QbittorrentDaemon, work_dir: Path) -> Harness:
    client = qbittorrent_client(daemon)

    async def count(item: QueueItem) -> int:
        with daemon.web_client() as web:
            torrents = web.get("/api/v2/torrents/info").json()
        return sum(1 for t in torrents
                   if t["hash"] == item.info_hash or item_tag(item.id) in t.get("tags", ""))

    def lossy() -> AbstractContextManager[DownloadClient]:
        return _losing_adds(daemon.port, r"^POST /api/v2/torrents/add",
                            lambda url: qbittorrent_client(daemon, url))

    def lose(download_id: str) -> None:
        with daemon.web_client() as web:
            web.post("/api/v2/torrents/delete",
                     data={"hashes": download_id, "deleteFiles": "false"}).raise_for_status()

    return Harness("qbittorrent", client, count, daemon.stop, daemon.start, lossy, work_dir,
                   lose)


# -- aria2 ---------------------------------------------------------------------------------

def aria2_client(daemon: Aria2Daemon, url: str | None = None) -> Aria2Client:
    return Aria2Client("aria2", Aria2Config(
        url=url or daemon.url, secret=SecretStr(daemon.secret),
        directory=str(daemon.download_dir), roots=(daemon.download_dir,)))


def aria2_downloads(daemon: Aria2Daemon) -> list[dict[str, Any]]:
    """Every download aria2 knows, as one snapshot: the three lists in one multicall
    (three separate calls would list a download that finishes in between twice)."""
    keys = ["gid", "status", "infoHash", "following", "followedBy", "files"]
    token = f"token:{daemon.secret}"
    calls = [{"methodName": "aria2.tellActive", "params": [token, keys]},
             {"methodName": "aria2.tellWaiting", "params": [token, 0, 10000, keys]},
             {"methodName": "aria2.tellStopped", "params": [token, 0, 10000, keys]}]
    body = httpx.post(daemon.url, json={"jsonrpc": "2.0", "id": "snapshot",
                                        "method": "system.multicall", "params": [calls]},
                      timeout=10, trust_env=False).json()
    assert "error" not in body, body
    return [download for (answer,) in body["result"] for download in answer]


def aria2_harness(daemon: Aria2Daemon, work_dir: Path) -> Harness:
    client = aria2_client(daemon)

    async def count(item: QueueItem) -> int:
        ours = item_gid(item)
        return sum(1 for d in aria2_downloads(daemon)
                   if d["status"] != "removed" and (
                       d["gid"] == ours or (
                           item.info_hash is not None and d.get("infoHash") == item.info_hash
                           and d.get("following") != ours)))

    def lossy() -> AbstractContextManager[DownloadClient]:
        return _losing_adds(daemon.port, r'"aria2\.add(Uri|Torrent)"',
                            lambda url: aria2_client(daemon, f"{url}/jsonrpc"))

    def lose(download_id: str) -> None:
        daemon.rpc("aria2.forceRemove", download_id)

    return Harness("aria2", client, count, daemon.stop, daemon.start, lossy, work_dir, lose)


T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool],
                     what: str, timeout: float = 15.0) -> T:
    """Poll `probe` until `ok` holds (clients apply changes asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r} after {timeout} s")
        await asyncio.sleep(0.1)
