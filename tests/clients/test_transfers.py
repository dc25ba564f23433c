"""Real bytes end to end: a seeding qBittorrent (embedded tracker) serves a generated
file; our qBittorrent and aria2 adapters each download it by magnet and by .torrent,
aria2 also from a local HTTP server. Progress is watched rising through the adapters'
statuses, and the bytes on disk must match. Downloads are rate-limited so that progress
is seen between 0 and 100 %."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from core.clients import ClientState, DownloadItemStatus
from core.domain import SourceKind
from core.ports import DownloadClient, DownloadStatus
from infrastructure.clients.aria2 import Aria2Client, Aria2Config
from tests.clients.harness import aria2_client, qbittorrent_client, queue_item
from tests.daemons import Aria2Daemon, Payload, QbittorrentDaemon, ServedFile

RATE = 384 * 1024  # bytes/s: a ~3 MiB payload takes ~8 s


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


async def follow(client: DownloadClient, download_id: str,
                 timeout: float = 90.0) -> tuple[list[float], DownloadStatus]:
    """Poll statuses until the download completes: the progress seen, the final status."""
    seen: list[float] = []
    deadline = time.monotonic() + timeout
    while True:
        status = (await client.statuses([download_id])).get(download_id)
        assert status is not None, f"{download_id} vanished from the client"
        assert status.state not in (ClientState.FAILED, ClientState.ERROR), status
        seen.append(status.progress)
        if status.state is ClientState.COMPLETED:
            assert status.item_status is DownloadItemStatus.COMPLETED, status  # Radarr's view
            return seen, status
        assert time.monotonic() < deadline, f"not complete after {timeout} s: {status}"
        await asyncio.sleep(0.1)


def assert_rose(seen: list[float]) -> None:
    assert seen == sorted(seen), f"progress went backwards: {seen}"
    assert seen[-1] == 100.0
    assert any(0.0 < p < 100.0 for p in seen), f"no progress seen between 0 and 100: {seen}"


def limit_qbittorrent(daemon: QbittorrentDaemon) -> None:
    with daemon.web_client() as web:
        prefs = {"dl_limit": RATE, "limit_lan_peers": True}  # loopback peers are LAN
        web.post("/api/v2/app/setPreferences", data={"json": json.dumps(prefs)}
                 ).raise_for_status()


def limit_aria2(daemon: Aria2Daemon) -> None:
    daemon.rpc("aria2.changeGlobalOption", {"max-overall-download-limit": str(RATE)})


async def download_seeded(client: DownloadClient, payload: Payload, source: SourceKind
                          ) -> tuple[str, DownloadStatus]:
    """Add the seeded payload by magnet or .torrent, follow it to completion (progress
    seen rising, the bytes on disk right): the id add gave, and the final status."""
    item = queue_item(source, url=payload.magnet if source is SourceKind.MAGNET else None,
                      info_hash=payload.info_hash, title=payload.name)
    download_id = await client.add(
        item, payload.torrent if source is SourceKind.TORRENT_FILE else None)
    seen, done = await follow(client, download_id)
    assert_rose(seen)
    assert done.total_bytes == payload.size and done.left_bytes == 0
    assert done.output_path is not None
    assert sha256(Path(done.output_path)) == payload.sha256
    return download_id, done


@pytest.mark.parametrize("source", [SourceKind.MAGNET, SourceKind.TORRENT_FILE])
async def test_qbittorrent_downloads_a_seeded_file(
        qbittorrent: QbittorrentDaemon, payload: Payload, source: SourceKind) -> None:
    limit_qbittorrent(qbittorrent)
    client = qbittorrent_client(qbittorrent)
    try:
        download_id, done = await download_seeded(client, payload, source)
        assert download_id == payload.info_hash
        assert done.output_path is not None
        await client.remove(download_id, delete_data=True)
        for _ in range(100):
            if not Path(done.output_path).exists():
                break
            await asyncio.sleep(0.1)
        assert not Path(done.output_path).exists(), "qBittorrent kept the files"
    finally:
        client.close()


@pytest.mark.parametrize("source", [SourceKind.MAGNET, SourceKind.TORRENT_FILE])
async def test_aria2_downloads_a_seeded_file(
        aria2: Aria2Daemon, payload: Payload, source: SourceKind) -> None:
    limit_aria2(aria2)
    client = aria2_client(aria2)
    try:
        download_id, done = await download_seeded(client, payload, source)
        if source is SourceKind.MAGNET:
            # The metadata download was followed to the real one, which the item tracks.
            assert done.download_id != download_id
            again = await client.statuses([done.download_id])
            assert again[done.download_id].state is ClientState.COMPLETED
        assert done.output_path is not None
        output = Path(done.output_path)
        assert output.parent == aria2.download_dir
        # aria2 cannot delete files: the adapter does, inside the download roots.
        await client.remove(download_id, delete_data=True)
        assert not output.exists()
        assert (await client.statuses([download_id, done.download_id])) == {}
    finally:
        client.close()


async def test_aria2_downloads_over_http(aria2: Aria2Daemon, served_file: ServedFile) -> None:
    limit_aria2(aria2)
    client = aria2_client(aria2)
    try:
        item = queue_item(SourceKind.HTTP, url=served_file.url, title=served_file.name)
        download_id = await client.add(item, None)
        assert await client.add(item, None) == download_id  # idempotent by the item's GID
        seen, done = await follow(client, download_id)
        assert_rose(seen)
        assert done.total_bytes == served_file.size
        assert done.output_path is not None
        assert sha256(Path(done.output_path)) == served_file.sha256
    finally:
        client.close()


async def test_aria2_fails_a_missing_http_file_permanently(
        aria2: Aria2Daemon, served_file: ServedFile) -> None:
    client = aria2_client(aria2)
    try:
        item = queue_item(SourceKind.HTTP, url=served_file.url + ".missing")
        download_id = await client.add(item, None)
        for _ in range(100):
            status = (await client.statuses([download_id]))[download_id]
            if status.state is ClientState.FAILED:
                break
            await asyncio.sleep(0.1)
        assert status.state is ClientState.FAILED
        assert status.permanent, status.error  # a 404 will not pass with a retry
        assert status.error is not None and "aria2 error 3" in status.error
        # Aria2.cs: failed, with aria2's own errorMessage as the message.
        assert status.item_status is DownloadItemStatus.FAILED and status.message
        assert status.message in status.error
    finally:
        client.close()


async def test_aria2_refuses_to_delete_outside_its_roots(
        aria2: Aria2Daemon, served_file: ServedFile, tmp_path: Path) -> None:
    """A download saved outside the configured roots is removed from aria2, but its file
    is left where it is."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    # An adapter told to save outside its roots (the registry refuses such a
    # configuration; here the download got there anyway).
    client = Aria2Client("aria2", Aria2Config(
        url=aria2.url, secret=SecretStr(aria2.secret), directory=str(outside),
        roots=(aria2.download_dir,)))
    try:
        item = queue_item(SourceKind.HTTP, url=served_file.url)
        gid = await client.add(item, None)
        _, done = await follow(client, gid)
        assert done.output_path is not None and Path(done.output_path).parent == outside
        await client.remove(gid, delete_data=True)
        assert Path(done.output_path).exists()
        assert await client.statuses([gid]) == {}
    finally:
        client.close()
