"""Which URLs are a video site's, and their dedup keys, read from the URL alone: with every
network call made to fail, YouTube's URL forms still give one key."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any, NoReturn

import pytest

from core.videos import VideoMatch
from infrastructure.ytdlp import sites
from infrastructure.ytdlp.sites import YtDlpSites, key_of

VIDEO = "dQw4w9WgXcQ"
LIST = "PLBCF2DAC6FFB574DE"


def _no_network(*args: Any, **kwargs: Any) -> NoReturn:
    raise AssertionError(f"a network call was made: {args!r}")


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[YtDlpSites]:
    """A fresh YtDlpSites (its extractors loaded under the patch) with no network at all."""
    monkeypatch.setattr(socket, "getaddrinfo", _no_network)
    monkeypatch.setattr(socket.socket, "connect", _no_network)
    monkeypatch.setattr(socket, "create_connection", _no_network)
    yield YtDlpSites()


@pytest.mark.parametrize("url", [
    f"https://www.youtube.com/watch?v={VIDEO}",
    f"https://youtu.be/{VIDEO}",
    f"https://www.youtube.com/shorts/{VIDEO}",
    f"https://m.youtube.com/watch?v={VIDEO}&t=10",
])
def test_every_youtube_form_of_a_video_has_the_same_key_offline(
        offline: YtDlpSites, url: str) -> None:
    assert offline.match(url) == VideoMatch("Youtube", f"youtube:{VIDEO}", False, url)


def test_a_vimeo_video_is_keyed_by_its_id(offline: YtDlpSites) -> None:
    match = offline.match("https://vimeo.com/76979871")
    assert match is not None
    assert (match.extractor, match.key, match.playlist) == ("Vimeo", "vimeo:76979871", False)


@pytest.mark.parametrize("url", [
    f"https://www.youtube.com/playlist?list={LIST}",
    "https://www.youtube.com/@SomeChannel",
    "https://vimeo.com/channels/staffpicks",
])
def test_a_playlist_or_channel_url_may_be_a_playlist(offline: YtDlpSites, url: str) -> None:
    match = offline.match(url)
    assert match is not None and match.playlist


@pytest.mark.parametrize("url, alone", [
    (f"https://www.youtube.com/watch?v={VIDEO}&list={LIST}&index=2",
     f"https://www.youtube.com/watch?v={VIDEO}"),
    (f"https://youtu.be/{VIDEO}?list={LIST}", f"https://youtu.be/{VIDEO}"),
])
def test_a_video_url_naming_a_playlist_is_the_video_alone_unless_the_list_is_asked_for(
        offline: YtDlpSites, url: str, alone: str) -> None:
    assert offline.match(url) == VideoMatch("Youtube", f"youtube:{VIDEO}", False, alone)
    listed = offline.match(url, playlist=True)
    assert listed is not None and listed.playlist and listed.url == url
    assert listed.key != f"youtube:{VIDEO}"


@pytest.mark.parametrize("url", [
    "http://example.com/file.mp4",
    "https://example.com/",
    "http://127.0.0.1:8080/video.html",
    "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567",
    "not a url at all",
    VIDEO,  # a bare id: YouTube's extractor takes it, but it is no link
    "ytsearch:never gonna give you up",
    "",
])
def test_what_only_the_generic_extractor_or_nothing_claims_is_no_site(
        offline: YtDlpSites, url: str) -> None:
    assert offline.match(url) is None


def test_the_extractors_are_loaded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from yt_dlp import extractor

    loads: list[int] = []
    real = extractor.gen_extractor_classes

    def counting() -> list[Any]:
        loads.append(1)
        return list(real())

    monkeypatch.setattr(extractor, "gen_extractor_classes", counting)
    found = YtDlpSites()
    found.match(f"https://youtu.be/{VIDEO}")
    found.match("https://vimeo.com/76979871")
    assert loads == [1]


def test_the_module_imports_without_ytdlp_and_says_it_is_not_available() -> None:
    code = ("import sys; sys.modules['yt_dlp'] = None\n"
            "import infrastructure.ytdlp.sites as s; print(s.available())")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert run.stdout.strip() == "False"
    assert sites.available()


def test_an_extracted_video_is_keyed_by_its_extractor_and_id() -> None:
    assert key_of({"extractor_key": "Youtube", "id": VIDEO, "title": "x"}) == f"youtube:{VIDEO}"


def test_a_flat_playlist_entry_is_keyed_by_its_extractor_and_id() -> None:
    entry = {"_type": "url", "ie_key": "Youtube", "id": VIDEO,
             "url": f"https://www.youtube.com/watch?v={VIDEO}"}
    assert key_of(entry) == f"youtube:{VIDEO}"


def test_a_generic_video_is_keyed_by_its_media_url_not_its_name_made_id() -> None:
    # The generic extractors' ids are a page's or a file's name: two sites' "video-1" are not
    # one video.
    first = {"extractor_key": "HTML5MediaEmbed", "id": "video-1",
             "url": "http://a.example/clip.mp4", "webpage_url": "http://a.example/video.html"}
    second = {**first, "url": "http://b.example/clip.mp4"}
    assert key_of(first) == "generic:http://a.example/clip.mp4"
    assert key_of(second) != key_of(first)


def test_an_info_without_extractor_or_id_has_no_key() -> None:
    assert key_of({"id": VIDEO}) is None
    assert key_of({"extractor_key": "Youtube"}) is None
