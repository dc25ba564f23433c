"""The QUEUARR_YTDLP* and QUEUARR_PLAYLIST_MAX settings, followed from the environment to
what yt-dlp is asked for: the managed client's configuration, the adapter's, and the
options the worker hands to YoutubeDL."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.clients import ClientKind, ClientSource
from core.domain import DownloadProtocol, ItemState, QueueItem, SourceKind
from infrastructure.clients import configured
from infrastructure.clients.configured import video_router, ytdlp_client, ytdlp_places
from infrastructure.clients.registry import ClientRegistry
from infrastructure.memory import MemoryClientConfigRepository
from infrastructure.settings import Settings
from infrastructure.ytdlp.client import YtDlpClient
from infrastructure.ytdlp.config import YtDlpConfig, default_format
from infrastructure.ytdlp.worker import Reporter, ydl_options
from tests.clients.harness import NOW


def settings(tmp_path: Path, **env: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", **env)  # type: ignore[arg-type]


def adapter_config(s: Settings) -> YtDlpConfig:
    client = ytdlp_client(s)
    assert client is not None
    registry = ClientRegistry(MemoryClientConfigRepository(), s.roots, ytdlp=ytdlp_places(s))
    config = registry.adapter_config(client)
    assert isinstance(config, YtDlpConfig)
    return config


def worker_options(config: YtDlpConfig, tmp_path: Path) -> dict[str, object]:
    item = QueueItem(id=7, title="t", source=SourceKind.VIDEO,
                     protocol=DownloadProtocol.UNKNOWN, state=ItemState.SENDING,
                     added_at=NOW, updated_at=NOW, download_url="https://example.org/v")
    job = YtDlpClient("yt-dlp", config)._new_job(item)
    return ydl_options(job, Reporter(tmp_path))


def test_the_defaults(tmp_path: Path) -> None:
    s = settings(tmp_path)
    client = ytdlp_client(s)
    assert client is not None  # yt-dlp is installed here: auto turns it on
    assert (client.name, client.kind, client.source) == ("yt-dlp", ClientKind.YTDLP,
                                                         ClientSource.MANAGED)
    assert client.priority == 50
    config = adapter_config(s)
    assert config.directory == s.downloads
    assert config.state_dir == s.data_dir.resolve() / "ytdlp" / "yt-dlp"
    assert config.chosen_format == default_format(config.ffmpeg is not None)
    assert (config.merge_format, config.subtitles, config.cookies_file, config.rate_limit,
            config.max_active) == ("mp4/mkv", False, None, None, 2)
    assert config.output_template == "%(title).150B [%(id)s].%(ext)s"
    assert not config.allow_private
    router = video_router(s, object())  # type: ignore[arg-type]
    assert router is not None and router.playlist_max == 300


def test_every_setting_reaches_yt_dlp(tmp_path: Path) -> None:
    cookies = tmp_path / "cookies.txt"
    s = settings(tmp_path, ytdlp_format="bv*+ba/b", ytdlp_merge_format="mkv",
                 ytdlp_subtitles=True, ytdlp_cookies=cookies, ytdlp_rate_limit="2MB",
                 ytdlp_output="%(uploader)s/%(title)s.%(ext)s", ytdlp_workers=5,
                 allow_private_urls=True, playlist_max=25)
    config = adapter_config(s)
    assert config.max_active == 5 and config.allow_private
    options = worker_options(config, tmp_path)
    assert options["format"] == "bv*+ba/b"
    assert options["merge_output_format"] == "mkv"
    assert options["writesubtitles"] is True
    assert options["cookiefile"] == str(cookies.resolve())
    assert options["ratelimit"] == 2_000_000
    assert options["outtmpl"] == {"default": "%(uploader)s/%(title)s.%(ext)s"}
    assert options["paths"] == {"home": str(s.downloads)}
    router = video_router(s, object())  # type: ignore[arg-type]
    assert router is not None and router.playlist_max == 25


def test_without_ffmpeg_the_default_format_takes_single_files(tmp_path: Path) -> None:
    config = adapter_config(settings(tmp_path))
    bare = YtDlpConfig(config.directory, config.roots, config.state_dir, ffmpeg=None)
    assert worker_options(bare, tmp_path)["format"] == "b[height<=1080]/b"
    assert "ffmpeg_location" not in worker_options(bare, tmp_path)


def test_an_output_template_leaving_the_downloads_stops_the_start(tmp_path: Path) -> None:
    s = settings(tmp_path, ytdlp_output="../%(title)s.%(ext)s")
    with pytest.raises(Exception, match=r"\.\."):
        adapter_config(s)


def test_off_means_no_client_and_no_video_routing(tmp_path: Path) -> None:
    s = settings(tmp_path, ytdlp="false")
    assert ytdlp_client(s) is None
    assert video_router(s, object()) is None  # type: ignore[arg-type]


def test_on_without_yt_dlp_stops_the_start_and_auto_stays_off(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("infrastructure.ytdlp.sites.available", lambda: False)
    with pytest.raises(RuntimeError, match=r"queuarr\[video\]"):
        ytdlp_client(settings(tmp_path, ytdlp="true"))
    assert ytdlp_client(settings(tmp_path, ytdlp="auto")) is None
    assert configured.video_router(settings(tmp_path), object()) is None  # type: ignore[arg-type]
