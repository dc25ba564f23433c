"""The queue resource shows the client's state the way Radarr's download-client adapters
word it (Radarr v6.0.3.10276, src/NzbDrone.Core/Download/Clients/QBittorrent/
QBittorrent.cs and Aria2/Aria2.cs; QueueService.cs takes `status` and `errorMessage`
from the client's item): decluttarr finds stalled and metadata-missing downloads by
these words. Queuarr's own stall handling goes on beside it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from core.clients import ClientState
from core.domain import ItemState
from core.processor import Processor
from tests.api.conftest import Api, ApiFactory, magnet
from tests.conftest import STORE_KINDS
from tests.fakes import FakeClients, FakeDownloadClient

pytestmark = pytest.mark.parametrize("store", STORE_KINDS, indirect=True)

STALLED = "The download is stalled with no connections"
METADATA = "qBittorrent is downloading metadata"


async def sent(api: Api, client: FakeDownloadClient, title: str
               ) -> tuple[Processor, int, str]:
    processor = Processor(api.store.items, FakeClients(client), api.clock, "api-test",
                          switches=api.store.switches)
    api.attach(processor)
    item = await api.grab(title, downloadUrl=magnet(title, size=1000))
    await processor.process()
    download_id = (await api.item(item["id"])).download_id
    assert download_id is not None
    return processor, item["id"], download_id


def set_state(client: FakeDownloadClient, download_id: str, state: ClientState) -> None:
    client.downloads[download_id] = replace(client.downloads[download_id], state=state)


async def shown(api: Api, item_id: int) -> dict[str, Any]:
    page = await api.queue({"pageSize": 50})  # validated against Radarr's schema
    (record,) = [r for r in page["records"] if r["id"] == item_id]
    return record


async def test_stalled_and_metadata_downloads_show_radarrs_status_and_message(
        make_api: ApiFactory) -> None:
    client = FakeDownloadClient("qbit")
    async with make_api(clients=FakeClients(client)) as api:
        processor, item_id, download_id = await sent(api, client, "Stall.Movie.2024.1080p")
        set_state(client, download_id, ClientState.STALLED)
        await processor.sync()
        record = await shown(api, item_id)
        assert (record["status"], record["errorMessage"]) == ("warning", STALLED)
        assert record["queueState"] == "downloading"  # Queuarr's own limit is not reached
        assert record["trackedDownloadStatus"] == "ok"

        set_state(client, download_id, ClientState.METADATA)
        await processor.sync()
        record = await shown(api, item_id)
        assert (record["status"], record["errorMessage"]) == ("queued", METADATA)
        # No history row of its own: the view changes like progress.
        history = (await api.get_json("/api/v3/history", {
            "pageSize": 50, "sortDirection": "ascending"}))["records"]
        assert [r["data"]["event"] for r in history] == ["grabbed", "claimed", "sent"]

        set_state(client, download_id, ClientState.DOWNLOADING)
        await processor.sync()
        record = await shown(api, item_id)
        assert record["status"] == "downloading" and "errorMessage" not in record

        client.advance(download_id, 1000)
        await processor.sync()
        record = await shown(api, item_id)
        assert record["status"] == "completed" and "errorMessage" not in record
        item = await api.item(item_id)
        assert (item.client_status, item.client_message) == (None, None)


async def test_queuarrs_own_stall_message_wins_and_its_stall_handling_goes_on(
        make_api: ApiFactory) -> None:
    client = FakeDownloadClient("qbit")
    async with make_api(clients=FakeClients(client)) as api:
        processor, item_id, download_id = await sent(api, client, "Slow.Movie.2024.1080p")
        set_state(client, download_id, ClientState.STALLED)
        await processor.sync()
        api.clock.advance(seconds=processor.config.stall.stall.total_seconds() + 1)
        await processor.sync()
        record = await shown(api, item_id)
        assert record["queueState"] == "warning"
        assert record["status"] == "warning" and record["trackedDownloadStatus"] == "warning"
        assert record["errorMessage"].startswith("Stalled: ")
        api.clock.advance(seconds=processor.config.stall.stall.total_seconds())
        await processor.sync()
        item = await api.item(item_id)
        assert item.state is ItemState.FAILED and item.client_status is None
        record = (await api.queue({"pageSize": 50}))["records"][0]
        assert record["status"] == "failed"
        assert record["errorMessage"].startswith("Stalled for good: ")


async def test_the_status_filter_and_sort_follow_the_client_view(make_api: ApiFactory
                                                                 ) -> None:
    client = FakeDownloadClient("qbit")
    async with make_api(clients=FakeClients(client)) as api:
        processor, meta_id, meta_dl = await sent(api, client, "Meta.Movie.2024.1080p")
        _, run_id, _ = await sent(api, client, "Run.Movie.2024.1080p")
        waiting = await api.grab("Wait.Movie.2024.1080p")
        set_state(client, meta_dl, ClientState.METADATA)
        await processor.sync()

        queued = await api.queue({"status": "queued", "pageSize": 50})
        assert {r["id"] for r in queued["records"]} == {meta_id, waiting["id"]}
        assert queued["totalRecords"] == 2
        running = await api.queue({"status": "downloading"})
        assert [r["id"] for r in running["records"]] == [run_id]
        assert running["totalRecords"] == 1
        by_status = await api.queue({"sortKey": "status", "sortDirection": "ascending"})
        assert [r["status"] for r in by_status["records"]] == [
            "downloading", "queued", "queued"]
