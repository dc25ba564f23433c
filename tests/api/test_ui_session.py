"""The web UI's server side (api/routers/ui.py, api/session.py, api.edge.ApiKeyAuth): the
page and its files, sign-in with the API key for an HttpOnly SameSite=Strict cookie that
then stands in for the key at /api, the X-Queuarr-UI header that state-changing cookie
requests need, the shared wrong-key limit, and QUEUARR_UI=false."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, MutableMapping
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.staticfiles import StaticFiles

from api import session
from api.routers import ui
from core.ratelimit import MAX_FAILURES, WINDOW, FailureLimiter
from tests.api.conftest import API_KEY, BASE, Api, ApiFactory, over_a_socket

SIGN_IN = "/ui/session"
STATUS = "/api/v3/queue/status"
WRONG = "f" * 32


def cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"{session.COOKIE}={token}"}


def attributes(set_cookie: str) -> tuple[str, dict[str, str]]:
    """A Set-Cookie header's value, and its attributes by lower-cased name."""
    first, *rest = (part.strip() for part in set_cookie.split(";"))
    name, _, value = first.partition("=")
    assert name == session.COOKIE
    return value, {k.lower(): v for k, _, v in (a.partition("=") for a in rest)}


def shows_no_key(response: httpx.Response) -> None:
    assert API_KEY not in response.text
    assert all(API_KEY not in value for value in response.headers.values())


