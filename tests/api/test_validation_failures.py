"""Radarr's 400 shapes: a body that fails validation answers FluentValidation's array of
failures (src/Radarr.Http/ErrorManagement/RadarrErrorPipeline.cs writes a
ValidationException's Errors), a parameter that cannot be bound ASP.NET's problem
details, and everything else {"message"}; a push Radarr cannot parse is refused on Title,
exactly as autobrr reads it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.errors import ValidationFailed, ValidationFailure
from core.masking import MASK
from tests.api.conftest import Api, magnet
from tests.api.failures import failure_pairs, failures_of, problem_of
from tests.conftest import STORE_KINDS

PUSH = "/api/v3/release/push"
EVERY_STORE = pytest.mark.parametrize("store", STORE_KINDS, indirect=True)

# autobrr v1.x pkg/arr/radarr/radarr_test.go, "push_parse_error": the request autobrr's
# ReleasePushRequest marshals to (Go's field order, omitempty fields left out) ...
AUTOBRR_UNPARSEABLE_PUSH = {
    "title": "Minx 1 epi 9 2160p",
    "downloadUrl": "https://www.test.org/rss/download/0000001/00000000000000000000/"
                   "Minx.1.epi.9.2160p.torrent",
    "size": 0, "indexer": "test", "downloadProtocol": "torrent", "protocol": "torrent",
    "publishDate": "2021-08-21T15:36:00Z",
}
# ... and what Radarr answers (its testdata/release_push_parse_error.json)
RADARR_UNPARSEABLE_ANSWER = [{"propertyName": "Title", "errorMessage": "Unable to parse",
                              "attemptedValue": "Minx 1 epi 9 2160p", "severity": "error"}]
AUTOBRR_FIELDS = ("severity", "errorCode", "errorMessage", "propertyName", "attemptedValue")


def as_autobrr_reads_it(raw: bytes) -> list[str]:
    """pkg/arr/radarr/radarr.go Push: the 400 body unmarshalled into []BadRequestResponse
    (every field a Go string: a number or object there fails the unmarshal) and each
    rendered by BadRequestResponse.String()."""
    decoded = json.loads(raw)
    assert isinstance(decoded, list)
    out = []
    for entry in decoded:
        values = {name: entry.get(name, "") for name in AUTOBRR_FIELDS}
        assert all(isinstance(v, str) for v in values.values()), entry
        out.append("[{severity}: {errorCode}] {propertyName}: {errorMessage} - got value: "
                   "{attemptedValue}".format(**values))
    return out


async def everything(api: Api) -> dict[str, Any]:
    return {"queue": await api.get_json("/api/v3/queue/details"),
            "candidates": await api.store.candidates.for_movie("title:minx 1 epi 9:"),
            "history": await api.get_json("/api/v3/history")}


@EVERY_STORE
async def test_a_push_radarr_cannot_parse_is_refused_as_autobrr_expects_and_nothing_is_kept(
        api: Api) -> None:
    before = await everything(api)
    response = await api.client.post(PUSH, json=AUTOBRR_UNPARSEABLE_PUSH,
                                     headers={"User-Agent": "autobrr"})
    assert response.status_code == 400
    assert response.json() == RADARR_UNPARSEABLE_ANSWER
    assert as_autobrr_reads_it(response.content) == [
        "[error: ] Title: Unable to parse - got value: Minx 1 epi 9 2160p"]
    assert await everything(api) == before


@pytest.mark.parametrize("title", ["Some.Movie.1080p.WEB-DL-GRP", "2160p",
                                   "d41d8cd98f00b204e9800998ecf8427e"])
async def test_a_push_without_a_movie_and_year_in_its_title_is_refused_even_for_a_movie_id(
        api: Api, title: str) -> None:
    # Radarr parses a push's title for its movie whatever else the push says
    response = await api.client.post(PUSH, json={"title": title, "movieId": 5,
                                                 "magnetUrl": magnet(title)})
    assert failure_pairs(response) == [("Title", "Unable to parse")]
    assert await api.get_json("/api/v3/queue/details") == []


async def test_a_push_radarr_can_parse_is_decided_as_before(api: Api) -> None:
    body = {**AUTOBRR_UNPARSEABLE_PUSH, "title": "Minx.2021.2160p.WEB-DL-GRP",
            "downloadUrl": None, "magnetUrl": magnet("Minx.2021")}
    response = await api.client.post(PUSH, json=body)
    assert response.status_code == 200, response.text
    assert response.json()[0]["title"] == "Minx.2021.2160p.WEB-DL-GRP"


async def test_a_body_failure_names_the_property_radarrs_way_with_fluentvalidations_fields(
        api: Api) -> None:
    response = await api.client.post(PUSH, json={"title": "", "size": -1,
                                                 "magnetUrl": magnet("X.2020")})
    title, size = failures_of(response)
    assert title == {
        "propertyName": "Title", "errorMessage": "'Title' must not be empty.",
        "attemptedValue": "", "severity": "error", "errorCode": "NotEmptyValidator",
        "formattedMessageArguments": [],
        "formattedMessagePlaceholderValues": {"propertyName": "Title", "propertyValue": "",
                                              "minLength": 1, "totalLength": 0}}
    assert size == {
        "propertyName": "Size", "errorMessage": "'Size' must be greater than or equal to '0'.",
        "attemptedValue": -1, "severity": "error", "errorCode": "GreaterThanOrEqualValidator",
        "formattedMessageArguments": [],
        "formattedMessagePlaceholderValues": {"propertyName": "Size", "propertyValue": -1,
                                              "comparisonValue": 0}}


async def test_a_nested_property_is_named_by_its_path(api: Api) -> None:
    response = await api.client.post("/api/v3/customformat", json={
        "name": "f", "specifications": [{"name": "ok", "implementation": "x"},
                                        {"name": "n" * 201, "implementation": "x"}]})
    assert failure_pairs(response) == [(
        "Specifications[1].Name",
        "The length of 'Name' must be 200 characters or fewer. You entered 201 characters.")]


async def test_a_secret_is_never_echoed_as_the_attempted_value(api: Api) -> None:
    response = await api.client.post("/api/v3/queue/grab", json={
        "downloadUrl": magnet("Sec.2020"), "apiKey": "hunter2-the-key",
        "password": "hunter2-the-password", "secretToken": 1234})
    assert "hunter2" not in response.text
    assert {(f["propertyName"], f["attemptedValue"]) for f in failures_of(response)} == {
        ("ApiKey", MASK), ("Password", MASK), ("SecretToken", MASK)}


async def test_a_secret_field_sent_in_the_wrong_shape_is_not_echoed(api: Api) -> None:
    response = await api.client.post("/api/v3/downloadclient", json={
        "name": "q", "implementation": "QBittorrent",
        "fields": {"name": "password", "value": "hunter2-in-a-field"}})
    assert "hunter2" not in response.text
    ((failure),) = failures_of(response)
    assert failure["propertyName"] == "Fields"
    assert failure["attemptedValue"] == {"name": "password", "value": MASK}


async def test_a_core_validation_failure_answers_the_same_array(api: Api) -> None:
    @api.app.get("/test-only/failing")
    async def failing() -> None:
        raise ValidationFailed([ValidationFailure("Fields[1].Value", "Port must be 1-65535",
                                                  70000, "InclusiveBetweenValidator"),
                                ValidationFailure("Password", "Wrong", "p4ss")])

    response = await api.client.get("/test-only/failing")
    assert failures_of(response) == [
        {"propertyName": "Fields[1].Value", "errorMessage": "Port must be 1-65535",
         "attemptedValue": 70000, "severity": "error",
         "errorCode": "InclusiveBetweenValidator"},
        {"propertyName": "Password", "errorMessage": "Wrong", "attemptedValue": MASK,
         "severity": "error"}]


async def test_a_parameter_that_cannot_be_bound_answers_problem_details(api: Api) -> None:
    response = await api.client.get("/api/v3/history", params={"page": "abc",
                                                               "pageSize": "x"})
    assert problem_of(response) == {"page": ["The value 'abc' is not valid."],
                                    "pageSize": ["The value 'x' is not valid."]}
    assert "page" in response.json()["message"]


async def test_a_bad_request_that_is_no_validation_keeps_the_message(api: Api) -> None:
    # Radarr's BadRequestException ("Request body can't be empty") is {"message"}
    response = await api.client.post(PUSH, content=b"",
                                     headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"message": "A JSON request body is required"}


async def test_an_attempted_number_json_cannot_hold_is_echoed_as_text(api: Api) -> None:
    response = await api.client.post(PUSH, json={"title": "Big.2020.1080p.WEB-DL-GRP",
                                                 "size": 10**30,
                                                 "magnetUrl": magnet("Big.2020")})
    ((failure),) = failures_of(response)
    assert failure["propertyName"] == "Size"
    assert failure["attemptedValue"] == str(10**30)
    assert failure["errorMessage"] == (
        "'Size' must be less than or equal to '9223372036854775807'.")
