"""Fakes for unit tests. They record what they were asked, and can be told to fail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from core.clients import ClientDescriptor, ClientKind, ClientState
from core.domain import QueueItem
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


@dataclass
class FakeDownloadClient:
    """A download client that records every call; `fail_with` makes the next calls raise."""

    name: str = "fake"
    calls: list[tuple[str, tuple[object, ...]]] = field(default_factory=list)
    downloads: dict[str, DownloadStatus] = field(default_factory=dict)
    fail_with: BaseException | None = None

    def _record(self, method: str, *args: object) -> None:
        self.calls.append((method, args))
        if self.fail_with is not None:
            raise self.fail_with

    async def test(self) -> ClientInfo:
        self._record("test")
        return ClientInfo(self.name, "1.0")

    async def add(self, item: QueueItem, torrent: bytes | None) -> str:
        self._record("add", item.id)
        download_id = item.info_hash or f"dl-{item.id}"
        self.downloads.setdefault(download_id, DownloadStatus(
            download_id, ClientState.DOWNLOADING, item.size, item.size, 0.0))
        return download_id

    async def statuses(self, download_ids: Sequence[str]) -> dict[str, DownloadStatus]:
        self._record("statuses", tuple(download_ids))
        return {i: self.downloads[i] for i in download_ids if i in self.downloads}

    async def pause(self, download_id: str) -> None:
        self._record("pause", download_id)

    async def resume(self, download_id: str) -> None:
        self._record("resume", download_id)

    async def remove(self, download_id: str, delete_data: bool) -> None:
        self._record("remove", download_id, delete_data)
        self.downloads.pop(download_id, None)

    async def set_priority(self, download_id: str, priority: int) -> None:
        self._record("set_priority", download_id, priority)

    async def free_space(self) -> int | None:
        self._record("free_space")
        return None


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
