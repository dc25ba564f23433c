"""Video downloads end to end: a live `queuarr serve` with its yt-dlp client (no aria2)
grabs pages of the local media site (tests/ytdlp/media.py) through the API, its processor
sends them to yt-dlp, and the files on disk are the served ones, byte for byte."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import LiveServer, start_server, stop_server
from tests.ytdlp import conftest as ytdlp_fixtures
from tests.ytdlp.media import CLIP, MediaSite, Served

media_files = ytdlp_fixtures.media_files  # the local media site's fixtures, here too
media_site = ytdlp_fixtures.media_site
ENV = {"QUEUARR_MANAGED_ARIA2": "false", "QUEUARR_YTDLP": "true",
       "QUEUARR_ALLOW_PRIVATE_URLS": "true", "QUEUARR_SYNC_INTERVAL": "1",
       "QUEUARR_DISPATCH_INTERVAL": "1", "QUEUARR_RETRY_DELAYS": "0,0,0"}
DEADLINE = 90.0  # seconds for every download of a test to complete


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    process, live = start_server(tmp_path, ENV)
    try:
        yield live
    finally:
        stop_server(process)


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"X-Api-Key": server.api_key},
                      timeout=30) as client:
        yield client


def grab(http: httpx.Client, url: str) -> dict[str, Any]:
    response = http.post("/api/v3/queue/grab", json={"downloadUrl": url,
                                                     "downloadClient": "yt-dlp"})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def settled(http: httpx.Client, ids: list[int], server: LiveServer,
            done: Callable[[dict[str, Any]], bool] = lambda i: i["queueState"] == "completed"
            ) -> list[dict[str, Any]]:
    """Poll the items until each is `done`, or fail (with their states) at the deadline."""
    deadline = time.monotonic() + DEADLINE
    while True:
        items = [http.get(f"/api/v3/queue/{i}").raise_for_status().json() for i in ids]
        if all(done(i) for i in items):
            return items
        if time.monotonic() > deadline or any(i["queueState"] == "failed" for i in items):
            states = [(i["id"], i["queueState"], i.get("errorMessage")) for i in items]
            raise AssertionError(f"not completed: {states}\n{server.log.read_text()[-4000:]}")
        time.sleep(0.25)


def sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def assert_downloaded(item: dict[str, Any], server: LiveServer, served: Served) -> None:
    output = Path(item["outputPath"])
    assert output.is_relative_to((server.data_dir / "downloads").resolve()), output
    assert sha256(str(output)) == served.sha256, item


def test_a_video_page_is_downloaded_by_yt_dlp_to_the_served_bytes(
        server: LiveServer, http: httpx.Client, media_site: MediaSite) -> None:
    item = grab(http, media_site.video_page_url)
    assert (item["source"], item["routedTo"]) == ("video", "yt-dlp")
    (done,) = settled(http, [item["id"]], server)
    assert done["downloadClient"] == "yt-dlp" and done["sizeleft"] == 0
    assert_downloaded(done, server, media_site.files[CLIP])


def test_a_three_video_page_is_downloaded_as_three_items(
        server: LiveServer, http: httpx.Client, media_site: MediaSite) -> None:
    taken = grab(http, media_site.three_videos_url)
    ids = [i["id"] for i in taken["items"]]
    assert len(ids) == 3, taken
    done = settled(http, ids, server)
    assert sorted(sha256(i["outputPath"]) for i in done) == sorted(
        media_site.files[name].sha256 for name in ("clip.mp4", "big.mp4", "third.webm"))
    for item in done:
        assert Path(item["outputPath"]).is_relative_to(
            (server.data_dir / "downloads").resolve()), item


def test_a_transfer_dropped_half_way_is_resumed_to_the_whole_file(
        server: LiveServer, http: httpx.Client, media_site: MediaSite) -> None:
    """yt-dlp's own retries (3 within an attempt) resume the one drop, so the processor's
    retry is not what is seen here (tests/ytdlp/test_client.py covers that path)."""
    item = grab(http, media_site.dropping_url)
    (done,) = settled(http, [item["id"]], server)
    assert_downloaded(done, server, media_site.files[CLIP])
    gets = [r[2] for r in media_site.requests if r[:2] == ("GET", "/drop/clip.mp4")]
    assert len(gets) >= 2 and gets[0] in (None, "bytes=0-"), gets
    assert gets[1] is not None and not gets[1].startswith("bytes=0-"), gets  # resumed
