"""Changing the queue: Radarr's DELETE /queue/{id}, DELETE /queue/bulk, POST /queue/grab/{id}
and /grab/bulk (reference §4.4-4.7, §8, §15.7-9), the blocklist they feed (GET/DELETE
/api/v3/blocklist*), and Queuarr's own item endpoints beside them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.domain import ItemState
from tests.api.conftest import Api, ApiFactory, ids, magnet
from tests.api.failures import failure_pairs
from tests.api.radarr_schema import (
    validate_blocklist_page,
    validate_queue_page,
    validate_queue_resource,
)
from tests.fakes import FakeClients, FakeDownloadClient

S = ItemState


async def remaining(api: Api) -> list[int]:
    return sorted(ids(await api.details()))


async def blocklist(api: Api, params: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = await api.get_json("/api/v3/blocklist", params,
                                              validate_blocklist_page)
    return body


# -- DELETE /api/v3/queue/{id} -----------------------------------------------------------


async def test_removing_an_item_answers_200_with_an_empty_body_and_no_content_type(
    api: Api,
) -> None:
    item = await api.grab()
    response = await api.client.delete(f"/api/v3/queue/{item['id']}")
    assert response.status_code == 200
    assert response.content == b""
    assert "content-type" not in response.headers
    assert await remaining(api) == []


async def test_removing_an_unknown_id_answers_404_not_found(api: Api) -> None:
    response = await api.client.delete("/api/v3/queue/123456")
    assert response.status_code == 404
    assert response.json() == {"message": "NotFound"}


@pytest.mark.parametrize("bad", [0, -1])
async def test_removing_id_zero_or_below_answers_radarrs_bad_request(api: Api, bad: int) -> None:
    response = await api.client.delete(f"/api/v3/queue/{bad}")
    assert response.status_code == 400
    assert response.json() == {"message": f"BadRequest: {bad} is not a valid ID",
                               "content": f"{bad} is not a valid ID"}


async def test_removing_one_item_leaves_the_others(api: Api) -> None:
    first, second = (await api.grab())["id"], (await api.grab())["id"]
    assert (await api.client.delete(f"/api/v3/queue/{first}")).status_code == 200
    assert await remaining(api) == [second]
    assert (await api.client.delete(f"/api/v3/queue/{first}")).status_code == 404


@pytest.mark.parametrize("flags", [
    {"removeFromClient": "false"}, {"removeFromClient": "True"}, {"blocklist": "False"},
    {"skipRedownload": "true"}, {"changeCategory": "true"},
    {"removeFromClient": "true", "blocklist": "true", "skipRedownload": "true",
     "changeCategory": "false"},
    {"blacklist": "true"},  # LunaSea's old spelling: ignored
])
async def test_removing_accepts_radarrs_flags(api: Api, flags: dict[str, str]) -> None:
    item = await api.grab()
    response = await api.client.delete(f"/api/v3/queue/{item['id']}", params=flags)
    assert response.status_code == 200, response.text
    assert await remaining(api) == []


@pytest.mark.parametrize("flag", ["removeFromClient", "blocklist", "skipRedownload",
                                  "changeCategory"])
async def test_a_flag_that_is_not_a_bool_answers_400(api: Api, flag: str) -> None:
    item = await api.grab()
    response = await api.client.delete(f"/api/v3/queue/{item['id']}", params={flag: "maybe"})
    assert response.status_code == 400
    assert isinstance(response.json()["message"], str)
    assert await remaining(api) == [item["id"]]


async def _sent_to(api: Api, client: FakeDownloadClient) -> dict[str, Any]:
    item = await api.grab()
    await api.downloading(item["id"], size=100, left=40, eta=60, download_id="HASH1",
                          download_client=client.name)
    return item


async def test_removing_deletes_from_the_download_client_by_default(
    make_api: ApiFactory,
) -> None:
    client = FakeDownloadClient("qbit")
    async with make_api(clients=FakeClients(client)) as api:
        item = await _sent_to(api, client)
        assert (await api.client.delete(f"/api/v3/queue/{item['id']}")).status_code == 200
        assert [c for c in client.calls if c[0] == "remove"] == [("remove", ("HASH1", True))]


async def test_remove_from_client_false_leaves_the_download_in_the_client(
    make_api: ApiFactory,
) -> None:
    client = FakeDownloadClient("qbit")
    async with make_api(clients=FakeClients(client)) as api:
        item = await _sent_to(api, client)
        response = await api.client.delete(f"/api/v3/queue/{item['id']}",
                                           params={"removeFromClient": "False"})
        assert response.status_code == 200
        assert [c for c in client.calls if c[0] == "remove"] == []
        assert await remaining(api) == []


async def test_change_category_does_not_remove_the_download_from_the_client(
    make_api: ApiFactory,
) -> None:
    client = FakeDownloadClient("qbit")
    async with make_api(clients=FakeClients(client)) as api:
        item = await _sent_to(api, client)
        response = await api.client.delete(f"/api/v3/queue/{item['id']}",
                                           params={"changeCategory": "true"})
        assert response.status_code == 200
        assert [c for c in client.calls if c[0] == "remove"] == []


async def test_removing_an_item_whose_client_is_gone_answers_400_bad_request(api: Api) -> None:
    item = await api.grab()
    await api.downloading(item["id"], size=100, left=40, download_id="HASH2",
                          download_client="deleted-client")
    response = await api.client.delete(f"/api/v3/queue/{item['id']}")
    assert response.status_code == 400
    assert response.json()["message"].startswith("BadRequest")
    assert await remaining(api) == [item["id"]]


# -- blocklist ---------------------------------------------------------------------------


async def test_removing_with_blocklist_adds_the_release_to_the_blocklist(api: Api) -> None:
    item = await api.grab("Blocked.Movie.2020.1080p-GRP", movieId=12, indexer="Tracker")
    response = await api.client.delete(f"/api/v3/queue/{item['id']}",
                                       params={"blocklist": "true"})
    assert response.status_code == 200
    page = await blocklist(api)
    assert page["totalRecords"] == 1
    entry = page["records"][0]
    assert entry["sourceTitle"] == "Blocked.Movie.2020.1080p-GRP"
    assert entry["movieId"] == 12
    assert entry["protocol"] == "torrent"
    assert entry["indexer"] == "Tracker"


async def test_a_blocklisted_release_is_refused_at_grab_with_422(api: Api) -> None:
    link = magnet("Refused.Movie.2021", seed="refused")
    item = await api.grab(downloadUrl=link)
    await api.client.delete(f"/api/v3/queue/{item['id']}", params={"blocklist": "True"})
    response = await api.client.post("/api/v3/queue/grab", json={"downloadUrl": link})
    assert response.status_code == 422
    assert "blocklist" in response.json()["message"].lower()


async def test_removing_without_blocklist_leaves_the_blocklist_empty(api: Api) -> None:
    item = await api.grab()
    await api.client.delete(f"/api/v3/queue/{item['id']}")
    assert (await blocklist(api))["totalRecords"] == 0
    await api.grab(downloadUrl=item_magnet(item))


def item_magnet(item: dict[str, Any]) -> str:
    """The same release again (same info hash) under a new name."""
    return f"magnet:?xt=urn:btih:{item['infoHash']}&dn=Same.Release.Again"


async def test_deleting_a_blocklist_entry_lets_the_release_be_grabbed_again(api: Api) -> None:
    item = await api.grab()
    await api.client.delete(f"/api/v3/queue/{item['id']}", params={"blocklist": "true"})
    entry = (await blocklist(api))["records"][0]
    response = await api.client.delete(f"/api/v3/blocklist/{entry['id']}")
    assert response.status_code == 200
    assert response.content == b""
    assert (await blocklist(api))["totalRecords"] == 0
    await api.grab(downloadUrl=item_magnet(item))


async def test_deleting_an_unknown_blocklist_entry_answers_404(api: Api) -> None:
    response = await api.client.delete("/api/v3/blocklist/4242")
    assert response.status_code == 404
    assert response.json() == {"message": "NotFound"}


async def test_bulk_deleting_blocklist_entries_is_all_or_nothing(api: Api) -> None:
    for _ in range(3):
        item = await api.grab()
        await api.client.delete(f"/api/v3/queue/{item['id']}", params={"blocklist": "true"})
    entries = ids(await blocklist(api))
    missing = await api.client.request("DELETE", "/api/v3/blocklist/bulk",
                                       json={"ids": [entries[0], 999999]})
    assert missing.status_code == 404
    assert (await blocklist(api))["totalRecords"] == 3
    done = await api.client.request("DELETE", "/api/v3/blocklist/bulk",
                                    json={"ids": entries[:2]})
    assert done.status_code == 200
    assert ids(await blocklist(api)) == entries[2:]


async def test_the_blocklist_pages_newest_first_by_default(api: Api) -> None:
    made = []
    for _ in range(3):
        item = await api.grab()
        await api.client.delete(f"/api/v3/queue/{item['id']}", params={"blocklist": "true"})
        made.append(item["title"])
        api.clock.advance(minutes=1)
    page = await blocklist(api, {"pageSize": 2})
    assert page["sortDirection"] == "descending"
    assert page["totalRecords"] == 3
    assert [r["sourceTitle"] for r in page["records"]] == made[::-1][:2]


async def test_the_blocklist_filters_by_movie_ids(api: Api) -> None:
    for movie in (1, 2, 3):
        item = await api.grab(movieId=movie)
        await api.client.delete(f"/api/v3/queue/{item['id']}", params={"blocklist": "true"})
    page = await blocklist(api, [("movieIds", "1"), ("movieIds", "3")])
    assert sorted(r["movieId"] for r in page["records"]) == [1, 3]


# -- DELETE /api/v3/queue/bulk -----------------------------------------------------------


async def test_bulk_removal_answers_200_with_an_empty_json_object(api: Api) -> None:
    made = [(await api.grab())["id"] for _ in range(3)]
    response = await api.client.request("DELETE", "/api/v3/queue/bulk",
                                        json={"ids": made[:2]})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {}
    assert await remaining(api) == made[2:]


async def test_bulk_removal_with_any_unknown_id_removes_nothing_and_answers_404(
    api: Api,
) -> None:
    made = [(await api.grab())["id"] for _ in range(2)]
    response = await api.client.request("DELETE", "/api/v3/queue/bulk",
                                        json={"ids": [made[0], 987654, made[1]]})
    assert response.status_code == 404
    assert response.json() == {"message": "NotFound"}
    assert await remaining(api) == made


async def test_bulk_removal_deduplicates_repeated_ids(api: Api) -> None:
    item = (await api.grab())["id"]
    response = await api.client.request("DELETE", "/api/v3/queue/bulk",
                                        json={"ids": [item, item]})
    assert response.status_code == 200
    assert await remaining(api) == []


@pytest.mark.parametrize("content_type", ["application/json", "text/json",
                                          "application/merge-patch+json"])
async def test_bulk_removal_accepts_radarrs_json_content_types(
    api: Api, content_type: str
) -> None:
    item = (await api.grab())["id"]
    response = await api.client.request("DELETE", "/api/v3/queue/bulk",
                                        content=f'{{"ids":[{item}]}}',
                                        headers={"Content-Type": content_type})
    assert response.status_code == 200
    assert await remaining(api) == []


async def test_bulk_removal_reads_property_names_in_any_case(api: Api) -> None:
    item = (await api.grab())["id"]
    response = await api.client.request("DELETE", "/api/v3/queue/bulk", json={"IDS": [item]})
    assert response.status_code == 200
    assert await remaining(api) == []


async def test_bulk_removal_accepts_trailing_commas_in_the_json_body(api: Api) -> None:
    # §1: Radarr reads input JSON with trailing commas allowed
    item = (await api.grab())["id"]
    response = await api.client.request("DELETE", "/api/v3/queue/bulk",
                                        content=f'{{"ids": [{item},],}}',
                                        headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert await remaining(api) == []


async def test_bulk_removal_with_blocklist_blocklists_every_release(api: Api) -> None:
    made = [(await api.grab())["id"] for _ in range(2)]
    response = await api.client.request("DELETE", "/api/v3/queue/bulk",
                                        params={"blocklist": "true"}, json={"ids": made})
    assert response.status_code == 200
    assert (await blocklist(api))["totalRecords"] == 2


BULK_FAILURES: dict[bytes, tuple[str, str]] = {
    b"{}": ("Ids", "'Ids' must not be empty."),
    b'{"ids": null}': ("Ids", "'Ids' is not valid: Input should be a valid array."),
    b"[1, 2]": ("", "The request body must be a JSON object"),
    b'{"ids": [1, "x"]}': ("Ids[1]", "'Ids' is not valid: Input should be a valid integer, "
                           "unable to parse string as an integer."),
    b"not json": ("", "Invalid JSON: expected ident at line 1 column 2"),
}


@pytest.mark.parametrize("body", [None, b"", *BULK_FAILURES])
async def test_bulk_removal_without_a_usable_body_answers_400_not_500(
    api: Api, body: bytes | None
) -> None:
    item = (await api.grab())["id"]
    response = await api.client.request(
        "DELETE", "/api/v3/queue/bulk", content=body,
        headers={"Content-Type": "application/json"} if body is not None else None)
    if body in BULK_FAILURES:
        assert failure_pairs(response) == [BULK_FAILURES[body]]
    else:  # no body at all: Radarr's BadRequestException, {"message"}
        assert response.status_code == 400, response.text
        assert "body is required" in response.json()["message"]
    assert await remaining(api) == [item]


# -- POST /api/v3/queue/grab/{id} and /grab/bulk -----------------------------------------


@pytest.mark.parametrize("state", [S.RETRYING, S.CLIENT_UNAVAILABLE, S.QUEUED])
async def test_force_grabbing_a_pending_item_answers_an_empty_json_object(
    api: Api, state: ItemState
) -> None:
    item = await api.grab()
    await api.set(item["id"], state=state,
                  next_attempt_at=api.clock.now() + timedelta(minutes=30))
    response = await api.client.post(f"/api/v3/queue/grab/{item['id']}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {}


async def test_a_force_grabbed_delayed_item_is_no_longer_delayed(api: Api) -> None:
    item = await api.grab()
    await api.set(item["id"], state=S.RETRYING,
                  next_attempt_at=api.clock.now() + timedelta(minutes=30))
    await api.client.post(f"/api/v3/queue/grab/{item['id']}")
    record = (await api.details())[0]
    assert record["status"] == "queued"
    assert "timeleft" not in record


@pytest.mark.parametrize("state", [S.DOWNLOADING, S.COMPLETED, S.FAILED, S.PAUSED])
async def test_force_grabbing_an_item_that_is_not_pending_answers_404(
    api: Api, state: ItemState
) -> None:
    item = await api.grab()
    await api.set(item["id"], state=state)
    response = await api.client.post(f"/api/v3/queue/grab/{item['id']}")
    assert response.status_code == 404
    assert response.json() == {"message": "NotFound"}


async def test_force_grabbing_an_unknown_id_answers_404(api: Api) -> None:
    response = await api.client.post("/api/v3/queue/grab/55555")
    assert response.status_code == 404
    assert response.json() == {"message": "NotFound"}


async def test_bulk_force_grab_answers_an_empty_json_object(api: Api) -> None:
    made = []
    for _ in range(2):
        item = await api.grab()
        await api.set(item["id"], state=S.RETRYING,
                      next_attempt_at=api.clock.now() + timedelta(hours=1))
        made.append(item["id"])
    response = await api.client.post("/api/v3/queue/grab/bulk", json={"ids": made})
    assert response.status_code == 200
    assert response.json() == {}
    assert {r["status"] for r in await api.details()} == {"queued"}


async def test_bulk_force_grab_with_an_unknown_id_answers_404(api: Api) -> None:
    item = await api.grab()
    response = await api.client.post("/api/v3/queue/grab/bulk",
                                     json={"ids": [item["id"], 424242]})
    assert response.status_code == 404
    assert response.json() == {"message": "NotFound"}


async def test_bulk_force_grab_refuses_a_non_json_content_type_with_415(api: Api) -> None:
    item = await api.grab()
    response = await api.client.post("/api/v3/queue/grab/bulk",
                                     content=f'{{"ids":[{item["id"]}]}}',
                                     headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


@pytest.mark.parametrize("body", [b"", b"{}", b'{"ids": null}'])
async def test_bulk_force_grab_without_ids_answers_400(api: Api, body: bytes) -> None:
    response = await api.client.post("/api/v3/queue/grab/bulk", content=body,
                                     headers={"Content-Type": "application/json"})
    if body:
        assert failure_pairs(response) == [BULK_FAILURES[body]]
    else:
        assert response.status_code == 400
        assert "body is required" in response.json()["message"]


# -- Queuarr's own item endpoints --------------------------------------------------------


async def test_one_item_can_be_read_by_id(api: Api) -> None:
    item = await api.grab(movieId=3, movie={"title": "Ronin", "year": 1998})
    record = await api.get_json(f"/api/v3/queue/{item['id']}", {"includeMovie": "true"},
                                validate_queue_resource)
    assert record["id"] == item["id"]
    assert record["movie"]["title"] == "Ronin"


async def test_reading_an_unknown_item_answers_404(api: Api) -> None:
    response = await api.client.get("/api/v3/queue/999")
    assert response.status_code == 404
    assert response.json() == {"message": "NotFound"}


async def test_reading_item_zero_answers_400(api: Api) -> None:
    response = await api.client.get("/api/v3/queue/0")
    assert response.status_code == 400
    assert isinstance(response.json()["message"], str)


async def test_pausing_and_resuming_an_item(api: Api) -> None:
    item = await api.grab()
    paused = await api.client.put(f"/api/v3/queue/{item['id']}/pause")
    assert paused.status_code == 200
    validate_queue_resource(paused.json())
    assert paused.json()["status"] == "paused"
    assert (await api.details())[0]["status"] == "paused"
    resumed = await api.client.put(f"/api/v3/queue/{item['id']}/resume")
    assert resumed.status_code == 200
    validate_queue_resource(resumed.json())
    assert resumed.json()["status"] == "queued"


async def test_pausing_a_completed_item_answers_409(api: Api) -> None:
    item = await api.grab()
    await api.set(item["id"], state=S.COMPLETED)
    response = await api.client.put(f"/api/v3/queue/{item['id']}/pause")
    assert response.status_code == 409
    assert isinstance(response.json()["message"], str)


async def test_pausing_an_unknown_item_answers_404(api: Api) -> None:
    response = await api.client.put("/api/v3/queue/31337/pause")
    assert response.status_code == 404


@pytest.mark.parametrize(("sent", "shown"), [("high", "high"), ("veryHigh", "veryHigh"),
                                             ("low", "low"), ("normal", "normal")])
async def test_setting_an_items_priority(api: Api, sent: str, shown: str) -> None:
    item = await api.grab()
    response = await api.client.put(f"/api/v3/queue/{item['id']}/priority",
                                    json={"priority": sent})
    assert response.status_code == 200
    validate_queue_resource(response.json())
    assert response.json()["priority"] == shown
    assert (await api.details())[0]["priority"] == shown


@pytest.mark.parametrize("body", [{"priority": "urgent"}, {}, {"priority": "high", "x": 1}])
async def test_an_invalid_priority_answers_400(api: Api, body: dict[str, Any]) -> None:
    item = await api.grab()
    response = await api.client.put(f"/api/v3/queue/{item['id']}/priority", json=body)
    assert failure_pairs(response) == [PRIORITY_FAILURES[str(body)]]


PRIORITY_FAILURES = {
    "{'priority': 'urgent'}": ("Priority", "'Priority' has a range of values which does not "
                               "include 'urgent'."),
    "{}": ("Priority", "'Priority' must not be empty."),
    "{'priority': 'high', 'x': 1}": ("X", "'X' is not a property of this resource."),
}


async def test_retrying_failed_items_by_id_queues_them_again(api: Api) -> None:
    failed = []
    for _ in range(2):
        item = await api.grab()
        await api.set(item["id"], state=S.FAILED, attempts=3, error_message="boom")
        failed.append(item["id"])
    response = await api.client.post("/api/v3/queue/retry", json={"ids": failed[:1]})
    assert response.status_code == 200
    assert response.json() == {"ids": failed[:1]}
    by_id = {r["id"]: r for r in await api.details()}
    assert by_id[failed[0]]["status"] == "queued"
    assert by_id[failed[0]]["attempts"] == 0
    assert "errorMessage" not in by_id[failed[0]]
    assert by_id[failed[1]]["status"] == "failed"


async def test_retrying_with_an_empty_body_retries_every_failed_item(api: Api) -> None:
    failed = []
    for _ in range(3):
        item = await api.grab()
        await api.set(item["id"], state=S.FAILED)
        failed.append(item["id"])
    untouched = (await api.grab())["id"]
    response = await api.client.post("/api/v3/queue/retry")
    assert response.status_code == 200
    assert sorted(response.json()["ids"]) == sorted(failed)
    statuses = {r["id"]: r["status"] for r in await api.details()}
    assert {statuses[i] for i in failed} == {"queued"}
    assert statuses[untouched] == "queued"


async def test_retrying_an_item_that_has_not_failed_answers_409(api: Api) -> None:
    item = await api.grab()
    response = await api.client.post("/api/v3/queue/retry", json={"ids": [item["id"]]})
    assert response.status_code == 409


async def test_retrying_an_unknown_item_answers_404(api: Api) -> None:
    response = await api.client.post("/api/v3/queue/retry", json={"ids": [8888]})
    assert response.status_code == 404


async def test_cleanup_deletes_finished_items_older_than_the_given_days(api: Api) -> None:
    old_done, old_failed, fresh_done, active = [(await api.grab())["id"] for _ in range(4)]
    await api.set(old_done, state=S.COMPLETED)
    await api.set(old_failed, state=S.FAILED)
    await api.set(active, state=S.DOWNLOADING)
    api.clock.advance(days=10)
    await api.set(fresh_done, state=S.COMPLETED)
    response = await api.client.delete("/api/v3/queue/cleanup", params={"olderThanDays": 5})
    assert response.status_code == 200
    assert response.json() == {"removed": 2}
    assert await remaining(api) == sorted([fresh_done, active])


async def test_cleanup_with_negative_days_answers_400(api: Api) -> None:
    response = await api.client.delete("/api/v3/queue/cleanup", params={"olderThanDays": -1})
    assert response.status_code == 400


async def test_statistics_count_items_by_state(api: Api) -> None:
    for state in (S.QUEUED, S.DOWNLOADING, S.PAUSED, S.RETRYING, S.COMPLETED, S.FAILED,
                  S.CLIENT_UNAVAILABLE, S.WARNING):
        item = await api.grab()
        await api.set(item["id"], state=state)
    response = await api.client.get("/api/v3/queue/statistics")
    assert response.status_code == 200
    assert response.json() == {
        "pending": 2,  # queued + client unavailable
        "downloading": 2,  # downloading + warning
        "paused": 1, "retrying": 1, "completed": 1,
        "failed": 2,  # retrying + failed
        "permanentFailures": 1, "total": 8,
    }


async def test_removed_items_disappear_from_every_listing(api: Api) -> None:
    keep, drop = (await api.grab())["id"], (await api.grab())["id"]
    await api.client.delete(f"/api/v3/queue/{drop}")
    page = await api.queue()
    validate_queue_page(page)
    assert ids(page) == [keep]
    assert page["totalRecords"] == 1
    assert (await api.status())["totalCount"] == 1
