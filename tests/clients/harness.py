"""One face for the fake, qBittorrent, aria2 and yt-dlp, so that one contract suite runs on
all four: the adapter under test, plus what the test needs to look behind it (how many
downloads the client really holds for an item), stop and start it, lose replies, and
releases it takes (a torrent nobody seeds; for yt-dlp a video page that stays slow)."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr

from core.domain import DownloadProtocol, ItemState, QueueItem, SourceKind
from core.errors import ClientUnavailable
from core.ports import DownloadClient
from infrastructure.clients.aria2 import Aria2Client, Aria2Config, item_gid
from infrastructure.clients.qbittorrent import QbittorrentClient, QbittorrentConfig, item_tag
from infrastructure.ytdlp.client import YtDlpClient
from infrastructure.ytdlp.config import YtDlpConfig, ensure_directories
from infrastructure.ytdlp.jobs import download_id as ytdlp_download_id
from tests.clients.proxy import reply_losing_proxy
from tests.daemons import Aria2Daemon, QbittorrentDaemon, make_payload, make_torrent
from tests.fakes import FakeDownloadClient
from tests.ytdlp.media import MediaSite

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


def broken_torrent() -> TorrentRelease:
    return TorrentRelease(queue_item(SourceKind.TORRENT_FILE, info_hash="ab" * 20),
                          b"d8:announce3:abc4:infoi1ee-not-a-torrent")


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
    # A release the client takes and keeps unfinished; None: an unseeded torrent.
    make_release: Callable[[bool], TorrentRelease] | None = None
    invalid: TorrentRelease = field(default_factory=broken_torrent)  # rejected for good
    unknown_id: str = "f" * 40  # a download id the client does not know
    # Waits for whatever the harness started outside the daemon (yt-dlp's workers) to end,
    # before the test's event loop closes: a child the loop never saw exit is a
    # ResourceWarning when it is collected, in whichever test that happens to be.
    shutdown: Callable[[], Awaitable[None]] | None = None

    async def close(self) -> None:
        if self.shutdown is not None:
            await self.shutdown()
        close = getattr(self.client, "close", None)
        if close is not None:
            close()

    def release(self, as_magnet: bool) -> TorrentRelease:
        if self.make_release is not None:
            return self.make_release(as_magnet)
        return unseeded_torrent(self.work_dir, as_magnet)


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

    return Harness("aria2", client, count, daemon.stop, daemon.start, lossy, work_dir, lose,
                   unknown_id="0123456789abcdef")


# -- yt-dlp ------------------------------------------------------------------------------

class _RepliesLost(YtDlpClient):
    """The adapter, but every add raises after the job was written, as if its reply had
    been lost on the way back."""

    lost = 0

    async def add(self, item: QueueItem, torrent: bytes | None) -> str:
        await super().add(item, torrent)
        self.lost += 1
        raise ClientUnavailable("the reply to the add was lost")


def ytdlp_harness(site: MediaSite, work_dir: Path) -> Harness:
    """The yt-dlp client; down = its state directory renamed away (a volume not mounted).
    Releases are pages of a slow video (a page each, so each has its own file)."""
    config = YtDlpConfig(directory=work_dir / "downloads", roots=(work_dir,),
                         state_dir=work_dir / "state", allow_private=True,
                         ffmpeg=shutil.which("ffmpeg"))
    ensure_directories(config)
    client = YtDlpClient("yt-dlp", config)
    started = [client]
    site.slow_rate = 32 * 1024  # big.mp4 takes minutes: it stays downloading
    away = work_dir / "state-away"

    async def count(item: QueueItem) -> int:
        return int((config.state_dir / ytdlp_download_id(item.id)).is_dir())

    def stop() -> None:
        config.state_dir.rename(away)

    def start() -> None:
        away.rename(config.state_dir)

    @contextmanager
    def lossy() -> Iterator[DownloadClient]:
        losing = _RepliesLost(client.name, config)
        started.append(losing)
        try:
            yield losing
        finally:
            assert losing.lost >= 1, "no reply was lost: the test proved nothing"

    def lose(download_id: str) -> None:
        job_dir = config.state_dir / download_id
        deadline = time.monotonic() + 10
        while job_dir.exists() and time.monotonic() < deadline:  # the worker writes in it
            shutil.rmtree(job_dir, ignore_errors=True)
        assert not job_dir.exists()

    def release(as_magnet: bool) -> TorrentRelease:
        n = next(_ids)
        page = site.page(f"Slow video {n}", '<video src="/slow/big.mp4"></video>')
        return TorrentRelease(queue_item(SourceKind.HTTP, url=page, title=f"Slow video {n}"),
                              None)

    async def shutdown() -> None:
        for adapter in started:
            await adapter.shutdown()

    return Harness("ytdlp", client, count, stop, start, lossy, work_dir, lose,
                   make_release=release, invalid=unseeded_torrent(work_dir, as_magnet=True),
                   unknown_id=ytdlp_download_id(999_999_999), shutdown=shutdown)


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
