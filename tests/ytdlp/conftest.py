"""Fixtures of the yt-dlp tests: media encoded once per session and a local video site that
serves it (`tests/ytdlp/media.py`). Without ffmpeg they skip, except under CI=true."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ytdlp.media import MediaSite, Served, make_media, require_ffmpeg


@pytest.fixture(scope="session")
def media_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Served]:
    """Every generated media file by name (`clip.mp4`, `big.mp4`, `third.webm`,
    `hls/index.m3u8`, `hls/seg-N.ts`): path, size and sha256."""
    return make_media(tmp_path_factory.mktemp("media"), require_ffmpeg())


@pytest.fixture
def media_site(media_files: dict[str, Served]) -> Iterator[MediaSite]:
    """A running MediaSite over `media_files`, closed after the test."""
    with MediaSite(media_files) as site:
        yield site
