"""GET /api/v3/queue, /queue/details and /queue/status against the reference
(/work/shared/reference/radarr-queue-api.md §1, §4.1-4.3, §6, §7, §15).

Every response body goes through tests/api/radarr_schema.py (Radarr's OpenAPI schemas)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.domain import DownloadProtocol, ItemState
from core.quality import QUALITY_BY_ID, Language, QualityModel
from tests.api.conftest import Api, ids
from tests.api.radarr_schema import validate_queue_details, validate_queue_page

S = ItemState


async def sized(api: Api, sizes: list[int], **fields: Any) -> list[int]:
    """One item per size (in the order given); returns their ids."""
    return [(await api.grab(size=size, **fields))["id"] for size in sizes]


# -- paging ------------------------------------------------------------------------------


async def test_a_bare_request_gets_page_1_of_10_sorted_by_timeleft_descending(api: Api) -> None:
    await sized(api, list(range(1, 13)))
    page = await api.queue()
    assert page["page"] == 1
    assert page["pageSize"] == 10
    assert page["sortKey"] == "timeleft"
    assert page["sortDirection"] == "descending"
    assert page["totalRecords"] == 12
    assert len(page["records"]) == 10


async def test_an_empty_queue_answers_an_empty_records_array_and_zero_total(api: Api) -> None:
    page = await api.queue()
    assert page["records"] == []
    assert page["totalRecords"] == 0


async def test_a_large_page_size_returns_every_record_in_one_page(api: Api) -> None:
    created = await sized(api, list(range(1, 26)))
    page = await api.queue({"pageSize": 1000})
    assert page["pageSize"] == 1000
    assert page["totalRecords"] == 25
    assert sorted(ids(page)) == sorted(created)


async def test_a_page_size_over_500_returns_every_record_of_a_big_queue(api: Api) -> None:
    created = await api.add_raw(600)
    page = await api.queue({"pageSize": 1000, "sortKey": "title",
                            "sortDirection": "ascending"})
    assert page["totalRecords"] == 600
    assert len(page["records"]) == 600
    assert ids(page) == created  # titles Bulk.Release.NNNNN were added in order


async def test_the_second_page_of_size_501_holds_the_last_99_records_in_order(api: Api) -> None:
    created = await api.add_raw(600)
    page = await api.queue({"page": 2, "pageSize": 501, "sortKey": "title",
                            "sortDirection": "ascending"})
    assert page["page"] == 2
    assert ids(page) == created[501:]


async def test_page_size_zero_returns_no_records_but_the_true_total(api: Api) -> None:
    await sized(api, [1, 2, 3])
    page = await api.queue({"pageSize": 0})
    assert page["records"] == []
    assert page["pageSize"] == 0
    assert page["totalRecords"] == 3


@pytest.mark.parametrize("sent", [0, -1, -7])
async def test_a_page_of_zero_or_below_is_echoed_and_behaves_as_page_1(api: Api, sent: int) -> None:
    created = await sized(api, list(range(1, 16)))
    params = {"sortKey": "size", "sortDirection": "ascending"}
    page = await api.queue({**params, "page": sent})
    assert page["page"] == sent
    assert ids(page) == created[:10]


async def test_the_third_of_25_records_in_pages_of_10_holds_the_last_5(api: Api) -> None:
    created = await sized(api, list(range(1, 26)))
    page = await api.queue({"page": 3, "sortKey": "size", "sortDirection": "ascending"})
    assert page["page"] == 3
    assert ids(page) == created[20:]


async def test_an_empty_page_past_the_end_becomes_page_total_div_size_with_its_records(
    api: Api,
) -> None:
    # §4.1 quirk: 25 records, pageSize 10, page 9 -> page 2 (integer division), records 11-20.
    created = await sized(api, list(range(1, 26)))
    page = await api.queue({"page": 9, "sortKey": "size", "sortDirection": "ascending"})
    assert page["page"] == 2
    assert page["totalRecords"] == 25
    assert ids(page) == created[10:20]


async def test_an_empty_page_past_the_end_of_an_exact_multiple_becomes_the_last_page(
    api: Api,
) -> None:
    created = await sized(api, list(range(1, 21)))
    page = await api.queue({"page": 5, "sortKey": "size", "sortDirection": "ascending"})
    assert page["page"] == 2
    assert ids(page) == created[10:20]


async def test_a_page_past_the_end_of_an_empty_queue_is_echoed_as_page_1(api: Api) -> None:
    # page = max(totalRecords / pageSize, 1) = max(0, 1) = 1
    page = await api.queue({"page": 4})
    assert page["page"] == 1
    assert page["records"] == []


async def test_the_past_the_end_quirk_also_applies_to_pages_over_500(api: Api) -> None:
    created = await api.add_raw(600)
    page = await api.queue({"page": 5, "pageSize": 501, "sortKey": "title",
                            "sortDirection": "ascending"})
    assert page["page"] == 1  # max(600 // 501, 1)
    assert ids(page) == created[:501]


# -- sort key and direction --------------------------------------------------------------


@pytest.mark.parametrize("sent", ["size", "SIZE", "Size", "sIzE"])
async def test_an_allowed_sort_key_matches_in_any_case_and_is_echoed_as_sent(
    api: Api, sent: str
) -> None:
    created = await sized(api, [30, 10, 20])
    page = await api.queue({"sortKey": sent, "sortDirection": "ascending"})
    assert page["sortKey"] == sent
    assert ids(page) == [created[1], created[2], created[0]]


@pytest.mark.parametrize("sent", ["date", "id", "sourcetitle", "ratings", "nonsense", "sizes"])
async def test_a_sort_key_outside_the_allow_list_becomes_timeleft(api: Api, sent: str) -> None:
    created = await sized(api, [30, 10, 20])
    await api.downloading(created[0], size=30, left=15, eta=600)
    await api.downloading(created[1], size=10, left=5, eta=60)
    page = await api.queue({"sortKey": sent, "sortDirection": "ascending"})
    assert page["sortKey"] == "timeleft"
    # timeleft ascending: 60 s, 600 s, then the item without a time left
    assert ids(page) == [created[1], created[0], created[2]]


async def test_timeleft_in_other_case_is_allowed_and_echoed_as_sent(api: Api) -> None:
    await sized(api, [1])
    page = await api.queue({"sortKey": "timeLeft"})
    assert page["sortKey"] == "timeLeft"


async def test_an_omitted_sort_direction_is_descending(api: Api) -> None:
    created = await sized(api, [10, 30, 20])
    page = await api.queue({"sortKey": "size"})
    assert page["sortDirection"] == "descending"
    assert ids(page) == [created[1], created[2], created[0]]


async def test_sort_direction_default_means_ascending(api: Api) -> None:
    created = await sized(api, [10, 30, 20])
    page = await api.queue({"sortKey": "size", "sortDirection": "default"})
    assert page["sortDirection"] == "ascending"
    assert ids(page) == [created[0], created[2], created[1]]


@pytest.mark.parametrize(("sent", "resolved"), [
    ("ascending", "ascending"), ("Ascending", "ascending"), ("DESCENDING", "descending"),
    ("descending", "descending"), ("1", "ascending"), ("2", "descending"),
    ("0", "ascending"),
])
async def test_sort_direction_is_read_by_name_in_any_case_or_by_integer_value(
    api: Api, sent: str, resolved: str
) -> None:
    created = await sized(api, [10, 30, 20])
    page = await api.queue({"sortKey": "size", "sortDirection": sent})
    assert page["sortDirection"] == resolved
    ascending = [created[0], created[2], created[1]]
    assert ids(page) == (ascending if resolved == "ascending" else ascending[::-1])


# Each sort key: a setup that gives 3-4 items distinct values, and the expected ascending
# order of their labels, derived from §4.1's "Sort semantics" table.


async def _by_title(api: Api) -> dict[str, int]:
    return {t: (await api.grab(t))["id"] for t in ("Charlie.2020", "Alpha.2020", "Bravo.2020")}


async def _by_added(api: Api) -> dict[str, int]:
    made = {k: (await api.grab())["id"] for k in ("late", "early", "middle")}
    now = api.clock.now()
    await api.set(made["late"], added_at=now + timedelta(hours=2))
    await api.set(made["early"], added_at=now - timedelta(hours=1))
    return made


async def _by_size(api: Api) -> dict[str, int]:
    return {k: (await api.grab(size=s))["id"] for k, s in (("300", 300), ("100", 100),
                                                             ("200", 200))}


async def _by_status(api: Api) -> dict[str, int]:
    states = {"queued": S.QUEUED, "paused": S.PAUSED, "downloading": S.DOWNLOADING,
              "completed": S.COMPLETED, "failed": S.FAILED, "warning": S.WARNING,
              "delay": S.RETRYING, "downloadClientUnavailable": S.CLIENT_UNAVAILABLE}
    made = {}
    for status, state in states.items():
        item = await api.grab()
        await api.set(item["id"], state=state)
        made[status] = item["id"]
    return made


async def _by_progress(api: Api) -> dict[str, int]:
    made = {}
    for label, left in (("50", 500), ("10", 900), ("90", 100)):
        item = await api.grab()
        await api.downloading(item["id"], size=1000, left=left)
        made[label] = item["id"]
    return made


async def _by_protocol(api: Api) -> dict[str, int]:
    torrent = (await api.grab())["id"]
    unknown = (await api.grab(downloadUrl="https://files.example/a/Some.Movie.2020.mkv"))["id"]
    usenet = (await api.grab())["id"]
    await api.set(usenet, protocol=DownloadProtocol.USENET)
    return {"torrent": torrent, "unknown": unknown, "usenet": usenet}


async def _by_indexer(api: Api) -> dict[str, int]:
    return {n: (await api.grab(indexer=n))["id"] for n in ("Bravo", "charlie", "alpha")}


async def _by_download_client(api: Api) -> dict[str, int]:
    return {n: (await api.grab(downloadClient=n))["id"] for n in ("Bravo", "charlie", "alpha")}


async def _by_year(api: Api) -> dict[str, int]:
    made = {y: (await api.grab(movie={"title": f"Film {y}", "year": int(y)}))["id"]
            for y in ("2010", "1999", "2005")}
    made["0"] = (await api.grab(movie={"title": "Film without a year"}))["id"]
    return made


async def _by_sort_title(api: Api) -> dict[str, int]:
    return {
        "zulu": (await api.grab("Aaa.Release.2020", movie={"title": "Zulu",
                                                           "sortTitle": "zulu"}))["id"],
        "mike": (await api.grab("Zzz.Release.2020", movie={"title": "Mike",
                                                           "sortTitle": "mike"}))["id"],
        # no movie details: falls back to the release title
        "Kilo.Release.2020": (await api.grab("Kilo.Release.2020"))["id"],
    }


async def _by_quality(api: Api) -> dict[str, int]:
    made = {}
    for name, qid in (("Bluray-2160p", 19), ("SDTV", 1), ("WEBDL-1080p", 3)):
        item = await api.grab()
        await api.set(item["id"], quality=QualityModel(QUALITY_BY_ID[qid]))
        made[name] = item["id"]
    return made


async def _by_timeleft(api: Api) -> dict[str, int]:
    hour = (await api.grab())["id"]
    await api.downloading(hour, size=100, left=50, eta=3600)
    days = (await api.grab())["id"]
    await api.downloading(days, size=100, left=50, eta=2 * 86400)
    retry = (await api.grab())["id"]
    await api.set(retry, state=S.RETRYING, attempts=1,
                  next_attempt_at=api.clock.now() + timedelta(minutes=5))
    none = (await api.grab())["id"]
    return {"retry in 5 min": retry, "1 h": hour, "2 days": days, "none": none}


SORT_CASES = {
    "title": (_by_title, ["Alpha.2020", "Bravo.2020", "Charlie.2020"]),
    "added": (_by_added, ["early", "middle", "late"]),
    "size": (_by_size, ["100", "200", "300"]),
    # the PascalCase enum name, compared as a string
    "status": (_by_status, ["completed", "delay", "downloadClientUnavailable", "downloading",
                            "failed", "paused", "queued", "warning"]),
    "progress": (_by_progress, ["10", "50", "90"]),
    "protocol": (_by_protocol, ["unknown", "usenet", "torrent"]),
    "indexer": (_by_indexer, ["alpha", "Bravo", "charlie"]),
    "downloadClient": (_by_download_client, ["alpha", "Bravo", "charlie"]),
    "year": (_by_year, ["0", "1999", "2005", "2010"]),
    "movies.sortTitle": (_by_sort_title, ["Kilo.Release.2020", "mike", "zulu"]),
    "quality": (_by_quality, ["SDTV", "WEBDL-1080p", "Bluray-2160p"]),
    # nulls after values when ascending
    "timeleft": (_by_timeleft, ["retry in 5 min", "1 h", "2 days", "none"]),
    "estimatedCompletionTime": (_by_timeleft, ["retry in 5 min", "1 h", "2 days", "none"]),
}


@pytest.mark.parametrize("key", list(SORT_CASES))
async def test_each_allowed_sort_key_orders_ascending_as_radarr_does(api: Api, key: str) -> None:
    setup, expected = SORT_CASES[key]
    made = await setup(api)
    page = await api.queue({"sortKey": key, "sortDirection": "ascending", "pageSize": 50})
    by_id = {v: k for k, v in made.items()}
    assert [by_id[i] for i in ids(page)] == expected


@pytest.mark.parametrize("key", list(SORT_CASES))
async def test_each_allowed_sort_key_orders_descending_as_the_reverse(api: Api, key: str) -> None:
    setup, expected = SORT_CASES[key]
    made = await setup(api)
    page = await api.queue({"sortKey": key, "sortDirection": "descending", "pageSize": 50})
    by_id = {v: k for k, v in made.items()}
    assert [by_id[i] for i in ids(page)] == expected[::-1]


@pytest.mark.parametrize("direction", ["ascending", "descending"])
async def test_ties_on_the_sort_key_are_broken_by_progress_descending(
    api: Api, direction: str
) -> None:
    made = {}
    for label, left in (("10%", 900), ("80%", 200), ("40%", 600)):
        item = await api.grab()
        await api.downloading(item["id"], size=1000, left=left)
        made[item["id"]] = label
    page = await api.queue({"sortKey": "size", "sortDirection": direction})
    assert [made[i] for i in ids(page)] == ["80%", "40%", "10%"]


async def test_pages_of_a_tied_sort_never_overlap_and_cover_every_record(api: Api) -> None:
    created = await sized(api, [7] * 25)
    seen: list[int] = []
    for number in (1, 2, 3):
        seen += ids(await api.queue({"page": number, "sortKey": "size"}))
    assert len(seen) == 25
    assert sorted(seen) == sorted(created)


# -- filters -----------------------------------------------------------------------------


async def test_items_without_a_movie_are_hidden_unless_include_unknown_movie_items(
    api: Api,
) -> None:
    known = (await api.grab(movieId=4))["id"]
    unknown = (await api.grab(movieId=None))["id"]
    hidden = await api.queue()
    assert ids(hidden) == [known]
    assert hidden["totalRecords"] == 1
    shown = await api.queue({"includeUnknownMovieItems": "true"})
    assert sorted(ids(shown)) == sorted([known, unknown])
    assert shown["totalRecords"] == 2


@pytest.mark.parametrize("spelling", ["True", "true", "TRUE", "tRuE"])
async def test_a_true_bool_is_read_in_any_case(api: Api, spelling: str) -> None:
    await api.grab(movieId=None)
    page = await api.queue({"includeUnknownMovieItems": spelling})
    assert page["totalRecords"] == 1


@pytest.mark.parametrize("spelling", ["False", "false", "FALSE"])
async def test_a_false_bool_is_read_in_any_case(api: Api, spelling: str) -> None:
    await api.grab(movieId=None)
    page = await api.queue({"includeUnknownMovieItems": spelling})
    assert page["totalRecords"] == 0


async def _three_movies(api: Api) -> dict[int, int]:
    return {movie: (await api.grab(movieId=movie))["id"] for movie in (1, 2, 3)}


async def test_movie_ids_given_as_repeated_keys_keep_those_movies(api: Api) -> None:
    made = await _three_movies(api)
    page = await api.queue([("movieIds", "1"), ("movieIds", "3")])
    assert sorted(ids(page)) == sorted([made[1], made[3]])
    assert page["totalRecords"] == 2


async def test_movie_ids_given_with_index_brackets_keep_those_movies(api: Api) -> None:
    made = await _three_movies(api)
    response = await api.client.get("/api/v3/queue?movieIds[0]=1&movieIds[1]=3")
    assert response.status_code == 200, response.text
    page = response.json()
    validate_queue_page(page)
    assert sorted(ids(page)) == sorted([made[1], made[3]])


async def test_movie_ids_with_percent_encoded_brackets_keep_those_movies(api: Api) -> None:
    made = await _three_movies(api)
    page = await api.queue({"movieIds[0]": "2"})
    assert ids(page) == [made[2]]


async def test_movie_ids_as_a_comma_separated_list_fail_binding_with_400(api: Api) -> None:
    await _three_movies(api)
    response = await api.client.get("/api/v3/queue", params={"movieIds": "1,2"})
    assert response.status_code == 400
    assert isinstance(response.json()["message"], str)


async def _protocols(api: Api) -> dict[str, int]:
    return {
        "torrent": (await api.grab())["id"],
        "unknown": (await api.grab(downloadUrl="https://files.example/x/Film.2021.mkv"))["id"],
    }


@pytest.mark.parametrize(("sent", "expected"), [
    ("torrent", "torrent"), ("TORRENT", "torrent"), ("Torrent", "torrent"), ("2", "torrent"),
    ("unknown", "unknown"), ("0", "unknown"),
])
async def test_the_protocol_filter_reads_names_in_any_case_and_integer_values(
    api: Api, sent: str, expected: str
) -> None:
    made = await _protocols(api)
    page = await api.queue({"protocol": sent})
    assert ids(page) == [made[expected]]
    assert page["totalRecords"] == 1
    assert {r["protocol"] for r in page["records"]} == {expected}


async def test_the_usenet_protocol_filter_matches_nothing_in_a_torrent_queue(api: Api) -> None:
    await _protocols(api)
    page = await api.queue({"protocol": "usenet"})
    assert page["records"] == []
    assert page["totalRecords"] == 0


async def _states(api: Api) -> dict[str, int]:
    made = {}
    for status, state in (("downloading", S.DOWNLOADING), ("paused", S.PAUSED),
                          ("queued", S.QUEUED), ("failed", S.FAILED)):
        item = await api.grab()
        await api.set(item["id"], state=state)
        made[status] = item["id"]
    return made


async def test_the_status_filter_keeps_items_in_any_repeated_status(api: Api) -> None:
    made = await _states(api)
    page = await api.queue([("status", "downloading"), ("status", "paused")])
    assert sorted(ids(page)) == sorted([made["downloading"], made["paused"]])
    assert page["totalRecords"] == 2
    assert {r["status"] for r in page["records"]} == {"downloading", "paused"}


async def test_the_status_filter_reads_enum_names_in_any_case(api: Api) -> None:
    made = await _states(api)
    page = await api.queue({"status": "Failed"})
    assert ids(page) == [made["failed"]]


async def test_the_status_filter_reads_integer_enum_values(api: Api) -> None:
    made = await _states(api)
    # QueueStatus: unknown 0, queued 1, paused 2, downloading 3, completed 4, failed 5
    page = await api.queue([("status", "3"), ("status", "5")])
    assert sorted(ids(page)) == sorted([made["downloading"], made["failed"]])


async def test_quality_keeps_items_whose_quality_id_is_in_the_set(api: Api) -> None:
    made = {}
    for qid in (1, 3, 7):
        item = await api.grab()
        await api.set(item["id"], quality=QualityModel(QUALITY_BY_ID[qid]))
        made[qid] = item["id"]
    page = await api.queue([("quality", "3"), ("quality", "7")])
    assert sorted(ids(page)) == sorted([made[3], made[7]])
    assert page["totalRecords"] == 2
    assert {r["quality"]["quality"]["id"] for r in page["records"]} == {3, 7}


async def test_languages_keeps_items_having_any_of_the_language_ids(api: Api) -> None:
    english, french, german = Language(1, "English"), Language(2, "French"), Language(4, "German")
    made = {}
    for label, langs in (("en", (english,)), ("fr+de", (french, german)), ("de", (german,))):
        item = await api.grab()
        await api.set(item["id"], languages=langs)
        made[label] = item["id"]
    page = await api.queue([("languages", "1"), ("languages", "2")])
    assert sorted(ids(page)) == sorted([made["en"], made["fr+de"]])
    assert page["totalRecords"] == 2


async def test_total_records_counts_every_match_of_the_combined_filters(api: Api) -> None:
    matching = []
    for i in range(14):
        item = await api.grab(movieId=1 + i % 2)
        if i % 3 == 0:
            await api.set(item["id"], state=S.PAUSED)
        elif i % 2 == 0:
            matching.append(item["id"])
    await api.grab(movieId=None)
    page = await api.queue([("movieIds", "1"), ("status", "queued"), ("pageSize", "2"),
                            ("includeUnknownMovieItems", "true")])
    assert page["totalRecords"] == len(matching)
    assert len(page["records"]) == 2


async def test_include_movie_embeds_the_movie_and_is_off_by_default(api: Api) -> None:
    await api.grab(movieId=42, movie={"title": "Goodfellas", "year": 1990, "tmdbId": 769,
                                      "imdbId": "tt0099685"})
    plain = await api.queue()
    assert "movie" not in plain["records"][0]
    page = await api.queue({"includeMovie": "true"})
    movie = page["records"][0]["movie"]
    assert movie["id"] == 42
    assert movie["title"] == "Goodfellas"
    assert movie["year"] == 1990
    assert movie["tmdbId"] == 769
    assert movie["imdbId"] == "tt0099685"


async def test_include_movie_embeds_nothing_for_an_item_without_a_movie(api: Api) -> None:
    await api.grab(movieId=None)
    page = await api.queue({"includeMovie": "true", "includeUnknownMovieItems": "true"})
    assert "movie" not in page["records"][0]
    assert "movieId" not in page["records"][0]


# -- query parsing and routes ------------------------------------------------------------


@pytest.mark.parametrize("key", ["PAGESIZE", "pagesize", "PageSize", "pageSize"])
async def test_query_keys_are_case_insensitive(api: Api, key: str) -> None:
    await sized(api, [1, 2, 3])
    page = await api.queue({key: "2"})
    assert page["pageSize"] == 2
    assert len(page["records"]) == 2


async def test_every_parameter_name_is_read_in_any_case(api: Api) -> None:
    wanted = (await api.grab(movieId=7, size=5))["id"]
    await api.grab(movieId=8, size=1)
    await api.grab(movieId=None)
    page = await api.queue([("SORTKEY", "size"), ("SortDirection", "ascending"),
                            ("INCLUDEUNKNOWNMOVIEITEMS", "true"), ("MOVIEIDS", "7"),
                            ("IncludeMovie", "true"), ("PAGE", "1")])
    assert page["sortKey"] == "size"
    assert page["sortDirection"] == "ascending"
    assert ids(page) == [wanted]
    assert page["records"][0]["movie"]["id"] == 7


@pytest.mark.parametrize("path", ["/API/V3/QUEUE", "/Api/V3/Queue", "/api/v3/queue/",
                                  "/API/V3/Queue/"])
async def test_routes_are_case_insensitive_and_tolerate_a_trailing_slash(
    api: Api, path: str
) -> None:
    await api.grab()
    response = await api.client.get(path)
    assert response.status_code == 200  # not a 307 redirect
    page = response.json()
    validate_queue_page(page)
    assert page["totalRecords"] == 1


@pytest.mark.parametrize("path", ["/API/V3/QUEUE/DETAILS", "/api/v3/queue/details/"])
async def test_the_details_route_is_case_insensitive_and_tolerates_a_trailing_slash(
    api: Api, path: str
) -> None:
    await api.grab()
    response = await api.client.get(path)
    assert response.status_code == 200
    validate_queue_details(response.json())


async def test_an_accept_header_that_excludes_json_gets_406(api: Api) -> None:
    # §1: [Produces("application/json")] with ReturnHttpNotAcceptable = true
    response = await api.client.get("/api/v3/queue", headers={"Accept": "text/html"})
    assert response.status_code == 406


async def test_an_accept_header_that_allows_json_gets_json(api: Api) -> None:
    response = await api.client.get("/api/v3/queue",
                                    headers={"Accept": "application/json, text/plain, */*"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")


async def test_sonarr_parameters_that_radarr_ignores_are_ignored(api: Api) -> None:
    await api.grab()
    page = await api.queue({"includeEpisode": "true", "includeSeries": "true"})
    assert page["totalRecords"] == 1


# -- /queue/details ----------------------------------------------------------------------


async def test_details_is_a_bare_array_of_every_item_including_unknown_ones(api: Api) -> None:
    known = [(await api.grab(movieId=1 + i % 3))["id"] for i in range(11)]
    unknown = [(await api.grab(movieId=None))["id"] for _ in range(2)]
    details = await api.details()
    assert isinstance(details, list)
    assert sorted(ids(details)) == sorted(known + unknown)


async def test_details_with_a_movie_id_keeps_only_that_movies_items(api: Api) -> None:
    mine = [(await api.grab(movieId=5))["id"] for _ in range(2)]
    await api.grab(movieId=6)
    await api.grab(movieId=None)
    details = await api.details({"movieId": 5})
    assert sorted(ids(details)) == sorted(mine)
    assert {r["movieId"] for r in details} == {5}


async def test_details_embeds_movies_only_with_include_movie(api: Api) -> None:
    await api.grab(movieId=5, movie={"title": "Heat", "year": 1995})
    assert "movie" not in (await api.details())[0]
    embedded = (await api.details({"includeMovie": "true"}))[0]["movie"]
    assert embedded["id"] == 5
    assert embedded["title"] == "Heat"


async def test_details_of_an_empty_queue_is_an_empty_array(api: Api) -> None:
    assert await api.details() == []


async def test_details_records_equal_the_paged_records(api: Api) -> None:
    for _ in range(4):
        await api.grab()
    await api.grab(movieId=None)
    page = await api.queue({"includeUnknownMovieItems": "true", "pageSize": 100})
    details = await api.details()
    assert sorted(details, key=lambda r: r["id"]) == sorted(page["records"],
                                                            key=lambda r: r["id"])


# -- /queue/status -----------------------------------------------------------------------

STATUS_FIELDS = {"totalCount", "count", "unknownCount", "errors", "warnings", "unknownErrors",
                 "unknownWarnings"}


async def test_status_of_an_empty_queue_still_has_all_seven_fields(api: Api) -> None:
    assert await api.status() == {
        "totalCount": 0, "count": 0, "unknownCount": 0, "errors": False, "warnings": False,
        "unknownErrors": False, "unknownWarnings": False,
    }


async def test_status_counts_and_flags_follow_the_tracked_download_status(api: Api) -> None:
    for movie, state in ((1, S.QUEUED), (2, S.DOWNLOADING), (3, S.FAILED), (4, S.WARNING),
                         (None, S.DOWNLOADING), (None, S.WARNING)):
        item = await api.grab(movieId=movie)
        await api.set(item["id"], state=state)
    status = await api.status()
    assert set(status) == STATUS_FIELDS
    assert status == {
        "totalCount": 6, "count": 4, "unknownCount": 2, "errors": True, "warnings": True,
        "unknownErrors": False, "unknownWarnings": True,
    }
    # and they agree with what /queue/details shows (§7's definitions)
    details = await api.details()
    known = [r for r in details if "movieId" in r]
    unknown = [r for r in details if "movieId" not in r]
    assert status["totalCount"] == len(details)
    assert status["count"] == len(known)
    assert status["unknownCount"] == len(unknown)
    assert status["errors"] == any(r.get("trackedDownloadStatus") == "error" for r in known)
    assert status["warnings"] == any(r.get("trackedDownloadStatus") == "warning" for r in known)
    assert status["unknownErrors"] == any(
        r.get("trackedDownloadStatus") == "error" for r in unknown)
    assert status["unknownWarnings"] == any(
        r.get("trackedDownloadStatus") == "warning" for r in unknown)


async def test_status_reports_errors_of_unknown_items_separately(api: Api) -> None:
    item = await api.grab(movieId=None)
    await api.set(item["id"], state=S.FAILED)
    status = await api.status()
    assert status["unknownErrors"] is True
    assert status["errors"] is False
    assert status["totalCount"] == 1
    assert status["count"] == 0