@pytest.fixture
async def browser(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    """A client without the API key that keeps cookies, as a browser does."""
    transport = httpx.ASGITransport(app=api.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


async def sign_in(client: httpx.AsyncClient, key: str = API_KEY,
                  **kwargs: Any) -> httpx.Response:
    return await client.post(SIGN_IN, json={"apiKey": key}, **kwargs)


async def test_signing_in_sets_an_http_only_strict_cookie_for_thirty_days(
        browser: httpx.AsyncClient) -> None:
    assert (await browser.get(SIGN_IN)).json() == {"signedIn": False}

    response = await sign_in(browser)

    assert response.status_code == 204, response.text
    token, attrs = attributes(response.headers["set-cookie"])
    assert attrs == {"httponly": "", "samesite": "Strict", "path": "/", "max-age": "2592000"}
    assert token.startswith("v1.") and session.valid(token, API_KEY)
    assert response.headers["cache-control"] == "no-store"
    shows_no_key(response)
    signed_in = await browser.get(SIGN_IN)
    assert signed_in.json() == {"signedIn": True}
    shows_no_key(signed_in)


@pytest.mark.parametrize(("base", "headers"), [
    ("https://queuarr.test", {}),
    (BASE, {"X-Forwarded-Proto": "https"}),
])
async def test_the_cookie_is_secure_when_the_browser_came_over_https(
        api: Api, base: str, headers: dict[str, str]) -> None:
    transport = httpx.ASGITransport(app=api.app)
    async with httpx.AsyncClient(transport=transport, base_url=base) as client:
        signed = await sign_in(client, headers=headers)
        out = await client.delete(SIGN_IN, headers=headers)
    assert "secure" in attributes(signed.headers["set-cookie"])[1]
    assert "secure" in attributes(out.headers["set-cookie"])[1]


async def test_a_cookie_alone_reads_the_api(api: Api, browser: httpx.AsyncClient) -> None:
    await api.grab()
    assert (await browser.get("/api/v3/queue")).status_code == 401
    await sign_in(browser)

    page = await browser.get("/api/v3/queue")
    assert page.status_code == 200, page.text
    assert page.json()["totalRecords"] == 1
    assert (await browser.get("/metrics")).status_code == 200


async def test_a_cookie_without_the_ui_header_changes_nothing(
        api: Api, browser: httpx.AsyncClient) -> None:
    item = await api.grab()
    await sign_in(browser)

    refused = await browser.delete(f"/api/v3/queue/{item['id']}")
    assert refused.status_code == 403
    assert "X-Queuarr-UI" in refused.json()["message"]
    grab = await browser.post("/api/v3/queue/grab", json={
        "downloadUrl": "magnet:?xt=urn:btih:" + "a" * 40 + "&dn=Other.2020"})
    assert grab.status_code == 403
    assert (await api.queue())["totalRecords"] == 1

    done = await browser.delete(f"/api/v3/queue/{item['id']}", headers={"X-Queuarr-UI": "1"})
    assert done.status_code == 200, done.text
    assert (await api.queue())["totalRecords"] == 0


async def test_the_api_key_path_needs_no_ui_header(api: Api) -> None:
    item = await api.grab()
    assert (await api.client.delete(f"/api/v3/queue/{item['id']}")).status_code == 200


@pytest.mark.parametrize("token", [
    session.issue("another-key-another-key-0000"),
    session.issue(API_KEY, now=time.time() - session.MAX_AGE - 1),
    session.issue(API_KEY, now=time.time() + 3600),
    session.issue(API_KEY)[:-2] + "AA",
    "v1.1700000000.nonce.mac",
    "v2" + session.issue(API_KEY)[2:],
    "",
], ids=["other key", "expired", "from the future", "forged mac", "garbage", "version",
        "empty"])
async def test_a_token_not_issued_with_this_key_in_the_last_thirty_days_is_401(
        api: Api, token: str) -> None:
    refused = await api.anon.get(STATUS, headers=cookie(token))
    assert refused.status_code == 401
    assert (await api.anon.get(SIGN_IN, headers=cookie(token))).json() == {"signedIn": False}


async def test_a_token_a_day_short_of_thirty_still_works(api: Api) -> None:
    token = session.issue(API_KEY, now=time.time() - session.MAX_AGE + 86400)
    assert (await api.anon.get(STATUS, headers=cookie(token))).status_code == 200


async def test_changing_the_api_key_ends_every_session(api: Api) -> None:
    token = session.issue(API_KEY)
    assert (await api.anon.get(STATUS, headers=cookie(token))).status_code == 200
    api.container.api_key = "a-brand-new-key-0123456789"
    assert (await api.anon.get(STATUS, headers=cookie(token))).status_code == 401


async def test_wrong_keys_at_sign_in_count_with_wrong_api_keys(
        api: Api, caplog: pytest.LogCaptureFixture) -> None:
    ticks = [1000.0]
    api.app.state.auth_failures = FailureLimiter(monotonic=lambda: ticks[0])
    caplog.set_level(logging.DEBUG)
    for _ in range(MAX_FAILURES - 1):
        wrong = await sign_in(api.anon, WRONG)
        assert wrong.status_code == 401
        assert wrong.json() == {"message": "Wrong API key"}
        assert "set-cookie" not in wrong.headers
    assert (await api.anon.get(STATUS, headers={"X-Api-Key": WRONG})).status_code == 401

    limited = await sign_in(api.anon)  # the right key, from a limited address
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == str(int(WINDOW))
    assert "set-cookie" not in limited.headers
    assert (await api.client.get(STATUS)).status_code == 429
    assert WRONG not in caplog.text and API_KEY not in caplog.text

    ticks[0] += WINDOW
    assert (await sign_in(api.anon)).status_code == 204


@pytest.mark.parametrize("body", [b"", b"not json", b'{"apiKey": ""}', b'{"key": "x"}',
                                  b'["x"]', b'{"apiKey": "' + b"x" * 5000 + b'"}'])
async def test_a_sign_in_without_an_api_key_is_400_and_not_counted(
        api: Api, body: bytes) -> None:
    response = await api.anon.post(SIGN_IN, content=body,
                                   headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "message" in response.json() and "xxxx" not in response.text
    assert len(api.app.state.auth_failures) == 0


async def test_signing_out_clears_the_cookie(api: Api, browser: httpx.AsyncClient) -> None:
    await sign_in(browser)
    assert (await browser.get(STATUS)).status_code == 200

    out = await browser.delete(SIGN_IN)

    assert out.status_code == 204
    value, attrs = attributes(out.headers["set-cookie"])
    assert value == "" and attrs["max-age"] == "0" and attrs["path"] == "/"
    assert (await browser.get(SIGN_IN)).json() == {"signedIn": False}
    assert (await browser.get(STATUS)).status_code == 401


async def test_with_the_ui_off_there_is_no_page_and_no_cookie_sign_in(
        make_api: ApiFactory) -> None:
    async with make_api(ui=False) as api:
        for path in ("/", "/ui", "/ui/", "/ui/static/index.html", SIGN_IN):
            assert (await api.anon.get(path)).status_code == 404, path
        assert (await sign_in(api.anon)).status_code == 404
        token = session.issue(API_KEY)
        assert (await api.anon.get(STATUS, headers=cookie(token))).status_code == 401
        assert (await api.client.get(STATUS)).status_code == 200


async def test_the_root_leads_to_the_page_which_is_never_cached_stale(api: Api) -> None:
    for path in ("/", "/ui"):
        moved = await api.anon.get(path)
        assert moved.status_code == 302 and moved.headers["location"] == "/ui/", path

    page = await api.anon.get("/ui/")

    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-cache"
    assert page.content == (ui.STATIC / "index.html").read_bytes()
    shows_no_key(page)


@pytest.fixture
def static(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A static directory of our own (the page's files change), with a file beside it that
    must never be served."""
    root = tmp_path / "static"
    (root / "js").mkdir(parents=True)
    (tmp_path / "secret.py").write_text("SECRET = 1\n")
    for name in ("js/app.js", "app.css", "logo.svg", "logo.png", "favicon.ico",
                 "font.woff2"):
        (root / name).write_bytes(b"content of " + name.encode())
    monkeypatch.setattr(ui, "_files", StaticFiles(directory=root))
    return root


@pytest.mark.parametrize(("name", "kind"), [
    ("js/app.js", "text/javascript; charset=utf-8"), ("app.css", "text/css; charset=utf-8"),
    ("logo.svg", "image/svg+xml"), ("logo.png", "image/png"),
    ("favicon.ico", "image/x-icon"), ("font.woff2", "font/woff2"),
])
async def test_static_files_have_their_type_and_are_cached_for_an_hour(
        api: Api, static: Path, name: str, kind: str) -> None:
    response = await api.anon.get(f"/ui/static/{name}")

    assert response.status_code == 200
    assert response.content == (static / name).read_bytes()
    assert response.headers["content-type"] == kind
    assert response.headers["cache-control"] == "public, max-age=3600"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["etag"] and response.headers["last-modified"]


async def test_a_revalidated_file_that_did_not_change_is_304(api: Api, static: Path) -> None:
    first = await api.anon.get("/ui/static/js/app.js")
    etag = first.headers["etag"]

    same = await api.anon.get("/ui/static/js/app.js", headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b""
    assert same.headers["etag"] == etag
    assert same.headers["cache-control"] == "public, max-age=3600"
    since = await api.anon.get("/ui/static/js/app.js", headers={
        "If-Modified-Since": first.headers["last-modified"]})
    assert since.status_code == 304

    (static / "js/app.js").write_bytes(b"a new version, longer than before")
    changed = await api.anon.get("/ui/static/js/app.js", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.content.startswith(b"a new version")
    stale = await api.anon.get("/ui/static/js/app.js", headers={
        "If-Modified-Since": formatdate(0, usegmt=True)})
    assert stale.status_code == 200


@pytest.mark.parametrize("path", ["/ui/static/%2e%2e/secret.py",
                                  "/ui/static/..%2fsecret.py",
                                  "/ui/static/js/%2e%2e/%2e%2e/secret.py",
                                  "/ui/static/%2fetc%2fpasswd",
                                  "/ui/static/nothing.js", "/ui/static/js", "/ui/static/"])
async def test_nothing_outside_the_static_files_is_served(
        api: Api, static: Path, path: str) -> None:
    response = await api.anon.get(path)
    assert response.status_code == 404, response.text
    assert "SECRET" not in response.text


async def raw_get(api: Api, path: str) -> tuple[int, bytes]:
    """A GET whose path reaches the app as sent (httpx would resolve its dot segments)."""
    sent: list[MutableMapping[str, Any]] = []
    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # as a server does until the client goes away
        raise AssertionError("unreachable")

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await api.app({"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                   "method": "GET", "scheme": "http", "path": path,
                   "raw_path": path.encode(), "query_string": b"", "root_path": "",
                   "headers": [(b"host", b"queuarr.test")], "client": ("127.0.0.1", 1),
                   "server": ("queuarr.test", 80)}, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


@pytest.mark.parametrize("path", ["/ui/static/../secret.py", "/ui/static/js/../../secret.py"])
async def test_dot_segments_that_reach_the_server_do_not_leave_the_static_files(
        api: Api, static: Path, path: str) -> None:
    status, body = await raw_get(api, path)
    assert status == 404 and b"SECRET" not in body


async def test_the_packaged_files_cannot_be_left_either(api: Api) -> None:
    assert (ui.STATIC.parent.parent / "app.py").is_file()  # what the paths point at
    for path in ("/ui/static/../../app.py", "/ui/static/%2e%2e/%2e%2e/app.py"):
        status, body = await raw_get(api, path)
        assert status == 404 and b"create_app" not in body, path
    assert (await api.anon.get("/ui/static/%2e%2e/%2e%2e/app.py")).status_code == 404


async def test_the_live_stream_works_with_the_cookie_alone(api: Api) -> None:
    # EventSource sends cookies but cannot send headers; over a real socket, since the
    # stream never ends.
    async with over_a_socket(api.app) as url, httpx.AsyncClient(base_url=url,
                                                                 timeout=30) as http:
        async with http.stream("GET", "/api/v3/queue/stream", headers={
                "Accept": "text/event-stream", **cookie(session.issue(API_KEY))}) as live:
            assert live.status_code == 200
            lines = live.aiter_lines()
            first = await asyncio.wait_for(anext(lines), 10)
            while not first.startswith("event:"):
                first = await asyncio.wait_for(anext(lines), 10)
            assert first == "event: status"
        refused = await http.get("/api/v3/queue/stream", headers=cookie("v1.1.2.3"))
        assert refused.status_code == 401
