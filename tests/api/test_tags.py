"""/api/v3/tag and /api/v3/tag/detail, as Radarr's TagController and TagService answer
(src/Radarr.Api.V3/Tags, src/NzbDrone.Core/Tags/TagService.cs), with tags on download
clients and on grabs. Every resource is validated against Radarr's TagResource and
TagDetailsResource."""

from __future__ import annotations

from typing import Any

import pytest

from core.clients import ClientDescriptor, ClientKind, route
from tests.api.conftest import Api
from tests.api.radarr_schema import validate_radarr
from tests.api.test_downloadclient import URL as CLIENTS
from tests.api.test_downloadclient import qbit
from tests.conftest import STORE_KINDS

TAGS = "/api/v3/tag"


async def add(api: Api, label: str, status: int = 201) -> dict[str, Any]:
    response = await api.client.post(TAGS, json={"label": label})
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    if status < 300:
        validate_radarr("TagResource", body)
    return body


async def tags(api: Api) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = await api.get_json(TAGS)
    for tag in body:
        validate_radarr("TagResource", tag)
    return body


def failure(response: Any, prop: str) -> str:
    """The errorMessage of Radarr's validation failure on `prop` (400, an array)."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert isinstance(body, list), body
    (entry,) = [f for f in body if f["propertyName"] == prop]
    message: str = entry["errorMessage"]
    return message


@pytest.mark.parametrize("store", STORE_KINDS, indirect=True)
async def test_tags_are_stored_lower_case_and_listed_by_label(api: Api) -> None:
    zulu = await add(api, "Zulu")
    alpha = await add(api, "alpha-4K")
    assert zulu["label"] == "zulu" and alpha["label"] == "alpha-4k"
    assert await tags(api) == [alpha, zulu]
    assert await api.get_json(f"{TAGS}/{zulu['id']}", validate=lambda b: validate_radarr(
        "TagResource", b)) == zulu


async def test_posting_a_label_that_exists_answers_the_existing_tag(api: Api) -> None:
    first = await add(api, "movies")
    again = await add(api, "MOVIES")
    assert again == first
    assert await tags(api) == [first]


@pytest.mark.parametrize(("label", "message"), [
    ("", "'Label' must not be empty."),
    (None, "'Label' must not be empty."),
    ("two words", "Allowed characters a-z, 0-9 and -"),
    ("dvd_rip", "Allowed characters a-z, 0-9 and -"),
    ("x" * 101, "The length of 'Label' must be 100 characters or fewer. You entered 101 "
                "characters."),
])
async def test_a_label_radarr_would_refuse_is_a_validation_failure_and_stores_nothing(
        api: Api, label: str | None, message: str) -> None:
    response = await api.client.post(TAGS, json={"label": label})
    assert failure(response, "Label") == message
    assert await tags(api) == []


async def test_renaming_a_tag_answers_202_and_keeps_its_id(api: Api) -> None:
    tag = await add(api, "old")
    response = await api.client.put(f"{TAGS}/{tag['id']}", json={"id": tag["id"],
                                                                  "label": "New"})
    assert response.status_code == 202, response.text
    validate_radarr("TagResource", response.json())
    assert response.json() == {"id": tag["id"], "label": "new"}


async def test_renaming_to_a_taken_label_is_a_conflict_and_changes_nothing(api: Api) -> None:
    a = await add(api, "a")
    b = await add(api, "b")
    response = await api.client.put(f"{TAGS}/{b['id']}", json={"label": "a"})
    assert response.status_code == 409, response.text
    assert "'a'" in response.json()["message"]
    assert await tags(api) == [a, b]


async def test_missing_tags_are_404_and_bad_ids_400(api: Api) -> None:
    assert (await api.client.get(f"{TAGS}/7")).status_code == 404
    assert (await api.client.get(f"{TAGS}/detail/7")).status_code == 404
    assert (await api.client.put(f"{TAGS}/7", json={"label": "x"})).status_code == 404
    assert (await api.client.delete(f"{TAGS}/7")).status_code == 404
    assert (await api.client.delete(f"{TAGS}/0")).status_code == 400


@pytest.mark.parametrize("store", STORE_KINDS, indirect=True)
async def test_details_name_the_download_clients_that_carry_a_tag(api: Api) -> None:
    used = await add(api, "private")
    free = await add(api, "spare")
    response = await api.client.post(CLIENTS, params={"forceSave": "true"},
                                      json=qbit("tagged") | {"tags": [used["id"]]})
    assert response.status_code == 201, response.text
    client_id = response.json()["id"]
    assert response.json()["tags"] == [used["id"]]
    details = await api.get_json(f"{TAGS}/detail")
    for entry in details:
        validate_radarr("TagDetailsResource", entry)
    by_label = {d["label"]: d for d in details}
    assert by_label["private"]["downloadClientIds"] == [client_id]
    assert by_label["spare"]["downloadClientIds"] == []
    assert by_label["private"]["movieIds"] == [] and by_label["private"]["indexerIds"] == []
    one = await api.get_json(f"{TAGS}/detail/{used['id']}",
                             validate=lambda b: validate_radarr("TagDetailsResource", b))
    assert one == by_label["private"]
    assert free["id"] != used["id"]


@pytest.mark.parametrize("store", STORE_KINDS, indirect=True)
async def test_a_tag_a_download_client_carries_cannot_be_deleted(api: Api) -> None:
    used = await add(api, "private")
    spare = await add(api, "spare")
    response = await api.client.post(CLIENTS, params={"forceSave": "true"},
                                      json=qbit("tagged") | {"tags": [used["id"]]})
    assert response.status_code == 201, response.text
    refused = await api.client.delete(f"{TAGS}/{used['id']}")
    assert refused.status_code == 409, refused.text
    assert refused.json()["message"] == (f"Tag with ID {used['id']} 'private' cannot be "
                                         "deleted since it's still in use")
    deleted = await api.client.delete(f"{TAGS}/{spare['id']}")
    assert deleted.status_code == 200, deleted.text
    assert await tags(api) == [used]


async def test_a_download_client_with_an_unknown_tag_is_refused_and_not_stored(
        api: Api) -> None:
    response = await api.client.post(CLIENTS, params={"forceSave": "true"},
                                      json=qbit("tagged") | {"tags": [42]})
    assert "42" in failure(response, "Tags")
    assert [c["name"] for c in await api.get_json(CLIENTS)] == []


async def test_a_grab_carries_its_tags_into_the_queue_item(api: Api) -> None:
    tag = await add(api, "kids")
    grabbed = await api.grab(tags=[tag["id"]])
    item = await api.item(grabbed["id"])
    assert item.tags == (tag["id"],)
    assert "tags" not in grabbed  # Radarr's QueueResource has none
    chosen = route(item, [ClientDescriptor("plain", ClientKind.QBITTORRENT),
                          ClientDescriptor("kids", ClientKind.QBITTORRENT, priority=50,
                                           tags=frozenset({tag["id"]}))])
    assert chosen is not None and chosen.name == "kids"


async def test_a_grab_with_an_unknown_tag_is_refused_and_queues_nothing(api: Api) -> None:
    response = await api.client.post("/api/v3/queue/grab", json={
        "downloadUrl": "magnet:?xt=urn:btih:" + "ab" * 20, "title": "Some.Movie.2020",
        "tags": [9]})
    assert "9" in failure(response, "Tags")
    assert (await api.queue())["totalRecords"] == 0
