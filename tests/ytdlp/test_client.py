"""The yt-dlp client against the local video site, a real worker process per download:
bytes on disk checked by sha256, failures classed, pause/resume and restarts continuing
the partial file with a Range request, and removal deleting only what a job wrote."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from core.clients import ClientState, DownloadItemStatus
from core.domain import QueueItem, SourceKind
from core.ports import DownloadStatus
from infrastructure.ytdlp import jobs
from infrastructure.ytdlp.client import YtDlpClient
from infrastructure.ytdlp.config import YtDlpConfig, default_format, ensure_directories
from tests.clients.harness import eventually, queue_item
from tests.ytdlp.media import MediaSite, Served, require_ffmpeg

Make = Callable[..., Awaitable[YtDlpClient]]


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def video(url: str) -> QueueItem:
    return queue_item(SourceKind.HTTP, url=url, title="A video")


def ytdlp_config(root: Path, **options: Any) -> YtDlpConfig:
    options.setdefault("allow_private", True)  # the site is on loopback
    options.setdefault("ffmpeg", require_ffmpeg())
    return YtDlpConfig(directory=root / "downloads", roots=(root,),
                       state_dir=root / "state", **options)


@pytest.fixture
async def make_client(tmp_path: Path) -> AsyncIterator[Make]:
    made: list[YtDlpClient] = []

    async def make(**options: Any) -> YtDlpClient:
        config = ytdlp_config(tmp_path, **options)
        ensure_directories(config)
        made.append(YtDlpClient("yt-dlp", config))
        return made[-1]

    yield make
    for client in made:
        await client.shutdown()


async def status_of(client: YtDlpClient, download_id: str) -> DownloadStatus | None:
    return (await client.statuses([download_id])).get(download_id)


async def until(client: YtDlpClient, download_id: str, ok: Callable[[DownloadStatus], bool],
                what: str) -> DownloadStatus:
    status = await eventually(lambda: status_of(client, download_id),
                              lambda s: s is not None and ok(s), what, timeout=90)
    assert status is not None
    return status


def finished(s: DownloadStatus) -> bool:
    return s.state in (ClientState.COMPLETED, ClientState.FAILED)


async def completed(client: YtDlpClient, download_id: str) -> DownloadStatus:
    status = await until(client, download_id, finished, "the download's end")
    assert status.state is ClientState.COMPLETED, status
    assert status.output_path is not None
    return status


def ranges(site: MediaSite, path: str) -> list[str | None]:
    return [r for method, p, r in site.requests if method == "GET" and p == path]


async def test_a_video_page_is_downloaded_byte_for_byte(
        make_client: Make, media_site: MediaSite, media_files: dict[str, Served]) -> None:
    client = await make_client()
    download_id = await client.add(video(media_site.video_page_url), None)
    status = await completed(client, download_id)
    assert sha256(status.output_path or "") == media_files["clip.mp4"].sha256
    assert Path(status.output_path or "").parent == client.config.directory
    assert status.name is not None and status.name.startswith("A clip")  # the page title
    assert status.item_status is DownloadItemStatus.COMPLETED
    assert (status.progress, status.left_bytes) == (100.0, 0)
    assert status.total_bytes == media_files["clip.mp4"].size


async def test_an_hls_stream_is_downloaded_into_a_playable_file(
        make_client: Make, media_site: MediaSite) -> None:
    client = await make_client()
    status = await completed(client, await client.add(video(media_site.hls_page_url), None))
    command = ["ffprobe", "-v", "error", "-print_format", "json", "-show_format",
               "-show_streams", status.output_path or ""]
    probe = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True,
                                    check=True)
    found = json.loads(probe.stdout)
    assert {s["codec_type"] for s in found["streams"]} == {"video", "audio"}
    assert "mp4" in found["format"]["format_name"]  # remuxed from MPEG-TS by ffmpeg
    assert float(found["format"]["duration"]) > 3
    segments = [p for _, p, _ in media_site.requests if p.endswith(".ts")]
    assert len(set(segments)) >= 4  # fetched by yt-dlp's native HLS downloader


async def test_a_missing_page_fails_for_good(make_client: Make,
                                             media_site: MediaSite) -> None:
    client = await make_client()
    status = await until(client, await client.add(video(media_site.missing_url), None),
                         finished, "the failure")
    assert status.state is ClientState.FAILED and status.permanent
    assert status.error is not None and "404" in status.error
    assert status.item_status is DownloadItemStatus.FAILED and status.message == status.error


async def test_a_page_of_several_videos_is_refused_for_good(make_client: Make,
                                                             media_site: MediaSite) -> None:
    """One job is one video: a playlist is expanded into items before it gets here."""
    client = await make_client()
    status = await until(client, await client.add(video(media_site.three_videos_url), None),
                         finished, "the refusal")
    assert status.state is ClientState.FAILED and status.permanent
    assert status.error is not None and "playlist of 3 videos" in status.error
    assert list(client.config.directory.iterdir()) == []


async def test_a_dropped_transfer_fails_for_now_and_is_resumed_by_adding_again(
        make_client: Make, media_site: MediaSite, media_files: dict[str, Served]) -> None:
    client = await make_client(retries=0)
    item = video(media_site.dropping_url)
    download_id = await client.add(item, None)
    status = await until(client, download_id, finished, "the dropped transfer")
    assert status.state is ClientState.FAILED and not status.permanent, status
    assert await client.add(item, None) == download_id  # the processor's retry
    status = await completed(client, download_id)
    assert sha256(status.output_path or "") == media_files["clip.mp4"].sha256
    gets = ranges(media_site, "/drop/clip.mp4")
    assert len(gets) == 2 and gets[0] in (None, "bytes=0-"), gets
    assert gets[1] is not None and not gets[1].startswith("bytes=0-"), gets


async def test_pause_keeps_the_partial_file_and_resume_continues_it(
        make_client: Make, media_site: MediaSite, media_files: dict[str, Served]) -> None:
    media_site.slow_rate = 1024 * 1024
    client = await make_client()
    download_id = await client.add(video(media_site.slow_url), None)
    await until(client, download_id, lambda s: s.total_bytes - s.left_bytes > 128 * 1024,
                "bytes arriving")
    await client.pause(download_id)
    paused = await until(client, download_id, lambda s: s.state is ClientState.PAUSED, "paused")
    assert paused.item_status is DownloadItemStatus.PAUSED and paused.message is None
    job_dir = client.config.state_dir / download_id
    assert not jobs.worker_alive(job_dir)  # the worker is gone, not merely told to wait
    (part,) = client.config.directory.glob("*.part")
    size = part.stat().st_size
    assert size > 0
    for _ in range(5):
        assert (await status_of(client, download_id)).state is ClientState.PAUSED  # type: ignore[union-attr]
    assert part.stat().st_size == size
    await client.resume(download_id)
    status = await completed(client, download_id)
    assert sha256(status.output_path or "") == media_files["big.mp4"].sha256
    resumed = ranges(media_site, "/slow/big.mp4")[-1]
    assert resumed is not None and int(resumed.removeprefix("bytes=").split("-")[0]) > 0


async def test_a_job_whose_worker_died_is_restarted_by_the_next_adapter(
        make_client: Make, media_site: MediaSite, media_files: dict[str, Served]) -> None:
    """As after a Queuarr restart: the new adapter finds the job and continues it."""
    media_site.slow_rate = 1024 * 1024
    first = await make_client()
    download_id = await first.add(video(media_site.slow_url), None)
    await until(first, download_id, lambda s: s.total_bytes - s.left_bytes > 128 * 1024,
                "bytes arriving")
    await first.shutdown()
    assert not jobs.worker_alive(first.config.state_dir / download_id)
    second = await make_client()
    status = await completed(second, download_id)
    assert sha256(status.output_path or "") == media_files["big.mp4"].sha256
    resumed = ranges(media_site, "/slow/big.mp4")[-1]
    assert resumed is not None and not resumed.startswith("bytes=0-")


async def test_a_worker_started_before_a_restart_is_paused_by_the_next_adapter(
        make_client: Make, media_site: MediaSite) -> None:
    """The worker is not this adapter's child: its lock says it runs, its pid is used."""
    media_site.slow_rate = 256 * 1024
    first = await make_client()
    download_id = await first.add(video(media_site.slow_url), None)
    await until(first, download_id, lambda s: s.total_bytes > s.left_bytes, "bytes arriving")
    second = await make_client()
    running = await status_of(second, download_id)
    assert running is not None and running.state is ClientState.DOWNLOADING
    await second.pause(download_id)
    assert not jobs.worker_alive(second.config.state_dir / download_id)
    paused = await status_of(second, download_id)
    assert paused is not None and paused.state is ClientState.PAUSED


