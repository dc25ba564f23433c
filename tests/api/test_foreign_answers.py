"""A download client pointed at something that is not one (any service on a loopback
port) fails its test with what failed: the HTTP status, "not qBittorrent", "not aria2's
RPC", "cannot reach". What that service answered is never repeated, neither in the
test's 400 nor in /api/v3/health, so the test endpoint cannot be used to read internal
pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from api.routers import health as health_router
from tests.api.conftest import Api, ApiFactory
from tests.api.test_downloadclient import URL, aria2, create, qbit, refused
from tests.listener import Listener, listening

BODY = "INTERNAL-PAGE-7f3a9c: do not repeat me"
JSON = "application/json"

# (status, content type, body) a foreign service answers every request with.
QBITTORRENT_CASES = {
    "a page answered 200": (200, "text/html", f"<html>{BODY}</html>"),
    "a page answered 404": (404, "text/html", f"<html>{BODY}</html>"),
    "a 400 with a text": (400, "text/plain", BODY),
    "a 409 with a text": (409, "text/plain", BODY),
    "a 500 with a text": (500, "text/plain", BODY),
    "a 418 with a text": (418, "text/plain", BODY),
    "JSON answered 200": (200, JSON, json.dumps({"error": BODY})),
}
ARIA2_CASES = {
    "a JSON-RPC error": (200, JSON, json.dumps(
        {"jsonrpc": "2.0", "id": "x", "error": {"code": -32601, "message": BODY}})),
    "a JSON-RPC error with aria2's code": (200, JSON, json.dumps(
        {"jsonrpc": "2.0", "id": "x", "error": {"code": 1, "message": BODY}})),
    "a result that is text": (200, JSON, json.dumps({"jsonrpc": "2.0", "id": "x",
                                                     "result": BODY})),
    "a result that is a fault list": (200, JSON, json.dumps(
        {"jsonrpc": "2.0", "id": "x", "result": [{"code": 1, "message": BODY}]})),
    "a version that is text": (200, JSON, json.dumps(
        {"jsonrpc": "2.0", "id": "x", "result": {"version": BODY}})),
    "a page answered 200": (200, "text/html", f"<html>{BODY}</html>"),
    "a page answered 404": (404, "text/html", f"<html>{BODY}</html>"),
}
CASES = [(qbit, name) for name in QBITTORRENT_CASES] + [(aria2, name) for name in ARIA2_CASES]


def answer(make: Any, case: str) -> tuple[int, str, str]:
    return (QBITTORRENT_CASES if make is qbit else ARIA2_CASES)[case]


@pytest.fixture
def foreign() -> Iterator[Listener]:
    with listening() as running:
        yield running


@pytest.fixture(autouse=True)
def _no_health_cache() -> None:
    health_router._cache.clear()


@pytest.mark.parametrize("make, case", CASES)
async def test_a_client_test_against_another_service_does_not_repeat_its_answer(
        api: Api, foreign: Listener, make: Any, case: str) -> None:
    status, content_type, body = answer(make, case)
    foreign.answer(status, body.encode(), content_type)
    bodies = ([make(port=foreign.port, username=name) for name in ("admin", "")]
              if make is qbit else [make(port=foreign.port)])
    for sent in bodies:  # qBittorrent: with a login first, and without
        message = await refused(api.client.post(f"{URL}/test", json=sent))
        assert foreign.received, "the test never reached the service"
        assert "INTERNAL-PAGE" not in message, message
        assert message.startswith("Test of download client"), message


@pytest.mark.parametrize("make, case", CASES)
async def test_health_does_not_repeat_what_another_service_answered(
        make_api: ApiFactory, foreign: Listener, make: Any, case: str) -> None:
    status, content_type, body = answer(make, case)
    foreign.answer(status, body.encode(), content_type)
    async with make_api() as api:
        assert api.container.clients is not None
        api.container.queue.clients = api.container.clients  # as bootstrap wires it
        await create(api, make(port=foreign.port))
        response = await api.client.get("/api/v3/health")
        assert response.status_code == 200, response.text
        problems = [h["message"] for h in response.json()
                    if h["source"] == "DownloadClientStatusCheck"]
        assert problems and problems[0].startswith("Unable to communicate with"), problems
        assert foreign.received, "health never probed the service"
        assert "INTERNAL-PAGE" not in response.text, problems
