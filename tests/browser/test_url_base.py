"""The page and the docs under QUEUARR_URL_BASE (issue 17), as a reverse proxy at a
sub-path serves them: sign in at /base/ui/, see the queue load and go live, and Swagger UI
try a call; the browser asks for nothing outside /base/."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Traffic, try_system_status_in_swagger
from tests.browser.test_ui import row, sign_in
from tests.e2e.conftest import LiveServer
from tests.e2e.tools import api

URL_BASE = "/base"
TITLE = "Big.Buck.Bunny.2008.1080p"


@pytest.fixture(scope="module")
def live_server_env() -> dict[str, str]:
    return {"QUEUARR_URL_BASE": URL_BASE}


def _all_under_the_base(traffic: Traffic, server: LiveServer) -> None:
    assert traffic.requested  # the page did load through the route
    outside = [url for url in traffic.requested
               if not url.startswith(f"{server.url}/") or urlsplit(url).path == URL_BASE]
    assert outside == []


def test_the_page_under_the_base_signs_in_and_lists_the_queue(
        page: Page, live_server: LiveServer, traffic: Traffic) -> None:
    assert urlsplit(live_server.url).path == URL_BASE
    with api(live_server) as http:
        grabbed = http.post("/api/v3/queue/grab", json={
            "downloadUrl": "magnet:?xt=urn:btih:dd8255ecdc7ca55fb0bbf81323d87062db1f6d1c"
                           f"&dn={TITLE}", "title": TITLE})
        assert grabbed.status_code == 201, grabbed.text

    sign_in(page, live_server)
    expect(page.get_by_role("table", name="Download queue")).to_be_visible()
    expect(row(page, TITLE)).to_have_count(1)
    expect(page.locator("#live")).to_have_text("live")  # the event stream, under the base
    cookies = page.context.cookies()
    assert [(c["name"], c["path"]) for c in cookies] == [("queuarr_session", URL_BASE)]
    _all_under_the_base(traffic, live_server)


def test_swagger_ui_under_the_base_loads_the_spec_and_calls_the_api_under_it(
        page: Page, live_server: LiveServer, traffic: Traffic) -> None:
    operation, sent = try_system_status_in_swagger(page, live_server)
    assert urlsplit(sent.url).path == f"{URL_BASE}/api/v3/system/status"
    expect(operation.locator(".live-responses-table tbody .response-col_status").first
           ).to_have_text("200")
    _all_under_the_base(traffic, live_server)
