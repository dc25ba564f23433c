"""A real `queuarr serve` with QUEUARR_URL_BASE (issue 17): it answers under the base, as
a reverse proxy that passes the full path on reaches it, and nowhere else but `/`."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.conftest import LiveServer, start_server, stop_server

URL_BASE = "/queuarr"


@pytest.fixture(scope="module")
def based(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    process, server = start_server(tmp_path_factory.mktemp("based"),
                                   {"QUEUARR_URL_BASE": "queuarr/"}, ("--no-processor",))
    try:
        yield server
    finally:
        stop_server(process)


def test_a_server_with_a_url_base_answers_under_it_and_not_outside(
        based: LiveServer) -> None:
    assert urlsplit(based.url).path == URL_BASE  # start_server's /ping was the based one
    origin = based.url.removesuffix(URL_BASE)
    with httpx.Client(base_url=origin, headers={"X-Api-Key": based.api_key},
                      timeout=10, trust_env=False) as http:
        assert http.get(f"{URL_BASE}/ping").json() == {"status": "OK"}
        status = http.get(f"{URL_BASE}/api/v3/system/status")
        assert status.json()["urlBase"] == URL_BASE
        for path in ("/ping", "/api/v3/system/status", "/metrics", "/ui/"):
            assert http.get(path).status_code == 404, path
        for path in ("/", URL_BASE, f"{URL_BASE}/"):
            moved = http.get(path)
            assert (moved.status_code, moved.headers["location"]) == (302, "/queuarr/ui/")
