"""A TRaSH custom-format sync (Recyclarr) against a live `queuarr serve`.

Replayed from recyclarr/recyclarr commit ca8dcc3cad996852b1a44039c2fd8777d92fbd23
(`git describe`: v8.7.1-10, 2026-08-08). Its Radarr client is generated from Radarr's
OpenAPI document (src/Recyclarr.Api.Radarr/radarr.refitter: tags CustomFormat,
QualityProfile, QualityProfileSchema, QualityDefinition, System, Language), so every
answer must deserialize as Radarr's resource. The order of a `recyclarr sync`:
- src/Recyclarr.Core/Compatibility/ServiceInformation.cs + ServiceAgnosticCapabilityEnforcer
  .cs: GET system/status, `appName` must equal "Radarr" ignoring case, `version` parsed
  as System.Version (RadarrCapabilities.cs: >= 5.9.0.9049 means size limits up to 2000);
- custom formats (Cli/Pipelines/CustomFormat/PipelinePhases/CustomFormatApiFetchPhase.cs,
  CustomFormatApiPersistencePhase.cs): GET customformat, then POST customformat for a new
  one (the TRaSH JSON without trash_id/trash_scores, `fields` as [{name: value, value}])
  and PUT customformat/{id} for a changed one;
- quality profiles (QualityProfileApiFetchPhase.cs 17-19): GET qualityprofile,
  GET qualityprofile/schema, GET language; then PUT qualityprofile/{id} with the stashed
  profile and formatItems scores merged in (ServarrApi/QualityProfile/
  RadarrQualityProfileGateway.cs MergeOntoDto);
- quality sizes (QualitySizeApiFetchPhase.cs, QualitySizeApiPersistencePhase.cs,
  ServarrApi/QualityDefinition/RadarrQualityDefinitionGateway.cs): GET qualitydefinition,
  PUT qualitydefinition/update with the stashed resources, min/preferred/max changed.
Then a release is pushed to see the synced format and score applied."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
from packaging import version

from tests.api.radarr_schema import (
    validate_custom_format,
    validate_custom_formats,
    validate_quality_profile,
    validate_quality_profiles,
    validate_radarr,
    validate_releases,
    validate_system_status,
)
from tests.e2e.conftest import LiveServer

DATA = Path(__file__).parent / "data"
TRASH_RELEASE_DATA = Path(__file__).parents[1] / "release" / "data" / "trash"
X265_HD_SCORE = -10000  # trash_scores.default


def http(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=f"{server.url}/api/v3", trust_env=False, timeout=30,
                        headers={"X-Api-Key": server.api_key, "Accept": "application/json"})


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code in (status, 200, 201, 202), (
        response.request.method, response.request.url, response.status_code, response.text)
    return response.json() if response.content else None


def trash_to_radarr(trash: dict[str, Any]) -> dict[str, Any]:
    """What Recyclarr sends for a TRaSH guide JSON: trash_* keys dropped, each
    specification's `fields` object turned into Radarr's [{name, value}] list."""
    body = {k: v for k, v in copy.deepcopy(trash).items() if not k.startswith("trash_")}
    for spec in body["specifications"]:
        spec["fields"] = [{"name": k, "value": v} for k, v in spec["fields"].items()]
    return body


def test_a_recyclarr_sync_goes_through_and_the_scores_apply(live_server: LiveServer) -> None:
    with http(live_server) as radarr:
        status = ok(radarr.get("/system/status"))
        validate_system_status(status)
        assert status["appName"].lower() == "radarr"
        assert version.parse(status["version"]) >= version.parse("3.0")

        # Custom formats
        existing = ok(radarr.get("/customformat"))
        validate_custom_formats(existing)
        x265 = json.loads((DATA / "x265-hd.json").read_text())
        remux = json.loads((TRASH_RELEASE_DATA / "remux-tier-01.json").read_text())
        created = {}
        for trash in (x265, remux):
            made = ok(radarr.post("/customformat", json=trash_to_radarr(trash)), 201)
            validate_custom_format(made)
            assert made["name"] == trash["name"] and made["id"] > 0
            assert [s["name"] for s in made["specifications"]] == [
                s["name"] for s in trash["specifications"]]
            created[made["name"]] = made
        # A second sync: the format changed in the guide, so Recyclarr PUTs it.
        changed = trash_to_radarr(x265) | {"id": created["x265 (HD)"]["id"],
                                           "includeCustomFormatWhenRenaming": True}
        validate_custom_format(ok(radarr.put(f"/customformat/{changed['id']}", json=changed),
                                  202))

        # Quality profiles
        profiles = ok(radarr.get("/qualityprofile"))
        validate_quality_profiles(profiles)
        validate_quality_profile(ok(radarr.get("/qualityprofile/schema")))
        languages = ok(radarr.get("/language"))
        assert isinstance(languages, list) and languages
        for language in languages:
            validate_radarr("LanguageResource", language)
        assert "English" in {lang["name"] for lang in languages}
        profile = profiles[0]
        scores = {"x265 (HD)": X265_HD_SCORE, "Remux Tier 01": 1950}
        by_id = {f["format"]: f for f in profile["formatItems"]}
        for made in created.values():
            item = by_id.setdefault(made["id"], {"format": made["id"], "name": made["name"]})
            item["score"] = scores[made["name"]]
        profile["formatItems"] = list(by_id.values())
        profile["minFormatScore"] = 0
        updated = ok(radarr.put(f"/qualityprofile/{profile['id']}", json=profile), 202)
        validate_quality_profile(updated)
        assert {f["name"]: f["score"] for f in updated["formatItems"]
                if f["name"] in scores} == scores

        # Quality sizes
        definitions = ok(radarr.get("/qualitydefinition"))
        for definition in definitions:
            validate_radarr("QualityDefinitionResource", definition)
        bluray = next(d for d in definitions if d["quality"]["name"] == "Bluray-1080p")
        stashed = copy.deepcopy(bluray) | {"minSize": 50.4, "preferredSize": 1999,
                                           "maxSize": 2000}
        answer = ok(radarr.put("/qualitydefinition/update", json=[stashed]), 202)
        assert isinstance(answer, list)
        again = {d["id"]: d for d in ok(radarr.get("/qualitydefinition"))}[bluray["id"]]
        assert (again["minSize"], again["preferredSize"], again["maxSize"]) == (50.4, 1999,
                                                                               2000)

        # The synced format and its score apply to a pushed release.
        title = "Heat.1995.1080p.BluRay.x265-GRP"
        pushed = radarr.post("/release/push", json={
            "title": title, "magnetUrl": f"magnet:?xt=urn:btih:{'e' * 40}&dn={title}",
            "protocol": "torrent", "size": 8 * 1024**3, "seeders": 20, "indexer": "Local",
            "publishDate": "2026-01-01T00:00:00Z", "movieId": 5,
            "qualityProfileId": profile["id"]})
        body = ok(pushed)
        validate_releases(body)
        (decided,) = body
        assert "x265 (HD)" in {f["name"] for f in decided["customFormats"]}
        profile_scores = {f["name"]: f["score"] for f in updated["formatItems"]}
        assert decided["customFormatScore"] == sum(
            profile_scores[f["name"]] for f in decided["customFormats"])
        assert decided["customFormatScore"] < 0
        assert decided["rejected"] is True  # below the profile's minimum score of 0
