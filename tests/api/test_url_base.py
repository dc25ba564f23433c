"""QUEUARR_URL_BASE (api/url_base.py): with a base, every route answers under it and
nothing answers outside it but `/` (a redirect to the page); the redirects, the session
cookie, the docs and the OpenAPI document carry the base; system/status reports it; a
root path set by the server (uvicorn --root-path) stays in front of it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from pydantic import ValidationError

from api import session
from infrastructure.settings import Settings
from tests.api.conftest import API_KEY, BASE, Api, ApiFactory, over_a_socket

URL_BASE = "/base"
NO_ROUTE = (404, {"message": "NotFound"})  # what an unknown path answers
STREAM = "/api/v3/queue/stream"  # never ends: read over a socket, not through ASGI
# Paths that are not routes of their own: files under the docs' mount.
MOUNTED = [("GET", "/static-offline-docs/swagger-ui.css"),
           ("GET", "/static-offline-docs/redoc.standalone.js")]
# Sample path parameters for GETs: each names something the setup made, or a fixed
# entry (language 1, quality definition 1, the first root folder, UI config 1).
SAMPLES = {"id": "1", "path": "css/app.css"}
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) of every route, path parameters filled in: samples for GETs and
    HEADs, and "x" (a 400 before the endpoint runs) for the methods that change things."""
    for route in iter_route_contexts(app.routes):
        for method in sorted(route.methods or ()):
            if route.path is None or route.path == STREAM:
                continue
            if method in ("GET", "HEAD"):
                yield method, _PARAM.sub(lambda m: SAMPLES[m[1]], route.path)
            else:
                yield method, _PARAM.sub("x", route.path)
    yield from MOUNTED


def answer(response: httpx.Response) -> tuple[int, Any]:
    try:
        body = response.json()
    except ValueError:
        body = response.text
    return response.status_code, body


async def walk_gets(client: httpx.AsyncClient, app: FastAPI, prefix: str
                    ) -> dict[tuple[str, str], int]:
    """The status of every GET and HEAD, each path after `prefix`; command 1 is made
    first (commands are kept per process)."""
    command = await client.post(f"{prefix}/api/v3/command",
                                json={"name": "RefreshMonitoredDownloads"})
    assert command.json()["id"] == 1, command.text
    statuses = {}
    for method, path in routes(app):
        if method in ("GET", "HEAD"):
            response = await client.request(method, prefix + path)
            statuses[method, path] = response.status_code
    return statuses


@pytest.fixture
async def based(make_api: ApiFactory) -> AsyncIterator[Api]:
    async with make_api(url_base=URL_BASE) as running:
        yield running


# Settings

@pytest.mark.parametrize(("given", "used"), [
    ("queuarr", "/queuarr"), ("/queuarr", "/queuarr"), ("/queuarr/", "/queuarr"),
    (" /queuarr/ ", "/queuarr"), ("apps/queuarr", "/apps/queuarr"),
    ("/Q-u_e.u~arr", "/Q-u_e.u~arr"), ("//queuarr//", "/queuarr"),  # as Radarr trims
    ("", ""), ("/", ""), ("//", ""), ("  ", ""),
])
def test_the_url_base_is_normalised_to_one_leading_slash_and_none_after(
        given: str, used: str) -> None:
    assert Settings(url_base=given).url_base == used


@pytest.mark.parametrize("given", [
    "/a b", "/a?b", "/a#b", "/a//b", "/../x", "/a/./b", "/%2e%2e", "/caf\u00e9",
    "http://host/queuarr", "/a\\b", "/a;b",
])
def test_a_url_base_that_is_not_a_plain_path_is_refused_with_the_settings_name(
        given: str) -> None:
    with pytest.raises(ValidationError, match="QUEUARR_URL_BASE must be a path such as "
                                              "/queuarr"):
        Settings(url_base=given)


