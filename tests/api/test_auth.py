"""API-key authentication and the /api response headers (reference §1, §2, §15.1).

The key is read from the `apikey` query parameter (any case; present-but-empty is a
failure and the headers are not consulted), then `X-Api-Key`, then
`Authorization: Bearer`. A missing or wrong key is a 401 with an empty body on every /api
route; authenticated /api responses carry X-Application-Version and no-cache headers."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from core.ratelimit import FailureLimiter
from tests.api.conftest import API_KEY, Api
from tests.api.radarr_schema import validate_api_info, validate_ping, validate_queue_status

STATUS = "/api/v3/queue/status"
NO_CACHE = "no-cache, no-store"


async def openapi_operations(api: Api) -> list[tuple[str, str]]:
    """(method, concrete path) for every operation under /api in the app's /openapi.json."""
    response = await api.anon.get("/openapi.json")
    assert response.status_code == 200
    operations = []
    for path, item in response.json()["paths"].items():
        if not (path == "/api" or path.startswith("/api/")):
            continue
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        operations += [(method.upper(), concrete) for method in item
                       if method in ("get", "put", "post", "delete", "patch", "head")]
    return operations


def assert_bare_401(response: httpx.Response) -> None:
    assert response.status_code == 401, (response.request.url, response.text)
    assert response.content == b""
    assert "www-authenticate" not in response.headers
    assert "x-application-version" not in response.headers
    assert "cache-control" not in response.headers


async def test_the_openapi_document_lists_the_radarr_queue_routes(api: Api) -> None:
    operations = set(await openapi_operations(api))
    for expected in [("GET", "/api/v3/queue"), ("GET", "/api/v3/queue/details"),
                     ("GET", "/api/v3/queue/status"), ("DELETE", "/api/v3/queue/1"),
                     ("DELETE", "/api/v3/queue/bulk"), ("POST", "/api/v3/queue/grab/1"),
                     ("POST", "/api/v3/queue/grab/bulk"), ("GET", "/api/v3/system/status"),
                     ("GET", "/api")]:
        assert expected in operations


async def test_every_api_route_answers_a_bare_401_without_a_key(api: Api) -> None:
    operations = await openapi_operations(api)
    assert len(operations) >= 15
    for method, path in operations:
        assert_bare_401(await api.anon.request(method, path, json={"ids": [1]}))


@pytest.mark.parametrize("how", ["header", "query", "bearer"])
async def test_every_api_route_answers_a_bare_401_with_a_wrong_key(api: Api, how: str) -> None:
    # More wrong keys than one address may send (tests/api/test_auth_limit.py): this test
    # is about the answer to each, so the limit is set out of reach.
    api.app.state.auth_failures = FailureLimiter(limit=10_000)
    wrong = API_KEY[:-1] + "0"
    kwargs: dict[str, Any] = {
        "header": {"headers": {"X-Api-Key": wrong}},
        "query": {"params": {"apikey": wrong}},
        "bearer": {"headers": {"Authorization": f"Bearer {wrong}"}},
    }[how]
    for method, path in await openapi_operations(api):
        assert_bare_401(await api.anon.request(method, path, **kwargs))


async def test_an_unknown_api_path_needs_the_key_before_it_is_not_found(api: Api) -> None:
    assert_bare_401(await api.anon.get("/api/v3/movie"))
    found = await api.client.get("/api/v3/nothing-here")
    assert found.status_code == 404


@pytest.mark.parametrize("name", ["apikey", "APIKEY", "ApiKey", "apiKey"])
async def test_the_apikey_query_parameter_works_in_any_case(api: Api, name: str) -> None:
    response = await api.anon.get(STATUS, params={name: API_KEY})
    assert response.status_code == 200
    validate_queue_status(response.json())


@pytest.mark.parametrize("name", ["X-Api-Key", "x-api-key", "X-API-KEY"])
async def test_the_x_api_key_header_works(api: Api, name: str) -> None:
    response = await api.anon.get(STATUS, headers={name: API_KEY})
    assert response.status_code == 200
    validate_queue_status(response.json())


async def test_an_authorization_bearer_header_works(api: Api) -> None:
    response = await api.anon.get(STATUS, headers={"Authorization": f"Bearer {API_KEY}"})
    assert response.status_code == 200
    validate_queue_status(response.json())


@pytest.mark.parametrize("name", ["apikey", "APIKEY", "ApiKey"])
async def test_a_present_but_empty_apikey_fails_even_with_a_valid_header(
    api: Api, name: str
) -> None:
    assert_bare_401(await api.client.get(f"{STATUS}?{name}="))
    assert_bare_401(await api.anon.get(f"{STATUS}?{name}=",
                                       headers={"Authorization": f"Bearer {API_KEY}"}))


