"""Error answers (reference §3, §15.3): invalid parameters are 400 with ASP.NET's problem
details (and a message), invalid bodies 400 with Radarr's array of validation failures,
unknown ids 404 {"message": "NotFound"}, and nothing a client sends is a 500."""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Any

import pytest

from api.app import create_app
from tests.api.conftest import Api
from tests.api.failures import failure_pairs, problem_of
from tests.api.radarr_schema import validate_queue_page


def assert_message(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    message: str = response.json()["message"]
    assert isinstance(message, str) and message
    return message


def test_the_openapi_document_builds_without_warnings() -> None:
    # Under the project's filterwarnings=error a warning here breaks every request that
    # carries a query string (RadarrEdge reads parameter names from this document).
    app = create_app()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        app.openapi()


def test_every_operation_id_in_the_openapi_document_is_unique() -> None:
    app = create_app()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        document = app.openapi()
    counted = Counter(op["operationId"] for item in document["paths"].values()
                      for op in item.values() if isinstance(op, dict) and "operationId" in op)
    assert [name for name, n in counted.items() if n > 1] == []


@pytest.mark.parametrize("params", [
    {"page": "abc"}, {"pageSize": "abc"}, {"page": "1.5"}, {"page": "2147483648"},
    {"sortDirection": "sideways"}, {"sortDirection": "asc"}, {"sortDirection": "9"},
    {"includeMovie": "maybe"}, {"includeUnknownMovieItems": "maybe"},
    {"includeMovie": ""}, {"movieIds": "abc"}, {"languages": "en"}, {"quality": "1080p"},
    {"protocol": "carrier-pigeon"}, {"protocol": "7"}, {"status": "bogus"},
])
async def test_an_invalid_queue_parameter_answers_400_with_a_message(
    api: Api, params: dict[str, str]
) -> None:
    response = await api.client.get("/api/v3/queue", params=params)
    assert_message(response, 400)
    (name,) = params
    # Radarr's model binding: {"errors": {"page": ["The value 'abc' is not valid."]}}
    assert problem_of(response) == {
        (f"{name}[0]" if name in ("movieIds", "languages", "quality", "status") else name):
        [f"The value '{params[name]}' is not valid."]}


@pytest.mark.parametrize("params", [{"movieId": "abc"}, {"includeMovie": "maybe"}])
async def test_an_invalid_details_parameter_answers_400_with_a_message(
    api: Api, params: dict[str, str]
) -> None:
    assert_message(await api.client.get("/api/v3/queue/details", params=params), 400)


@pytest.mark.parametrize("params", [{"page": "x"}, {"sortDirection": "up"},
                                    {"protocols": "bogus"}])
async def test_an_invalid_blocklist_parameter_answers_400_with_a_message(
    api: Api, params: dict[str, str]
) -> None:
    assert_message(await api.client.get("/api/v3/blocklist", params=params), 400)


async def test_a_400_names_the_offending_parameter(api: Api) -> None:
    message = assert_message(await api.client.get("/api/v3/queue",
                                                  params={"sortDirection": "sideways"}), 400)
    assert "sortDirection" in message


async def test_a_sort_key_of_any_length_silently_becomes_timeleft(api: Api) -> None:
    # §4.1: anything outside the allow-list becomes timeleft; it is not a binding error
    await api.grab()
    response = await api.client.get("/api/v3/queue", params={"sortKey": "x" * 300})
    assert response.status_code == 200, response.text
    page = response.json()
    validate_queue_page(page)
    assert page["sortKey"] == "timeleft"


async def test_an_empty_sort_key_becomes_timeleft(api: Api) -> None:
    response = await api.client.get("/api/v3/queue", params={"sortKey": ""})
    assert response.status_code == 200
    assert response.json()["sortKey"] == "timeleft"


async def test_page_size_zero_on_a_later_page_is_no_server_error(api: Api) -> None:
    # Radarr divides by zero here (500); whatever Queuarr answers, it must not be a 500
    await api.grab()
    response = await api.client.get("/api/v3/queue", params={"page": 3, "pageSize": 0})
    assert response.status_code < 500
    if response.status_code == 200:
        validate_queue_page(response.json())
        assert response.json()["records"] == []


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v3/queue/123"), ("DELETE", "/api/v3/queue/123"),
    ("POST", "/api/v3/queue/grab/123"), ("PUT", "/api/v3/queue/123/resume"),
    ("DELETE", "/api/v3/blocklist/123"),
])
async def test_an_unknown_id_answers_404_not_found(api: Api, method: str, path: str) -> None:
    response = await api.client.request(method, path)
    assert response.status_code == 404
    assert response.json() == {"message": "NotFound"}


@pytest.mark.parametrize(("method", "path"), [("POST", "/api/v3/queue"),
                                              ("PUT", "/api/v3/queue"),
                                              ("PATCH", "/api/v3/queue/1")])
async def test_there_is_no_put_or_post_on_the_queue(api: Api, method: str, path: str) -> None:
    response = await api.client.request(method, path)
    assert response.status_code == 405


async def test_a_non_integer_id_is_not_a_server_error(api: Api) -> None:
    for method, path in (("GET", "/api/v3/queue/abc"), ("DELETE", "/api/v3/queue/abc"),
                         ("POST", "/api/v3/queue/grab/abc"),
                         ("DELETE", "/api/v3/queue/99999999999")):
        response = await api.client.request(method, path)
        assert 400 <= response.status_code < 500, (method, path, response.status_code)


async def test_a_json_body_with_trailing_garbage_is_a_400_not_a_500(api: Api) -> None:
    response = await api.client.request("DELETE", "/api/v3/queue/bulk", content=b'{"ids":[1]}}',
                                        headers={"Content-Type": "application/json"})
    ((name, message),) = failure_pairs(response)
    assert name == "" and message.startswith("Invalid JSON: trailing characters")
