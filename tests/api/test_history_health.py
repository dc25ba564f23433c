"""GET /api/v3/history (+ /since), /api/v3/health, /api/v3/diskspace, and pause-all as
a switch every process shares: on memory, SQLite and Postgres, every response checked
against Radarr's schemas."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from api.routers import health as health_router
from api.routers.history import OWN_EVENTS
from core.processor import Processor
from tests.api.conftest import Api, ApiFactory, magnet
from tests.api.radarr_schema import validate_diskspace, validate_health, validate_history_page
from tests.conftest import STORE_KINDS
from tests.fakes import FakeClients, FakeDownloadClient

pytestmark = pytest.mark.parametrize("store", STORE_KINDS, indirect=True)


@pytest.fixture(autouse=True)
def _no_health_cache() -> None:
    health_router._cache.clear()


def attach(api: Api, client: FakeDownloadClient) -> Processor:
    processor = Processor(api.store.items, FakeClients(client), api.clock, "api-test",
                          switches=api.store.switches)
    api.attach(processor)
    return processor


async def history(api: Api, **params: object) -> dict[str, object]:
    response = await api.client.get("/api/v3/history", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    validate_history_page(body, OWN_EVENTS)
    return body


async def test_every_transition_is_in_the_history_and_progress_is_not(make_api: ApiFactory
                                                                      ) -> None:
    client = FakeDownloadClient("qbit")
    async with make_api(clients=FakeClients(client)) as api:
        processor = attach(api, client)
        item = await api.grab("Some.Movie.2024.1080p", movieId=7,
                              downloadUrl=magnet("Some.Movie.2024.1080p", size=1000))
        await processor.process()
        download_id = (await api.item(item["id"])).download_id
        assert download_id is not None
        client.advance(download_id, 250)
        await processor.sync()
        client.advance(download_id, 500)
        await processor.sync()
        assert (await api.item(item["id"])).progress == 50.0  # progress was written
        client.advance(download_id, 1000)
        await processor.sync()

        body = await history(api, pageSize=50, sortDirection="ascending")
        events = [r["eventType"] for r in body["records"]]
        assert events == ["grabbed", "claimed", "sent", "downloadCompleted"]
        assert body["totalRecords"] == 4 and body["sortDirection"] == "ascending"
        first, *_, last = body["records"]
        assert first["sourceTitle"] == "Some.Movie.2024.1080p" and first["movieId"] == 7
        assert first["data"] == {"itemId": str(item["id"]), "event": "grabbed",
                                 "fromState": None, "toState": "queued", "message": None}
        assert last["downloadId"] == download_id.upper()  # Radarr's: the hash upper case
        assert last["data"]["fromState"] == "downloading"
        assert last["data"]["toState"] == "completed"
        assert last["quality"]["quality"]["name"] == first["quality"]["quality"]["name"]

        newest = await history(api)  # newest first by default
        assert [r["eventType"] for r in newest["records"]] == events[::-1]


async def test_filters_and_pages(make_api: ApiFactory) -> None:
    client = FakeDownloadClient("qbit")
    async with make_api(clients=FakeClients(client)) as api:
        processor = attach(api, client)
        a = await api.grab("Alpha.2020.1080p", movieId=1)
        b = await api.grab("Bravo.2021.720p", movieId=2)
        await processor.process()
        await api.client.delete(f"/api/v3/queue/{b['id']}", params={"blocklist": "true"})

        grabbed = await history(api, eventType=1, pageSize=10)  # Radarr's number
        assert {r["sourceTitle"] for r in grabbed["records"]} == {"Alpha.2020.1080p",
                                                                   "Bravo.2021.720p"}
        assert await history(api, eventType="grabbed") == grabbed
        sent = await history(api, eventType="sent")
        assert grabbed["totalRecords"] == 2 and sent["totalRecords"] == 2

        only_b = await history(api, movieIds=2, pageSize=50)
        assert {r["movieId"] for r in only_b["records"]} == {2}
        # The removal is recorded with the release as it was, after the item is gone.
        assert only_b["records"][0]["data"]["event"] == "removed"
        assert only_b["records"][0]["sourceTitle"] == "Bravo.2021.720p"

        by_item = await history(api, itemId=a["id"], pageSize=50)
        assert {r["data"]["itemId"] for r in by_item["records"]} == {str(a["id"])}
        download_id = by_item["records"][0]["downloadId"]
        by_download = await history(api, downloadId=download_id, pageSize=50)
        # Every row from the grab on carries the torrent's info hash, as Radarr's do.
        assert [r["data"]["event"] for r in by_download["records"]] == [
            "sent", "claimed", "grabbed"]

        total = (await history(api))["totalRecords"]
        page2 = await history(api, page=2, pageSize=2)
        page1 = await history(api, page=1, pageSize=2)
        assert len(page1["records"]) == 2 and page2["records"]
        assert not {r["id"] for r in page1["records"]} & {r["id"] for r in page2["records"]}
        assert total == 7  # 2 grabbed, 2 claimed, 2 sent, 1 removed

        since = await api.client.get("/api/v3/history/since", params={
            "date": (api.clock.now() - timedelta(seconds=1)).isoformat()})
        assert since.status_code == 200
        assert len(since.json()) == total


@pytest.mark.parametrize("params", [{"eventType": "nonsense"}, {"eventType": "77"},
                                   {"page": 0}, {"pageSize": -1}, {"pageSize": 100000}])
async def test_bad_history_queries_are_400(api: Api, params: dict[str, object]) -> None:
    response = await api.client.get("/api/v3/history", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["message"]


async def test_history_since_needs_a_zoned_date(api: Api) -> None:
    naive = await api.client.get("/api/v3/history/since", params={"date": "2026-01-01T00:00"})
    assert naive.status_code == 400 and "zone" in naive.json()["message"]


async def test_health_is_empty_when_all_is_well(make_api: ApiFactory) -> None:
    client = FakeDownloadClient("qbit", free_bytes=10 * 1024**3)
    async with make_api(clients=FakeClients(client)) as api:
        response = await api.client.get("/api/v3/health")
        assert response.status_code == 200 and response.json() == []


async def test_health_reports_clients_space_and_pause(make_api: ApiFactory) -> None:
    down = FakeDownloadClient("qbit", down=True)
    full = FakeDownloadClient("alpha", free_bytes=1024)
    async with make_api(clients=FakeClients(down, full)) as api:
        await api.client.put("/api/v3/queue/pause")
        body = (await api.client.get("/api/v3/health")).json()
        validate_health(body)
        by_source = {(r["source"], r["type"]): r["message"] for r in body}
        assert "qbit is down" in by_source[("DownloadClientStatusCheck", "error")]
        assert "alpha has 1,024 bytes free" in by_source[
            ("DownloadClientFreeSpaceCheck", "warning")]
        assert ("DispatchCheck", "notice") in by_source
        assert [r["id"] for r in body] == list(range(1, len(body) + 1))


async def test_health_without_clients_warns(make_api: ApiFactory) -> None:
    async with make_api(clients=FakeClients()) as api:
        body = (await api.client.get("/api/v3/health")).json()
        validate_health(body)
        assert [(r["source"], r["type"]) for r in body] == [("DownloadClientCheck", "warning")]


async def test_diskspace_lists_the_download_roots(api: Api, tmp_path: Path) -> None:
    body = (await api.client.get("/api/v3/diskspace")).json()
    validate_diskspace(body)
    assert [r["path"] for r in body] == [str(p) for p in api.container.settings.roots]
    assert all(0 < r["freeSpace"] <= r["totalSpace"] for r in body)


async def test_pause_all_is_shared_through_the_database(make_api: ApiFactory) -> None:
    """An API-only process pauses; the processor elsewhere reads the same switch."""
    client = FakeDownloadClient("qbit")
    async with make_api(clients=FakeClients(client)) as api:
        assert api.container.processor is None  # this process only serves the API
        worker = Processor(api.store.items, FakeClients(client), api.clock, "worker",
                           switches=api.store.switches)
        paused = await api.client.put("/api/v3/queue/pause")
        assert paused.status_code == 200 and paused.json() == {"paused": True}
        assert (await api.client.get("/api/v3/queue/pause")).json() == {"paused": True}
        await api.client.post("/api/v3/queue/grab", json={"downloadUrl": magnet("Held.2024")})
        assert await worker.refresh_switches() is True
        assert await worker.dispatch() == []
        await api.client.put("/api/v3/queue/resume")
        assert await worker.refresh_switches() is False
        assert len(await worker.dispatch()) == 1
        assert [c[0] for c in client.calls].count("add") == 1
