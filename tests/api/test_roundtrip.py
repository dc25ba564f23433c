"""The API end to end on every store: memory, SQLite and Postgres (the `store` fixture,
parametrized). Grab, list, page, sort, filter, count, change and remove through HTTP,
and read back exactly what the reference says a client sees."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import pytest

from core.domain import ItemState
from core.quality import QUALITY_BY_ID, Language, QualityModel
from tests.api.conftest import Api, ids, magnet, make_torrent
from tests.api.radarr_schema import validate_blocklist_page, validate_queue_resource
from tests.api.test_queue_contract import SORT_CASES
from tests.conftest import STORE_KINDS

S = ItemState
pytestmark = pytest.mark.parametrize("store", STORE_KINDS, indirect=True)


async def test_releases_grabbed_three_ways_are_listed_back(api: Api, tmp_path: Path) -> None:
    by_magnet = await api.grab(downloadUrl=magnet("Magnet.Movie.2020", seed="m", size=700),
                               movieId=1, indexer="Tracker")
    torrent = make_torrent(tmp_path / "t", "Torrent.Movie.2021.mkv", size=33_000)
    by_file = await api.grab(torrentFile=base64.b64encode(torrent.dump()).decode(), movieId=2)
    by_url = await api.grab(downloadUrl="https://files.example/Url.Movie.2022.mkv", movieId=3)
    for item in (by_magnet, by_file, by_url):
        validate_queue_resource(item)
    page = await api.queue({"sortKey": "movies.sortTitle", "sortDirection": "ascending"})
    assert page["totalRecords"] == 3
    assert [r["title"] for r in page["records"]] == [
        "Magnet.Movie.2020", "Torrent.Movie.2021.mkv", "Url.Movie.2022.mkv"]
    assert [r["protocol"] for r in page["records"]] == ["torrent", "torrent", "unknown"]
    assert [r["size"] for r in page["records"]] == [700, 33_000, 0]
    assert page["records"][1]["infoHash"] == torrent.infohash.lower()
    assert sorted(await api.details(), key=lambda r: r["id"]) == sorted(
        [by_magnet, by_file, by_url], key=lambda r: r["id"])


async def test_paging_and_the_past_the_end_quirk(api: Api) -> None:
    created = [(await api.grab(size=n))["id"] for n in range(1, 26)]
    params = {"sortKey": "size", "sortDirection": "ascending"}
    assert ids(await api.queue({**params, "page": 1})) == created[:10]
    assert ids(await api.queue({**params, "page": 3})) == created[20:]
    past = await api.queue({**params, "page": 9})
    assert (past["page"], past["totalRecords"]) == (2, 25)
    assert ids(past) == created[10:20]
    zero = await api.queue({**params, "page": 0})
    assert zero["page"] == 0
    assert ids(zero) == created[:10]
    descending = await api.queue({"sortKey": "size", "page": 3})
    assert ids(descending) == created[:5][::-1]


@pytest.mark.parametrize("key", ["size", "timeleft", "title"])
async def test_pages_of_tied_records_never_overlap(api: Api, key: str) -> None:
    created = [(await api.grab("Same.Title", downloadUrl=magnet("Same.Title", seed=f"s{n}"),
                               size=5))["id"] for n in range(25)]
    for direction in ("ascending", "descending"):
        seen = []
        for number in (1, 2, 3):
            seen += ids(await api.queue({"page": number, "sortKey": key,
                                         "sortDirection": direction}))
        assert sorted(seen) == sorted(created), direction


@pytest.mark.parametrize("key", list(SORT_CASES))
async def test_each_sort_key_orders_ascending_on_every_store(api: Api, key: str) -> None:
    setup, expected = SORT_CASES[key]
    made = await setup(api)
    page = await api.queue({"sortKey": key, "sortDirection": "ascending", "pageSize": 50})
    by_id = {v: k for k, v in made.items()}
    assert [by_id[i] for i in ids(page)] == expected


async def test_ties_are_broken_by_progress_descending_on_every_store(api: Api) -> None:
    made = {}
    for label, left in (("10%", 900), ("80%", 200), ("40%", 600)):
        item = await api.grab(size=1000)
        await api.downloading(item["id"], size=1000, left=left)
        made[item["id"]] = label
    for direction in ("ascending", "descending"):
        page = await api.queue({"sortKey": "size", "sortDirection": direction})
        assert [made[i] for i in ids(page)] == ["80%", "40%", "10%"]


async def test_filters_and_their_exact_totals(api: Api) -> None:
    english, french = Language(1, "English"), Language(2, "French")
    rows = [  # (movie, state, quality id, languages, http?)
        (1, S.DOWNLOADING, 3, (english,), False),
        (1, S.PAUSED, 7, (french,), False),
        (2, S.DOWNLOADING, 7, (english, french), True),
        (3, S.QUEUED, 1, (english,), False),
        (None, S.DOWNLOADING, 3, (english,), False),
    ]
    made = []
    for movie, state, quality, langs, http in rows:
        extra = {"downloadUrl": f"https://f.example/{len(made)}/F.mkv"} if http else {}
        item = await api.grab(movieId=movie, **extra)
        await api.set(item["id"], state=state, quality=QualityModel(QUALITY_BY_ID[quality]),
                      languages=langs)
        made.append(item["id"])

    async def picked(params: object) -> list[int]:
        page = await api.queue(params)
        assert page["totalRecords"] == len(page["records"])
        return sorted(ids(page))

    assert await picked(None) == sorted(made[:4])
    assert await picked({"includeUnknownMovieItems": "true"}) == sorted(made)
    assert await picked([("movieIds", "1"), ("movieIds", "2")]) == sorted(made[:3])
    assert await picked({"movieIds[0]": "3"}) == [made[3]]
    assert await picked({"protocol": "unknown"}) == [made[2]]
    assert await picked({"protocol": "2", "includeUnknownMovieItems": "True"}) == sorted(
        made[:2] + made[3:])
    assert await picked({"status": "downloading"}) == sorted(made[:3:2])
    assert await picked([("status", "downloading"), ("status", "paused"),
                         ("includeUnknownMovieItems", "true")]) == sorted(made[:3] + made[4:])
    assert await picked([("quality", "7")]) == sorted(made[1:3])
    assert await picked([("languages", "2")]) == sorted(made[1:3])
    assert await picked([("languages", "1"), ("quality", "3")]) == [made[0]]
    small = await api.queue({"includeUnknownMovieItems": "true", "pageSize": 2,
                             "status": "downloading"})
    assert small["totalRecords"] == 3
    assert len(small["records"]) == 2


async def test_status_counters_follow_every_change(api: Api) -> None:
    known = [(await api.grab(movieId=m))["id"] for m in (1, 2, 3)]
    unknown = (await api.grab(movieId=None))["id"]
    await api.set(known[1], state=S.FAILED)
    await api.set(unknown, state=S.WARNING)
    assert await api.status() == {
        "totalCount": 4, "count": 3, "unknownCount": 1, "errors": True, "warnings": False,
        "unknownErrors": False, "unknownWarnings": True,
    }
    await api.client.delete(f"/api/v3/queue/{known[1]}")
    await api.client.request("DELETE", "/api/v3/queue/bulk", json={"ids": [unknown]})
    assert await api.status() == {
        "totalCount": 2, "count": 2, "unknownCount": 0, "errors": False, "warnings": False,
        "unknownErrors": False, "unknownWarnings": False,
    }


async def test_dates_and_time_left_read_back_exactly(api: Api) -> None:
    api.clock.set(api.clock.now().replace(microsecond=654321))
    now = api.clock.now()
    downloading = (await api.grab())["id"]
    await api.downloading(downloading, size=1000, left=250, eta=93784)
    retrying = (await api.grab())["id"]
    at = now + timedelta(minutes=5, seconds=32)
    await api.set(retrying, state=S.RETRYING, attempts=1, next_attempt_at=at)
    by_id = {r["id"]: r for r in await api.details()}
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    assert by_id[downloading]["timeleft"] == "1.02:03:04"
    assert by_id[downloading]["estimatedCompletionTime"] == (
        now + timedelta(seconds=93784)).strftime(fmt)
    assert by_id[downloading]["added"] == now.strftime(fmt)
    assert by_id[downloading]["sizeleft"] == 250
    assert by_id[retrying]["status"] == "delay"
    assert by_id[retrying]["timeleft"] == "00:05:32"
    assert by_id[retrying]["estimatedCompletionTime"] == at.strftime(fmt)


async def test_removal_blocklist_and_a_refused_regrab(api: Api) -> None:
    link = magnet("Round.Trip.2020", seed="round-trip")
    item = await api.grab(downloadUrl=link, movieId=5)
    other = await api.grab()
    response = await api.client.delete(f"/api/v3/queue/{item['id']}",
                                       params={"blocklist": "true", "skipRedownload": "true"})
    assert response.status_code == 200 and response.content == b""
    assert ids(await api.details()) == [other["id"]]
    page = await api.get_json("/api/v3/blocklist", None, validate_blocklist_page)
    assert [r["sourceTitle"] for r in page["records"]] == ["Round.Trip.2020"]
    refused = await api.client.post("/api/v3/queue/grab", json={"downloadUrl": link})
    assert refused.status_code == 422
    entry = page["records"][0]["id"]
    assert (await api.client.delete(f"/api/v3/blocklist/{entry}")).status_code == 200
    await api.grab(downloadUrl=link)


async def test_bulk_removal_is_all_or_nothing(api: Api) -> None:
    made = [(await api.grab())["id"] for _ in range(3)]
    missing = await api.client.request("DELETE", "/api/v3/queue/bulk",
                                       json={"ids": [made[0], 999999]})
    assert missing.status_code == 404
    assert sorted(ids(await api.details())) == made
    done = await api.client.request("DELETE", "/api/v3/queue/bulk", json={"ids": made[:2]})
    assert (done.status_code, done.json()) == (200, {})
    assert ids(await api.details()) == made[2:]


async def test_duplicates_force_grab_retry_and_cleanup(api: Api) -> None:
    link = magnet("Lifecycle.2020", seed="lifecycle")
    item = await api.grab(downloadUrl=link)
    duplicate = await api.client.post("/api/v3/queue/grab", json={"downloadUrl": link})
    assert (duplicate.status_code, duplicate.json()["existingId"]) == (409, item["id"])

    await api.set(item["id"], state=S.RETRYING, next_attempt_at=api.clock.now()
                  + timedelta(hours=1))
    grabbed = await api.client.post(f"/api/v3/queue/grab/{item['id']}")
    assert (grabbed.status_code, grabbed.json()) == (200, {})
    assert (await api.details())[0]["status"] == "queued"

    await api.set(item["id"], state=S.FAILED)
    retried = await api.client.post("/api/v3/queue/retry")
    assert retried.json() == {"ids": [item["id"]]}

    await api.set(item["id"], state=S.COMPLETED)
    assert (await api.client.post("/api/v3/queue/grab",
                                  json={"downloadUrl": link})).status_code == 409
    api.clock.advance(days=31)
    cleaned = await api.client.delete("/api/v3/queue/cleanup", params={"olderThanDays": 30})
    assert cleaned.json() == {"removed": 1}
    assert await api.details() == []
