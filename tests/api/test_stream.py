"""GET /api/v3/queue/stream over a real HTTP connection: the app served by uvicorn on
loopback, a processor sending to a fake download client; a grab's events arrive in order
up to completion, progress is coalesced, Last-Event-ID resumes, the API key is needed."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from core.events import EventType as E
from core.processor import Processor, ProcessorConfig
from tests.api.conftest import API_KEY, Api, ApiFactory, over_a_socket
from tests.fakes import FakeClients, FakeDownloadClient

TITLE = "Heat.1995.1080p.BluRay.x264-SPARKS"


class Live:
    """The app on a real socket, and the SSE frames one connection has read."""

    def __init__(self, api: Api, client: FakeDownloadClient, base: str) -> None:
        self.api, self.client, self.base = api, client, base
        self.processor = Processor(api.container.queue.items, FakeClients(client), api.clock,
                                   "test-worker", ProcessorConfig(),
                                   events=api.container.events)

    @contextlib.asynccontextmanager
    async def follow(self, headers: dict[str, str] | None = None, **params: Any
                     ) -> AsyncIterator[Frames]:
        """Frames as they arrive, read by a background task from the first status on."""
        frames = Frames()

        async def read() -> None:
            async with httpx.AsyncClient(base_url=self.base, timeout=30) as http, http.stream(
                    "GET", "/api/v3/queue/stream", params=params,
                    headers={"X-Api-Key": API_KEY, **(headers or {})}) as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                frame: dict[str, Any] = {}
                async for line in response.aiter_lines():
                    if not line:
                        if "event" in frame:
                            frames.add(frame)
                        frame = {}
                    elif line.startswith("data: "):
                        frame["data"] = json.loads(line[6:])
                    elif line.startswith(("id: ", "event: ")):
                        key, _, value = line.partition(": ")
                        frame[key] = value

        task = asyncio.create_task(read())
        await until(frames, "status")
        try:
            yield frames
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class Frames(list[dict[str, Any]]):
    """SSE frames ({"id", "event", "data"}) in arrival order; `arrived` is set on each."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = asyncio.Event()

    def add(self, frame: dict[str, Any]) -> None:
        self.append(frame)
        self.arrived.set()


async def until(frames: Frames, event: str, count: int = 1) -> None:
    async def wait() -> None:
        while sum(f["event"] == event for f in frames) < count:
            frames.arrived.clear()
            await frames.arrived.wait()
    await asyncio.wait_for(wait(), 10)


@pytest.fixture
async def live(make_api: ApiFactory) -> AsyncIterator[Live]:
    client = FakeDownloadClient("aria2")
    async with make_api(clients=FakeClients(client)) as api, over_a_socket(api.app) as url:
        yield Live(api, client, url)


def first(frames: Frames, event: str) -> dict[str, Any]:
    return next(f for f in frames if f["event"] == event)


def events(frames: Frames) -> list[str]:
    return [f["event"] for f in frames if f["event"] != "status"]


async def test_a_grab_streams_its_events_in_order_up_to_completion(live: Live) -> None:
    async with live.follow() as frames:
        assert frames[0]["event"] == "status" and frames[0]["data"]["totalCount"] == 0
        item = await live.api.grab(TITLE, size=10_000)
        await until(frames, "grabbed")
        await live.processor.dispatch()
        await until(frames, "sent")
        (download,) = live.client.downloads
        live.client.advance(download, 4_000)
        await live.processor.sync()
        await until(frames, "progress")
        live.api.clock.advance(seconds=2)
        live.client.advance(download, 10**12)
        await live.processor.sync()
        await until(frames, "completed")
    assert events(frames) == ["grabbed", "sent", "progress", "completed"]
    runs = {f["id"].rsplit("-", 1)[0] for f in frames if "id" in f}
    assert runs == {live.api.container.events.run}
    ids = [number(f) for f in frames if "id" in f]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    last = first(frames, "completed")["data"]
    assert last["eventType"] == "completed" and last["queueItem"]["id"] == item["id"]
    assert last["queueItem"]["status"] == "completed" and last["queueItem"]["title"] == TITLE
    sent = first(frames, "sent")["data"]
    assert sent["downloadClient"] == "aria2" and sent["queueItem"]["status"] == "downloading"


async def test_progress_is_coalesced_to_one_event_per_item_per_second(live: Live) -> None:
    await live.api.grab(TITLE, size=10_000)
    await live.processor.dispatch()
    (download,) = live.client.downloads
    async with live.follow() as frames:
        for done in range(100, 1000, 100):  # nine updates within one second
            live.client.advance(download, done)
            await live.processor.sync()
            live.api.clock.advance(seconds=0.1)
        live.api.clock.advance(seconds=1)
        live.client.advance(download, 1500)
        await live.processor.sync()
        await until(frames, "progress", 2)
        await asyncio.sleep(0.2)
    progress = [f for f in frames if f["event"] == "progress"]
    assert len(progress) == 2
    left = [p["data"]["queueItem"]["sizeleft"] for p in progress]
    assert left[1] < left[0]