async def test_only_max_active_workers_run_and_the_others_wait(
        make_client: Make, media_site: MediaSite) -> None:
    media_site.slow_rate = 64 * 1024
    client = await make_client(max_active=1)
    pages = [media_site.page(f"Slow {n}", '<video src="/slow/big.mp4"></video>')
             for n in range(2)]
    first, second = [await client.add(video(p), None) for p in pages]
    found = await client.statuses([first, second])
    assert found[first].state is ClientState.DOWNLOADING
    assert found[second].state is ClientState.QUEUED
    assert found[second].item_status is DownloadItemStatus.QUEUED
    await client.pause(first)
    await until(client, second, lambda s: s.state is ClientState.DOWNLOADING
                and s.total_bytes > s.left_bytes, "the second one downloading")


async def test_remove_keeps_the_files_unless_asked(
        make_client: Make, media_site: MediaSite) -> None:
    client = await make_client()
    kept = await completed(client, await client.add(video(media_site.video_page_url), None))
    await client.remove(kept.download_id, delete_data=False)
    assert await status_of(client, kept.download_id) is None
    assert not (client.config.state_dir / kept.download_id).exists()
    assert Path(kept.output_path or "").is_file()
    await client.remove(kept.download_id, delete_data=True)  # gone already: a no-op
    assert Path(kept.output_path or "").is_file()


