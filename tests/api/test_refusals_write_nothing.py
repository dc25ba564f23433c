"""Bad input that used to be a 500 is a 400 with a message, and nothing is written, on
every store: sizes past what a BIGINT holds (a magnet's xl, a .torrent's length), a
bencoded string longer than the file, and NUL characters (which Postgres refuses in a
text column) in the names of movies, custom formats, quality profiles, notifications,
download clients and pushed releases."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.api.conftest import Api, magnet
from tests.conftest import STORE_KINDS

pytestmark = pytest.mark.parametrize("store", STORE_KINDS, indirect=True)

LISTS = ("/api/v3/queue/details", "/api/v3/customformat", "/api/v3/qualityprofile",
         "/api/v3/notification", "/api/v3/downloadclient", "/api/v3/blocklist")
NUL = "a\x00b"


def torrent(length: int) -> str:
    """A single-file .torrent of `length` bytes, with as many pieces as that needs."""
    piece = 2**62
    count = -(-length // piece)
    info = (b"d6:lengthi%de4:name5:x.mkv12:piece lengthi%de6:pieces%d:" % (
        length, piece, 20 * count) + b"p" * 20 * count + b"e")
    return base64.b64encode(b"d4:info" + info + b"e").decode()


def aria2(name: str) -> dict[str, Any]:
    return {"name": name, "implementation": "Aria2", "configContract": "Aria2Settings",
            "protocol": "torrent", "enable": True, "priority": 1, "tags": [],
            "removeCompletedDownloads": True, "removeFailedDownloads": True,
            "fields": [{"name": "host", "value": "127.0.0.1"}, {"name": "port", "value": 6800},
                       {"name": "secretToken", "value": "an-aria2-secret"}]}


REFUSED: dict[str, tuple[str, Any, str]] = {
    "magnet xl of 20 digits": ("/api/v3/queue/grab", {
        "downloadUrl": magnet("Xl.2020") + "&xl=99999999999999999999"},
        "larger than 9223372036854775807 bytes"),
    "magnet xl of 5,000 digits": ("/api/v3/queue/grab", {
        "downloadUrl": magnet("Xl.2021") + "&xl=" + "9" * 5000},
        "larger than 9223372036854775807 bytes"),
    "torrent of 2^64 bytes": ("/api/v3/queue/grab", {"torrentFile": torrent(2**64)},
                              "total size must be between 0 and 9223372036854775807"),
    "bencoded string of 999999999999 bytes": ("/api/v3/queue/grab", {
        "torrentFile": base64.b64encode(b"d4:infod4:name999999999999:abcee").decode()},
        "runs past the end of the file"),
    "NUL in a movie title": ("/api/v3/queue/grab", {
        "downloadUrl": magnet("Nul.2020"), "movie": {"title": NUL}},
        "movie's title must not contain NUL"),
    "NUL in a custom format name": ("/api/v3/customformat", {
        "name": NUL, "specifications": []}, "custom format's name must not contain NUL"),
    "NUL in a specification name": ("/api/v3/customformat", {
        "name": "f", "specifications": [{"name": NUL, "implementation":
                                         "ReleaseTitleSpecification",
                                         "fields": {"value": "x"}}]},
        "must not contain NUL"),
    "NUL in a notification name": ("/api/v3/notification", {
        "name": NUL, "url": "http://127.0.0.1:9/hook"},
        "notification's name must not contain NUL"),
    "NUL in a download client name": ("/api/v3/downloadclient?forceSave=true", aria2(NUL),
                                      "download client's name must not contain NUL"),
    "NUL in a pushed release's link": ("/api/v3/release/push", {
        "title": "Push.2022.1080p.WEB-DL-GRP", "movieId": 5,
        "downloadUrl": "http://indexer.example/a\x00b.torrent"},
        "release's downloadUrl must not contain NUL"),
    "NUL in a pushed release's title": ("/api/v3/release/push", {
        "title": "Push.2022.1080p\x00", "movieId": 5, "magnetUrl": magnet("Push.2022")},
        "release's title must not contain NUL"),
    "NUL in a candidate's title": ("/api/v3/queue/grab", {
        "movieId": 5, "releases": [{"title": "Cand.2020.1080p\x00",
                                    "magnetUrl": magnet("Cand.2020")}]},
        "release's title must not contain NUL"),
}


async def everything(api: Api) -> dict[str, Any]:
    seen = {path: await api.get_json(path) for path in LISTS}
    seen["candidates"] = [c.release for c in await api.store.candidates.for_movie("movie:5")]
    return seen


@pytest.mark.parametrize("case", list(REFUSED))
async def test_bad_input_is_a_400_with_a_message_and_writes_nothing(api: Api,
                                                                      case: str) -> None:
    path, body, message = REFUSED[case]
    before = await everything(api)

    response = await api.client.post(path, json=body)

    assert response.status_code == 400, response.text
    assert message in response.json()["message"]
    assert await everything(api) == before


async def test_a_nul_in_a_quality_profile_name_is_a_400_and_writes_nothing(api: Api) -> None:
    template = await api.get_json("/api/v3/qualityprofile/schema")
    template.update(name=NUL, cutoff=template["items"][-1]["quality"]["id"])
    template["items"][-1]["allowed"] = True
    before = await everything(api)

    response = await api.client.post("/api/v3/qualityprofile", json=template)

    assert response.status_code == 400, response.text
    assert "quality profile's name must not contain NUL" in response.json()["message"]
    assert await everything(api) == before
