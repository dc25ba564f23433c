"""One request cannot stall the others: title parsing and custom-format matching, and
.torrent decoding, run off the event loop (a /ping is answered while they are under
way: proved by ordering, a gate the work waits on that only the answered /ping opens),
scoring has a time budget past which the request is a 400, and a .torrent listing more
than MAX_TORRENT_FILES files is a 400 before it is decoded."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Callable

from core.grab import MAX_TORRENT_FILES
from core.ports import TorrentMeta
from tests.api.conftest import Api
from tests.torrent_data import many_files

SCORE = "/api/v3/release/score"
GRAB = "/api/v3/queue/grab"
SAFETY = 30  # seconds a gate waits before giving up: only a failing test ever waits


class Gate:
    """Work that waits, on its thread, until the event loop has answered a /ping."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.ping_answered = threading.Event()
        self.opened: list[bool] = []  # per wait: whether the ping came (False: timed out)

    def wait(self) -> None:
        self.entered.set()
        self.opened.append(self.ping_answered.wait(SAFETY))

    async def ping_meanwhile(self, api: Api) -> int:
        """Once the work is under way, GET /ping; open the gate when it is answered."""
        await asyncio.to_thread(self.entered.wait, SAFETY)
        status = (await api.anon.get("/ping")).status_code
        self.ping_answered.set()
        return status


class GatedPatterns:
    """A PatternCompiler whose every match waits at the gate, then does not match."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    def compile(self, pattern: str) -> Callable[[str], bool]:
        def matches(text: str) -> bool:
            self.gate.wait()
            return False

        return matches


class GatedTorrents:
    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    def parse(self, data: bytes) -> TorrentMeta:
        self.gate.wait()
        return TorrentMeta(info_hash="ab" * 20, name="Gated.2024.1080p", size=1234)


class Ticks:
    """A monotonic clock that moves one second each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


async def add_title_format(api: Api) -> None:
    response = await api.client.post("/api/v3/customformat", json={
        "name": "gated", "specifications": [{
            "name": "title", "implementation": "ReleaseTitleSpecification",
            "fields": {"value": "anything"}}]})
    assert response.status_code == 201, response.text


async def test_scoring_runs_off_the_event_loop(api: Api) -> None:
    gate = Gate()
    assert api.container.releases is not None
    api.container.releases.catalogue.compiler = GatedPatterns(gate)
    await add_title_format(api)

    scoring = asyncio.create_task(api.client.post(SCORE, json={
        "titles": ["Heat.1995.1080p.BluRay.x264-GRP"]}))
    assert await gate.ping_meanwhile(api) == 200
    response = await scoring

    assert response.status_code == 200, response.text
    assert gate.opened and all(gate.opened)  # every match waited for the answered /ping


async def test_scoring_past_its_time_budget_is_a_400_that_says_so(api: Api) -> None:
    releases = api.container.releases
    assert releases is not None
    releases.budget, releases.monotonic = 5.0, Ticks()  # each check: one second later

    response = await api.client.post(SCORE, json={
        "titles": [f"Heat.{1990 + n}.1080p.BluRay.x264-GRP" for n in range(10)]})

    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert message.startswith("Scoring 10 release(s) against ")
    assert message.endswith("custom format(s) took longer than the 5 s one request may take")


async def test_scoring_within_its_budget_is_answered(api: Api) -> None:
    releases = api.container.releases
    assert releases is not None
    releases.budget, releases.monotonic = 10_000.0, Ticks()

    response = await api.client.post(SCORE, json={
        "titles": [f"Heat.{1990 + n}.1080p.BluRay.x264-GRP" for n in range(10)]})

    assert response.status_code == 200, response.text
    assert len(response.json()) == 10


async def test_a_torrent_is_decoded_off_the_event_loop(api: Api) -> None:
    gate = Gate()
    api.container.queue.torrents = GatedTorrents(gate)

    grabbing = asyncio.create_task(api.client.post(GRAB, json={
        "torrentFile": base64.b64encode(b"d4:infodee").decode()}))
    assert await gate.ping_meanwhile(api) == 200
    response = await grabbing

    assert response.status_code == 201, response.text
    assert gate.opened == [True]


async def test_a_torrent_listing_more_files_than_the_cap_is_a_400_and_not_queued(
    api: Api,
) -> None:
    data = base64.b64encode(many_files(MAX_TORRENT_FILES + 1)).decode()

    response = await api.client.post(GRAB, json={"torrentFile": data})

    assert response.status_code == 400, response.text
    assert response.json()["message"] == "torrentFile lists more than 100000 files"
    assert (await api.queue())["totalRecords"] == 0
