"""Push -> queue -> failure -> next-best re-grab, end to end: releases pushed over HTTP to
the real app, a processor sending to a fake download client, downloads that fail for
good or stall; the next-best stored candidate is grabbed without a new search."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from core.clients import ClientState
from core.policy import StallPolicy
from core.processor import Processor, ProcessorConfig
from tests.api.conftest import Api, ApiFactory, info_hash, magnet
from tests.conftest import STORE_KINDS
from tests.fakes import FakeClients, FakeDownloadClient

pytestmark = pytest.mark.parametrize("store", STORE_KINDS, indirect=True)

MOVIE = 42
BEST = "Heat.1995.2160p.UHD.BluRay.REMUX.HDR.HEVC.TrueHD.7.1-FGT"
SECOND = "Heat.1995.1080p.BluRay.x264-SPARKS"
THIRD = "Heat.1995.720p.WEB-DL.DD5.1.H.264-NTb"


def release(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": title, "magnetUrl": magnet(title), "protocol": "torrent",
            "size": 8 * 1024**3, "seeders": 50, "leechers": 5, "indexer": "Local",
            "movieId": MOVIE, **extra}


class Harness:
    def __init__(self, api: Api, client: FakeDownloadClient, **config: Any) -> None:
        self.api, self.client = api, client
        releases = api.container.releases
        assert releases is not None
        self.processor = Processor(
            api.container.queue.items, FakeClients(client), api.clock, "test-worker",
            ProcessorConfig(blocklist_failed=True, **config), api.store.blocklist,
            on_failed=releases.redownload)

    async def push(self, title: str) -> dict[str, Any]:
        response = await self.api.client.post("/api/v3/release/push", json=release(title))
        assert response.status_code == 200, response.text
        (decided,) = response.json()
        return decided  # type: ignore[no-any-return]

    def fail(self, title: str, message: str = "the tracker says: unregistered torrent") -> None:
        download_id = info_hash(title)
        self.client.downloads[download_id] = replace(
            self.client.downloads[download_id], state=ClientState.FAILED, error=message,
            permanent=True)

    async def queue(self) -> list[dict[str, Any]]:
        response = await self.api.client.get("/api/v3/queue/details")
        return response.json()  # type: ignore[no-any-return]

    async def active_titles(self) -> list[str]:
        return [r["title"] for r in await self.queue() if r["status"] != "failed"]

    async def history(self, item_id: int) -> list[dict[str, Any]]:
        response = await self.api.client.get("/api/v3/history", params={
            "itemId": item_id, "pageSize": 50, "sortDirection": "ascending"})
        return response.json()["records"]  # type: ignore[no-any-return]


@pytest.fixture
async def harness(make_api: ApiFactory) -> Any:
    client = FakeDownloadClient("aria2")
    async with make_api(clients=FakeClients(client)) as api:
        yield Harness(api, client)


async def test_a_failed_download_is_blocklisted_and_the_next_best_candidate_grabbed(
        harness: Harness) -> None:
    first = await harness.push(BEST)
    assert first["approved"] and "queueId" in first
    # Worse releases for the same movie are refused while the best one is queued, but
    # kept as candidates.
    for title in (THIRD, SECOND):
        later = await harness.push(title)
        assert later["rejected"] and later["temporarilyRejected"], later
        assert "queueId" not in later
    assert await harness.active_titles() == [BEST]

    await harness.processor.dispatch()
    harness.fail(BEST)
    await harness.processor.sync()

    blocklist = (await harness.api.client.get("/api/v3/blocklist")).json()["records"]
    assert [b["sourceTitle"] for b in blocklist] == [BEST]
    assert await harness.active_titles() == [SECOND]  # the next best, not the third
    (second,) = [r for r in await harness.queue() if r["title"] == SECOND]
    assert second["quality"]["quality"]["name"] == "Bluray-1080p"
    grabbed = (await harness.history(second["id"]))[0]
    assert grabbed["eventType"] == "grabbed"
    assert f"Next best after item {first['queueId']} failed" in grabbed["data"]["message"]
    redownload = [h for h in await harness.history(first["queueId"])
                  if h["eventType"] == "redownloading"]
    assert len(redownload) == 1 and SECOND in redownload[0]["data"]["message"]

    # The second fails too: the third is grabbed; then nothing is left.
    await harness.processor.dispatch()
    harness.fail(SECOND)
    await harness.processor.sync()
    assert await harness.active_titles() == [THIRD]
    await harness.processor.dispatch()
    harness.fail(THIRD)
    await harness.processor.sync()
    assert await harness.active_titles() == []
    assert harness.client.added == [info_hash(t) for t in (BEST, SECOND, THIRD)]


async def test_a_stalled_download_is_replaced_by_the_next_best(make_api: ApiFactory) -> None:
    client = FakeDownloadClient("aria2")
    async with make_api(clients=FakeClients(client)) as api:
        harness = Harness(api, client, stall=StallPolicy(stall=timedelta(minutes=5)))
        first = await harness.push(BEST)
        await harness.push(SECOND)
        await harness.processor.dispatch()
        await harness.processor.sync()
        for _ in range(3):  # no bytes arrive
            api.clock.advance(minutes=6)
            await harness.processor.sync()
        states = {r["title"]: r["status"] for r in await harness.queue()}
        assert states[BEST] == "failed"
        assert await harness.active_titles() == [SECOND]
        assert first["queueId"] in [r["id"] for r in await harness.queue()]


async def test_a_removal_with_blocklist_grabs_the_next_best_unless_skip_redownload(
        harness: Harness) -> None:
    first = await harness.push(BEST)
    await harness.push(SECOND)
    await harness.push(THIRD)
    response = await harness.api.client.delete(
        f"/api/v3/queue/{first['queueId']}", params={"blocklist": "true"})
    assert response.status_code == 200
    assert await harness.active_titles() == [SECOND]
    (second,) = await harness.queue()
    response = await harness.api.client.delete(
        f"/api/v3/queue/{second['id']}",
        params={"blocklist": "true", "skipRedownload": "true"})
    assert response.status_code == 200
    assert await harness.queue() == []
    blocked = (await harness.api.client.get("/api/v3/blocklist")).json()["records"]
    assert sorted(b["sourceTitle"] for b in blocked) == sorted([BEST, SECOND])


async def test_a_candidate_that_became_blocklisted_is_passed_over(harness: Harness) -> None:
    first = await harness.push(BEST)
    await harness.push(SECOND)
    await harness.push(THIRD)
    # SECOND is blocklisted meanwhile (another item of it failed elsewhere).
    await harness.api.store.blocklist.add(_entry(SECOND, harness.api))
    await harness.processor.dispatch()
    harness.fail(BEST)
    await harness.processor.sync()
    assert await harness.active_titles() == [THIRD]
    assert first["approved"]


def _entry(title: str, api: Api) -> Any:
    from core.domain import DownloadProtocol, NewBlocklistEntry

    return NewBlocklistEntry(title, api.clock.now(), DownloadProtocol.TORRENT,
                             movie_id=MOVIE, info_hash=info_hash(title))
