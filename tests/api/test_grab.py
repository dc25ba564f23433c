"""Queuarr's own POST /api/v3/queue/grab: adding a release by magnet, .torrent (base64 or
multipart upload) or URL. The 201 body is a QueueResource, so it goes through Radarr's
schema like every queue record."""

from __future__ import annotations

import base64
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.domain import ItemState
from tests.api.conftest import Api, ApiFactory, as_listed, info_hash, magnet, make_torrent
from tests.api.failures import failure_pairs
from tests.api.radarr_schema import validate_queue_resource

GRAB = "/api/v3/queue/grab"


@pytest.fixture(autouse=True)
def collect_garbage() -> Iterator[None]:
    """Collect garbage after each test, so that a resource a request leaked (an unclosed
    upload, say) is reported by the test that leaked it, not by a later one."""
    yield
    gc.collect()


async def post(api: Api, body: Any, **kwargs: Any) -> Any:
    return await api.client.post(GRAB, json=body, **kwargs)


def created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    validate_queue_resource(body)
    return as_listed(body)


def error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    message: str = response.json()["message"]
    assert isinstance(message, str) and message
    return message


# -- what can be grabbed -----------------------------------------------------------------


async def test_a_magnet_is_queued_with_its_name_hash_and_size(api: Api) -> None:
    link = magnet("The.Thing.1982.1080p.BluRay-GRP", seed="thing", size=123456)
    item = created(await post(api, {"downloadUrl": link, "movieId": 4, "indexer": "Tracker"}))
    assert item["title"] == "The.Thing.1982.1080p.BluRay-GRP"
    assert item["infoHash"] == info_hash("thing")
    assert item["size"] == 123456
    assert item["sizeleft"] == 123456
    assert item["protocol"] == "torrent"
    assert item["status"] == "queued"
    assert item["movieId"] == 4
    assert item["indexer"] == "Tracker"
    assert item["id"] > 0


async def test_the_grabbed_item_is_then_in_the_queue(api: Api) -> None:
    item = created(await post(api, {"downloadUrl": magnet("Alien.1979", seed="alien"),
                                    "movieId": 2}))
    assert (await api.details()) == [item]
    assert (await api.queue())["totalRecords"] == 1


async def test_a_magnet_with_a_base32_hash_is_stored_as_lower_case_hex(api: Api) -> None:
    hexhash = info_hash("b32")
    b32 = base64.b32encode(bytes.fromhex(hexhash)).decode()
    item = created(await post(api, {"downloadUrl": f"magnet:?xt=urn:btih:{b32}&dn=Base32.2020"}))
    assert item["infoHash"] == hexhash


async def test_property_names_may_be_snake_case(api: Api) -> None:
    item = created(await post(api, {
        "download_url": magnet("Snake.Case.2020", seed="snake"), "movie_id": 8,
        "download_client": "qbit", "release_id": "r-1",
        "movie": {"title": "Snake", "sort_title": "snake", "tmdb_id": 5, "imdb_id": "tt0000005"},
    }))
    assert item["movieId"] == 8
    assert item["downloadClient"] == "qbit"
    assert item["releaseId"] == "r-1"


async def test_property_names_are_read_in_any_case(api: Api) -> None:
    item = created(await post(api, {"DownloadUrl": magnet("Any.Case.2020", seed="case"),
                                    "MOVIEID": 9}))
    assert item["movieId"] == 9


async def test_a_title_given_overrides_the_magnets_name(api: Api) -> None:
    item = created(await post(api, {"downloadUrl": magnet("Dn.Name", seed="t"),
                                    "title": "Given.Title.2020"}))
    assert item["title"] == "Given.Title.2020"


async def test_a_torrent_file_in_base64_is_read_for_its_name_hash_and_size(
    api: Api, tmp_path: Path
) -> None:
    torrent = make_torrent(tmp_path / "t", "Blade.Runner.1982.mkv", size=50_000)
    body = {"torrentFile": base64.b64encode(torrent.dump()).decode(), "movieId": 6}
    item = created(await post(api, body))
    assert item["title"] == "Blade.Runner.1982.mkv"
    assert item["infoHash"] == torrent.infohash.lower()
    assert item["size"] == 50_000
    assert item["protocol"] == "torrent"
    assert item["source"] == "torrentFile"


