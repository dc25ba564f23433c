"""/api/v3/qualitydefinition, as Radarr's QualityDefinitionController answers (GET, PUT
/{id}, PUT /update as Recyclarr sends it, GET /limits), validated against Radarr's
QualityDefinitionResource and QualityDefinitionLimitsResource; and the limits at work in
release decisions (Radarr's AcceptableSizeSpecification), over QUEUARR_MOVIE_RUNTIME."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from core.release import Release
from infrastructure.bootstrap import Stores, assemble
from infrastructure.settings import Settings
from tests.api.conftest import API_KEY, Api
from tests.api.radarr_schema import validate_radarr
from tests.api.test_release_api import push, release
from tests.conftest import STORE_KINDS
from tests.fakes import FakeClock

URL = "/api/v3/qualitydefinition"
GIB = 1024**3


async def definitions(api: Api) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = await api.get_json(URL)
    for d in body:
        validate_radarr("QualityDefinitionResource", d)
    return body


def by_title(body: list[dict[str, Any]], title: str) -> dict[str, Any]:
    (found,) = [d for d in body if d["quality"]["name"] == title]
    return found


async def test_every_quality_has_a_definition_that_limits_nothing_until_set(
        api: Api) -> None:
    body = await definitions(api)
    assert len(body) == 30 and [d["id"] for d in body] == list(range(1, 31))
    assert [d["weight"] for d in body] == sorted(d["weight"] for d in body)
    bluray = by_title(body, "Bluray-1080p")
    assert bluray == {"id": 22, "quality": {"id": 7, "name": "Bluray-1080p",
                                            "source": "bluray", "resolution": 1080,
                                            "modifier": "none"},
                      "title": "Bluray-1080p", "weight": 19, "minSize": 0}
    one = await api.get_json(f"{URL}/22", validate=lambda b: validate_radarr(
        "QualityDefinitionResource", b))
    assert one == bluray
    assert (await api.client.get(f"{URL}/31")).status_code == 404


async def test_the_limits_are_radarrs(api: Api) -> None:
    body = await api.get_json(f"{URL}/limits", validate=lambda b: validate_radarr(
        "QualityDefinitionLimitsResource", b))
    assert body == {"min": 0, "max": 2000}


@pytest.mark.parametrize("store", STORE_KINDS, indirect=True)
async def test_a_bulk_update_as_recyclarr_sends_it_is_stored_and_answered(api: Api) -> None:
    body = await definitions(api)
    changed = [by_title(body, "Bluray-1080p") | {"minSize": 50.4, "maxSize": 1000,
                                                 "preferredSize": 995},
               by_title(body, "WEBDL-1080p") | {"title": "WEB 1080p", "minSize": 12.5,
                                                "maxSize": None, "preferredSize": None}]
    response = await api.client.put(f"{URL}/update", json=changed)
    assert response.status_code == 202, response.text
    for d in response.json():
        validate_radarr("QualityDefinitionResource", d)
    after = await definitions(api)
    assert response.json() == after
    bluray, web = by_title(after, "Bluray-1080p"), by_title(after, "WEBDL-1080p")
    assert (bluray["minSize"], bluray["maxSize"], bluray["preferredSize"]) == (50.4, 1000, 995)
    assert web["title"] == "WEB 1080p" and web["minSize"] == 12.5 and "maxSize" not in web


async def test_one_definition_is_changed_with_put_and_answered_202(api: Api) -> None:
    response = await api.client.put(f"{URL}/22", json={"id": 22, "minSize": 1,
                                                       "maxSize": 400, "preferredSize": 100})
    assert response.status_code == 202, response.text
    validate_radarr("QualityDefinitionResource", response.json())
    assert response.json()["maxSize"] == 400 and response.json()["title"] == "Bluray-1080p"


async def test_sizes_out_of_order_or_range_are_refused_with_radarrs_failures_and_nothing_is_stored(
        api: Api) -> None:
    before = await definitions(api)
    response = await api.client.put(f"{URL}/update", json=[
        {"id": 22, "minSize": 5, "maxSize": 100},
        {"id": 20, "minSize": 60, "maxSize": 3000, "preferredSize": 50}])
    assert response.status_code == 400, response.text
    failures = {(f["propertyName"], f["errorMessage"]) for f in response.json()}
    assert failures == {
        ("MinSize", "'Min Size' must be less than or equal to '50'."),
        ("PreferredSize", "'Preferred Size' must be greater than or equal to '60'."),
        ("MaxSize", "'Max Size' must be less than or equal to '2000'.")}
    unknown = await api.client.put(f"{URL}/update", json=[{"id": 22, "minSize": 5},
                                                          {"id": 99, "minSize": 1}])
    assert unknown.status_code == 400
    assert [f["propertyName"] for f in unknown.json()] == ["Id"]
    assert await definitions(api) == before


@pytest.mark.parametrize("store", STORE_KINDS, indirect=True)
async def test_a_pushed_release_over_its_qualitys_maximum_is_rejected_in_radarrs_words(
        api: Api) -> None:
    response = await api.client.put(f"{URL}/22", json={"minSize": 0, "maxSize": 20})
    assert response.status_code == 202, response.text
    title = "Heat.1995.1080p.BluRay.x264-SPARKS"
    decided = await push(api, release(title, size=8 * GIB))  # over 20 MB/min x 120 min
    assert decided["rejections"] == [
        "8.0 GB is larger than maximum allowed 2.3 GB (for Heat)"]
    assert decided["approved"] is False
    fits = await push(api, release("Heat.1995.1080p.BluRay.x264-OTHER", size=2 * GIB))
    assert fits["approved"] is True, fits["rejections"]


async def _rejections(runtime: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                      ) -> tuple[str, ...]:
    monkeypatch.setenv("QUEUARR_MOVIE_RUNTIME", runtime)
    settings = Settings(data_dir=tmp_path, api_key=API_KEY, managed_aria2="false")
    clock = FakeClock()
    container = assemble(settings, clock, API_KEY, Stores.memory(clock), guard_urls=False)
    try:
        assert container.definitions is not None and container.releases is not None
        await container.releases.catalogue.ensure_defaults()
        (bluray,) = [d for d in await container.definitions.all() if d.quality.id == 7]
        await container.definitions.update([replace(bluray, max_size=20)])
        outcome = await container.releases.score([Release(
            "Heat.1995.1080p.BluRay.x264-SPARKS", magnet_url="magnet:?xt=urn:btih:" + "c" * 40,
            size=3 * GIB, seeders=10)], None)
        return outcome.decisions[0].rejections
    finally:
        await container.aclose()


async def test_queuarr_movie_runtime_sets_the_runtime_sizes_are_multiplied_by(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert await _rejections("120", tmp_path, monkeypatch) == (
        "3.0 GB is larger than maximum allowed 2.3 GB (for Heat)",)
    assert await _rejections("160", tmp_path, monkeypatch) == ()  # 20 x 160 = 3.1 GB
    monkeypatch.delenv("QUEUARR_MOVIE_RUNTIME")
    assert Settings(data_dir=tmp_path).movie_runtime == 120
