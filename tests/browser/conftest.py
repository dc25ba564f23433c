"""The browser tests' base: Debian's chromium driven by Playwright's sync API, a real
`queuarr serve` to point it at, every request that would leave loopback aborted (so
"works with no network" is proven, not assumed), and a screenshot of the page when a
test fails (tests/browser/failures/<test>.png, gitignored).

Write the tests as plain `def` functions: while the sync API runs, pytest-asyncio cannot
run a loop on the same thread, so Playwright lives for one module at a time (a chromium
start per module, about a second) and an `async def` test here is refused at collection."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Playwright,
    Route,
    expect,
    sync_playwright,
)
from playwright.sync_api import Request as PlaywrightRequest

from tests.conftest import require_binary
from tests.e2e.conftest import LiveServer
from tests.e2e.tools import serving

FAILURES = Path(__file__).parent / "failures"
# How long an expectation waits for the page (Playwright's default is 5 s): ReDoc renders
# the whole document before its heading, which took longer than 5 s on a slow, busy
# 2-core machine. A page that never shows it still fails; one that does passes as soon.
expect.set_options(timeout=20_000)
LOOPBACK = "127.0.0.1"
# Schemes that never reach the network; everything else must go to LOOPBACK.
LOCAL_SCHEMES = frozenset({"data", "blob", "about"})


@dataclass
class Traffic:
    """Every URL the browser context asked for, and the ones aborted for leaving loopback."""

    requested: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Iterator[None]:
    # Kept on the item so that the `page` fixture's teardown knows whether the test failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if (isinstance(item, pytest.Function) and item.path.is_relative_to(here)
                and inspect.iscoroutinefunction(item.function)):
            raise pytest.UsageError(f"{item.nodeid}: browser tests are plain `def` "
                                    "functions (Playwright's sync API)")


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    require_binary("chromium")
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=require_binary("chromium"), headless=True,
        # --no-sandbox: tests run as root. The resolver rule is a second fence behind the
        # context's route: a request the route missed still cannot resolve a public name.
        args=["--no-sandbox", f"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE {LOOPBACK}"],
    )
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def live_server_env() -> dict[str, str]:
    """Environment for `live_server`; override in a module for other settings."""
    return {}


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory,
                live_server_env: dict[str, str]) -> Iterator[LiveServer]:
    """A real `queuarr serve` (processor on, no managed aria2c unless the env says so) on a
    free loopback port with its own data dir: `.url` and `.api_key`."""
    with serving(tmp_path_factory.mktemp("browser"), live_server_env) as server:
        yield server


@pytest.fixture
def traffic() -> Traffic:
    return Traffic()


def _offline(traffic: Traffic) -> object:
    def handle(route: Route) -> None:
        url = route.request.url
        traffic.requested.append(url)
        parts = urlsplit(url)
        if parts.scheme in LOCAL_SCHEMES or parts.hostname == LOOPBACK:
            route.continue_()
        else:
            traffic.blocked.append(url)
            route.abort("internetdisconnected")
    return handle


@pytest.fixture
def context(browser: Browser, traffic: Traffic) -> Iterator[BrowserContext]:
    """A fresh context (no cookies) whose requests outside loopback are aborted and
    recorded in `traffic`."""
    made = browser.new_context(service_workers="block")
    made.route("**/*", _offline(traffic))
    yield made
    made.close()


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in `context`; its screenshot goes to tests/browser/failures/ if the test fails."""
    opened = context.new_page()
    yield opened
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        FAILURES.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        opened.screenshot(path=str(FAILURES / f"{name}.png"), full_page=True)
    opened.close()


def try_system_status_in_swagger(page: Page, live_server: LiveServer
                                 ) -> tuple[Locator, PlaywrightRequest]:
    """In Swagger UI at /docs: Authorize with the API key, then Try it out and Execute
    GET /api/v3/system/status; the operation's block and the request the page sent."""
    page.goto(f"{live_server.url}/docs")
    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".auth-container").filter(has_text="X-Api-Key")
    dialog.locator("input").fill(live_server.api_key)
    dialog.get_by_role("button", name="Apply credentials").click()
    page.get_by_role("button", name="Close").first.click()

    operation = page.locator(".opblock").filter(has_text="/api/v3/system/status")
    operation.locator(".opblock-summary").first.click()
    operation.get_by_role("button", name="Try it out").click()
    with page.expect_request(lambda r: urlsplit(r.url).path.endswith("/api/v3/system/status")
                             ) as sent:
        operation.get_by_role("button", name="Execute").click()
    return operation, sent.value