async def test_last_event_id_resumes_where_the_client_left_off(live: Live) -> None:
    async with live.follow() as frames:
        await live.api.grab(TITLE)
        await until(frames, "grabbed")
    token = first(frames, "grabbed")["id"]
    seen = number(first(frames, "grabbed"))
    await live.processor.dispatch()  # while nobody listens
    await live.api.grab("Alien.1979.1080p.BluRay.x264-GRP")
    async with live.follow({"Last-Event-ID": token}) as resumed:
        await until(resumed, "grabbed")
    assert events(resumed) == ["sent", "grabbed"]
    assert all(number(f) > seen for f in resumed if "id" in f)

    run = live.api.container.events.run
    # From the future, from another process or an earlier run (a number this process
    # has reached, with another run's name), or not an id at all: start afresh.
    for stale_id in (f"{run}-999999", f"{'0' * len(run)}-1", "1", "x-y", "-"):
        async with live.follow({"Last-Event-ID": stale_id}) as stale:
            await until(stale, "status")
        assert stale[0]["event"] == "reset", stale_id
        assert stale[0]["data"]["lastEventId"] == f"{run}-{number(first(resumed, 'grabbed'))}"
        assert stale[0]["id"] == stale[0]["data"]["lastEventId"]  # EventSource resumes there
        assert "grabbed" not in events(stale), stale_id


def number(frame: dict[str, Any]) -> int:
    """The event's number within its run (ids are "<run>-<n>")."""
    return int(frame["id"].rsplit("-", 1)[1])


async def test_a_stream_that_falls_a_thousand_events_behind_is_told_to_start_afresh(
        live: Live) -> None:
    item = await live.api.grab(TITLE)
    stored = await live.api.container.queue.items.get(item["id"])
    bus = live.api.container.events
    async with live.follow() as frames:
        for _ in range(1500):  # in one step: the connection cannot read in between
            bus.publish(E.REMOVED, stored)
        bus.publish(E.COMPLETED, stored)
        await until(frames, "completed")
    kinds = events(frames)
    assert kinds.count("reset") == 1
    after = kinds[kinds.index("reset") + 1:]
    assert after[-1] == "completed" and len(after) <= 1000 and "reset" not in after
    reset = first(frames, "reset")["data"]["lastEventId"]
    assert number({"id": reset}) + 1 == number(frames[frames.index(first(frames, "reset"))
                                                       + 1])


async def test_events_missed_upstream_reset_the_stream_which_resumes_from_the_gap(
        live: Live) -> None:
    item = await live.api.grab(TITLE)
    stored = await live.api.container.queue.items.get(item["id"])
    bus = live.api.container.events
    async with live.follow() as frames:
        await until(frames, "status")
        bus.publish(E.SENT, stored)
        await until(frames, "sent")
        before = first(frames, "sent")["id"]
        bus.lost_track()  # as the Postgres relay does when it reconnects
        bus.publish(E.COMPLETED, stored)
        await until(frames, "completed")
    assert events(frames)[-3:] == ["sent", "reset", "completed"]
    reset = first(frames, "reset")
    assert reset["id"] == reset["data"]["lastEventId"] == bus.stream_id(bus.last_id - 1)
    # A client that took the reset (and reread the queue) resumes from it; one that
    # resumes from before the gap is told to start afresh.
    async with live.follow({"Last-Event-ID": reset["id"]}) as resumed:
        await until(resumed, "completed")
    assert events(resumed) == ["completed"]
    async with live.follow({"Last-Event-ID": before}) as crossing:
        await until(crossing, "status")
    assert events(crossing) == ["reset"]


async def test_status_counts_come_periodically(live: Live) -> None:
    await live.api.grab(TITLE)
    async with live.follow(statusEvery=0.5) as frames:
        await until(frames, "status", 3)
    statuses = [f["data"] for f in frames if f["event"] == "status"]
    assert all(s["totalCount"] == 1 for s in statuses)


async def test_the_stream_needs_the_api_key(live: Live) -> None:
    async with httpx.AsyncClient(base_url=live.base) as http:
        response = await http.get("/api/v3/queue/stream")
    assert response.status_code == 401


async def test_an_event_source_accept_header_is_accepted(live: Live) -> None:
    # EventSource sends Accept: text/event-stream; the API's JSON-only rule must not 406.
    async with live.follow({"Accept": "text/event-stream"}) as frames:
        assert frames[0]["event"] == "status"
