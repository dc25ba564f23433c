"""The probe against the local video site: what a page holds (one video, a playlist, capped),
each entry downloadable on its own, and failures split into refused (never) and unavailable
(maybe later), the private-address guard's refusals included, through a redirect too."""

from __future__ import annotations

import io
import json
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from yt_dlp.networking import Response
from yt_dlp.networking.exceptions import HTTPError
from yt_dlp.utils import DownloadError, ExtractorError

from core.errors import SourceRefused, SourceUnavailable
from infrastructure.ytdlp.failures import classify
from infrastructure.ytdlp.guard import REFUSED
from infrastructure.ytdlp.probe import Prober
from tests.ytdlp import pretend_net
from tests.ytdlp.media import MediaSite

PUBLIC_NAME = "videos.pretend.example"
PRETEND_ADDRESS = "93.184.215.14"  # public; never connected to: carried to 127.0.0.1


def loopback() -> Prober:
    return Prober(allow_private=True)


async def test_the_three_videos_page_is_a_playlist_of_three_distinct_entries(
        media_site: MediaSite) -> None:
    listing = await loopback().probe(media_site.three_videos_url, 10)
    assert listing.playlist and listing.found == 3
    assert len(listing.entries) == 3
    assert len({e.url for e in listing.entries}) == 3
    assert len({e.key for e in listing.entries}) == 3 and None not in {e.key for e in
                                                                       listing.entries}


async def test_each_entry_probed_on_its_own_is_that_single_video(
        media_site: MediaSite) -> None:
    listing = await loopback().probe(media_site.three_videos_url, 10)
    for entry in listing.entries:
        alone = await loopback().probe(entry.url, 10)
        assert not alone.playlist and alone.found == 1
        assert [e.key for e in alone.entries] == [entry.key]


async def test_the_video_page_is_one_video_with_its_key(media_site: MediaSite) -> None:
    listing = await loopback().probe(media_site.video_page_url, 10)
    assert not listing.playlist and listing.found == 1
    (entry,) = listing.entries
    assert entry.key is not None and entry.key == listing.key
    assert entry.title == listing.title and listing.title is not None
    # The same file on another page is the same video.
    three = await loopback().probe(media_site.three_videos_url, 10)
    assert entry.key in {e.key for e in three.entries}


async def test_the_cap_keeps_the_first_entries_and_counts_them_all(
        media_site: MediaSite) -> None:
    listing = await loopback().probe(media_site.three_videos_url, 2)
    assert len(listing.entries) == 2 and listing.found == 3
    full = await loopback().probe(media_site.three_videos_url, 10)
    assert listing.entries == full.entries[:2]


async def test_a_missing_page_is_refused(media_site: MediaSite) -> None:
    with pytest.raises(SourceRefused, match="404"):
        await loopback().probe(media_site.missing_url, 10)


async def test_the_guard_refuses_the_loopback_site_when_private_urls_are_not_allowed(
        media_site: MediaSite) -> None:
    with pytest.raises(SourceRefused, match=REFUSED):
        await Prober(allow_private=False).probe(media_site.video_page_url, 10)
    assert media_site.requests == []


@pytest.fixture
def behind_pretend_dns(monkeypatch: pytest.MonkeyPatch) -> Callable[[], Prober]:
    """Guarded probers to which PUBLIC_NAME is a public address that is the local site."""
    monkeypatch.setenv(pretend_net.TABLE, json.dumps(
        {"dns": {PUBLIC_NAME: PRETEND_ADDRESS}, "routes": {PRETEND_ADDRESS: None}}))
    return lambda: Prober(allow_private=False, python_command=(
        sys.executable, "-m", "tests.ytdlp.pretend_net"))


def public(media_site: MediaSite, url: str) -> str:
    return url.replace("127.0.0.1", PUBLIC_NAME, 1)


async def test_a_page_on_a_public_address_passes_the_guard(
        media_site: MediaSite, behind_pretend_dns: Callable[[], Prober]) -> None:
    listing = await behind_pretend_dns().probe(public(media_site, media_site.video_page_url), 5)
    assert not listing.playlist and len(listing.entries) == 1


async def test_a_redirect_from_a_public_address_to_loopback_is_refused(
        media_site: MediaSite, behind_pretend_dns: Callable[[], Prober]) -> None:
    hop = public(media_site, media_site.redirect_url(media_site.video_page_url))
    with pytest.raises(SourceRefused, match=REFUSED):
        await behind_pretend_dns().probe(hop, 5)
    paths = [path for _, path, _ in media_site.requests]
    assert any(p.startswith("/redirect/") for p in paths)  # the first hop was fetched
    assert "/video.html" not in paths  # the redirect's target never was


async def test_a_server_that_refuses_connections_is_unavailable_not_refused() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(SourceUnavailable, match="Connection refused"):
        await loopback().probe(f"http://127.0.0.1:{port}/video.html", 5)


async def test_a_probe_past_its_time_limit_is_killed_and_unavailable(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    hang = ("import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); "
            "time.sleep(600)")
    prober = Prober(allow_private=True, timeout=2,
                    python_command=(sys.executable, "-c", hang, str(pid_file)))
    with pytest.raises(SourceUnavailable, match="more than 2 s"):
        await prober.probe("http://127.0.0.1:9/", 5)
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


async def test_a_probe_that_dies_without_an_answer_is_unavailable() -> None:
    prober = Prober(allow_private=True, python_command=(
        sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"))
    with pytest.raises(SourceUnavailable, match=r"exit 3.*boom"):
        await prober.probe("http://127.0.0.1:9/", 5)


def http_error(status: int) -> DownloadError:
    response = Response(io.BytesIO(b""), "https://videos.example/watch", {}, status=status)
    cause = HTTPError(response)
    return DownloadError(f"ERROR: Unable to download webpage: {cause}",
                         (HTTPError, cause, None))


@pytest.mark.parametrize("status, permanent", [
    (404, True), (410, True), (403, False), (500, False), (503, False), (429, False),
])
def test_http_failures_are_permanent_unless_the_server_or_throttling_may_pass(
        status: int, permanent: bool) -> None:
    assert classify(http_error(status))[1] is permanent


def test_a_sites_expected_error_is_permanent_and_an_unexpected_one_is_not() -> None:
    private = ExtractorError("Private video. Sign in if you've been granted access",
                             expected=True)
    changed = ExtractorError("Unable to extract initial data")
    assert classify(DownloadError(str(private), (ExtractorError, private, None))) == (
        "Private video. Sign in if you've been granted access", True)
    assert classify(DownloadError(str(changed), (ExtractorError, changed, None)))[1] is False
