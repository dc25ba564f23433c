"""Video grabs through POST /api/v3/queue/grab and the playlist group endpoints: which
grabs become VIDEO items (and for which client), YouTube's URL forms deduplicated without
the network, a local three-video page expanded into a group that is listed, paused,
resumed and removed together, refusals that store nothing, and bulk lists mixing them.

The app here uses the real download-client registry (clients made through
/api/v3/downloadclient) and the real video router, with the URL guard on; the local media
site (tests/ytdlp/media.py) is on loopback, so private URLs are allowed unless a test
proves the refusal. Runs on memory, SQLite and Postgres."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from tests.api.conftest import Api, ApiFactory
from tests.api.test_downloadclient import aria2, as_fields, free_port
from tests.conftest import STORE_KINDS
from tests.ytdlp import conftest as ytdlp_fixtures
from tests.ytdlp.media import MediaSite

pytestmark = pytest.mark.parametrize("store", STORE_KINDS, indirect=True)

VIDEO = "dQw4w9WgXcQ"
WATCH = f"https://www.youtube.com/watch?v={VIDEO}"
OTHER_FORMS = [f"https://youtu.be/{VIDEO}", f"https://www.youtube.com/shorts/{VIDEO}",
               f"https://m.youtube.com/watch?v={VIDEO}&t=10"]
GRAB = "/api/v3/queue/grab"
GROUP = "/api/v3/queue/group"
YTDLP = "yt-dlp"
ARIA2 = "aria"

media_files = ytdlp_fixtures.media_files  # the local media site's fixtures, here too
media_site = ytdlp_fixtures.media_site
VideoApi = Callable[..., AbstractAsyncContextManager[Api]]


@pytest.fixture
def make_video_api(make_api: ApiFactory) -> VideoApi:
    """An app over the real client registry and video router, with the URL guard on."""

    def factory(allow_private: bool = True, playlist_max: int = 300
                ) -> AbstractAsyncContextManager[Api]:
        return make_api(real_clients=True, guard_urls=True, ytdlp="true",
                        allow_private_urls=allow_private, playlist_max=playlist_max)

    return factory


async def add_clients(api: Api, *, with_aria2: bool = True) -> None:
    """An API-made yt-dlp client (Radarr's lowest priority) and, unless told, an aria2."""
    made = [{"name": YTDLP, "implementation": "YtDlp", "configContract": "YtDlpSettings",
             "enable": True, "priority": 50, "tags": [], "fields": as_fields({"directory": ""})}]
    if with_aria2:
        made.append(aria2(ARIA2, port=free_port()))
    for body in made:
        response = await api.client.post("/api/v3/downloadclient", json=body,
                                          params={"forceSave": "true"})
        assert response.status_code == 201, response.text


@pytest.fixture
async def video_api(make_video_api: VideoApi) -> AsyncIterator[Api]:
    async with make_video_api() as running:
        await add_clients(running)
        yield running


def _loopback(host: Any) -> bool:
    if host in (None, "localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture
def no_internet(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every name lookup and connection off loopback raises (the test database and the
    local media site stay reachable); patched before the app is built, so yt-dlp's
    extractors are loaded under it."""
    lookup, connect, connect_ex = socket.getaddrinfo, socket.socket.connect, \
        socket.socket.connect_ex

    def guarded_lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _loopback(host):
            raise AssertionError(f"a name lookup was made: {host!r}")
        return lookup(host, *args, **kwargs)

    def check(address: Any) -> None:
        if isinstance(address, tuple) and not _loopback(address[0]):
            raise AssertionError(f"a connection was made: {address!r}")

    def guarded_connect(self: socket.socket, address: Any) -> None:
        check(address)
        connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return connect_ex(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", guarded_lookup)
    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    yield


async def grab(api: Api, url: str, expect: int = 201, **fields: Any) -> dict[str, Any]:
    response = await api.client.post(GRAB, json={"downloadUrl": url, **fields})
    assert response.status_code == expect, response.text
    body: dict[str, Any] = response.json()
    return body


async def queued_ids(api: Api) -> list[int]:
    page = await api.queue({"pageSize": 1000, "includeUnknownMovieItems": "true"})
    return sorted(r["id"] for r in page["records"])


# -- YouTube: one release whatever the URL form, decided offline -----------------------


@pytest.mark.parametrize("title", ["Never Gonna Give You Up", None], ids=["titled", "untitled"])
async def test_every_youtube_form_of_a_grabbed_video_is_a_duplicate_without_the_network(
        no_internet: None, make_video_api: VideoApi, title: str | None) -> None:
    async with make_video_api() as api:
        await add_clients(api)
        fields: dict[str, Any] = {"title": title} if title else {}
        first = await grab(api, WATCH, **fields)
        assert (first["source"], first["routedTo"]) == ("video", YTDLP)
        assert first["title"] == (title or f"youtube:{VIDEO}")
        for url in OTHER_FORMS:
            refused = await grab(api, url, expect=409, title="Another Name")
            assert refused["existingId"] == first["id"], (url, refused)
        assert await queued_ids(api) == [first["id"]]


# -- routing ------------------------------------------------------------------------


async def test_a_plain_file_goes_to_aria2_even_when_yt_dlp_is_there(
        video_api: Api, media_site: MediaSite) -> None:
    item = await grab(video_api, f"{media_site.url}/clip.mp4", title="Some.Clip.2020.mp4")
    assert (item["source"], item["routedTo"]) == ("http", ARIA2)


async def test_a_page_grabbed_for_yt_dlp_is_a_video_titled_as_the_page_says(
        video_api: Api, media_site: MediaSite) -> None:
    item = await grab(video_api, media_site.video_page_url, downloadClient=YTDLP)
    assert (item["source"], item["routedTo"]) == ("video", YTDLP)
    assert item["title"].startswith("A clip"), item  # yt-dlp's: "A clip (1)", not video.html


async def test_a_youtube_url_grabbed_for_aria2_stays_a_plain_file(
        no_internet: None, make_video_api: VideoApi) -> None:
    async with make_video_api() as api:
        await add_clients(api)
        item = await grab(api, WATCH, title="Watch.Page", downloadClient=ARIA2)
        assert (item["source"], item["routedTo"]) == ("http", ARIA2)


# -- playlists and their group ------------------------------------------------------


async def test_a_three_video_page_becomes_a_group_of_three_and_again_skips_all_three(
        video_api: Api, media_site: MediaSite) -> None:
    taken = await grab(video_api, media_site.three_videos_url, downloadClient=YTDLP)
    assert (len(taken["items"]), taken["skipped"], taken["overCap"]) == (3, [], 0)
    ids = [i["id"] for i in taken["items"]]
    assert {i["source"] for i in taken["items"]} == {"video"}
    assert {i["groupId"] for i in taken["items"]} == {taken["groupId"]}
    assert len({i["title"] for i in taken["items"]}) == 3

    group = await video_api.get_json(f"{GROUP}/{taken['groupId']}")
    assert (group["id"], group["url"]) == (taken["groupId"], media_site.three_videos_url)
    assert sorted(i["id"] for i in group["items"]) == sorted(ids)

    again = await grab(video_api, media_site.three_videos_url, expect=200,
                       downloadClient=YTDLP)
    assert (again["items"], again["overCap"]) == ([], 0)
    assert sorted(s["existingId"] for s in again["skipped"]) == sorted(ids)
    assert await queued_ids(video_api) == sorted(ids)


async def test_a_playlist_past_the_cap_queues_the_first_entries_and_counts_the_rest(
        make_video_api: VideoApi, media_site: MediaSite) -> None:
    async with make_video_api(playlist_max=2) as api:
        await add_clients(api)
        taken = await grab(api, media_site.three_videos_url, downloadClient=YTDLP)
        assert (len(taken["items"]), taken["skipped"], taken["overCap"]) == (2, [], 1)
        assert await queued_ids(api) == sorted(i["id"] for i in taken["items"])


async def test_a_group_is_paused_resumed_and_removed_together(
        video_api: Api, media_site: MediaSite) -> None:
    taken = await grab(video_api, media_site.three_videos_url, downloadClient=YTDLP)
    ids = sorted(i["id"] for i in taken["items"])
    url = f"{GROUP}/{taken['groupId']}"

    paused = await video_api.client.put(f"{url}/pause")
    assert paused.status_code == 200, paused.text
    assert sorted(paused.json()["ids"]) == ids
    assert {(await video_api.item(i)).state.value for i in ids} == {"paused"}
    again = await video_api.client.put(f"{url}/pause")
    assert again.json()["ids"] == []  # nothing left to pause

    resumed = await video_api.client.put(f"{url}/resume")
    assert resumed.status_code == 200, resumed.text
    assert sorted(resumed.json()["ids"]) == ids
    assert {(await video_api.item(i)).state.value for i in ids} == {"queued"}

    removed = await video_api.client.delete(url)
    assert removed.status_code == 200, removed.text
    assert sorted(removed.json()["ids"]) == ids
    assert await queued_ids(video_api) == []
    for i in ids:
        assert (await video_api.client.get(f"/api/v3/queue/{i}")).status_code == 404
    assert (await video_api.client.get(url)).status_code == 404


@pytest.mark.parametrize("method, action", [
    ("GET", ""), ("PUT", "/pause"), ("PUT", "/resume"), ("POST", "/retry"), ("DELETE", ""),
])
async def test_an_unknown_group_is_404(video_api: Api, method: str, action: str) -> None:
    response = await video_api.client.request(method, f"{GROUP}/9999{action}")
    assert response.status_code == 404, response.text
    assert response.json()["message"]


# -- refusals store nothing ---------------------------------------------------------


async def test_a_missing_page_for_yt_dlp_is_refused_with_a_message_and_nothing_stored(
        video_api: Api, media_site: MediaSite) -> None:
    refused = await grab(video_api, media_site.missing_url, expect=400, downloadClient=YTDLP)
    assert media_site.missing_url in refused["message"]
    assert await queued_ids(video_api) == []


@pytest.mark.parametrize("client", [YTDLP, None], ids=["named", "unnamed"])
async def test_a_loopback_page_is_refused_by_the_url_guard_unless_private_urls_are_allowed(
        make_video_api: VideoApi, media_site: MediaSite, client: str | None) -> None:
    async with make_video_api(allow_private=False) as api:
        await add_clients(api)
        fields = {"downloadClient": client} if client else {}
        for url in (media_site.video_page_url, media_site.three_videos_url):
            refused = await grab(api, url, expect=400, **fields)
            assert "QUEUARR_ALLOW_PRIVATE_URLS" in refused["message"], refused
        assert await queued_ids(api) == []
        assert not [r for r in media_site.requests if r[1].endswith(".html")]


# -- bulk lists ---------------------------------------------------------------------


async def bulk(api: Api, lines: list[str], expect: int = 201) -> dict[str, Any]:
    response = await api.client.post(GRAB, content="\n".join(lines).encode(),
                                     headers={"Content-Type": "text/plain"})
    assert response.status_code == expect, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_bulk_list_dedups_youtube_forms_and_refuses_junk_line_by_line(
        no_internet: None, make_video_api: VideoApi) -> None:
    async with make_video_api() as api:
        await add_clients(api)
        body = await bulk(api, [WATCH, "", f"https://youtu.be/{VIDEO}", "not a link at all",
                                OTHER_FORMS[2]])
        assert (body["queued"], body["duplicates"], body["refused"]) == (1, 2, 1), body
        video, duplicate, junk, another = body["results"]
        assert [r["line"] for r in body["results"]] == [1, 3, 4, 5]
        assert video["result"] == "queued" and "groupId" not in video
        for same in (duplicate, another):
            assert (same["result"], same["existingId"]) == ("duplicate", video["id"]), same
        assert junk["result"] == "refused" and junk["message"]
        assert await queued_ids(api) == [video["id"]]
        item = await api.item(video["id"])
        assert (item.source.value, item.title) == ("video", f"youtube:{VIDEO}")
        assert api.container.queue.routed_to(item) == YTDLP


async def test_a_bulk_list_expands_a_playlist_page_when_only_yt_dlp_takes_pages(
        no_internet: None, make_video_api: VideoApi, media_site: MediaSite) -> None:
    """The brief's bulk case: a list cannot name a client, so the local page (yt-dlp's
    generic extractor) must be expanded when yt-dlp is the only client for http URLs."""
    async with make_video_api() as api:
        await add_clients(api, with_aria2=False)
        body = await bulk(api, [media_site.three_videos_url, WATCH, f"https://youtu.be/{VIDEO}",
                                "junk"])
        playlist, video, duplicate, junk = body["results"]
        assert playlist["result"] == "queued" and len(playlist.get("ids", [])) == 3, playlist
        assert playlist["id"] == playlist["ids"][0] and playlist["skipped"] == 0
        group = await api.get_json(f"{GROUP}/{playlist['groupId']}")
        assert sorted(i["id"] for i in group["items"]) == sorted(playlist["ids"])
        assert (duplicate["result"], duplicate["existingId"]) == ("duplicate", video["id"])
        assert junk["result"] == "refused"
        assert await queued_ids(api) == sorted([*playlist["ids"], video["id"]])


# -- the yt-dlp client resource -----------------------------------------------------


async def test_the_yt_dlp_schema_template_filled_in_can_be_posted_back(video_api: Api) -> None:
    """Radarr's UI posts a template from /schema back as it is (protocol included)."""
    templates = await video_api.get_json("/api/v3/downloadclient/schema")
    template = next(t for t in templates if t["implementation"] == "YtDlp")
    response = await video_api.client.post("/api/v3/downloadclient",
                                           json={**template, "name": "videos"},
                                           params={"forceSave": "true"})
    assert response.status_code == 201, response.text
