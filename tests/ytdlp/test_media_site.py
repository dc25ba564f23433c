"""The local video site itself: the media it serves, its HTTP answers (Range, 404, redirect,
the dropped and the throttled transfer), and what yt-dlp's generic extractor makes of it."""

from __future__ import annotations

import hashlib
import http.client
import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yt_dlp

from tests.ytdlp.media import MediaSite, Served, require_ffmpeg

YTDLP_QUIET = {"quiet": True, "no_warnings": True, "noprogress": True, "cachedir": False}


def request(url: str, method: str = "GET", headers: dict[str, str] | None = None
            ) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request on its own connection: status, headers, the whole body."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=30)
    try:
        connection.request(method, parts.path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def probe(ffmpeg: str, path: Path) -> dict[str, Any]:
    done = subprocess.run([str(Path(ffmpeg).with_name("ffprobe")), "-v", "error",
                           "-show_streams", "-show_format", "-of", "json", str(path)],
                          capture_output=True, text=True, check=True, timeout=30)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def extract(url: str) -> dict[str, Any]:
    with yt_dlp.YoutubeDL(dict(YTDLP_QUIET)) as ydl:
        info = ydl.extract_info(url, download=False)
    assert info is not None
    return dict(ydl.sanitize_info(info))


# The media ------------------------------------------------------------------------------


def test_the_clip_is_a_small_h264_and_aac_video_of_320x240(media_files: dict[str, Served]
                                                           ) -> None:
    clip = media_files["clip.mp4"]
    streams = {s["codec_type"]: s for s in probe(require_ffmpeg(), clip.path)["streams"]}
    assert streams["video"]["codec_name"] == "h264"
    assert (streams["video"]["width"], streams["video"]["height"]) == (320, 240)
    assert streams["audio"]["codec_name"] == "aac"
    assert 100_000 <= clip.size <= 300_000


def test_the_big_clip_is_at_least_four_megabytes(media_files: dict[str, Served]) -> None:
    assert media_files["big.mp4"].size >= 4_000_000


def test_the_three_videos_and_the_hls_segments_are_distinct_files(
        media_files: dict[str, Served]) -> None:
    segments = [name for name in media_files if name.startswith("hls/seg-")]
    assert len(segments) >= 4
    assert "hls/index.m3u8" in media_files
    videos = [media_files[name] for name in ("clip.mp4", "big.mp4", "third.webm")]
    assert len({video.sha256 for video in videos}) == 3
    for served in media_files.values():
        assert hashlib.sha256(served.path.read_bytes()).hexdigest() == served.sha256


# HTTP -----------------------------------------------------------------------------------


def test_a_range_request_gets_206_and_just_those_bytes(media_site: MediaSite) -> None:
    clip = media_site.files["clip.mp4"]
    status, headers, body = request(f"{media_site.url}/clip.mp4",
                                    headers={"Range": "bytes=100-1123"})
    assert status == 206
    assert headers["Content-Range"] == f"bytes 100-1123/{clip.size}"
    assert headers["Content-Type"] == "video/mp4"
    assert body == clip.path.read_bytes()[100:1124]
    assert media_site.requests == [("GET", "/clip.mp4", "bytes=100-1123")]


def test_a_range_past_the_end_is_416(media_site: MediaSite) -> None:
    size = media_site.files["clip.mp4"].size
    status, headers, _ = request(f"{media_site.url}/clip.mp4",
                                 headers={"Range": f"bytes={size}-"})
    assert status == 416
    assert headers["Content-Range"] == f"bytes */{size}"


@pytest.mark.parametrize(("path", "content_type"), [
    ("/clip.mp4", "video/mp4"), ("/third.webm", "video/webm"),
    ("/hls/index.m3u8", "application/vnd.apple.mpegurl"), ("/hls/seg-0.ts", "video/mp2t"),
    ("/video.html", "text/html; charset=utf-8"),
])
def test_head_answers_the_length_and_type_without_a_body(media_site: MediaSite, path: str,
                                                         content_type: str) -> None:
    status, headers, body = request(media_site.url + path, method="HEAD")
    assert (status, headers["Content-Type"], body) == (200, content_type, b"")
    if path != "/video.html":
        assert int(headers["Content-Length"]) == media_site.files[path[1:]].size


def test_the_missing_page_is_404(media_site: MediaSite) -> None:
    assert request(media_site.missing_url)[0] == 404


def test_a_redirect_answers_302_to_its_target(media_site: MediaSite) -> None:
    status, headers, _ = request(media_site.redirect_url(media_site.video_page_url))
    assert (status, headers["Location"]) == (302, media_site.video_page_url)


def test_an_added_page_is_served_with_its_title(media_site: MediaSite) -> None:
    url = media_site.page("Ad hoc", '<video src="clip.mp4"></video>')
    status, _, body = request(url)
    assert status == 200
    assert b"<title>Ad hoc</title>" in body and b'<video src="clip.mp4">' in body


def test_the_first_full_get_of_the_dropping_file_is_cut_short_and_the_next_is_whole(
        media_site: MediaSite) -> None:
    clip = media_site.files["clip.mp4"]
    path = f"{media_site.url}/drop/clip.mp4"  # the video of dropping_url
    assert request(path, headers={"Range": "bytes=10-19"})[0] == 206  # does not use it up
    parts = urlsplit(path)
    connection = http.client.HTTPConnection(parts.netloc, timeout=30)
    try:
        connection.request("GET", parts.path)
        response = connection.getresponse()
        assert int(response.headers["Content-Length"]) == clip.size
        with pytest.raises(http.client.IncompleteRead) as cut:
            response.read()
    finally:
        connection.close()
    assert 0 < len(cut.value.partial) < clip.size
    assert request(path)[2] == clip.path.read_bytes()

    media_site.reset_drop()
    with pytest.raises(http.client.IncompleteRead):
        request(path)


def test_the_slow_file_arrives_whole_in_paced_writes(media_site: MediaSite) -> None:
    media_site.slow_rate = 64 * 1024  # sixteen writes a second: 4 KiB each
    status, _, body = request(f"{media_site.url}/slow/clip.mp4",
                              headers={"Range": "bytes=0-32767"})
    assert status == 206
    assert body == media_site.files["clip.mp4"].path.read_bytes()[:32768]
    assert media_site.slow_writes >= 8


def test_closing_the_site_cuts_a_throttled_transfer(media_site: MediaSite) -> None:
    media_site.slow_rate = 1024  # the whole file would take hours
    parts = urlsplit(media_site.url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=30)
    try:
        connection.request("GET", "/slow/big.mp4")
        response = connection.getresponse()
        assert response.read(10) == media_site.files["big.mp4"].path.read_bytes()[:10]
        media_site.close()
        with pytest.raises(http.client.IncompleteRead):
            response.read()
    finally:
        connection.close()


# What yt-dlp sees -----------------------------------------------------------------------


def test_ytdlp_finds_the_one_video_of_the_video_page(media_site: MediaSite) -> None:
    info = extract(media_site.video_page_url)
    assert info.get("_type", "video") == "video"
    assert [f["url"] for f in info["formats"]] == [f"{media_site.url}/clip.mp4"]
    assert info["title"].startswith("A clip")  # yt-dlp numbers it: "A clip (1)"


def test_ytdlp_finds_a_playlist_of_three_on_the_three_videos_page(media_site: MediaSite
                                                                   ) -> None:
    info = extract(media_site.three_videos_url)
    assert info["_type"] == "playlist"
    urls = [entry["url"] for entry in info["entries"]]
    assert urls == [f"{media_site.url}/{name}" for name in ("clip.mp4", "big.mp4", "third.webm")]


@pytest.mark.parametrize("which", ["hls_url", "hls_page_url"])
def test_ytdlp_finds_an_hls_format(media_site: MediaSite, which: str) -> None:
    info = extract(getattr(media_site, which))
    assert [(f["url"], f["protocol"]) for f in info["formats"]] == [
        (media_site.hls_url, "m3u8_native")]


def test_ytdlp_with_retries_resumes_the_dropped_transfer_to_a_whole_file(
        media_site: MediaSite, tmp_path: Path) -> None:
    # yt-dlp's API default is no retry (the command line's is 10): a drop is then fatal.
    options = {**YTDLP_QUIET, "retries": 3, "outtmpl": str(tmp_path / "%(id)s.%(ext)s")}
    with yt_dlp.YoutubeDL(options) as ydl:
        ydl.extract_info(media_site.dropping_url, download=True)
    [downloaded] = list(tmp_path.iterdir())
    clip = media_site.files["clip.mp4"]
    assert hashlib.sha256(downloaded.read_bytes()).hexdigest() == clip.sha256
    file_requests = [r for r in media_site.requests if r[1] == "/drop/clip.mp4"]
    assert file_requests[0] == ("GET", "/drop/clip.mp4", None)
    assert file_requests[1][2] is not None and file_requests[1][2].startswith("bytes=")
