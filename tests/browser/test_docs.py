"""/docs (Swagger UI) and /redoc render from the package with every request outside
loopback aborted, and none is even attempted; Swagger UI's Authorize sends X-Api-Key."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from tests.browser.conftest import LOOPBACK, Traffic, try_system_status_in_swagger
from tests.e2e.conftest import LiveServer


def _stayed_on_loopback(traffic: Traffic) -> None:
    assert traffic.requested  # the page did load through the route
    assert traffic.blocked == []
    assert {urlsplit(url).hostname for url in traffic.requested} == {LOOPBACK}


def test_the_swagger_page_shows_its_operations_with_no_network(
        page: Page, live_server: LiveServer, traffic: Traffic) -> None:
    page.goto(f"{live_server.url}/docs")
    expect(page.get_by_text("/api/v3/queue", exact=True).first).to_be_visible()
    expect(page.get_by_text("Add a release").first).to_be_visible()
    _stayed_on_loopback(traffic)


def test_the_redoc_page_renders_with_no_network_and_no_logo_from_its_cdn(
        page: Page, live_server: LiveServer, traffic: Traffic) -> None:
    page.goto(f"{live_server.url}/redoc")
    expect(page.locator("h1").first).to_have_text("Queuarr (0.1.0)")
    expect(page.get_by_text("Add a release").first).to_be_attached()
    expect(page.get_by_text("Something went wrong")).to_have_count(0)
    # ReDoc 2 shows an <img> of cdn.redoc.ly's logo; the page's policy keeps the browser
    # from asking for it, so it is neither requested nor shown.
    expect(page.locator("img[alt='redocly logo']")).to_have_count(0)
    _stayed_on_loopback(traffic)


def test_swagger_ui_authorize_sends_the_api_key_header(
        page: Page, live_server: LiveServer, traffic: Traffic) -> None:
    operation, sent = try_system_status_in_swagger(page, live_server)
    assert urlsplit(sent.url).path == "/api/v3/system/status"
    assert sent.headers.get("x-api-key") == live_server.api_key
    expect(operation.locator(".live-responses-table tbody .response-col_status").first
           ).to_have_text("200")
    _stayed_on_loopback(traffic)