def test_the_url_base_comes_from_queuarr_url_base(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUARR_URL_BASE", "queuarr/")
    assert Settings(_env_file=None).url_base == "/queuarr"  # type: ignore[call-arg]
    monkeypatch.delenv("QUEUARR_URL_BASE")
    assert Settings(_env_file=None).url_base == ""  # type: ignore[call-arg]


# Every route

async def test_every_route_answers_under_the_base_as_it_does_without_one_and_not_outside(
        make_api: ApiFactory) -> None:
    # One store for both apps: what the first makes, the second reads.
    async with make_api() as plain:
        grabbed = await plain.grab("Heat.1995.1080p.BluRay.x264-SPARKS")
        assert grabbed["id"] == 1
        tag = await plain.client.post("/api/v3/tag", json={"label": "one"})
        assert tag.json()["id"] == 1
        unbased = await walk_gets(plain.client, plain.app, "")
    # The samples find what they name, but for three that answer a 404 of their own
    # (not the unknown path's): so "answers the same" means the same route answered.
    assert sorted(path for (_, path), status in unbased.items() if status == 404) == [
        "/api/v3/downloadclient/1", "/api/v3/notification/1", "/api/v3/queue/group/1"]

    async with make_api(url_base=URL_BASE) as api:
        assert await walk_gets(api.client, api.app, URL_BASE) == unbased
        for method, path in routes(api.app):
            no_route = NO_ROUTE if method != "HEAD" else (404, "")  # HEAD: no body
            under = answer(await api.client.request(method, URL_BASE + path))
            assert under != no_route, (method, path)
            outside = answer(await api.client.request(method, path))
            if path == "/" and method in ("GET", "HEAD"):
                assert outside[0] == 302, (method, path)
            else:
                assert outside == no_route, (method, path, outside)


async def test_a_path_that_only_begins_like_the_base_is_outside_it(based: Api) -> None:
    for path in ("/basement/api/v3/queue", "/base-/ping", "/bas/ping", "/api/v3/queue",
                 "/ping", "/ui/", "/base/nothing"):
        assert answer(await based.client.get(path)) == NO_ROUTE, path


async def test_the_base_matches_ignoring_case_as_radarr_routes_do(based: Api) -> None:
    response = await based.client.get("/BASE/API/V3/QUEUE/status")
    assert response.status_code == 200, response.text
    assert (await based.client.get("/Base/ping")).json() == {"status": "OK"}


async def test_a_stream_follows_under_the_base(based: Api) -> None:
    async with over_a_socket(based.app) as url, httpx.AsyncClient(
            base_url=url, headers={"X-Api-Key": API_KEY}, timeout=30) as http:
        async with http.stream("GET", STREAM) as outside:  # (a stream would never end)
            assert outside.status_code == 404
        async with http.stream("GET", URL_BASE + STREAM) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():  # retry: first, then the status
                if line.startswith("event:"):
                    assert line == "event: status"
                    break
            else:
                pytest.fail("the stream ended before its first event")


# What carries the base

async def test_system_status_reports_the_url_base(based: Api) -> None:
    status = await based.client.get(f"{URL_BASE}/api/v3/system/status")
    assert status.json()["urlBase"] == URL_BASE


async def test_system_status_reports_an_empty_url_base_without_one(api: Api) -> None:
    assert (await api.client.get("/api/v3/system/status")).json()["urlBase"] == ""


@pytest.mark.parametrize("path", ["/base", "/base/", "/", "/base/ui", "/BASE/"])
async def test_the_base_and_slash_redirect_to_the_page_under_the_base(
        based: Api, path: str) -> None:
    response = await based.anon.get(path)
    assert response.status_code == 302
    assert response.headers["location"] == f"{URL_BASE}/ui/"


async def test_the_page_and_its_files_are_served_under_the_base(based: Api) -> None:
    page = await based.anon.get(f"{URL_BASE}/ui/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    # Its URLs are relative, so they resolve under the base.
    assert 'src="static/js/main.js"' in page.text
    script = await based.anon.get(f"{URL_BASE}/ui/static/js/api.js")
    assert script.status_code == 200
    assert 'new URL("../api/v3/", document.baseURI)' in script.text


async def test_the_session_cookie_goes_only_to_the_base_and_signs_in_there(
        based: Api) -> None:
    transport = httpx.ASGITransport(app=based.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as browser:
        signed = await browser.post(f"{URL_BASE}/ui/session", json={"apiKey": API_KEY})
        assert signed.status_code == 204, signed.text
        assert "; Path=/base;" in signed.headers["set-cookie"]
        assert (await browser.get(f"{URL_BASE}/api/v3/queue/status")).status_code == 200
        # httpx, like a browser, keeps the cookie to its path: none is sent outside it.
        (kept,) = browser.cookies.jar
        assert (kept.name, kept.path) == (session.COOKIE, URL_BASE)

        out = await browser.delete(f"{URL_BASE}/ui/session")
        assert out.status_code == 204
        assert "; Path=/base;" in out.headers["set-cookie"]
        assert "Max-Age=0" in out.headers["set-cookie"]
        assert (await browser.get(f"{URL_BASE}/api/v3/queue/status")).status_code == 401


async def test_the_openapi_document_names_the_base_as_its_server(based: Api) -> None:
    document = await based.anon.get(f"{URL_BASE}/openapi.json")
    assert document.status_code == 200
    assert document.json()["servers"] == [{"url": URL_BASE}]
    assert "/api/v3/queue" in document.json()["paths"]  # paths stay relative to it


async def test_the_openapi_document_names_no_server_without_a_base(api: Api) -> None:
    assert "servers" not in (await api.anon.get("/openapi.json")).json()


@pytest.mark.parametrize(("page", "assets"), [
    ("/docs", ["/base/openapi.json", "/base/static-offline-docs/swagger-ui-bundle.js",
               "/base/static-offline-docs/swagger-ui.css",
               "/base/static-offline-docs/favicon.png"]),
    ("/redoc", ["/base/openapi.json", "/base/static-offline-docs/redoc.standalone.js",
                "/base/static-offline-docs/favicon.png"]),
])
async def test_the_docs_pages_load_everything_from_under_the_base(
        based: Api, page: str, assets: list[str]) -> None:
    html = await based.anon.get(URL_BASE + page)
    assert html.status_code == 200
    urls = set(re.findall(r"""(?:href|src|url)\s*[=:]\s*['"]([^'"]+)['"]""", html.text))
    assert urls == set(assets), urls
    for url in assets:
        assert (await based.anon.get(url)).status_code == 200, url


async def test_the_api_key_is_still_required_under_the_base(based: Api) -> None:
    assert (await based.anon.get(f"{URL_BASE}/api/v3/queue")).status_code == 401
    assert (await based.anon.get(f"{URL_BASE}/metrics")).status_code == 401
    assert (await based.anon.get(f"{URL_BASE}/ping")).status_code == 200


# A root path set by the server (uvicorn --root-path, for a proxy that strips its prefix)

def _served_under(api: Api, root_path: str) -> httpx.AsyncClient:
    """A client as uvicorn --root-path serves: root_path set, and in front of the path."""
    transport = httpx.ASGITransport(app=api.app, root_path=root_path)
    return httpx.AsyncClient(transport=transport, base_url=BASE)


async def test_a_server_root_path_is_kept_in_front_of_the_base(based: Api) -> None:
    async with _served_under(based, "/proxy") as http:
        assert (await http.get("/proxy/base/ping")).json() == {"status": "OK"}
        queue = await http.get("/proxy/base/api/v3/queue", headers={"X-Api-Key": API_KEY})
        assert queue.status_code == 200
        assert answer(await http.get("/proxy/ping")) == NO_ROUTE
        assert (await http.get("/proxy/base/")).headers["location"] == "/proxy/base/ui/"
        document = (await http.get("/proxy/base/openapi.json")).json()
        assert document["servers"] == [{"url": "/proxy/base"}]


async def test_a_server_root_path_does_not_let_api_requests_past_the_key(api: Api) -> None:
    async with _served_under(api, "/proxy") as http:
        assert (await http.get("/proxy/api/v3/queue")).status_code == 401
        assert (await http.get("/proxy/API/v3/queue")).status_code == 401
        assert (await http.get("/proxy/metrics")).status_code == 401
        assert (await http.get("/proxy/ping")).json() == {"status": "OK"}
        assert (await http.get("/proxy/docs")).status_code == 200


async def test_a_command_s_location_carries_the_base(based: Api) -> None:
    started = await based.client.post(f"{URL_BASE}/api/v3/command",
                                      json={"name": "RefreshMonitoredDownloads"})
    assert started.status_code == 201, started.text
    location = started.headers["location"]
    assert location == f"{URL_BASE}/api/v3/command/{started.json()['id']}"
    assert (await based.client.get(location)).status_code == 200