async def test_a_torrent_file_in_url_safe_base64_is_accepted(api: Api, tmp_path: Path) -> None:
    torrent = make_torrent(tmp_path / "u", "Urlsafe.2020.mkv", size=20_000)
    encoded = base64.urlsafe_b64encode(torrent.dump()).decode().rstrip("=")
    item = created(await post(api, {"torrentFile": encoded}))
    assert item["infoHash"] == torrent.infohash.lower()


async def test_a_torrent_file_can_be_uploaded_as_multipart_form_data(
    api: Api, tmp_path: Path
) -> None:
    torrent = make_torrent(tmp_path / "m", "Upload.Movie.2020.mkv", size=30_000)
    response = await api.client.post(
        GRAB, files={"torrentFile": ("x.torrent", torrent.dump(), "application/x-bittorrent")},
        data={"movieId": "11", "indexer": "Upload", "priority": "high"})
    item = created(response)
    assert item["title"] == "Upload.Movie.2020.mkv"
    assert item["infoHash"] == torrent.infohash.lower()
    assert item["movieId"] == 11
    assert item["priority"] == "high"


async def test_an_http_url_to_a_file_is_queued_with_the_unknown_protocol(api: Api) -> None:
    item = created(await post(api, {"downloadUrl": "https://files.example/x/Heat.1995.mkv"}))
    assert item["title"] == "Heat.1995.mkv"
    assert item["protocol"] == "unknown"
    assert item["source"] == "http"


async def test_an_http_url_to_a_torrent_is_queued_as_a_torrent(api: Api) -> None:
    item = created(await post(api, {"downloadUrl": "https://tracker.example/dl/Ran.1985.torrent"}))
    assert item["title"] == "Ran.1985"
    assert item["protocol"] == "torrent"


# -- duplicates, completed releases, limits, the blocklist --------------------------------


async def test_grabbing_a_release_already_queued_answers_409_with_its_id(api: Api) -> None:
    link = magnet("Twice.2020", seed="twice")
    first = created(await post(api, {"downloadUrl": link}))
    response = await post(api, {"downloadUrl": link, "title": "Other.Name"})
    error(response, 409)
    assert response.json()["existingId"] == first["id"]
    assert len(await api.details()) == 1


async def test_the_same_url_in_another_spelling_is_a_duplicate(api: Api) -> None:
    first = created(await post(api, {"downloadUrl": "https://Files.Example:443/a/F.2020.mkv"}))
    response = await post(api, {"downloadUrl": "https://files.example/a/F.2020.mkv?utm_source=x"})
    error(response, 409)
    assert response.json()["existingId"] == first["id"]


async def test_grabbing_a_completed_release_answers_409_unless_forced(api: Api) -> None:
    link = magnet("Done.2020", seed="done")
    first = created(await post(api, {"downloadUrl": link}))
    await api.set(first["id"], state=ItemState.COMPLETED)
    refused = await post(api, {"downloadUrl": link})
    assert "force" in error(refused, 409)
    assert refused.json()["existingId"] == first["id"]
    again = created(await post(api, {"downloadUrl": link, "force": True}))
    assert again["id"] != first["id"]


async def test_a_release_over_the_size_limit_answers_422_naming_size_and_limit(
    make_api: ApiFactory,
) -> None:
    async with make_api(max_size=1_000_000) as api:
        response = await post(api, {"downloadUrl": magnet("Huge.2020", seed="huge",
                                                          size=5_000_000)})
        message = error(response, 422)
        assert "5000000" in message and "1000000" in message
        assert await api.details() == []
        created(await post(api, {"downloadUrl": magnet("Small.2020", seed="small",
                                                       size=999_999)}))


async def test_a_declared_size_over_the_limit_answers_422(make_api: ApiFactory) -> None:
    async with make_api(max_size=1000) as api:
        response = await post(api, {"downloadUrl": "https://f.example/Big.mkv", "size": 1001})
        message = error(response, 422)
        assert "1001" in message and "1000" in message


