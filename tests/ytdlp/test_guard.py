"""SSRF through yt-dlp: a public page that redirects into loopback. The real worker runs
on a pretend internet (pretend_net.py) where `videos.example` is a public address
carried to the local video site; the redirect's target is an internal server on
127.0.0.1 that must never be asked anything."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.clients import ClientState
from core.ports import DownloadStatus
from infrastructure.ytdlp.client import YtDlpClient
from infrastructure.ytdlp.config import ensure_directories
from infrastructure.ytdlp.guard import REFUSED
from tests.clients.harness import eventually
from tests.pretend_net import Site, site
from tests.ytdlp.media import MediaSite
from tests.ytdlp.test_client import finished, status_of, video, ytdlp_config

PUBLIC = "93.184.216.34"  # what videos.example resolves to on the pretend internet
PRETEND_WORKER = (sys.executable, "-m", "tests.ytdlp.pretend_net", "-m",
                  "infrastructure.ytdlp.worker")


@pytest.fixture
def internal() -> Iterator[Site]:
    with site() as s:
        s.routes["/"] = (200, {"Content-Type": "text/html"}, b"<title>internal</title>")
        yield s


@pytest.fixture
def redirect_page(media_site: MediaSite, internal: Site,
                  monkeypatch: pytest.MonkeyPatch) -> str:
    """A URL on the pretend public host that answers 302 to the internal server."""
    port = int(media_site.url.rsplit(":", 1)[1])
    monkeypatch.setenv("QUEUARR_PRETEND_NET", json.dumps(
        {"dns": {"videos.example": PUBLIC}, "routes": {PUBLIC: port}}))
    path = media_site.redirect_url(internal.url("/")).removeprefix(media_site.url)
    return f"http://videos.example{path}"


async def outcome(tmp_path: Path, url: str, allow_private: bool) -> DownloadStatus:
    """How the download of `url` ends, with the pretend worker."""
    config = ytdlp_config(tmp_path, allow_private=allow_private, worker_command=PRETEND_WORKER)
    ensure_directories(config)
    client = YtDlpClient("yt-dlp", config)
    try:
        download_id = await client.add(video(url), None)
        status = await eventually(lambda: status_of(client, download_id),
                                  lambda s: s is not None and finished(s), "the end", 60)
    finally:
        await client.shutdown()
    assert status is not None
    return status


async def test_a_redirect_into_loopback_is_refused_and_nothing_reaches_it(
        tmp_path: Path, media_site: MediaSite, internal: Site, redirect_page: str) -> None:
    status = await outcome(tmp_path, redirect_page, allow_private=False)
    assert status.state is ClientState.FAILED and status.permanent, status
    assert status.error is not None and REFUSED in status.error
    assert internal.hits == []
    assert [p for _, p, _ in media_site.requests if p.startswith("/redirect/")]  # hop one


async def test_with_private_urls_allowed_the_redirect_is_followed(
        tmp_path: Path, media_site: MediaSite, internal: Site, redirect_page: str) -> None:
    """The control: the same chain reaches the internal server once the guard is off."""
    await outcome(tmp_path, redirect_page, allow_private=True)
    assert internal.hits and {path for _, _, path in internal.hits} == {"/"}
