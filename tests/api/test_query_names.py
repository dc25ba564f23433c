"""RadarrEdge folds a query key's case to the name a route declares; the names come from
the routes (api/query_names.py), not from the OpenAPI document, which costs ~6.6 MiB
and the first such request's time to build (issue 18)."""

from __future__ import annotations

from typing import Any

from api.app import create_app
from api.query_names import query_names
from tests.api.conftest import Api


def _documented(document: dict[str, Any]) -> set[str]:
    return {parameter["name"] for item in document["paths"].values()
            for operation in item.values() for parameter in operation.get("parameters", ())
            if parameter["in"] == "query"}


def test_the_routes_declare_the_query_names_the_openapi_document_lists() -> None:
    app = create_app()
    names = query_names(app)
    assert app.openapi_schema is None  # collecting them did not build the document
    documented = _documented(app.openapi())
    assert {"pageSize", "sortKey", "includeUnknownMovieItems", "movieIds"} <= documented
    assert names == documented


async def test_a_request_with_a_query_string_does_not_build_the_openapi_document(
        api: Api) -> None:
    api.app.openapi_schema = None  # the fixture hands every app a prebuilt one
    response = await api.client.get("/api/v3/queue", params={"PageSize": "3", "page": "1"})
    assert response.status_code == 200
    assert response.json()["pageSize"] == 3  # the key was folded
    assert api.app.openapi_schema is None
