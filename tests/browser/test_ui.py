"""The web page driven like a person in chromium, against a real `queuarr serve` with its
managed aria2c: sign in, add a magnet and a local http file through the Add box, watch the
file's progress bar move and reach completed, pause and resume an item, remove one with
blocklist and find it in the Blocklist tab, add a download client from its form and see
the health banner report it when it stops and clear when it is back."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.conftest import require_binary
from tests.daemons import Aria2Daemon, FileServer, ServedFile, _RangeHandler
from tests.e2e.conftest import LiveServer

FILE_NAME = "Big.Buck.Bunny.2008.1080p.mkv"
FILE_SIZE = 6 * 1024 * 1024
PIECE = 64 * 1024
PIECE_PAUSE = 0.05  # about 1.3 MB/s over every connection together: ~5 s for the file
DOWNLOAD_TIMEOUT_MS = 90_000
# /health is cached 10 s and the page rereads it on `status` events (every 15 s) or
# every 30 s: a change shows within about 45 s.
HEALTH_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def live_server_env() -> dict[str, str]:
    require_binary("aria2c")
    return {"QUEUARR_MANAGED_ARIA2": "true"}


class _SlowWriter:
    """The response stream, throttled for every connection at once (one lock), so that the
    download takes seconds however many connections aria2c opens."""

    lock = threading.Lock()

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        for start in range(0, len(view), PIECE):
            with self.lock:
                self.raw.write(view[start:start + PIECE])
                time.sleep(PIECE_PAUSE)  # throttling, not a wait for a result
        return len(data)

    def __getattr__(self, name: str) -> Any:  # flush, close, closed: the stream's own
        return getattr(self.raw, name)


class _SlowHandler(_RangeHandler):
    def setup(self) -> None:
        super().setup()
        self.wfile = _SlowWriter(self.wfile)  # type: ignore[assignment]


class SlowFileServer(FileServer):
    """tests.daemons.FileServer with throttled bodies."""

    handler = _SlowHandler


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlowFileServer]:
    server = SlowFileServer(tmp_path_factory.mktemp("served"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def magnet(info_hash: str, name: str) -> str:
    """A magnet nobody seeds (no tracker): it stays waiting for its metadata."""
    return f"magnet:?xt=urn:btih:{info_hash}&dn={name}"


def sign_in(page: Page, server: LiveServer, key: str | None = None) -> None:
    page.goto(f"{server.url}/ui/")
    page.get_by_label("API key").fill(key or server.api_key)
    page.get_by_role("button", name="Sign in").click()


def add_links(page: Page, *links: str) -> None:
    page.get_by_label("Links to add").fill("\n".join(links))
    page.get_by_role("button", name="Add links").click()


def row(page: Page, title: str) -> Locator:
    return page.locator("#queue-body tr").filter(
        has=page.get_by_role("button", name=title, exact=True))


def test_a_wrong_key_is_refused_and_the_right_one_shows_the_queue(
        page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, key="not-the-key")
    expect(page.get_by_role("alert").filter(has_text="not right")).to_be_visible()
    expect(page.get_by_role("tab", name=re.compile("Queue"))).to_be_hidden()

    page.get_by_label("API key").fill(live_server.api_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("tab", name=re.compile("Queue"))).to_be_visible()
    expect(page.get_by_role("table", name="Download queue")).to_be_visible()
    expect(page.locator("#live")).to_have_text("live")
    # The key is in no storage the page's scripts could read back.
    assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0
    assert live_server.api_key not in page.evaluate("() => document.cookie")


def test_a_magnet_and_a_local_file_added_through_the_add_box_download(
        page: Page, live_server: LiveServer, files: SlowFileServer) -> None:
    served: ServedFile = files.add(FILE_NAME, FILE_SIZE)
    title = "Sintel.2010.1080p"
    sign_in(page, live_server)
    add_links(page, magnet("08ada5a7a6183aae1e09d831df6748d566095a10", title),
              served.url, "not a link at all")

    answer = page.locator("#add-results .answer").first
    expect(answer).to_contain_text("2 queued")
    expect(answer).to_contain_text("1 refused")
    expect(answer.locator(".result.refused")).to_contain_text("Line 3")

    expect(row(page, title)).to_have_count(1)
    bar = page.get_by_role("progressbar", name=f"Progress of {FILE_NAME}")
    expect(bar).to_be_visible()
    # The bar moves: a value strictly between 0 and 100 is shown on the way.
    page.wait_for_function(
        """(name) => {
            const bar = [...document.querySelectorAll('[role=progressbar]')]
              .find((b) => b.getAttribute('aria-label') === `Progress of ${name}`);
            const value = bar ? Number(bar.getAttribute('aria-valuenow')) : 0;
            return value > 0 && value < 100;
        }""", arg=FILE_NAME, timeout=DOWNLOAD_TIMEOUT_MS)
    expect(bar).to_have_attribute("aria-valuenow", "100", timeout=DOWNLOAD_TIMEOUT_MS)
    expect(row(page, FILE_NAME).locator(".state")).to_have_text(
        "Completed", timeout=DOWNLOAD_TIMEOUT_MS)
    # All of it came from the stream: the file was read from the throttled server.
    assert (Path(live_server.data_dir) / "downloads" / FILE_NAME).stat().st_size == FILE_SIZE


def test_an_item_is_paused_and_resumed_from_its_row(
        page: Page, live_server: LiveServer) -> None:
    title = "Tears.of.Steel.2012.1080p"
    sign_in(page, live_server)
    add_links(page, magnet("209c8226b299b308beaf2b9cd3fb49212dbd13ec", title))
    item = row(page, title)
    expect(item).to_have_count(1)

    item.get_by_role("button", name=f"Pause {title}").click()
    expect(item.locator(".state")).to_have_text("Paused")
    expect(item.get_by_role("button", name=f"Resume {title}")).to_be_visible()

    item.get_by_role("button", name=f"Resume {title}").click()
    expect(item.locator(".state")).not_to_have_text("Paused")
    expect(item.get_by_role("button", name=f"Pause {title}")).to_be_visible()


def test_an_item_removed_with_blocklist_is_in_the_blocklist_tab(
        page: Page, live_server: LiveServer) -> None:
    title = "Cosmos.Laundromat.2015.1080p"
    sign_in(page, live_server)
    add_links(page, magnet("c9e15763f722f23e98a29decdfae341b98d53056", title))
    item = row(page, title)
    expect(item).to_have_count(1)

    item.get_by_role("button", name=f"Remove {title}").click()
    dialog = page.get_by_role("dialog", name="Remove")
    dialog.get_by_label("Add release to blocklist").check()
    dialog.get_by_role("button", name="Remove", exact=True).click()
    expect(item).to_have_count(0)

    page.get_by_role("tab", name="Blocklist").click()
    expect(page.locator("#blocklist-body")).to_contain_text(title)


def test_a_client_added_in_its_form_shows_in_the_health_banner_while_it_is_stopped(
        page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    name = "Spare aria2"
    page.on("dialog", lambda dialog: dialog.accept())  # the "Remove ...?" confirmation
    with Aria2Daemon(tmp_path / "aria2") as spare:
        sign_in(page, live_server)
        page.get_by_role("tab", name="Download clients").click()
        page.get_by_label("Add a client").select_option(label="Aria2")
        form = page.get_by_role("dialog", name="Add Aria2")
        form.get_by_label("Name").fill(name)
        form.get_by_label("Port").fill(str(spare.port))
        form.get_by_label("Secret Token").fill(spare.secret)
        form.get_by_role("button", name="Test").click()
        expect(form.get_by_role("status")).to_have_text("The client answered.")
        form.get_by_role("button", name="Save").click()
        expect(form).to_be_hidden()
        listed = page.locator("#clients-body tr").filter(has_text=name)
        expect(listed).to_contain_text("Aria2")

        banner = page.locator("#health-banner")
        expect(banner).to_be_hidden()
        spare.stop()
        expect(banner).to_contain_text(f"Unable to communicate with {name}",
                                       timeout=HEALTH_TIMEOUT_MS)
        spare.start()  # same port and secret
        expect(banner).to_be_hidden(timeout=HEALTH_TIMEOUT_MS)

        listed.get_by_role("button", name=f"Remove {name}").click()
        expect(listed).to_have_count(0)
