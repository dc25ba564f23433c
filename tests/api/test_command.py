"""/api/v3/command: Radarr's RefreshMonitoredDownloads (decluttarr POSTs it before every
pass: src/utils/shared.py get_queue, decluttarr ff035bf) and ProcessMonitoredDownloads,
run in the background over a processor on the test store; every answer validated against
Radarr's CommandResource."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from core.ports import DownloadStatus
from core.processor import Processor
from infrastructure.scheduler import ProcessorRunner
from tests.api.conftest import Api, ApiFactory
from tests.api.radarr_schema import validate_radarr
from tests.fakes import FakeClients, FakeDownloadClient


@dataclass
class GatedClient(FakeDownloadClient):
    """A fake client whose status call waits for `gate`: a sync pass that is running."""

    gate: asyncio.Event = field(default_factory=asyncio.Event)

    async def statuses(self, download_ids: Sequence[str]) -> dict[str, DownloadStatus]:
        await self.gate.wait()
        return await super().statuses(download_ids)


def attach(api: Api, client: FakeDownloadClient) -> Processor:
    processor = Processor(api.store.items, FakeClients(client), api.clock, "api-test")
    api.attach(processor)
    return processor


def validate_command(body: Any) -> None:
    validate_radarr("CommandResource", body)


def reason(body: Any) -> str:
    """A 400's reason: {"message"}, or Radarr's array of validation failures."""
    if isinstance(body, list):
        return "; ".join(failure["errorMessage"] for failure in body)
    message: str = body["message"]
    return message


async def post(api: Api, body: Any, expect: int = 201) -> Any:
    response = await api.client.post("/api/v3/command", json=body)
    assert response.status_code == expect, response.text
    result = response.json()
    if expect == 201:
        validate_command(result)
        assert response.headers["location"] == f"/api/v3/command/{result['id']}"
    return result


async def until_ended(api: Api, command_id: int) -> dict[str, Any]:
    """Poll GET /command/{id} (letting the background task run) until it ended."""
    for _ in range(1000):
        body: dict[str, Any] = await api.get_json(f"/api/v3/command/{command_id}",
                                                  validate=validate_command)
        if body["status"] not in ("queued", "started"):
            return body
        await asyncio.sleep(0)
    raise AssertionError(f"command {command_id} never ended")


async def downloading(api: Api, client: FakeDownloadClient, processor: Processor
                      ) -> tuple[int, str]:
    """A grabbed item sent to the fake client: (its id, its download id)."""
    item = await api.grab("Some.Movie.2024.1080p.WEB-DL-GRP", size=1000)
    assert await processor.dispatch() == [item["id"]]
    (download_id,) = client.added
    return item["id"], download_id


async def test_refresh_monitored_downloads_answers_at_once_then_syncs_the_clients(
        make_api: ApiFactory) -> None:
    client = FakeDownloadClient("qbit")
    async with make_api(clients=FakeClients(client)) as api:
        processor = attach(api, client)
        item_id, download_id = await downloading(api, client, processor)
        client.advance(download_id, 500)
        queued = await post(api, {"name": "RefreshMonitoredDownloads"})
        assert queued["status"] == "queued" and queued["result"] == "unknown"
        assert queued["name"] == "RefreshMonitoredDownloads"
        assert queued["commandName"] == "Refresh Monitored Downloads"
        assert queued["trigger"] == "manual" and queued["body"]["trigger"] == "manual"
        assert "started" not in queued and "ended" not in queued
        done = await until_ended(api, queued["id"])
        assert done["status"] == "completed" and done["result"] == "successful"
        assert done["started"] and done["ended"] and done["duration"] == "00:00:00"
        assert done["stateChangeTime"] == done["started"]
        # No scheduler runs here: only the command's sync pass moved the item.
        item = (await api.client.get(f"/api/v3/queue/{item_id}")).json()
        assert item["sizeleft"] == 500 and item["status"] == "downloading"


async def test_process_monitored_downloads_syncs_then_sends_what_is_due(
        make_api: ApiFactory) -> None:
    client = FakeDownloadClient("qbit")
    async with make_api(clients=FakeClients(client)) as api:
        processor = attach(api, client)
        first, download_id = await downloading(api, client, processor)
        client.advance(download_id, 1000)
        waiting = await api.grab("Other.Movie.2023.1080p.WEB-DL-GRP", movieId=2)
        queued = await post(api, {"name": "processmonitoreddownloads"})
        assert queued["name"] == "ProcessMonitoredDownloads"
        assert queued["body"]["requiresDiskAccess"] and queued["body"]["isLongRunning"]
        done = await until_ended(api, queued["id"])
        assert done["status"] == "completed", done
        assert (await api.client.get(f"/api/v3/queue/{first}")).json()["status"] == "completed"
        sent = (await api.client.get(f"/api/v3/queue/{waiting['id']}")).json()
        assert sent["status"] == "downloading" and len(client.added) == 2


@pytest.mark.parametrize("body", [
    {"name": "MoviesSearch", "movieIds": [1]}, {"name": "RssSync"}, {"name": ""}, {},
    {"name": 5}, [], "RefreshMonitoredDownloads"])
async def test_a_command_queuarr_does_not_run_or_a_bad_body_is_a_400_and_runs_nothing(
        make_api: ApiFactory, body: Any) -> None:
    client = FakeDownloadClient("qbit")
    async with make_api(clients=FakeClients(client)) as api:
        attach(api, client)
        refused = reason(await post(api, body, expect=400))
        assert refused
        if isinstance(body, dict) and body.get("name") in ("MoviesSearch", "RssSync"):
            assert "does not run" in refused and "RefreshMonitoredDownloads" in refused
        assert await api.get_json("/api/v3/command") == []


async def test_a_missing_or_broken_body_is_a_400(api: Api) -> None:
    for content in (b"", b"{not json"):
        response = await api.client.post("/api/v3/command", content=content,
                                         headers={"Content-Type": "application/json"})
        assert response.status_code == 400 and reason(response.json())
    assert await api.get_json("/api/v3/command") == []


async def test_commands_are_listed_newest_first_and_unknown_ones_are_404(
        make_api: ApiFactory) -> None:
    client = FakeDownloadClient("qbit")
    async with make_api(clients=FakeClients(client)) as api:
        attach(api, client)
        first = await post(api, {"name": "RefreshMonitoredDownloads"})
        await until_ended(api, first["id"])
        second = await post(api, {"name": "ProcessMonitoredDownloads"})
        await until_ended(api, second["id"])
        listed = await api.get_json("/api/v3/command")
        for record in listed:
            validate_command(record)
        assert [c["id"] for c in listed] == [second["id"], first["id"]]
        missing = await api.client.get("/api/v3/command/999")
        assert missing.status_code == 404 and missing.json() == {"message": "NotFound"}
        assert (await api.client.get("/api/v3/command/0")).status_code == 400


async def test_a_queued_command_can_be_cancelled_and_a_started_one_cannot(
        make_api: ApiFactory) -> None:
    client = GatedClient("qbit")
    async with make_api(clients=FakeClients(client)) as api:
        processor = attach(api, client)
        item = await api.grab("Some.Movie.2024.1080p.WEB-DL-GRP")
        assert await processor.dispatch() == [item["id"]]
        running = await post(api, {"name": "RefreshMonitoredDownloads"})
        again = await post(api, {"name": "RefreshMonitoredDownloads"})
        assert again["id"] == running["id"]  # the same command is not queued twice
        waiting = await post(api, {"name": "ProcessMonitoredDownloads"})
        await asyncio.sleep(0)
        shown = await api.get_json(f"/api/v3/command/{running['id']}",
                                   validate=validate_command)
        assert shown["status"] == "started"
        refused = await api.client.delete(f"/api/v3/command/{running['id']}")
        assert refused.status_code == 409 and "Unable to cancel" in refused.json()["message"]
        cancelled = await api.client.delete(f"/api/v3/command/{waiting['id']}")
        assert cancelled.status_code == 200 and cancelled.content == b""
        client.gate.set()
        assert (await until_ended(api, running["id"]))["status"] == "completed"
        gone = await api.get_json(f"/api/v3/command/{waiting['id']}", validate=validate_command)
        assert gone["status"] == "cancelled" and "started" not in gone
        assert [c[0] for c in client.calls].count("statuses") == 1
        assert (await api.client.delete("/api/v3/command/999")).status_code == 404


async def test_without_a_processor_the_leader_is_woken_and_the_command_says_so(
        api: Api) -> None:
    woken: list[bool] = []
    api.container.queue.wake = lambda: woken.append(True)  # not the commands' path
    queued = await post(api, {"name": "RefreshMonitoredDownloads"})
    done = await until_ended(api, queued["id"])
    assert done["status"] == "completed" and done["result"] == "unknown"
    assert "does not run the processor" in done["message"]
    assert woken == []


async def test_a_standby_runs_no_pass_of_its_own(make_api: ApiFactory) -> None:
    client = FakeDownloadClient("qbit")
    async with make_api(clients=FakeClients(client)) as api:
        processor = attach(api, client)
        await downloading(api, client, processor)
        api.attach(processor, ProcessorRunner(processor))  # not started: not leading
        queued = await post(api, {"name": "RefreshMonitoredDownloads"})
        done = await until_ended(api, queued["id"])
        assert "does not run the processor" in done["message"]
        assert [c[0] for c in client.calls].count("statuses") == 0
