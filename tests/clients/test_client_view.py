"""Each adapter gives a download's state the way Radarr's adapter for that client does
(Radarr v6.0.3.10276, commit 1b9662d5: src/NzbDrone.Core/Download/Clients/QBittorrent/
QBittorrent.cs and Aria2/Aria2.cs, GetItems; messages from Localization/Core/en.json),
and the queue shows it. decluttarr (and helper D's replay) rely on exactly these words."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from api.resources import dumps, queue_resource
from core.clients import ClientDescriptor, ClientKind, ClientState, DownloadItemStatus
from core.domain import HistoryEvent, NewItem, QueueItem
from core.processor import Processor
from infrastructure.clients import aria2 as aria2_adapter
from infrastructure.clients import qbittorrent as qbt
from infrastructure.memory import MemoryQueueRepository
from tests.api.radarr_schema import validate_queue_resource
from tests.clients.harness import (
    aria2_client,
    eventually,
    qbittorrent_client,
    unseeded_torrent,
)
from tests.daemons import Aria2Daemon, QbittorrentDaemon
from tests.fakes import FakeClock

D = DownloadItemStatus
METADATA = "qBittorrent is downloading metadata"
DHT_OFF = "qBittorrent cannot resolve magnet link with DHT disabled"
STALLED = "The download is stalled with no connections"

# QBittorrent.cs GetItems, case by case.
RADARR_QBITTORRENT = {
    "error": (D.WARNING, "qBittorrent is reporting an error"),
    "stoppedDL": (D.PAUSED, None), "pausedDL": (D.PAUSED, None),
    "queuedDL": (D.QUEUED, None), "checkingDL": (D.QUEUED, None),
    "checkingUP": (D.QUEUED, None), "checkingResumeData": (D.QUEUED, None),
    "pausedUP": (D.COMPLETED, None), "stoppedUP": (D.COMPLETED, None),
    "uploading": (D.COMPLETED, None), "stalledUP": (D.COMPLETED, None),
    "queuedUP": (D.COMPLETED, None), "forcedUP": (D.COMPLETED, None),
    "stalledDL": (D.WARNING, STALLED),
    "missingFiles": (D.WARNING, "qBittorrent is reporting missing files"),
    "metaDL": (D.QUEUED, METADATA), "forcedMetaDL": (D.QUEUED, METADATA),
    "forcedDL": (D.DOWNLOADING, None), "moving": (D.DOWNLOADING, None),
    "downloading": (D.DOWNLOADING, None),
    # Not in Radarr's switch: its default.
    "allocating": (D.DOWNLOADING, "Unknown download state: allocating"),
}


@pytest.mark.parametrize("state", sorted(RADARR_QBITTORRENT))
def test_every_qbittorrent_state_gets_radarrs_status_and_message(state: str) -> None:
    status = qbt.to_status("ab" * 20, {"state": state, "size": 10, "amount_left": 5})
    assert (status.item_status, status.message) == RADARR_QBITTORRENT[state]


class _Preferences:
    """A qBittorrent adapter whose maindata and preferences are given, not fetched."""

    def __init__(self, client: qbt.QbittorrentClient, torrents: dict[str, Any],
                 dht: bool) -> None:
        data = qbt.MainData()
        data.merge({"full_update": True, "rid": 1, "torrents": torrents})

        async def sync() -> qbt.MainData:
            return data

        async def do(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            self.asked += 1
            return {"dht": dht}

        self.asked = 0
        client.sync = sync  # type: ignore[method-assign]
        client._do = do  # type: ignore[method-assign]


async def test_a_magnet_without_dht_is_radarrs_warning_and_dht_is_read_rarely() -> None:
    now = [0.0]
    client = qbt.QbittorrentClient("qbit", qbt.QbittorrentConfig(url="http://127.0.0.1:9"),
                                   monotonic=lambda: now[0])
    try:
        meta, other = "aa" * 20, "bb" * 20
        fake = _Preferences(client, {meta: {"state": "metaDL"},
                                     other: {"state": "stalledDL"}}, dht=False)
        found = await client.statuses([meta, other])
        assert (found[meta].item_status, found[meta].message) == (D.WARNING, DHT_OFF)
        assert (found[other].item_status, found[other].message) == (D.WARNING, STALLED)
        await client.statuses([meta])
        assert fake.asked == 1  # cached for DHT_CHECK_EVERY
        now[0] += qbt.DHT_CHECK_EVERY
        await client.statuses([other])  # no metadata download: not asked
        assert fake.asked == 1
        await client.statuses([meta])
        assert fake.asked == 2
    finally:
        client.close()


# Aria2.cs GetItems.
@pytest.mark.parametrize(("raw", "expected"), [
    ({"status": "waiting", "totalLength": "10", "completedLength": "0"}, (D.QUEUED, None)),
    ({"status": "paused", "totalLength": "10", "completedLength": "0"}, (D.PAUSED, None)),
    ({"status": "active", "totalLength": "10", "completedLength": "4"},
     (D.DOWNLOADING, None)),
    ({"status": "active", "totalLength": "10", "completedLength": "10"},
     (D.COMPLETED, None)),
    ({"status": "complete", "totalLength": "10", "completedLength": "10"},
     (D.COMPLETED, None)),
    ({"status": "error", "errorCode": "3", "errorMessage": "Resource not found"},
     (D.FAILED, "Resource not found")),
    ({"status": "removed"}, (D.FAILED, None)),
    # Radarr skips a magnet's metadata download; Queuarr shows it queued.
    ({"status": "active", "files": [{"path": "[METADATA]x"}]}, (D.QUEUED, None)),
], ids=["waiting", "paused", "active", "active-all-there", "complete", "error", "removed",
        "metadata"])
def test_every_aria2_status_gets_radarrs_status_and_message(
        raw: dict[str, Any], expected: tuple[D, str | None]) -> None:
    status = aria2_adapter.to_status("0123456789abcdef", raw)
    assert (status.item_status, status.message) == expected


# -- with the real daemons ----------------------------------------------------------------

class OneClient:
    def __init__(self, name: str, kind: ClientKind, client: object) -> None:
        self.name, self.kind, self.client = name, kind, client

    def get(self, name: str) -> object:
        return self.client if name == self.name else None

    def descriptors(self) -> list[ClientDescriptor]:
        return [ClientDescriptor(self.name, self.kind)]


class Queue:
    """A memory queue and a processor driving one real client."""

    def __init__(self, name: str, kind: ClientKind, client: object) -> None:
        self.clock = FakeClock(datetime.now(UTC))  # real daemons; no stall limit reached
        self.items = MemoryQueueRepository(self.clock)
        self.processor = Processor(self.items, OneClient(name, kind, client),  # type: ignore[arg-type]
                                   self.clock, "view-test")

    async def send(self, work_dir: Path, as_magnet: bool) -> QueueItem:
        release = unseeded_torrent(work_dir, as_magnet)
        item = release.item
        new = NewItem(title=item.title, source=item.source, protocol=item.protocol,
                      added_at=self.clock.now(), download_url=item.download_url,
                      torrent=release.torrent, info_hash=item.info_hash, movie_id=1)
        added = await self.items.add(new, HistoryEvent("grabbed"))
        assert await self.processor.dispatch() == [added.id]
        return added

    async def shown(self, item_id: int) -> dict[str, Any]:
        """The item's queue resource after a sync pass (validated against Radarr's)."""
        await self.processor.sync()
        item = await self.items.get(item_id)
        assert item is not None
        resource: dict[str, Any] = orjson.loads(dumps(queue_resource(item, self.clock.now())))
        validate_queue_resource(resource)
        return resource


def view(resource: dict[str, Any]) -> tuple[str, str | None]:
    return resource["status"], resource.get("errorMessage")


async def test_real_qbittorrent_metadata_and_stalled_downloads_show_radarrs_words(
        qbittorrent: QbittorrentDaemon, tmp_path: Path) -> None:
    client = qbittorrent_client(qbittorrent)
    queue = Queue("qBittorrent", ClientKind.QBITTORRENT, client)
    try:
        stalled = await queue.send(tmp_path, as_magnet=False)  # a .torrent, no peers
        shown = await eventually(lambda: queue.shown(stalled.id),
                                 lambda r: view(r) == ("warning", STALLED), "stalledDL", timeout=30)
        assert shown["queueState"] == "downloading"  # Queuarr's own limit: not yet
        assert shown["downloadId"] == stalled.info_hash.upper()  # type: ignore[union-attr]

        magnet = await queue.send(tmp_path, as_magnet=True)  # a magnet nobody seeds
        # The test daemon runs without DHT: Radarr's words for that.
        await eventually(lambda: queue.shown(magnet.id),
                         lambda r: view(r) == ("warning", DHT_OFF), "metaDL, DHT off", timeout=30)
        with qbittorrent.web_client() as web:
            web.post("/api/v2/app/setPreferences",
                     data={"json": '{"dht": true}'}).raise_for_status()
        client._dht = None  # read the preference again now, not in a minute
        shown = await eventually(lambda: queue.shown(magnet.id),
                                 lambda r: view(r) == ("queued", METADATA), "metaDL", timeout=30)
        assert shown["queueState"] == "downloading"
    finally:
        client.close()


async def test_real_aria2_waiting_paused_and_active_downloads_show_radarrs_words(
        aria2: Aria2Daemon, tmp_path: Path) -> None:
    client = aria2_client(aria2)
    queue = Queue("aria2", ClientKind.ARIA2, client)
    try:
        active = await queue.send(tmp_path, as_magnet=False)
        shown = await eventually(lambda: queue.shown(active.id),
                                 lambda r: view(r) == ("downloading", None), "active")
        # Aria2.cs: the info hash upper case, not the GID Queuarr follows it by.
        assert shown["downloadId"] == active.info_hash.upper()  # type: ignore[union-attr]
        await client.pause(str((await queue.items.get(active.id)).download_id))  # type: ignore[union-attr]
        await eventually(lambda: queue.shown(active.id),
                         lambda r: r["status"] == "paused", "paused")
        magnet = await queue.send(tmp_path, as_magnet=True)
        await eventually(lambda: queue.shown(magnet.id),
                         lambda r: view(r) == ("queued", None), "a magnet's metadata")
        statuses = await client.statuses([str((await queue.items.get(magnet.id)).download_id)])  # type: ignore[union-attr]
        assert [s.state for s in statuses.values()] == [ClientState.METADATA]
    finally:
        client.close()
