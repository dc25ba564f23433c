"""Two torrents whose files sit under one top-level folder name (two releases of one
movie, say): removing one with its data deletes its own files, never the other's.

aria2 cannot delete files, so its adapter does; qBittorrent (libtorrent) deletes the
torrent's files and then only folders left empty."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.clients import ClientState
from core.domain import SourceKind
from core.ports import DownloadClient
from tests.clients.harness import aria2_client, qbittorrent_client, queue_item
from tests.clients.test_transfers import follow
from tests.daemons import (
    Aria2Daemon,
    Payload,
    QbittorrentDaemon,
    Seeder,
    make_payload,
    make_torrent,
)

FOLDER = "Shared.Movie.2024.1080p"


@pytest.fixture(scope="module")
def namesakes(seeder: Seeder, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[Payload, Payload]:
    """Two seeded multi-file torrents, both named FOLDER, with different files."""
    made = []
    for n, files in enumerate((("movie-a.mkv", "a.nfo"), ("movie-b.mkv", "b.nfo"))):
        folder = tmp_path_factory.mktemp(f"namesake-{n}") / FOLDER
        for k, name in enumerate(files):
            make_payload(folder, name, 96 * 1024 + 1000 * n + k, seed=40 + 2 * n + k)
        torrent, info_hash, magnet = make_torrent(folder, seeder.tracker_url)
        seeder.seed(folder, torrent)
        made.append(Payload(folder, "", 0, torrent, info_hash, magnet))
    return made[0], made[1]


async def download_both(client: DownloadClient, namesakes: tuple[Payload, Payload]
                        ) -> tuple[list[str], Path]:
    """Download the two namesakes one after the other: their download ids and the folder
    they share."""
    ids = []
    for payload in namesakes:
        item = queue_item(SourceKind.TORRENT_FILE, info_hash=payload.info_hash,
                          title=FOLDER)
        download_id = await client.add(item, payload.torrent)
        _, done = await follow(client, download_id)
        assert done.state is ClientState.COMPLETED and done.output_path is not None
        ids.append(download_id)
    assert done.output_path is not None
    folder = Path(done.output_path)
    assert sorted(p.name for p in folder.iterdir()) == [
        "a.nfo", "b.nfo", "movie-a.mkv", "movie-b.mkv"], "the two do not share the folder"
    return ids, folder


async def eventually_gone(paths: list[Path]) -> None:
    for _ in range(100):  # qBittorrent deletes files after it answered
        if not any(p.exists() for p in paths):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"still there: {[p for p in paths if p.exists()]}")


def check_only_its_own_files_went(folder: Path) -> None:
    assert sorted(p.name for p in folder.iterdir()) == ["b.nfo", "movie-b.mkv"]
    expected = {"movie-b.mkv": 96 * 1024 + 1000, "b.nfo": 96 * 1024 + 1001}
    assert {p.name: p.stat().st_size for p in folder.iterdir()} == expected


async def remove_the_first(client: DownloadClient, first: str, folder: Path) -> None:
    await client.remove(first, delete_data=True)
    await eventually_gone([folder / "movie-a.mkv", folder / "a.nfo"])
    check_only_its_own_files_went(folder)


async def test_removing_an_aria2_download_with_data_keeps_a_namesakes_files(
        aria2: Aria2Daemon, namesakes: tuple[Payload, Payload]) -> None:
    client = aria2_client(aria2)
    try:
        (first, second), folder = await download_both(client, namesakes)
        await remove_the_first(client, first, folder)
        # Once the second goes too, its files go, and the folder they left empty.
        await client.remove(second, delete_data=True)
        assert not folder.exists()
        assert not Path(f"{folder}.aria2").exists()
    finally:
        client.close()


async def test_removing_a_qbittorrent_download_with_data_keeps_a_namesakes_files(
        qbittorrent: QbittorrentDaemon, namesakes: tuple[Payload, Payload]) -> None:
    client = qbittorrent_client(qbittorrent)
    try:
        (first, _), folder = await download_both(client, namesakes)
        await remove_the_first(client, first, folder)
    finally:
        client.close()
