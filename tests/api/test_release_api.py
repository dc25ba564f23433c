"""Release selection over HTTP (issue 5): /api/v3/customformat and /api/v3/qualityprofile
(Radarr's CRUD, the defaults made at start-up), /api/v3/release/push (autobrr, Prowlarr),
/api/v3/release/score (a dry run), POST /api/v3/queue/grab with candidates, and the
next-best re-grab after DELETE /api/v3/queue/{id}?blocklist=true. Radarr's resources are
checked against Radarr's own schemas."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.release_schemas import ScoredRelease
from api.routers.history import OWN_EVENTS
from core.domain import DownloadProtocol, ItemState, NewBlocklistEntry
from core.presets import DEFAULT_FORMATS, DEFAULT_PROFILE_NAME
from tests.api.conftest import Api, ApiFactory, info_hash, magnet
from tests.api.failures import failure_pairs
from tests.api.radarr_schema import (
    validate_custom_format,
    validate_custom_format_schema,
    validate_custom_formats,
    validate_history_page,
    validate_quality_profile,
    validate_quality_profiles,
    validate_queue_details,
    validate_queue_resource,
    validate_releases,
)
from tests.conftest import STORE_KINDS

EVERY_STORE = pytest.mark.parametrize("store", STORE_KINDS, indirect=True)


FORMATS = "/api/v3/customformat"
PROFILES = "/api/v3/qualityprofile"
PUSH = "/api/v3/release/push"
SCORE = "/api/v3/release/score"
GRAB = "/api/v3/queue/grab"
GIB = 1024**3

TRASH = Path(__file__).resolve().parents[1] / "release" / "data" / "trash"
LOOK_BEHIND = "(?<!HD[._ -]|HD)"
# Radarr's custom format specification implementations.
IMPLEMENTATIONS = {
    "ReleaseTitleSpecification", "ReleaseGroupSpecification", "EditionSpecification",
    "ResolutionSpecification", "SourceSpecification", "QualityModifierSpecification",
    "SizeSpecification", "IndexerFlagSpecification", "LanguageSpecification",
    "YearSpecification", "IndexerSpecification", "DownloadProtocolSpecification",
}
DEFAULT_FORMAT_NAMES = [fmt.name for fmt, _ in DEFAULT_FORMATS]
DEFAULT_SCORES = {fmt.name: score for fmt, score in DEFAULT_FORMATS}
BLURAY_1080P, WEBDL_1080P, WEBRIP_1080P, CAM, REMUX_2160P = 7, 3, 15, 25, 31

# Releases of one movie, best first under the default profile.
MOVIE = 7
REMUX = "Heat.1995.2160p.UHD.BluRay.REMUX.HDR.HEVC.TrueHD.7.1-FGT"
WEBDL = "Heat.1995.1080p.WEB-DL.DDP5.1.H.264-NTb"
BLURAY = "Heat.1995.1080p.BluRay.x264-SPARKS"
HD720 = "Heat.1995.720p.WEB-DL.DD5.1.H.264-GRP"
CAM_RIP = "Heat.1995.CAM.x264-XYZ"


# -- helpers ---------------------------------------------------------------------------


def release(title: str, **extra: Any) -> dict[str, Any]:
    """A ReleaseResource as autobrr or Prowlarr push it."""
    return {"title": title, "magnetUrl": magnet(title), "protocol": "torrent",
            "size": 8 * GIB, "seeders": 50, "leechers": 5, "indexer": "Local",
            "publishDate": "2025-12-01T10:00:00Z", **extra}


def error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    message: str = response.json()["message"]
    assert isinstance(message, str) and message
    return message


async def ok(response_or_call: Any, status: int = 200) -> Any:
    response = await response_or_call
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def formats(api: Api) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = await api.get_json(FORMATS, validate=validate_custom_formats)
    return body


async def profiles(api: Api) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = await api.get_json(PROFILES,
                                                    validate=validate_quality_profiles)
    return body


async def default_profile(api: Api) -> dict[str, Any]:
    (profile,) = [p for p in await profiles(api) if p["name"] == DEFAULT_PROFILE_NAME]
    return profile


async def push(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    """POST /release/push: a one-element array of Radarr's ReleaseResource."""
    response = await api.client.post(PUSH, json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    validate_releases(answer)
    (decided,) = answer
    assert isinstance(decided, dict)
    return decided


async def score(api: Api, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = await api.client.post(SCORE, json=body)
    assert response.status_code == 200, response.text
    answer: list[dict[str, Any]] = response.json()
    for entry in answer:
        ScoredRelease.model_validate(entry)
    return answer


async def queue_item(api: Api, item_id: int) -> dict[str, Any]:
    body: dict[str, Any] = await api.get_json(f"/api/v3/queue/{item_id}",
                                              validate=validate_queue_resource)
    return body


async def history(api: Api, item_id: int) -> list[dict[str, Any]]:
    """The item's history, oldest first, checked against Radarr's schema (Queuarr's own
    event names are the documented OWN_EVENTS)."""
    body = await api.get_json("/api/v3/history", {
        "itemId": item_id, "pageSize": 50, "sortDirection": "ascending"})
    validate_history_page(body, OWN_EVENTS)
    records: list[dict[str, Any]] = body["records"]
    return records


def trash(file_name: str) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((TRASH / file_name).read_text(encoding="utf-8"))
    return raw


def field_values(spec: dict[str, Any]) -> dict[str, Any]:
    return {f["name"]: f["value"] for f in spec["fields"]}


def radarr_list_form(trash_format: dict[str, Any], name: str) -> dict[str, Any]:
    """A TRaSH file in Radarr's own shape: fields as a list of {name, value}."""
    out = copy.deepcopy(trash_format) | {"name": name}
    for spec in out["specifications"]:
        spec["fields"] = [{"name": k, "value": v} for k, v in spec["fields"].items()]
    return out


async def add_profile(api: Api, name: str, *, allowed: set[int], cutoff: int,
                      scores: dict[str, int] | None = None, **extra: Any) -> dict[str, Any]:
    """A profile made from GET /qualityprofile/schema, edited, then posted."""
    template = await api.get_json(f"{PROFILES}/schema", validate=validate_quality_profile)
    template["name"] = name
    for item in template["items"]:
        item["allowed"] = item["quality"]["id"] in allowed
    template["cutoff"] = cutoff
    for entry in template["formatItems"]:
        entry["score"] = (scores or {}).get(entry["name"], 0)
    template.update(extra)
    created: dict[str, Any] = await ok(api.client.post(PROFILES, json=template), 201)
    validate_quality_profile(created)
    return created


async def queue_details(api: Api) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = await api.get_json(
        "/api/v3/queue/details", validate=validate_queue_details)
    return body


# -- the defaults made at start-up -----------------------------------------------------


@EVERY_STORE
async def test_the_default_profile_is_listed_after_start_up_scoring_every_default_format(
        api: Api) -> None:
    (profile,) = await profiles(api)
    assert profile["name"] == DEFAULT_PROFILE_NAME == "Queuarr default"
    assert profile["id"] > 0 and profile["cutoff"] == BLURAY_1080P
    allowed = {i["quality"]["name"] for i in profile["items"] if i["allowed"]}
    assert "Bluray-1080p" in allowed and "Remux-2160p" in allowed
    assert not allowed & {"CAM", "TELESYNC", "BR-DISK", "Unknown"}
    listed = await formats(api)
    ids = {f["name"]: f["id"] for f in listed}
    assert [(f["format"], f["name"], f["score"]) for f in profile["formatItems"]] == [
        (ids[name], name, DEFAULT_SCORES[name]) for name in DEFAULT_FORMAT_NAMES]
    assert await api.get_json(f"{PROFILES}/{profile['id']}",
                              validate=validate_quality_profile) == profile


@EVERY_STORE
async def test_the_default_custom_formats_are_listed_in_radarr_shape(api: Api) -> None:
    listed = await formats(api)
    assert [f["name"] for f in listed] == DEFAULT_FORMAT_NAMES
    assert [f["id"] for f in listed] == sorted({f["id"] for f in listed})
    for fmt in listed:
        assert fmt["specifications"]
        for spec in fmt["specifications"]:
            assert isinstance(spec["fields"], list) and spec["fields"]
            assert all({"name", "value"} <= set(f) for f in spec["fields"])
        assert await api.get_json(f"{FORMATS}/{fmt['id']}",
                                  validate=validate_custom_format) == fmt


async def test_a_second_start_keeps_the_profiles_as_they_are(make_api: ApiFactory) -> None:
    async with make_api() as api:
        profile = await default_profile(api)
        await ok(api.client.put(f"{PROFILES}/{profile['id']}",
                                json=profile | {"name": "Mine", "minFormatScore": 5}), 202)
    async with make_api() as api:
        (again,) = await profiles(api)
        assert (again["id"], again["name"], again["minFormatScore"]) == (
            profile["id"], "Mine", 5)
        assert len(await formats(api)) == len(DEFAULT_FORMATS)


# -- /api/v3/customformat --------------------------------------------------------------


@EVERY_STORE
async def test_a_trash_format_is_imported_as_is_and_answered_in_radarr_shape(api: Api
                                                                              ) -> None:
    raw = trash("br-disk.json")
    assert LOOK_BEHIND in raw["specifications"][0]["fields"]["value"]
    created = await ok(api.client.post(FORMATS, json=raw), 201)
    validate_custom_format(created)
    assert created["id"] > 0 and created["name"] == "BR-DISK"
    assert created["includeCustomFormatWhenRenaming"] is False
    assert [(s["name"], s["implementation"], s["negate"], s["required"])
            for s in created["specifications"]] == [
        (s["name"], s["implementation"], s["negate"], s["required"])
        for s in raw["specifications"]]
    assert [field_values(s) for s in created["specifications"]] == [
        s["fields"] for s in raw["specifications"]]
    title, source, _ = created["specifications"]
    assert title["implementationName"] == "Release Title"
    assert title["fields"][0]["name"] == "value" and LOOK_BEHIND in title["fields"][0]["value"]
    assert source["fields"][0]["value"] == 7
    assert await api.get_json(f"{FORMATS}/{created['id']}",
                              validate=validate_custom_format) == created
    assert (await formats(api))[-1] == created
    # Every profile scores it 0 until told otherwise.
    (entry,) = [f for f in (await default_profile(api))["formatItems"]
                if f["format"] == created["id"]]
    assert entry == {"format": created["id"], "name": "BR-DISK", "score": 0}


@EVERY_STORE
async def test_a_format_in_radarr_list_form_is_imported_the_same(api: Api) -> None:
    from_trash = await ok(api.client.post(FORMATS, json=trash("br-disk.json")), 201)
    listed = radarr_list_form(trash("br-disk.json"), "BR-DISK (Radarr)")
    from_list = await ok(api.client.post(FORMATS, json=listed), 201)
    validate_custom_format(from_list)
    assert from_list["id"] != from_trash["id"]
    assert from_list | {"id": 0, "name": ""} == from_trash | {"id": 0, "name": ""}
    # What Queuarr answers may be posted back as it is (another name).
    echoed = await ok(api.client.post(FORMATS, json=from_list | {"name": "Echo"}), 201)
    assert echoed["specifications"] == from_list["specifications"]


@EVERY_STORE
async def test_a_put_renames_a_format_and_every_profile_shows_the_new_name(api: Api) -> None:
    created = await ok(api.client.post(FORMATS, json=trash("br-disk.json")), 201)
    changed = await ok(api.client.put(f"{FORMATS}/{created['id']}",
                                      json=created | {"name": "Discs"}), 202)
    validate_custom_format(changed)
    assert changed == created | {"name": "Discs"}
    assert await api.get_json(f"{FORMATS}/{created['id']}") == changed
    names = {f["format"]: f["name"] for f in (await default_profile(api))["formatItems"]}
    assert names[created["id"]] == "Discs"
    assert [f["name"] for f in await formats(api)].count("BR-DISK") == 0


@EVERY_STORE
async def test_deleting_a_format_removes_it_and_its_score_from_every_profile(api: Api
                                                                              ) -> None:
    created = await ok(api.client.post(FORMATS, json=trash("br-disk.json")), 201)
    fid = created["id"]
    default = await default_profile(api)
    scored = [f | {"score": -5000} if f["format"] == fid else f for f in default["formatItems"]]
    await ok(api.client.put(f"{PROFILES}/{default['id']}",
                            json=default | {"formatItems": scored}), 202)
    other = await add_profile(api, "Discs hated", allowed={BLURAY_1080P}, cutoff=BLURAY_1080P,
                              scores={"BR-DISK": -10000, "HEVC": 5})
    assert {f["name"]: f["score"] for f in other["formatItems"]}["BR-DISK"] == -10000

    response = await api.client.delete(f"{FORMATS}/{fid}")
    assert response.status_code == 200, response.text
    assert fid not in [f["id"] for f in await formats(api)]
    error(await api.client.get(f"{FORMATS}/{fid}"), 404)
    for profile in await profiles(api):
        assert fid not in [f["format"] for f in profile["formatItems"]]
    after = {p["name"]: {f["name"]: f["score"] for f in p["formatItems"]}
             for p in await profiles(api)}
    assert after[DEFAULT_PROFILE_NAME] == DEFAULT_SCORES
    assert after["Discs hated"]["HEVC"] == 5
    for stored in await api.store.profiles.list():
        assert fid not in [f.format_id for f in stored.format_items]


@EVERY_STORE
async def test_a_format_name_that_is_taken_is_a_400(api: Api) -> None:
    created = await ok(api.client.post(FORMATS, json=trash("br-disk.json")), 201)
    before = await formats(api)
    assert "BR-DISK" in error(await api.client.post(FORMATS, json=trash("br-disk.json")), 400)
    other = await ok(api.client.post(FORMATS, json=trash("x265-hd.json")), 201)
    error(await api.client.put(f"{FORMATS}/{other['id']}", json=other | {"name": "BR-DISK"}),
          400)
    assert await formats(api) == [*before, other]
    assert await api.get_json(f"{FORMATS}/{created['id']}") == created


@EVERY_STORE
async def test_an_invalid_regular_expression_is_a_400_naming_it_and_nothing_is_stored(
        api: Api) -> None:
    before = await formats(api)
    bad = {"name": "Broken", "specifications": [
        {"name": "Fine", "implementation": "ReleaseTitleSpecification",
         "fields": {"value": r"\bx265\b"}},
        {"name": "Unclosed group", "implementation": "ReleaseTitleSpecification",
         "fields": {"value": "(HEVC|x265"}}]}
    message = error(await api.client.post(FORMATS, json=bad), 400)
    assert "Unclosed group" in message and "(HEVC|x265" in message
    assert await formats(api) == before
    # Nor is an existing format changed by one.
    fmt = before[0]
    spec = fmt["specifications"][0]
    broken = fmt | {"specifications": [spec | {"fields": [{"name": "value", "value": "[a-"}]}]}
    assert "[a-" in error(await api.client.put(f"{FORMATS}/{fmt['id']}", json=broken), 400)
    assert await formats(api) == before


@EVERY_STORE
async def test_an_unknown_implementation_is_a_400_and_nothing_is_stored(api: Api) -> None:
    before = await formats(api)
    bad = {"name": "Odd", "specifications": [
        {"name": "Odd spec", "implementation": "RuntimeSpecification",
         "fields": {"value": 120}}]}
    assert "RuntimeSpecification" in error(await api.client.post(FORMATS, json=bad), 400)
    assert await formats(api) == before


async def test_the_format_schema_lists_every_implementation(api: Api) -> None:
    schema = await api.get_json(f"{FORMATS}/schema", validate=validate_custom_format_schema)
    assert {s["implementation"] for s in schema} == IMPLEMENTATIONS
    assert len(schema) == len(IMPLEMENTATIONS)
    for spec in schema:
        assert spec["fields"] and all("name" in f for f in spec["fields"])
        assert spec["negate"] is False and spec["required"] is False


# Radarr's GET /customformat/schema (CustomFormatController.GetTemplates, Radarr 5.x): the
# specifications by their Order, each without a name (null, left out), with Radarr's
# implementationName and fields (name, label, type, value when not null, unit, isFloat).
RADARR_FORMAT_SCHEMA = [
    ("ReleaseTitleSpecification", "Release Title",
     [("value", "Regular Expression", "textbox", None, None, False)]),
    ("EditionSpecification", "Edition",
     [("value", "Regular Expression", "textbox", None, None, False)]),
    ("LanguageSpecification", "Language",
     [("value", "Language", "select", 0, None, False),
      ("exceptLanguage", "Except Language", "checkbox", False, None, False)]),
    ("IndexerFlagSpecification", "Indexer Flag", [("value", "Flag", "select", 0, None, False)]),
    ("SourceSpecification", "Source", [("value", "Source", "select", 0, None, False)]),
    ("ResolutionSpecification", "Resolution",
     [("value", "Resolution", "select", 0, None, False)]),
    ("QualityModifierSpecification", "Quality Modifier",
     [("value", "Quality Modifier", "select", 0, None, False)]),
    ("SizeSpecification", "Size", [("min", "Minimum Size", "number", 0, "GB", True),
                                   ("max", "Maximum Size", "number", 0, "GB", True)]),
    ("ReleaseGroupSpecification", "Release Group",
     [("value", "Regular Expression", "textbox", None, None, False)]),
    ("YearSpecification", "Year", [("min", "Minimum Year", "number", 0, None, False),
                                   ("max", "Maximum Year", "number", 0, None, False)]),
]


async def test_the_format_schema_is_radarrs_with_named_presets(api: Api) -> None:
    schema = await api.get_json(f"{FORMATS}/schema", validate=validate_custom_format_schema)
    radarr = [(s["implementation"], s["implementationName"],
               [(f["name"], f["label"], f["type"], f.get("value"), f.get("unit"), f["isFloat"])
                for f in s["fields"]]) for s in schema[:len(RADARR_FORMAT_SCHEMA)]]
    assert radarr == RADARR_FORMAT_SCHEMA
    assert all("name" not in s for s in schema)  # not "": a tool keeps its own names
    by_impl = {s["implementation"]: s for s in schema}
    options = {s: [(o["value"], o["name"]) for o in by_impl[s]["fields"][0]["selectOptions"]]
               for s in ("SourceSpecification", "QualityModifierSpecification",
                         "ResolutionSpecification", "IndexerFlagSpecification")}
    assert options["SourceSpecification"][-1] == (9, "BLURAY")
    assert options["QualityModifierSpecification"][-1] == (5, "REMUX")
    assert options["ResolutionSpecification"][-1] == (2160, "R2160p")
    assert (2048, "Nuked") in options["IndexerFlagSpecification"]
    assert 64 not in dict(options["IndexerFlagSpecification"])  # [Obsolete] in Radarr
    languages = by_impl["LanguageSpecification"]["fields"][0]["selectOptions"]
    assert [o["name"] for o in languages[:4]] == ["Any", "Original", "Unknown", "Afrikaans"]
    assert [o["dividerAfter"] for o in languages[:4]] == [False, False, True, False]
    # presets carry names: Radarr's six, then each stored format's conditions
    titles = by_impl["ReleaseTitleSpecification"]["presets"]
    assert [p["name"] for p in titles[:6]] == [
        "x264", "x265", "Simple Hardcoded Subs", "Hardcoded Subs", "Surround Sound",
        "Preferred Words"]
    assert titles[0]["fields"][0]["value"] == r"(x|h)\.?264"
    stored = {f"{f['name']}: {s['name']}" for f in await formats(api)
              for s in f["specifications"]}
    presets = {p["name"] for s in schema for p in s["presets"]}
    assert stored and stored <= presets


@EVERY_STORE
async def test_a_missing_format_is_a_404(api: Api) -> None:
    fmt = (await formats(api))[0]
    error(await api.client.get(f"{FORMATS}/9999"), 404)
    error(await api.client.put(f"{FORMATS}/9999", json=fmt | {"name": "Ghost"}), 404)
    error(await api.client.delete(f"{FORMATS}/9999"), 404)
    assert "Ghost" not in [f["name"] for f in await formats(api)]


# -- /api/v3/qualityprofile ------------------------------------------------------------


@EVERY_STORE
async def test_a_profile_from_the_schema_is_created_changed_and_deleted(api: Api) -> None:
    template = await api.get_json(f"{PROFILES}/schema", validate=validate_quality_profile)
    assert template["id"] == 0 and template["name"] == ""
    assert [f["name"] for f in template["formatItems"]] == DEFAULT_FORMAT_NAMES
    assert all(f["score"] == 0 for f in template["formatItems"])

    created = await add_profile(api, "HD", allowed={BLURAY_1080P, WEBDL_1080P},
                                cutoff=BLURAY_1080P, scores={"HEVC": 25},
                                minFormatScore=-100, upgradeAllowed=False)
    assert created["id"] > 0 and created["name"] == "HD"
    assert {i["quality"]["id"] for i in created["items"] if i["allowed"]} == {
        BLURAY_1080P, WEBDL_1080P}
    assert (created["cutoff"], created["minFormatScore"], created["upgradeAllowed"]) == (
        BLURAY_1080P, -100, False)
    assert {f["name"]: f["score"] for f in created["formatItems"]} == {
        name: 25 if name == "HEVC" else 0 for name in DEFAULT_FORMAT_NAMES}
    assert await api.get_json(f"{PROFILES}/{created['id']}",
                              validate=validate_quality_profile) == created
    assert [p["name"] for p in await profiles(api)] == [DEFAULT_PROFILE_NAME, "HD"]

    changed_items = [i | {"allowed": i["quality"]["id"] == WEBDL_1080P}
                     for i in created["items"]]
    changed = await ok(api.client.put(f"{PROFILES}/{created['id']}", json=created | {
        "name": "WEB only", "items": changed_items, "cutoff": WEBDL_1080P,
        "formatItems": [{"format": f["format"], "score": 7} for f in created["formatItems"]
                        if f["name"] == "HDR"]}), 202)
    validate_quality_profile(changed)
    assert changed["name"] == "WEB only" and changed["cutoff"] == WEBDL_1080P
    assert {f["name"]: f["score"] for f in changed["formatItems"]} == {
        name: 7 if name == "HDR" else 0 for name in DEFAULT_FORMAT_NAMES}
    assert await api.get_json(f"{PROFILES}/{created['id']}") == changed

    response = await api.client.delete(f"{PROFILES}/{created['id']}")
    assert response.status_code == 200, response.text
    error(await api.client.get(f"{PROFILES}/{created['id']}"), 404)
    assert [p["name"] for p in await profiles(api)] == [DEFAULT_PROFILE_NAME]


@EVERY_STORE
async def test_a_profile_with_a_quality_group_as_cutoff_reads_back(api: Api) -> None:
    body = {
        "name": "Grouped", "upgradeAllowed": True, "cutoff": 1001,
        "items": [
            {"quality": {"id": BLURAY_1080P - 2}, "items": [], "allowed": False},
            {"id": 1001, "name": "WEB 1080p", "allowed": True, "items": [
                {"quality": {"id": WEBDL_1080P}, "items": [], "allowed": True},
                {"quality": {"id": WEBRIP_1080P}, "items": [], "allowed": True}]},
            {"quality": {"id": BLURAY_1080P}, "items": [], "allowed": True}],
        "language": {"id": 2, "name": "French"},
    }
    created = await ok(api.client.post(PROFILES, json=body), 201)
    validate_quality_profile(created)
    group = created["items"][1]
    assert (group["id"], group["name"], group["allowed"]) == (1001, "WEB 1080p", True)
    assert [i["quality"]["name"] for i in group["items"]] == ["WEBDL-1080p", "WEBRip-1080p"]
    assert created["cutoff"] == 1001 and created["language"] == {"id": 2, "name": "French"}
    assert await api.get_json(f"{PROFILES}/{created['id']}") == created


@EVERY_STORE
async def test_a_cutoff_the_profile_does_not_allow_is_a_400_and_nothing_is_stored(
        api: Api) -> None:
    before = await profiles(api)
    template = await api.get_json(f"{PROFILES}/schema")
    for item in template["items"]:
        item["allowed"] = item["quality"]["id"] == WEBDL_1080P
    body = template | {"name": "Bad cutoff", "cutoff": BLURAY_1080P}
    assert "cutoff" in error(await api.client.post(PROFILES, json=body), 400)
    assert await profiles(api) == before
    default = before[0]
    error(await api.client.put(f"{PROFILES}/{default['id']}",
                               json=default | {"cutoff": CAM}), 400)
    assert await profiles(api) == before


@EVERY_STORE
async def test_format_items_naming_an_unknown_format_are_a_400(api: Api) -> None:
    before = await profiles(api)
    template = await api.get_json(f"{PROFILES}/schema")
    body = template | {"name": "Ghost scores", "cutoff": BLURAY_1080P,
                       "formatItems": [{"format": 9999, "name": "Ghost", "score": 10}]}
    assert "9999" in error(await api.client.post(PROFILES, json=body), 400)
    assert await profiles(api) == before


@EVERY_STORE
async def test_the_last_profile_cannot_be_deleted(api: Api) -> None:
    extra = await add_profile(api, "Extra", allowed={BLURAY_1080P}, cutoff=BLURAY_1080P)
    default = await default_profile(api)
    response = await api.client.delete(f"{PROFILES}/{default['id']}")
    assert response.status_code == 200, response.text
    assert "last" in error(await api.client.delete(f"{PROFILES}/{extra['id']}"), 400)
    assert await profiles(api) == [extra]
    error(await api.client.delete(f"{PROFILES}/{default['id']}"), 404)


@EVERY_STORE
async def test_a_profile_name_that_is_taken_is_a_400(api: Api) -> None:
    before = await profiles(api)
    template = await api.get_json(f"{PROFILES}/schema")
    body = template | {"name": DEFAULT_PROFILE_NAME, "cutoff": BLURAY_1080P}
    assert DEFAULT_PROFILE_NAME in error(await api.client.post(PROFILES, json=body), 400)
    assert await profiles(api) == before


# -- /api/v3/release/push --------------------------------------------------------------


@EVERY_STORE
async def test_an_approved_pushed_magnet_is_grabbed_with_its_quality_and_formats(
        api: Api) -> None:
    title = "Heat.1995.1080p.BluRay.HDR.x265-SPARKS"
    decided = await push(api, release(title, movieId=MOVIE))
    assert decided["approved"] is True and decided["rejected"] is False
    assert decided["rejections"] == [] and decided["downloadAllowed"] is True
    assert decided["title"] == title and decided["movieId"] == MOVIE
    assert decided["quality"]["quality"]["name"] == "Bluray-1080p"
    assert decided["publishDate"] == "2025-12-01T10:00:00Z"
    formats_matched = {f["name"] for f in decided["customFormats"]}
    assert formats_matched == {"Preferred groups", "HEVC", "HDR"}
    expected_score = sum(DEFAULT_SCORES[n] for n in formats_matched)
    assert decided["customFormatScore"] == expected_score
    queue_id = decided["queueId"]
    assert isinstance(queue_id, int) and queue_id > 0

    item = await queue_item(api, queue_id)
    assert item["title"] == title and item["movieId"] == MOVIE
    assert item["infoHash"] == info_hash(title)
    assert item["quality"]["quality"]["name"] == "Bluray-1080p"
    assert {f["name"] for f in item["customFormats"]} == formats_matched
    assert item["customFormatScore"] == expected_score
    assert [r["id"] for r in await queue_details(api)] == [queue_id]


@EVERY_STORE
async def test_a_pushed_cam_is_rejected_with_its_reasons_and_nothing_is_queued(
        api: Api) -> None:
    decided = await push(api, release(CAM_RIP, movieId=MOVIE))
    assert decided["approved"] is False and decided["rejected"] is True
    assert decided["temporarilyRejected"] is False
    assert "queueId" not in decided
    assert decided["quality"]["quality"]["name"] == "CAM"
    assert any("CAM is not wanted" in r for r in decided["rejections"]), decided["rejections"]
    assert any("Forbidden keywords" in r for r in decided["rejections"])
    assert await queue_details(api) == []
    assert (await api.queue())["totalRecords"] == 0


@EVERY_STORE
async def test_pushing_the_same_release_again_is_rejected_as_already_in_the_queue(
        api: Api) -> None:
    first = await push(api, release(BLURAY, movieId=MOVIE))
    again = await push(api, release(BLURAY, movieId=MOVIE))
    assert again["rejected"] is True and "queueId" not in again
    assert any("already in the queue" in r and str(first["queueId"]) in r
               for r in again["rejections"]), again["rejections"]
    assert [r["id"] for r in await queue_details(api)] == [first["queueId"]]


@EVERY_STORE
async def test_a_pushed_release_without_a_link_is_a_400_and_nothing_is_kept(api: Api) -> None:
    body = release(BLURAY, movieId=MOVIE)
    del body["magnetUrl"]
    assert failure_pairs(await api.client.post(PUSH, json=body)) == [
        ("DownloadUrl", "'Download Url' must not be empty."),
        ("MagnetUrl", "'Magnet Url' must not be empty.")]
    assert await queue_details(api) == []
    assert await api.store.candidates.for_movie(f"movie:{MOVIE}") == []


async def test_a_publish_date_with_an_offset_is_answered_in_utc(api: Api) -> None:
    decided = await push(api, release(BLURAY, movieId=MOVIE,
                                      publishDate="2026-05-20T11:16:04+02:00"))
    assert decided["publishDate"] == "2026-05-20T09:16:04Z"


@EVERY_STORE
async def test_a_pushed_usenet_release_is_rejected(api: Api) -> None:
    decided = await push(api, release(BLURAY, movieId=MOVIE, protocol="usenet",
                                      magnetUrl=None,
                                      downloadUrl="https://indexer.example/get/1.nzb"))
    assert decided["rejected"] is True and decided["protocol"] == "usenet"
    assert any("Usenet" in r for r in decided["rejections"]), decided["rejections"]
    assert "queueId" not in decided
    assert await queue_details(api) == []


@EVERY_STORE
async def test_a_pushed_release_below_the_profiles_minimum_score_is_rejected(
        api: Api) -> None:
    strict = await add_profile(api, "Strict", allowed={BLURAY_1080P}, cutoff=BLURAY_1080P,
                               scores={"HEVC": 50}, minFormatScore=100)
    low = await push(api, release("Heat.1995.1080p.BluRay.x265-GRP", movieId=MOVIE,
                                  qualityProfileId=strict["id"]))
    assert low["rejected"] is True and low["customFormatScore"] == 50
    assert any("below the profile's minimum 100" in r for r in low["rejections"]), low
    assert "queueId" not in low
    # The same release under the default profile (no minimum it misses) is grabbed.
    ok_default = await push(api, release("Heat.1995.1080p.BluRay.x265-GRP", movieId=MOVIE))
    assert ok_default["approved"] is True and "queueId" in ok_default


# -- /api/v3/release/score -------------------------------------------------------------


@EVERY_STORE
async def test_score_parses_matches_and_ranks_approved_releases_first(api: Api) -> None:
    usenet_remux = release(REMUX, protocol="usenet", magnetUrl=None,
                           downloadUrl="https://indexer.example/get/remux.nzb")
    answer = await score(api, {"titles": [HD720, CAM_RIP],
                               "releases": [usenet_remux, release(BLURAY)]})
    assert [e["rank"] for e in answer] == [1, 2, 3, 4]
    assert [e["title"] for e in answer] == [BLURAY, HD720, REMUX, CAM_RIP]
    assert [e["approved"] for e in answer] == [True, True, False, False]
    best = answer[0]
    default = await default_profile(api)
    assert best["qualityProfileId"] == default["id"]
    assert {k: best["parsed"][k] for k in ("title", "year", "resolution", "source",
                                           "modifier", "codec", "releaseGroup")} == {
        "title": "Heat", "year": 1995, "resolution": 1080, "source": "bluray",
        "modifier": "none", "codec": "avc", "releaseGroup": "SPARKS"}
    assert best["quality"]["quality"]["name"] == "Bluray-1080p"
    assert best["customFormats"] == [{
        "id": {f["name"]: f["format"] for f in default["formatItems"]}["Preferred groups"],
        "name": "Preferred groups", "score": 500,
        "matchedSpecifications": ["Well-known encoders"]}]
    assert best["customFormatScore"] == 500 and best["rejections"] == []
    remux = answer[2]
    assert remux["quality"]["quality"]["name"] == "Remux-2160p"
    assert remux["parsed"]["modifier"] == "remux" and remux["parsed"]["resolution"] == 2160
    assert {f["name"] for f in remux["customFormats"]} == {"HEVC", "HDR"}
    assert remux["customFormatScore"] == 150
    assert any("Usenet" in r for r in remux["rejections"])
    cam = answer[3]
    assert cam["customFormats"][0]["matchedSpecifications"] == ["CAM, telesync, screener"]
    assert any("CAM is not wanted" in r for r in cam["rejections"])


@EVERY_STORE
async def test_scoring_stores_and_grabs_nothing(api: Api) -> None:
    blocked = NewBlocklistEntry(HD720, api.clock.now(), DownloadProtocol.TORRENT,
                                movie_id=MOVIE, info_hash=info_hash(HD720))
    await api.store.blocklist.add(blocked)
    blocklist_before = await api.get_json("/api/v3/blocklist")
    answer = await score(api, {"movieId": MOVIE, "releases": [
        release(REMUX, movieId=MOVIE), release(HD720, movieId=MOVIE)]})
    assert [e["title"] for e in answer] == [REMUX, HD720]
    assert answer[0]["approved"] is True
    assert any("blocklisted" in r for r in answer[1]["rejections"]), answer[1]
    assert await queue_details(api) == []
    assert (await api.get_json("/api/v3/history"))["totalRecords"] == 0
    assert await api.get_json("/api/v3/blocklist") == blocklist_before
    assert await api.store.candidates.for_movie(f"movie:{MOVIE}") == []
    # Scoring twice decides the same: nothing it did counts as queued.
    assert await score(api, {"movieId": MOVIE, "releases": [
        release(REMUX, movieId=MOVIE), release(HD720, movieId=MOVIE)]}) == answer


@EVERY_STORE
async def test_scoring_with_an_unknown_profile_is_a_400(api: Api) -> None:
    message = error(await api.client.post(SCORE, json={
        "titles": [BLURAY], "qualityProfileId": 9999}), 400)
    assert "9999" in message
    error(await api.client.post(SCORE, json={"titles": []}), 400)


@EVERY_STORE
async def test_scoring_with_another_profile_uses_its_scores(api: Api) -> None:
    other = await add_profile(api, "HEVC lover", allowed={BLURAY_1080P},
                              cutoff=BLURAY_1080P, scores={"HEVC": 1234})
    (entry,) = await score(api, {"titles": ["Heat.1995.1080p.BluRay.x265-GRP"],
                                 "qualityProfileId": other["id"]})
    assert entry["qualityProfileId"] == other["id"]
    assert entry["customFormatScore"] == 1234
    assert entry["customFormats"][0]["score"] == 1234


# -- POST /api/v3/queue/grab with candidates -------------------------------------------


async def grab_candidates(api: Api, titles: list[str], movie_id: int = MOVIE,
                          **extra: Any) -> httpx.Response:
    return await api.client.post(GRAB, json={
        "movieId": movie_id, "releases": [release(t) for t in titles], **extra})


@EVERY_STORE
async def test_the_best_of_the_candidates_is_grabbed_and_the_others_kept(api: Api) -> None:
    response = await grab_candidates(api, [WEBDL, CAM_RIP, REMUX])
    assert response.status_code == 201, response.text
    item = response.json()
    validate_queue_resource(item)
    assert item["title"] == REMUX and item["movieId"] == MOVIE
    assert item["quality"]["quality"]["name"] == "Remux-2160p"
    assert {f["name"] for f in item["customFormats"]} == {"HEVC", "HDR"}
    assert item["customFormatScore"] == 150
    assert item["infoHash"] == info_hash(REMUX)
    assert await queue_details(api) == [item]
    stored = await api.store.candidates.for_movie(f"movie:{MOVIE}")
    assert sorted(c.release.title for c in stored) == sorted([WEBDL, CAM_RIP, REMUX])
    assert {c.release.title: c.item_id for c in stored} == {
        REMUX: item["id"], WEBDL: None, CAM_RIP: None}


@EVERY_STORE
async def test_candidates_all_worse_than_the_queued_one_are_a_422(api: Api) -> None:
    first = await grab_candidates(api, [REMUX, WEBDL])
    assert first.status_code == 201, first.text
    message = error(await grab_candidates(api, [BLURAY, HD720, WEBDL]), 422)
    assert BLURAY in message and HD720 in message
    assert "queue" in message
    assert [r["title"] for r in await queue_details(api)] == [REMUX]


@EVERY_STORE
async def test_candidates_none_of_which_is_approved_are_a_422_and_nothing_is_stored(
        api: Api) -> None:
    response = await grab_candidates(api, [CAM_RIP, "Heat.1995.TELESYNC.x264-XYZ"],
                                     movie_id=9)
    message = error(response, 422)
    assert CAM_RIP in message and "CAM is not wanted" in message
    assert await queue_details(api) == []
    assert await api.store.candidates.for_movie("movie:9") == []
    assert (await api.get_json("/api/v3/history"))["totalRecords"] == 0


@EVERY_STORE
async def test_candidates_of_another_profile_are_decided_by_it(api: Api) -> None:
    web_only = await add_profile(api, "WEB only", allowed={WEBDL_1080P}, cutoff=WEBDL_1080P)
    response = await grab_candidates(api, [REMUX, WEBDL, BLURAY],
                                     qualityProfileId=web_only["id"])
    assert response.status_code == 201, response.text
    assert response.json()["title"] == WEBDL


@EVERY_STORE
async def test_candidates_that_name_their_movie_are_queued_for_it(api: Api) -> None:
    title = "Alien.1979.1080p.BluRay.x264-SPARKS"
    response = await api.client.post(GRAB, json={"releases": [release(title, movieId=8)]})
    assert response.status_code == 201, response.text
    assert response.json()["title"] == title
    assert response.json().get("movieId") == 8
    assert [r["title"] for r in (await api.queue())["records"]] == [title]


# -- the next best after DELETE /api/v3/queue/{id}?blocklist=true ----------------------


@EVERY_STORE
async def test_removing_with_blocklist_grabs_the_next_best_stored_candidate(api: Api
                                                                            ) -> None:
    best = (await grab_candidates(api, [WEBDL, CAM_RIP, REMUX, HD720])).json()
    assert best["title"] == REMUX
    response = await api.client.delete(f"/api/v3/queue/{best['id']}",
                                       params={"blocklist": "true"})
    assert response.status_code == 200, response.text

    (new,) = await queue_details(api)
    assert new["id"] != best["id"] and new["title"] == WEBDL
    assert new["movieId"] == MOVIE
    assert new["quality"]["quality"]["name"] == "WEBDL-1080p"
    assert new["customFormatScore"] == DEFAULT_SCORES["Preferred groups"]
    assert await queue_item(api, new["id"]) == new
    grabbed = (await history(api, new["id"]))[0]
    assert grabbed["eventType"] == "grabbed" and grabbed["sourceTitle"] == WEBDL
    assert (f"Next best after item {best['id']} failed: removed from the queue and "
            "blocklisted") in grabbed["data"]["message"]
    blocked = (await api.get_json("/api/v3/blocklist"))["records"]
    assert [b["sourceTitle"] for b in blocked] == [REMUX]
    stored = {c.release.title: c.item_id
              for c in await api.store.candidates.for_movie(f"movie:{MOVIE}")}
    assert stored[WEBDL] == new["id"]


@EVERY_STORE
async def test_removing_with_blocklist_and_skip_redownload_grabs_nothing(api: Api) -> None:
    best = (await grab_candidates(api, [WEBDL, REMUX])).json()
    response = await api.client.delete(f"/api/v3/queue/{best['id']}", params={
        "blocklist": "true", "skipRedownload": "true"})
    assert response.status_code == 200, response.text
    assert await queue_details(api) == []
    blocked = (await api.get_json("/api/v3/blocklist"))["records"]
    assert [b["sourceTitle"] for b in blocked] == [REMUX]
    waiting = [c for c in await api.store.candidates.for_movie(f"movie:{MOVIE}")
               if c.item_id is None]
    assert [c.release.title for c in waiting] == [WEBDL]


@EVERY_STORE
async def test_removing_without_blocklist_grabs_nothing(api: Api) -> None:
    best = (await grab_candidates(api, [WEBDL, REMUX])).json()
    response = await api.client.delete(f"/api/v3/queue/{best['id']}")
    assert response.status_code == 200, response.text
    assert await queue_details(api) == []


async def fail_and_redownload(api: Api, item_id: int) -> None:
    """What the processor does when a download fails for good: the item fails, then the
    release service grabs the next best (its `on_failed`)."""
    failed = await api.set(item_id, state=ItemState.FAILED)
    releases = api.container.releases
    assert releases is not None
    await releases.redownload(failed, "the tracker says: unregistered torrent")


async def test_the_redownloading_event_is_a_documented_event_that_can_be_filtered(
        api: Api) -> None:
    best = (await grab_candidates(api, [WEBDL, REMUX])).json()
    await fail_and_redownload(api, best["id"])
    raw = await api.get_json("/api/v3/history", {"itemId": best["id"], "pageSize": 50})
    assert "redownloading" in [r["eventType"] for r in raw["records"]]  # it is there
    filtered = await api.get_json("/api/v3/history", {"eventType": "redownloading"})
    assert [r["data"]["itemId"] for r in filtered["records"]] == [str(best["id"])]
    validate_history_page(filtered, OWN_EVENTS)


async def test_a_failed_item_is_replaced_by_the_next_best_and_its_history_says_so(
        api: Api) -> None:
    best = (await grab_candidates(api, [WEBDL, CAM_RIP, REMUX])).json()
    await fail_and_redownload(api, best["id"])
    titles = {r["title"]: r["status"] for r in await queue_details(api)}
    assert titles == {REMUX: "failed", WEBDL: "queued"}
    raw = await api.get_json("/api/v3/history", {"itemId": best["id"], "pageSize": 50})
    (note,) = [r for r in raw["records"] if r["data"]["event"] == "redownloading"]
    assert WEBDL in note["data"]["message"]


async def test_the_removed_items_history_says_what_replaced_it(api: Api) -> None:
    best = (await grab_candidates(api, [WEBDL, REMUX])).json()
    await ok(api.client.delete(f"/api/v3/queue/{best['id']}", params={"blocklist": "true"}))
    (new,) = await queue_details(api)
    raw = await api.get_json("/api/v3/history", {
        "itemId": best["id"], "pageSize": 50, "sortDirection": "ascending"})
    assert [r["data"]["event"] for r in raw["records"]] == ["grabbed", "removed"]
    removed = raw["records"][1]["data"]["message"]
    assert removed == f"blocklisted; next best: item {new['id']} ({WEBDL})"


@EVERY_STORE
async def test_removing_an_item_whose_profile_was_deleted_still_answers_200(api: Api
                                                                            ) -> None:
    web = await add_profile(api, "WEB or remux", allowed={WEBDL_1080P, REMUX_2160P},
                            cutoff=WEBDL_1080P)
    best = (await grab_candidates(api, [WEBDL, REMUX], qualityProfileId=web["id"])).json()
    assert best["title"] == REMUX
    await ok(api.client.delete(f"{PROFILES}/{web['id']}"))
    response = await api.client.delete(f"/api/v3/queue/{best['id']}",
                                       params={"blocklist": "true"})
    assert [r["title"] for r in await queue_details(api)] in ([], [WEBDL])
    blocked = (await api.get_json("/api/v3/blocklist"))["records"]
    assert [b["sourceTitle"] for b in blocked] == [REMUX]
    assert response.status_code == 200, response.text


# -- storage edge cases seen through the API -------------------------------------------


@EVERY_STORE
async def test_a_release_with_a_long_title_and_no_movie_is_decided(api: Api) -> None:
    title = "The." + ".".join(["Longest"] * 120) + ".2010.1080p.BluRay.x264-GRP"
    assert len(title) < 1000
    decided = await push(api, release(title))
    assert decided["approved"] is True and "queueId" in decided


@EVERY_STORE
async def test_the_same_release_pushed_several_times_at_once_is_queued_once(api: Api
                                                                           ) -> None:
    for n in range(10):
        title = f"Heat.1995.1080p.BluRay.x264-SPARKS.{n}"
        body = release(title, movieId=100 + n)
        responses = await asyncio.gather(*(api.client.post(PUSH, json=body)
                                           for _ in range(4)))
        # Each push is decided (200), or loses the race to queue it (409 naming the item
        # queued); none fails.
        assert {r.status_code for r in responses} <= {200, 409}, [r.text for r in responses]
        queued = {r.json()[0]["queueId"] for r in responses
                  if r.status_code == 200 and "queueId" in r.json()[0]}
        existing = {r.json()["existingId"] for r in responses if r.status_code == 409}
        assert len(queued) == 1 and existing <= queued
        assert [r["id"] for r in await api.details({"movieId": 100 + n})] == [*queued]