# -- what is refused ---------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    {"downloadUrl": "magnet:?dn=No.Hash"},
    {"downloadUrl": "magnet:?xt=urn:btih:1234&dn=Short.Hash"},
    {"downloadUrl": "ftp://files.example/a.mkv"},
    {"downloadUrl": "not a url"},
    {"title": "Nothing.To.Download"},
    {},
    {"torrentFile": "!!!not base64!!!"},
    {"torrentFile": base64.b64encode(b"d4:spam4:eggse").decode()},
    {"torrentFile": base64.b64encode(b"this is no torrent").decode()},
    {"downloadUrl": magnet("X", seed="w"), "category": "../etc"},
    {"downloadUrl": magnet("X", seed="v"), "protocol": "usenet"},
])
async def test_an_invalid_grab_answers_400_with_a_message(api: Api, body: dict[str, Any]) -> None:
    error(await post(api, body), 400)
    assert await api.details() == []


async def test_both_a_url_and_a_torrent_file_answers_400(api: Api, tmp_path: Path) -> None:
    torrent = make_torrent(tmp_path / "b", "Both.mkv")
    body = {"downloadUrl": magnet("Both", seed="both"),
            "torrentFile": base64.b64encode(torrent.dump()).decode()}
    error(await post(api, body), 400)


@pytest.mark.parametrize(("body", "failure"), [
    ({"downloadUrl": magnet("X", seed="x"), "bogusField": 1},
     ("BogusField", "'Bogus Field' is not a property of this resource.")),
    ({"downloadUrl": magnet("X", seed="y"), "movieId": 0},
     ("MovieId", "'Movie Id' must be greater than or equal to '1'.")),
    ({"downloadUrl": magnet("X", seed="z"), "priority": "urgent"},
     ("Priority", "'Priority' has a range of values which does not include 'urgent'.")),
])
async def test_a_grab_body_that_fails_validation_answers_radarrs_failure_array(
    api: Api, body: dict[str, Any], failure: tuple[str, str]
) -> None:
    assert failure_pairs(await post(api, body)) == [failure]
    assert await api.details() == []


async def test_an_empty_grab_body_answers_400_with_a_message(api: Api) -> None:
    # Radarr's "Request body can't be empty" is a BadRequestException: {"message"}
    response = await api.client.post(GRAB, content=b"",
                                     headers={"Content-Type": "application/json"})
    assert "body is required" in error(response, 400)


@pytest.mark.parametrize(("raw", "failure"), [
    (b"not json", ("", "Invalid JSON: expected ident at line 1 column 2")),
    (b"null", ("", "The request body must be a JSON object")),
    (b'{"downloadUrl": 5}',
     ("DownloadUrl", "'Download Url' is not valid: Input should be a valid string.")),
])
async def test_a_body_that_is_not_a_grab_object_answers_400(
    api: Api, raw: bytes, failure: tuple[str, str]
) -> None:
    response = await api.client.post(GRAB, content=raw,
                                     headers={"Content-Type": "application/json"})
    assert failure_pairs(response) == [failure]


async def test_a_body_over_16_mib_answers_413(api: Api) -> None:
    response = await api.client.post(GRAB, content=b"x" * (16 * 1024 * 1024 + 1),
                                     headers={"Content-Type": "application/json"})
    error(response, 413)


async def test_a_text_html_body_answers_415(api: Api) -> None:
    # text/plain is a list of links (tests/api/test_bulk_grab.py); other types are refused
    response = await api.client.post(GRAB, content=magnet("Plain", seed="plain"),
                                     headers={"Content-Type": "text/html"})
    assert "text/plain" in error(response, 415)


async def test_a_multipart_upload_of_something_that_is_no_torrent_answers_400(
    api: Api,
) -> None:
    response = await api.client.post(
        GRAB, files={"torrentFile": ("x.torrent", b"garbage", "application/x-bittorrent")})
    error(response, 400)


async def test_a_multipart_file_under_another_field_name_answers_400(
    api: Api, tmp_path: Path
) -> None:
    torrent = make_torrent(tmp_path / "f", "Field.mkv")
    response = await api.client.post(
        GRAB, files={"file": ("x.torrent", torrent.dump(), "application/x-bittorrent")})
    error(response, 400)
