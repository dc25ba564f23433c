"""Radarr's JSON conventions (reference §1, §5, §15.2): camelCase names and enums, null
members omitted, DateTime as YYYY-MM-DDTHH:MM:SSZ, TimeSpan as [d.]hh:mm:ss, and which
QueueResource members are omitted for which kind of item."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from api.resources import EXTRA_QUEUE_FIELDS
from core.domain import DownloadProtocol, ItemState, StatusMessage
from core.quality import QUALITY_BY_ID, Language, QualityModel
from tests.api.conftest import Api
from tests.api.radarr_schema import (
    RADARR_DATE,
    extra_field_collisions,
    keys_in,
    nulls_in,
    queue_resource_fields,
    validate_api_info,
    validate_blocklist_page,
    validate_ping,
    validate_queue_details,
    validate_queue_page,
    validate_queue_resource,
    validate_queue_status,
)

S = ItemState
CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")
TIMESPAN = re.compile(r"^(\d+\.)?\d{2}:\d{2}:\d{2}$")
DATE_FIELDS = ("added", "estimatedCompletionTime", "nextAttemptAt", "startedAt", "completedAt")


async def varied_queue(api: Api) -> dict[str, int]:
    """One item in each state, with and without a movie, with every optional field set
    somewhere."""
    made: dict[str, int] = {}
    now = api.clock.now()
    made["queued"] = (await api.grab(movie={"title": "Heat", "year": 1995}, indexer="Idx",
                                     downloadClient="qbit", category="movies",
                                     releaseId=77, seeders=3, leechers=1))["id"]
    made["unknown"] = (await api.grab(movieId=None))["id"]
    made["http"] = (await api.grab(downloadUrl="https://files.example/d/Film.2019.mkv"))["id"]
    # Radarr's example record: qBittorrent's download id is the torrent's info hash.
    made["downloading"] = (await api.grab(
        downloadUrl="magnet:?xt=urn:btih:202b87f7190b45f86487c7a28a49ea5a5eb939a5"
                    "&dn=Goodfellas.1990.1080p.BluRay.x264-GRP"))["id"]
    await api.downloading(made["downloading"], size=6202395598, left=6193674427, eta=5602,
                          download_id="202B87F7190B45F86487C7A28A49EA5A5EB939A5",
                          output_path="/downloads/Goodfellas",
                          quality=QualityModel(QUALITY_BY_ID[7]),
                          languages=(Language(1, "English"),))
    made["warning"] = (await api.grab())["id"]
    await api.set(made["warning"], state=S.WARNING, error_message="Stalled", status_messages=(
        StatusMessage("Some.Title", ("Movie title mismatch, automatic import is not possible.",
                                     )),))
    made["failed"] = (await api.grab())["id"]
    await api.set(made["failed"], state=S.FAILED, error_message="The download is missing files")
    made["completed"] = (await api.grab())["id"]
    await api.set(made["completed"], state=S.COMPLETED, completed_at=now, size=10, size_left=0,
                  progress=100.0)
    made["delay"] = (await api.grab())["id"]
    await api.set(made["delay"], state=S.RETRYING, attempts=2,
                  next_attempt_at=now + timedelta(minutes=15))
    made["unavailable"] = (await api.grab())["id"]
    await api.set(made["unavailable"], state=S.CLIENT_UNAVAILABLE,
                  next_attempt_at=now + timedelta(seconds=90))
    made["paused"] = (await api.grab())["id"]
    await api.set(made["paused"], state=S.PAUSED)
    made["usenet"] = (await api.grab())["id"]
    await api.set(made["usenet"], protocol=DownloadProtocol.USENET)
    return made


async def every_response(api: Api) -> dict[str, Any]:
    """Bodies of the JSON endpoints, over a varied queue and a one-entry blocklist."""
    made = await varied_queue(api)
    blocked = (await api.grab(movieId=9))["id"]
    removed = await api.client.delete(f"/api/v3/queue/{blocked}", params={"blocklist": "true"})
    assert removed.status_code == 200
    bodies: dict[str, Any] = {}
    # (system/status is checked in test_system.py, on SQLite: a memory container has no
    # Radarr databaseType)
    for name, url, params, validate in (
        ("queue", "/api/v3/queue", {"includeUnknownMovieItems": "true", "pageSize": 100,
                                    "includeMovie": "true"}, validate_queue_page),
        ("details", "/api/v3/queue/details", {"includeMovie": "true"}, validate_queue_details),
        ("status", "/api/v3/queue/status", None, validate_queue_status),
        ("statistics", "/api/v3/queue/statistics", None, None),
        ("item", f"/api/v3/queue/{made['downloading']}", {"includeMovie": "true"},
         validate_queue_resource),
        ("blocklist", "/api/v3/blocklist", None, validate_blocklist_page),
        ("api", "/api", None, validate_api_info),
        ("ping", "/ping", None, validate_ping),
    ):
        bodies[name] = await api.get_json(url, params, validate)
    bodies["grab"] = await api.grab(movie={"title": "X"})
    bodies["paused"] = (await api.client.put(f"/api/v3/queue/{made['queued']}/pause")).json()
    bodies["notFound"] = (await api.client.get("/api/v3/queue/999999")).json()
    bodies["badRequest"] = (await api.client.get("/api/v3/queue",
                                                 params={"page": "abc"})).json()
    return bodies


async def test_no_response_ever_writes_a_null_member(api: Api) -> None:
    bodies = await every_response(api)
    assert {name: nulls_in(body) for name, body in bodies.items() if nulls_in(body)} == {}


async def test_every_property_name_is_camel_case(api: Api) -> None:
    bodies = await every_response(api)
    offending = {name: sorted(k for k in keys_in(body) if not CAMEL.match(k))
                 for name, body in bodies.items()}
    assert {name: keys for name, keys in offending.items() if keys} == {}


async def test_every_record_of_a_varied_queue_matches_radarrs_queue_resource(api: Api) -> None:
    await varied_queue(api)
    page = await api.queue({"includeUnknownMovieItems": "true", "pageSize": 100,
                            "includeMovie": "true"})
    assert page["totalRecords"] == 11
    for record in page["records"]:
        validate_queue_resource(record)


def test_no_extra_field_collides_case_insensitively_with_a_radarr_field() -> None:
    assert extra_field_collisions() == set()


def test_sizeleft_and_timeleft_are_radarrs_only_spellings() -> None:
    assert {"sizeleft", "timeleft"} <= queue_resource_fields()
    folded = {f.lower() for f in EXTRA_QUEUE_FIELDS}
    assert "sizeleft" not in folded and "timeleft" not in folded


async def test_records_never_carry_size_left_or_time_left_in_camel_case(api: Api) -> None:
    await varied_queue(api)
    details = await api.details()
    assert not keys_in(details) & {"sizeLeft", "timeLeft", "SizeLeft", "TimeLeft"}
    assert all("sizeleft" in r for r in details)


async def test_every_date_is_whole_seconds_utc_with_a_literal_z(api: Api) -> None:
    await varied_queue(api)
    found = 0
    for record in await api.details():
        for field in DATE_FIELDS:
            if field in record:
                found += 1
                assert RADARR_DATE.fullmatch(record[field]), (field, record[field])
    assert found >= 12


async def test_sub_second_times_are_written_as_whole_seconds(api: Api) -> None:
    api.clock.set(api.clock.now().replace(microsecond=987654))
    item = await api.grab()
    assert item["added"] == api.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert item["added"].endswith(":00Z")


@pytest.mark.parametrize(("seconds", "expected"), [
    (0, "00:00:00"), (332, "00:05:32"), (5602, "01:33:22"), (86399, "23:59:59"),
    (86400, "1.00:00:00"), (93784, "1.02:03:04"), (12 * 86400 + 3723, "12.01:02:03"),
])
async def test_timeleft_of_a_download_is_a_dotnet_timespan(
    api: Api, seconds: int, expected: str
) -> None:
    item = await api.grab()
    await api.downloading(item["id"], size=100, left=50, eta=seconds)
    record = (await api.details())[0]
    assert record["timeleft"] == expected
    ect = api.clock.now() + timedelta(seconds=seconds)
    assert record["estimatedCompletionTime"] == ect.strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_a_retrying_item_shows_the_time_until_its_next_attempt(api: Api) -> None:
    item = await api.grab()
    at = api.clock.now() + timedelta(days=2, hours=3, minutes=4, seconds=5)
    await api.set(item["id"], state=S.RETRYING, attempts=1, next_attempt_at=at)
    record = (await api.details())[0]
    assert record["status"] == "delay"
    assert record["timeleft"] == "2.03:04:05"
    assert record["estimatedCompletionTime"] == at.strftime("%Y-%m-%dT%H:%M:%SZ")
    api.clock.advance(hours=3)
    assert (await api.details())[0]["timeleft"] == "2.00:04:05"


async def test_a_pending_items_timeleft_never_goes_negative(api: Api) -> None:
    item = await api.grab()
    await api.set(item["id"], state=S.RETRYING, attempts=1,
                  next_attempt_at=api.clock.now() + timedelta(seconds=30))
    api.clock.advance(minutes=5)
    assert (await api.details())[0]["timeleft"] == "00:00:00"


async def test_timeleft_and_estimated_completion_time_are_omitted_together_without_eta(
    api: Api,
) -> None:
    await api.grab()
    record = (await api.details())[0]
    assert "timeleft" not in record
    assert "estimatedCompletionTime" not in record


async def test_every_timeleft_matches_the_timespan_format(api: Api) -> None:
    await varied_queue(api)
    spans = [r["timeleft"] for r in await api.details() if "timeleft" in r]
    assert len(spans) >= 3
    assert all(TIMESPAN.fullmatch(s) for s in spans), spans


async def test_enums_are_camel_case_strings(api: Api) -> None:
    made = await varied_queue(api)
    by_id = {r["id"]: r for r in await api.details()}
    assert by_id[made["unavailable"]]["status"] == "downloadClientUnavailable"
    assert by_id[made["delay"]]["status"] == "delay"
    assert by_id[made["failed"]]["trackedDownloadStatus"] == "error"
    assert by_id[made["downloading"]]["protocol"] == "torrent"
    assert by_id[made["http"]]["protocol"] == "unknown"
    assert by_id[made["usenet"]]["protocol"] == "usenet"
    quality = by_id[made["downloading"]]["quality"]["quality"]
    assert (quality["source"], quality["modifier"]) == ("bluray", "none")
    page = await api.queue({"sortDirection": "Ascending"})
    assert page["sortDirection"] == "ascending"


async def test_a_downloading_item_looks_like_radarrs_example_record(api: Api) -> None:
    made = await varied_queue(api)
    record = (await api.get_json(f"/api/v3/queue/{made['downloading']}"))
    validate_queue_resource(record)
    expected = {
        "movieId": 1, "languages": [{"id": 1, "name": "English"}],
        "quality": {"quality": {"id": 7, "name": "Bluray-1080p", "source": "bluray",
                                "resolution": 1080, "modifier": "none"},
                    "revision": {"version": 1, "real": 0, "isRepack": False}},
        "customFormats": [], "customFormatScore": 0, "size": 6202395598, "status": "downloading",
        "trackedDownloadStatus": "ok", "trackedDownloadState": "downloading",
        "statusMessages": [], "downloadId": "202B87F7190B45F86487C7A28A49EA5A5EB939A5",
        "protocol": "torrent", "downloadClientHasPostImportCategory": False,
        "outputPath": "/downloads/Goodfellas", "sizeleft": 6193674427, "timeleft": "01:33:22",
    }
    assert {k: record.get(k) for k in expected} == expected


@pytest.mark.parametrize("kind", ["delay", "unavailable"])
async def test_pending_items_omit_the_tracked_download_members(api: Api, kind: str) -> None:
    made = await varied_queue(api)
    record = {r["id"]: r for r in await api.details()}[made[kind]]
    for absent in ("trackedDownloadStatus", "trackedDownloadState", "statusMessages",
                   "downloadId", "outputPath"):
        assert absent not in record
    for present in ("size", "sizeleft", "status", "protocol", "customFormatScore",
                    "downloadClientHasPostImportCategory", "quality", "languages"):
        assert present in record


async def test_tracked_items_have_status_messages_even_when_there_are_none(api: Api) -> None:
    made = await varied_queue(api)
    by_id = {r["id"]: r for r in await api.details()}
    assert by_id[made["downloading"]]["statusMessages"] == []
    assert by_id[made["warning"]]["statusMessages"] == [
        {"title": "Some.Title",
         "messages": ["Movie title mismatch, automatic import is not possible."]}]


async def test_error_message_appears_only_when_there_is_one(api: Api) -> None:
    made = await varied_queue(api)
    by_id = {r["id"]: r for r in await api.details()}
    assert by_id[made["failed"]]["errorMessage"] == "The download is missing files"
    assert "errorMessage" not in by_id[made["downloading"]]


async def test_unknown_items_omit_movie_id_and_custom_formats(api: Api) -> None:
    made = await varied_queue(api)
    by_id = {r["id"]: r for r in await api.details()}
    unknown = by_id[made["unknown"]]
    assert "movieId" not in unknown
    assert "customFormats" not in unknown
    assert unknown["customFormatScore"] == 0
    assert by_id[made["queued"]]["customFormats"] == []


async def test_an_unknown_language_and_quality_are_radarrs_unknown_values(api: Api) -> None:
    record = await api.grab("A release whose title names nothing")
    assert record["languages"] == [{"id": 0, "name": "Unknown"}]
    assert record["quality"]["quality"] == {"id": 0, "name": "Unknown", "source": "unknown",
                                            "resolution": 0, "modifier": "none"}


async def test_size_and_sizeleft_are_integral_json_numbers(api: Api) -> None:
    await varied_queue(api)
    for record in await api.details():
        assert isinstance(record["size"], int) and isinstance(record["sizeleft"], int)


async def test_every_record_has_a_positive_id(api: Api) -> None:
    await varied_queue(api)
    assert all(isinstance(r["id"], int) and r["id"] > 0 for r in await api.details())


async def test_status_has_no_id_member(api: Api) -> None:
    await api.grab()
    assert "id" not in await api.status()


@pytest.mark.parametrize("url", ["/api/v3/queue", "/api/v3/queue/details",
                                 "/api/v3/queue/status", "/api", "/ping"])
async def test_json_responses_are_served_as_application_json(api: Api, url: str) -> None:
    response = await api.client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == "application/json"


async def test_a_grab_gets_its_quality_languages_and_formats_from_its_title(api: Api) -> None:
    record = await api.grab("Heat.1995.FRENCH.2160p.UHD.BluRay.x265.HDR-FGT")
    assert record["quality"]["quality"] == {"id": 19, "name": "Bluray-2160p",
                                            "source": "bluray", "resolution": 2160,
                                            "modifier": "none"}
    assert record["languages"] == [{"id": 2, "name": "French"}]
    assert {f["name"] for f in record["customFormats"]} == {"HEVC", "HDR"}
    assert record["customFormatScore"] == 150  # the default profile: HEVC 50, HDR 100
