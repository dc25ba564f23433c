"""The DownloadClient contract, run on the fake, on real qBittorrent and aria2 daemons
(started on loopback per test; see conftest.py) and on the yt-dlp client with its worker
processes against the local video site (tests/ytdlp). What core relies on: idempotent
adds keyed by info hash (or the item), batched statuses keyed by the ids asked for,
pause/resume/remove, and errors translated into ClientUnavailable / ClientRejected."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.clients import ClientState, DownloadItemStatus
from core.domain import Priority, SourceKind
from core.errors import ClientRejected, ClientUnavailable
from core.ports import DownloadStatus
from tests.clients.harness import (
    Harness,
    aria2_harness,
    eventually,
    fake_harness,
    qbittorrent_harness,
    ytdlp_harness,
)
from tests.ytdlp.conftest import media_files, media_site  # noqa: F401 - fixtures used here


@pytest.fixture(params=["fake", "qbittorrent", "aria2", "ytdlp"])
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    if request.param == "fake":
        made = fake_harness(tmp_path)
    elif request.param == "qbittorrent":
        made = qbittorrent_harness(request.getfixturevalue("qbittorrent"), tmp_path)
    elif request.param == "ytdlp":
        made = ytdlp_harness(request.getfixturevalue("media_site"), tmp_path)
    else:
        made = aria2_harness(request.getfixturevalue("aria2"), tmp_path)
    yield made
    await made.close()


async def status_of(h: Harness, download_id: str) -> DownloadStatus | None:
    return (await h.client.statuses([download_id])).get(download_id)


async def test_test_reports_a_version(harness: Harness) -> None:
    info = await harness.client.test()
    assert info.name == harness.client.name and info.version


@pytest.mark.parametrize("as_magnet", [True, False], ids=["magnet", "torrent-file"])
async def test_add_is_idempotent_and_keyed_by_info_hash(harness: Harness,
                                                        as_magnet: bool) -> None:
    release = harness.release(as_magnet)
    first = await harness.client.add(release.item, release.torrent)
    again = await harness.client.add(release.item, release.torrent)
    assert again == first
    assert await harness.count(release.item) == 1
    status = await eventually(lambda: status_of(harness, first), lambda s: s is not None,
                              "the added download")
    assert status is not None and status.state is not ClientState.FAILED
    if harness.kind not in ("aria2", "ytdlp"):  # those key downloads by GID / item id
        assert first == release.item.info_hash


async def test_an_item_with_a_save_directory_is_saved_under_it(harness: Harness) -> None:
    release = harness.release(as_magnet=False)
    item = release.item.evolve(save_under="tg--100555")
    download_id = await harness.client.add(item, release.torrent)
    if harness.kind == "fake":  # the fake keeps no files
        return
    status = await eventually(lambda: status_of(harness, download_id),
                              lambda s: s is not None and s.output_path is not None
                              and Path(s.output_path).is_absolute(),
                              "the download's path")  # qBittorrent: once it has checked
    assert status is not None and status.output_path is not None
    assert Path(status.output_path).parent.name == "tg--100555", status.output_path


async def test_statuses_are_batched_and_keyed_by_the_ids_asked_for(harness: Harness) -> None:
    releases = [harness.release(as_magnet=n % 2 == 0) for n in range(3)]
    ids = [await harness.client.add(r.item, r.torrent) for r in releases]
    unknown = harness.unknown_id
    found = await eventually(lambda: harness.client.statuses([*ids, unknown]),
                             lambda s: set(s) == set(ids), "statuses of three downloads")
    assert unknown not in found
    for download_id in ids:
        status = found[download_id]
        assert 0.0 <= status.progress <= 100.0
        assert status.left_bytes <= status.total_bytes or status.total_bytes == 0
    if harness.kind != "ytdlp":
        assert releases[1].item.source is SourceKind.TORRENT_FILE
    sized = await eventually(lambda: status_of(harness, ids[1]),
                             lambda s: s is not None and s.total_bytes > 0,
                             "the size of a .torrent download")
    assert sized is not None and sized.total_bytes > 64 * 1024  # the .torrent's, the video's


async def test_statuses_of_nothing_is_empty(harness: Harness) -> None:
    assert await harness.client.statuses([]) == {}


async def test_pause_and_resume(harness: Harness) -> None:
    release = harness.release(as_magnet=False)
    download_id = await harness.client.add(release.item, release.torrent)
    await harness.client.pause(download_id)
    await eventually(lambda: status_of(harness, download_id),
                     lambda s: s is not None and s.state is ClientState.PAUSED, "paused")
    await harness.client.pause(download_id)  # pausing twice is harmless
    await harness.client.resume(download_id)
    await eventually(lambda: status_of(harness, download_id),
                     lambda s: s is not None and s.state is not ClientState.PAUSED, "resumed")


# Radarr's view of a download for the states every client has (QBittorrent.cs and
# Aria2.cs GetItems, Radarr v6.0.3.10276); a magnet's metadata is queued, or a warning
# when qBittorrent cannot resolve it (DHT off).
VIEW_OF_STATE = {
    ClientState.QUEUED: {DownloadItemStatus.QUEUED},
    ClientState.CHECKING: {DownloadItemStatus.QUEUED},
    ClientState.METADATA: {DownloadItemStatus.QUEUED, DownloadItemStatus.WARNING},
    ClientState.DOWNLOADING: {DownloadItemStatus.DOWNLOADING},
    ClientState.STALLED: {DownloadItemStatus.WARNING},
    ClientState.PAUSED: {DownloadItemStatus.PAUSED},
    ClientState.COMPLETED: {DownloadItemStatus.COMPLETED},
    ClientState.FAILED: {DownloadItemStatus.FAILED},
}


def radarr_view_agrees(status: DownloadStatus | None) -> bool:
    return status is not None and status.item_status in VIEW_OF_STATE.get(status.state, ())


async def test_every_status_carries_radarrs_view_of_it(harness: Harness) -> None:
    releases = [harness.release(as_magnet=m) for m in (False, True)]
    ids = [await harness.client.add(r.item, r.torrent) for r in releases]
    for download_id in ids:
        status = await eventually(lambda i=download_id: status_of(harness, i),  # type: ignore[misc]
                                  lambda s: s is not None, "the added download")
        assert radarr_view_agrees(status), status
    await harness.client.pause(ids[0])
    paused = await eventually(lambda: status_of(harness, ids[0]),
                              lambda s: s is not None and s.state is ClientState.PAUSED,
                              "paused")
    assert paused is not None and paused.item_status is DownloadItemStatus.PAUSED
    assert paused.message is None
    await harness.client.resume(ids[0])
    resumed = await eventually(lambda: status_of(harness, ids[0]),
                               lambda s: s is not None and s.state is not ClientState.PAUSED,
                               "resumed")
    assert radarr_view_agrees(resumed), resumed


async def test_remove_forgets_the_download_and_is_idempotent(harness: Harness) -> None:
    release = harness.release(as_magnet=True)
    download_id = await harness.client.add(release.item, release.torrent)
    await harness.client.remove(download_id, delete_data=True)
    await eventually(lambda: status_of(harness, download_id), lambda s: s is None, "removed")
    assert await harness.count(release.item) == 0
    await harness.client.remove(download_id, delete_data=True)  # already gone: no error


async def test_a_download_lost_by_the_client_is_absent_then_added_again(
        harness: Harness) -> None:
    """As after a client crash that lost torrents: statuses stop reporting it (so the
    processor can tell it is missing), and adding the item again works."""
    release = harness.release(as_magnet=False)
    download_id = await harness.client.add(release.item, release.torrent)
    harness.lose(download_id)
    await eventually(lambda: status_of(harness, download_id),
                     lambda s: s is None or s.state is ClientState.REMOVED, "lost")
    again = await harness.client.add(release.item, release.torrent)
    await eventually(lambda: status_of(harness, again),
                     lambda s: s is not None and s.state is not ClientState.REMOVED,
                     "added again")
    assert await harness.count(release.item) == 1


async def test_priority_and_free_space(harness: Harness) -> None:
    release = harness.release(as_magnet=False)
    download_id = await harness.client.add(release.item, release.torrent)
    for priority in Priority:
        await harness.client.set_priority(download_id, int(priority))
    free = await harness.client.free_space()
    if harness.kind == "fake":
        assert free is None
    else:
        assert isinstance(free, int) and free > 0


async def test_an_invalid_torrent_is_rejected_for_good(harness: Harness) -> None:
    invalid = harness.invalid  # yt-dlp: any torrent
    with pytest.raises(ClientRejected):
        await harness.client.add(invalid.item, invalid.torrent)
    assert await harness.count(invalid.item) == 0


async def test_a_stopped_client_is_unavailable_and_comes_back(harness: Harness) -> None:
    release = harness.release(as_magnet=False)
    download_id = await harness.client.add(release.item, release.torrent)
    harness.stop()
    try:
        with pytest.raises(ClientUnavailable):
            await harness.client.test()
        with pytest.raises(ClientUnavailable):
            await harness.client.statuses([download_id])
        other = harness.release(as_magnet=True)
        with pytest.raises(ClientUnavailable):
            await harness.client.add(other.item, other.torrent)
    finally:
        harness.start()
    # The same adapter recovers (qBittorrent: a new session, logged in again).
    assert (await harness.client.test()).version
    await eventually(lambda: status_of(harness, download_id), lambda s: s is not None,
                     "the download after the restart")


async def test_an_add_whose_reply_is_lost_is_not_added_twice(harness: Harness) -> None:
    release = harness.release(as_magnet=True)
    with harness.lossy() as lossy, pytest.raises(ClientUnavailable):
        await lossy.add(release.item, release.torrent)
    # The client took it although we never heard back: the next attempt finds it.
    download_id = await harness.client.add(release.item, release.torrent)
    assert await harness.count(release.item) == 1
    assert await status_of(harness, download_id) is not None