async def test_remove_with_data_deletes_what_the_job_wrote_and_nothing_else(
        make_client: Make, media_site: MediaSite) -> None:
    media_site.slow_rate = 256 * 1024
    client = await make_client()
    neighbour = client.config.directory / "A slow clip, kept.mp4"
    neighbour.write_bytes(b"not the job's")
    done = await completed(client, await client.add(video(media_site.video_page_url), None))
    slow = await client.add(video(media_site.slow_url), None)
    await until(client, slow, lambda s: s.total_bytes - s.left_bytes > 0, "bytes arriving")
    await client.pause(slow)
    assert list(client.config.directory.glob("*.part"))
    for download_id in (done.download_id, slow):
        await client.remove(download_id, delete_data=True)
    assert sorted(p.name for p in client.config.directory.iterdir()) == [neighbour.name]


async def test_an_items_save_directory_is_used(make_client: Make,
                                               media_site: MediaSite) -> None:
    client = await make_client()
    item = video(media_site.video_page_url).evolve(save_under="tg--42")
    status = await completed(client, await client.add(item, None))
    assert Path(status.output_path or "").parent == client.config.directory / "tg--42"


def test_without_ffmpeg_the_default_format_takes_single_files(tmp_path: Path) -> None:
    assert ytdlp_config(tmp_path, ffmpeg=None).chosen_format == default_format(False)
    assert "+" not in default_format(False) and "+ba" in default_format(True)
    assert ytdlp_config(tmp_path, format="worst").chosen_format == "worst"


@pytest.mark.parametrize("template", ["../%(title)s.%(ext)s", "a/../../%(id)s.%(ext)s",
                                      "/tmp/%(id)s.%(ext)s", "~/%(id)s.%(ext)s"])
def test_an_output_template_leaving_the_directory_is_refused(tmp_path: Path,
                                                             template: str) -> None:
    with pytest.raises(ValueError, match="output template"):
        ytdlp_config(tmp_path, output_template=template)
