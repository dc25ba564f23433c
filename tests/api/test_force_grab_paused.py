"""POST /api/v3/queue/grab/{id} and /grab/bulk while dispatching waits: Radarr answers
200 with {} to a force-grab and Radarr clients expect that, so the answer stays 200, and
says that nothing is sent until dispatching resumes (extra fields Radarr clients ignore).
Also PUT /api/v3/queue/{id}/resume, which queues a paused download for a free slot."""

from __future__ import annotations

from datetime import timedelta

from core.domain import ItemState
from core.processor import Processor, ProcessorConfig
from tests.api.conftest import Api, ApiFactory
from tests.fakes import FakeClients, FakeDownloadClient

S = ItemState


async def delayed(api: Api) -> int:
    item = await api.grab()
    await api.set(item["id"], state=S.RETRYING,
                  next_attempt_at=api.clock.now() + timedelta(minutes=30))
    return int(item["id"])


async def test_force_grab_while_dispatching_is_paused_says_so(api: Api) -> None:
    item_id = await delayed(api)
    assert (await api.client.put("/api/v3/queue/pause")).status_code == 200

    one = await api.client.post(f"/api/v3/queue/grab/{item_id}")
    bulk = await api.client.post("/api/v3/queue/grab/bulk", json={"ids": [item_id]})

    for response in (one, bulk):
        assert response.status_code == 200
        body = response.json()
        assert body["dispatchPaused"] is True
        assert "paused" in body["message"] and "/api/v3/queue/resume" in body["message"]
    record = (await api.details())[0]
    assert record["status"] == "queued"  # due now: sent as soon as dispatching resumes


async def test_force_grab_while_dispatching_runs_answers_radarrs_empty_object(
        api: Api) -> None:
    item_id = await delayed(api)
    await api.client.put("/api/v3/queue/pause")
    await api.client.put("/api/v3/queue/resume")

    response = await api.client.post(f"/api/v3/queue/grab/{item_id}")

    assert response.status_code == 200 and response.json() == {}


async def test_force_grab_while_disk_space_is_low_says_why_nothing_is_sent(
        make_api: ApiFactory) -> None:
    client = FakeDownloadClient("qbit", free_bytes=10)
    async with make_api(clients=FakeClients(client)) as api:
        api.attach(Processor(api.store.items, FakeClients(client), api.clock, "api-test",
                             ProcessorConfig(min_free_space=1000)))
        item_id = await delayed(api)
        await api.client.post("/api/v3/queue/process")

        response = await api.client.post(f"/api/v3/queue/grab/{item_id}")

        assert response.status_code == 200
        assert response.json()["dispatchPaused"] is True
        assert "free space" in response.json()["message"]


async def test_resuming_a_paused_download_queues_it_for_a_free_slot(
        make_api: ApiFactory) -> None:
    client = FakeDownloadClient("qbit")
    async with make_api(clients=FakeClients(client)) as api:
        processor = Processor(api.store.items, FakeClients(client), api.clock, "api-test",
                              ProcessorConfig(max_active=1))
        api.attach(processor)
        first, second = await api.grab(), await api.grab()
        await api.client.post("/api/v3/queue/process")
        await api.client.put(f"/api/v3/queue/{first['id']}/pause")
        await api.client.post("/api/v3/queue/process")

        resumed = await api.client.put(f"/api/v3/queue/{first['id']}/resume")

        assert resumed.status_code == 200
        assert resumed.json()["status"] == "queued"
        assert resumed.json()["downloadId"] == first["infoHash"].upper()  # as Radarr shows it
        await api.client.post("/api/v3/queue/process")
        states = {r["id"]: r["status"] for r in await api.details()}
        assert states == {first["id"]: "queued", second["id"]: "downloading"}
