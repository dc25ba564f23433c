"""Fakes for unit tests. They record what they were asked, and can be told to fail."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import torf

from core.clients import ClientDescriptor, ClientKind, ClientState, DownloadItemStatus
from core.domain import QueueItem, SourceKind
from core.errors import ClientRejected, ClientUnavailable
from core.ports import ClientInfo, DownloadStatus, TorrentMeta

EPOCH = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime = EPOCH) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, now: datetime) -> None:
        self._now = now


# The fake's view of a download in Radarr's words, as the real adapters give it (a
# status a test sets with its own item_status keeps it).
FAKE_VIEW: dict[ClientState, tuple[DownloadItemStatus, str | None]] = {
    ClientState.QUEUED: (DownloadItemStatus.QUEUED, None),
    ClientState.METADATA: (DownloadItemStatus.QUEUED, "qBittorrent is downloading metadata"),
    ClientState.CHECKING: (DownloadItemStatus.QUEUED, None),
    ClientState.DOWNLOADING: (DownloadItemStatus.DOWNLOADING, None),
    ClientState.STALLED: (DownloadItemStatus.WARNING,
                          "The download is stalled with no connections"),
    ClientState.PAUSED: (DownloadItemStatus.PAUSED, None),
    ClientState.MOVING: (DownloadItemStatus.DOWNLOADING, None),
    ClientState.COMPLETED: (DownloadItemStatus.COMPLETED, None),
    ClientState.MISSING_FILES: (DownloadItemStatus.WARNING,
                                "qBittorrent is reporting missing files"),
    ClientState.ERROR: (DownloadItemStatus.WARNING, "qBittorrent is reporting an error"),
    ClientState.FAILED: (DownloadItemStatus.FAILED, None),
    ClientState.REMOVED: (DownloadItemStatus.FAILED, None),
}


def with_radarr_view(status: DownloadStatus) -> DownloadStatus:
    if status.item_status is not None or status.state not in FAKE_VIEW:
        return status
    item_status, message = FAKE_VIEW[status.state]
    return replace(status, item_status=item_status, message=message)


@dataclass
class FakeDownloadClient:
    """A download client in memory that records every call, and injects faults:
    `fail_with` makes every call raise it; `down` makes calls raise ClientUnavailable;
    `delay` slows each call; `lose_reply_on_add` accepts the next add and then raises
    ClientUnavailable, as a timeout after the client took it; `lose(id)` drops a
    download as a crashed client does. Runs the same contract suite as the real ones."""

    name: str = "fake"
    calls: list[tuple[str, tuple[object, ...]]] = field(default_factory=list)
    downloads: dict[str, DownloadStatus] = field(default_factory=dict)
    fail_with: BaseException | None = None
    down: bool = False
    delay: float = 0.0
    lose_reply_on_add: bool = False
    added: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    free_bytes: int | None = None  # what free_space() reports

    async def _record(self, method: str, *args: object) -> None:
        self.calls.append((method, args))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.down:
            raise ClientUnavailable(f"{self.name} is down")
        if self.fail_with is not None:
            raise self.fail_with

    async def test(self) -> ClientInfo:
        await self._record("test")
        return ClientInfo(self.name, "1.0")

    def download_id(self, item: QueueItem) -> str:
        return item.info_hash or f"dl-{item.id}"

    async def add(self, item: QueueItem, torrent: bytes | None) -> str:
        await self._record("add", item.id)
        download_id = self.download_id(item)
        if download_id in self.downloads:
            return download_id
        size = item.size
        if item.source is SourceKind.TORRENT_FILE:
            try:
                size = torf.Torrent.read_stream(io.BytesIO(torrent or b"")).size
            except torf.TorfError:
                raise ClientRejected(f"{self.name}: not a valid torrent") from None
        self.added.append(download_id)
        self.downloads[download_id] = DownloadStatus(
            download_id, ClientState.DOWNLOADING, size, size, 0.0, name=item.title)
        if self.lose_reply_on_add:
            self.lose_reply_on_add = False
            raise ClientUnavailable(f"{self.name}: no answer (the add went through)")
        return download_id

    def advance(self, download_id: str, done: int) -> None:
        """Make `done` bytes of the download present (completing it at its size)."""
        current = self.downloads[download_id]
        left = max(current.total_bytes - done, 0)
        self.downloads[download_id] = replace(
            current, left_bytes=left,
            progress=100.0 if not left else round(done * 100 / current.total_bytes, 4),
            state=ClientState.COMPLETED if not left else current.state)

    def lose(self, download_id: str) -> None:
        self.downloads.pop(download_id, None)
        self.added = [a for a in self.added if a != download_id]

    async def statuses(self, download_ids: Sequence[str]) -> dict[str, DownloadStatus]:
        await self._record("statuses", tuple(download_ids))
        return {i: with_radarr_view(self.downloads[i]) for i in download_ids
                if i in self.downloads}

    def _set(self, download_id: str, state: ClientState) -> None:
        if download_id in self.downloads:
            self.downloads[download_id] = replace(self.downloads[download_id], state=state)

    async def pause(self, download_id: str) -> None:
        await self._record("pause", download_id)
        self._set(download_id, ClientState.PAUSED)

    async def resume(self, download_id: str) -> None:
        await self._record("resume", download_id)
        current = self.downloads.get(download_id)
        if current is not None and current.state is ClientState.PAUSED:
            self._set(download_id, ClientState.COMPLETED if not current.left_bytes
                      else ClientState.DOWNLOADING)

    async def remove(self, download_id: str, delete_data: bool) -> None:
        await self._record("remove", download_id, delete_data)
        self.downloads.pop(download_id, None)
        path = self.files.pop(download_id, None)
        if delete_data and path is not None:
            path.unlink(missing_ok=True)

    async def set_priority(self, download_id: str, priority: int) -> None:
        await self._record("set_priority", download_id, priority)

    async def free_space(self) -> int | None:
        await self._record("free_space")
        return self.free_bytes


class FakeClients:
    def __init__(self, *clients: FakeDownloadClient, kind: ClientKind = ClientKind.ARIA2) -> None:
        self.by_name = {c.name: c for c in clients}
        self.kind = kind

    def get(self, name: str) -> FakeDownloadClient | None:
        return self.by_name.get(name)

    def descriptors(self) -> list[ClientDescriptor]:
        return [ClientDescriptor(name, self.kind) for name in self.by_name]


class FakeTorrentParser:
    """Parses nothing: returns the meta it was given (for tests that are not about torf)."""

    def __init__(self, meta: TorrentMeta) -> None:
        self.meta = meta
        self.parsed: list[bytes] = []

    def parse(self, data: bytes) -> TorrentMeta:
        self.parsed.append(data)
        return self.meta