async def test_the_query_key_is_read_before_the_header(api: Api) -> None:
    ok = await api.anon.get(STATUS, params={"apikey": API_KEY}, headers={"X-Api-Key": "wrong"})
    assert ok.status_code == 200
    assert_bare_401(await api.client.get(STATUS, params={"apikey": "wrong"}))


async def test_the_header_is_read_before_the_bearer_token(api: Api) -> None:
    ok = await api.anon.get(STATUS, headers={"X-Api-Key": API_KEY,
                                             "Authorization": "Bearer wrong"})
    assert ok.status_code == 200


async def test_the_key_is_compared_case_sensitively(api: Api) -> None:
    assert API_KEY.upper() != API_KEY
    assert_bare_401(await api.anon.get(STATUS, headers={"X-Api-Key": API_KEY.upper()}))
    assert_bare_401(await api.anon.get(STATUS, params={"apikey": API_KEY.upper()}))


async def test_a_key_with_extra_characters_fails(api: Api) -> None:
    assert_bare_401(await api.anon.get(STATUS, headers={"X-Api-Key": API_KEY + "0"}))
    assert_bare_401(await api.anon.get(STATUS, headers={"X-Api-Key": API_KEY[:-1]}))


async def test_get_api_needs_the_key_and_lists_v3(api: Api) -> None:
    assert_bare_401(await api.anon.get("/api"))
    body = await api.get_json("/api", None, validate_api_info)
    assert body == {"current": "v3", "deprecated": []}


async def test_ping_needs_no_key_for_get_or_head(api: Api) -> None:
    response = await api.anon.get("/ping")
    assert response.status_code == 200
    validate_ping(response.json())
    assert response.json() == {"status": "OK"}
    head = await api.anon.head("/ping")
    assert head.status_code == 200
    assert head.content == b""


async def test_ping_is_not_an_api_route_so_it_has_no_version_header(api: Api) -> None:
    response = await api.anon.get("/ping")
    assert "x-application-version" not in response.headers


async def test_ping_ignores_a_wrong_key(api: Api) -> None:
    response = await api.anon.get("/ping", params={"apikey": "wrong"})
    assert response.status_code == 200


# -- response headers --------------------------------------------------------------------


def assert_api_headers(response: httpx.Response) -> None:
    version = response.headers.get("x-application-version")
    assert version is not None, (response.request.url, dict(response.headers))
    assert re.fullmatch(r"\d+(\.\d+){1,3}", version)
    assert response.headers["cache-control"] == NO_CACHE
    assert response.headers.get("pragma") == "no-cache"
    assert response.headers.get("expires") == "-1"


async def test_authenticated_api_responses_carry_the_version_and_no_cache_headers(
    api: Api,
) -> None:
    item = await api.grab()
    responses = [
        await api.client.get("/api/v3/queue"),
        await api.client.get("/api/v3/queue/details"),
        await api.client.get(STATUS),
        await api.client.get("/api"),
        await api.client.get("/api/v3/queue/999"),  # 404
        await api.client.get("/api/v3/queue", params={"page": "x"}),  # 400
        await api.client.post("/api/v3/queue/grab/999"),
        await api.client.delete(f"/api/v3/queue/{item['id']}"),  # empty 200
        await api.anon.get(STATUS, params={"APIKEY": API_KEY}),
    ]
    for response in responses:
        assert_api_headers(response)


async def test_the_version_header_satisfies_prowlarrs_minimum(api: Api) -> None:
    # Prowlarr refuses Radarr below 3.1.1 for major version 3, and below 4.0.4 otherwise.
    response = await api.client.get(STATUS)
    parts = tuple(int(p) for p in response.headers["x-application-version"].split("."))
    assert parts[:3] >= ((3, 1, 1) if parts[0] == 3 else (4, 0, 4))


async def test_any_origin_may_call_the_api(api: Api) -> None:
    response = await api.client.get(STATUS, headers={"Origin": "http://ui.example"})
    assert response.status_code == 200
    assert response.headers.get("access-control-allow-origin") == "*"


async def test_a_cors_preflight_is_answered_without_a_key(api: Api) -> None:
    response = await api.anon.options("/api/v3/queue/bulk", headers={
        "Origin": "http://ui.example", "Access-Control-Request-Method": "DELETE",
        "Access-Control-Request-Headers": "x-api-key, content-type"})
    assert response.status_code == 200
    assert response.headers.get("access-control-allow-origin") == "*"
    assert "DELETE" in response.headers.get("access-control-allow-methods", "")
