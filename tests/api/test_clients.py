"""The exact calls real clients make (reference §11), replayed over HTTP: pyarr, aiopyarr,
Homepage, Overseerr/Seerr, LunaSea, golift/starr and decluttarr."""

from __future__ import annotations

from datetime import timedelta

from core.domain import ItemState
from tests.api.conftest import API_KEY, Api, ids
from tests.api.radarr_schema import (
    validate_queue_details,
    validate_queue_page,
    validate_queue_status,
)

S = ItemState


async def test_pyarr_reads_a_page_with_python_bools_and_the_x_api_key_header(api: Api) -> None:
    made = [(await api.grab(size=n))["id"] for n in (3, 1, 2)]
    unknown = (await api.grab(movieId=None))["id"]
    page = await api.queue({"page": 1, "pageSize": 20, "sortKey": "size",
                            "sortDirection": "ascending", "includeUnknownMovieItems": True})
    assert page["totalRecords"] == 4
    assert ids(page) == [unknown, made[1], made[2], made[0]]  # sizes 0, 1, 2, 3


async def test_pyarr_force_grab_gets_a_json_object_it_can_assert_on(api: Api) -> None:
    item = await api.grab()
    await api.set(item["id"], state=S.RETRYING, next_attempt_at=api.clock.now()
                  + timedelta(hours=1))
    response = await api.client.post(f"/api/v3/queue/grab/{item['id']}")
    assert "application/json" in response.headers["content-type"]
    assert isinstance(response.json(), dict)


async def test_pyarr_del_queue_sends_no_flags_and_gets_the_server_defaults(api: Api) -> None:
    item = await api.grab()
    response = await api.client.delete(f"/api/v3/queue/{item['id']}")
    assert response.status_code == 200
    assert await api.details() == []


async def test_pyarr_del_queue_bulk_sends_a_json_body_with_delete(api: Api) -> None:
    made = [(await api.grab())["id"] for _ in range(2)]
    response = await api.client.request("DELETE", "/api/v3/queue/bulk",
                                        params={"removeFromClient": True, "blocklist": False},
                                        json={"ids": made})
    assert response.status_code == 200
    assert response.json() == {}


async def test_aiopyarr_sends_a_null_body_on_get_and_sort_direction_default(api: Api) -> None:
    made = [(await api.grab(size=n))["id"] for n in (2, 1)]
    response = await api.client.request(
        "GET", "/api/v3/queue?page=1&pageSize=20&sortDirection=default&sortKey=timeleft"
               "&includeUnknownMovieItems=False&includeMovie=False",
        content=b"null", headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    page = response.json()
    validate_queue_page(page)
    assert (page["sortKey"], page["sortDirection"], page["pageSize"]) == (
        "timeleft", "ascending", 20)
    assert sorted(ids(page)) == sorted(made)


async def test_aiopyarr_reads_details_with_movies_embedded(api: Api) -> None:
    await api.grab(movieId=3, movie={"title": "Ran", "year": 1985})
    response = await api.client.request(
        "GET", "/api/v3/queue/details?includeUnknownMovieItems=False&includeMovie=True",
        content=b"null", headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    details = response.json()
    validate_queue_details(details)
    assert details[0]["movie"]["title"] == "Ran"


async def test_homepage_reads_total_count_and_the_details_fields_by_query_key(api: Api) -> None:
    item = await api.grab()
    await api.downloading(item["id"], size=1000, left=250, eta=600)
    status = await api.anon.get(f"/api/v3/queue/status?apikey={API_KEY}")
    assert status.status_code == 200
    validate_queue_status(status.json())
    assert status.json()["totalCount"] == 1
    details = await api.anon.get(f"/api/v3/queue/details?apikey={API_KEY}")
    validate_queue_details(details.json())
    record = details.json()[0]
    for field in ("trackedDownloadState", "trackedDownloadStatus", "timeleft", "size",
                  "sizeleft", "movieId", "status"):
        assert field in record
    assert (1 - record["sizeleft"] / record["size"]) * 100 == 75


async def test_overseerr_sees_the_first_ten_items_by_timeleft_descending(api: Api) -> None:
    for n in range(12):
        item = await api.grab()
        await api.downloading(item["id"], size=100, left=50, eta=60 * (n + 1))
    response = await api.anon.get(f"/api/v3/queue?apikey={API_KEY}&includeEpisode=true",
                                  headers={"Accept": "application/json"})
    assert response.status_code == 200
    page = response.json()
    validate_queue_page(page)
    assert len(page["records"]) == 10
    lefts = [r["timeleft"] for r in page["records"]]
    assert lefts == sorted(lefts, reverse=True)
    assert lefts[0] == "00:12:00"
    for record in page["records"]:
        assert {"movieId", "estimatedCompletionTime", "size", "sizeleft", "status", "timeleft",
                "title"} <= set(record)


async def test_lunasea_pages_by_progress_and_removes_with_its_old_flag_name(api: Api) -> None:
    made = []
    for left in (90, 10, 50):
        item = await api.grab()
        await api.downloading(item["id"], size=100, left=left)
        made.append(item["id"])
    page = await api.anon.get(
        f"/api/v3/queue?apikey={API_KEY}&page=1&pageSize=50&sortDirection=descending"
        "&sortKey=progress&includeUnknownMovieItems=false")
    assert page.status_code == 200
    validate_queue_page(page.json())
    assert ids(page.json()) == [made[1], made[2], made[0]]
    removed = await api.anon.delete(
        f"/api/v3/queue/{made[0]}?apikey={API_KEY}&removeFromClient=true&blacklist=true")
    assert removed.status_code == 200


async def test_starr_loops_pages_of_500_until_it_has_every_record(api: Api) -> None:
    created = set(await api.add_raw(1203))
    seen: list[int] = []
    number = 1
    while True:
        page = await api.queue({"page": number, "pageSize": 500, "sortKey": "timeleft",
                                "sortDirection": "ascending", "includeUnknownMovieItems": "true"})
        if not page["records"]:
            break
        seen += ids(page)
        if len(seen) >= page["totalRecords"]:
            break
        number += 1
    assert number == 3
    assert len(seen) == len(set(seen)) == 1203
    assert set(seen) == created


async def test_decluttarr_reads_the_total_then_everything_in_one_page(api: Api) -> None:
    created = set(await api.add_raw(37))
    first = await api.queue()
    total = first["totalRecords"]
    assert total == 37
    everything = await api.queue({"page": 1, "pageSize": total,
                                  "includeUnknownMovieItems": "True"})
    assert set(ids(everything)) == created
    removed = await api.client.delete(f"/api/v3/queue/{ids(everything)[0]}",
                                      params={"removeFromClient": "False",
                                              "blocklist": "False"})
    assert removed.status_code == 200
