"""PUT /api/v3/queue/pause and /resume (all dispatching) and POST /api/v3/queue/process,
with a processor over the test store and a fake client; 409 where no processor runs."""

from __future__ import annotations

from core.processor import Processor
from tests.api.conftest import Api, ApiFactory
from tests.fakes import FakeClients, FakeDownloadClient


def attach(api: Api, client: FakeDownloadClient) -> Processor:
    processor = Processor(api.store.items, FakeClients(client), api.clock, "api-test")
    api.attach(processor)
    return processor


async def test_pause_all_then_process_sends_nothing_and_resume_sends(make_api: ApiFactory
                                                                     ) -> None:
    client = FakeDownloadClient("qbit")
    async with make_api(clients=FakeClients(client)) as api:
        processor = attach(api, client)
        item = await api.grab("Some.Movie.2024.1080p")
        paused = await api.client.put("/api/v3/queue/pause")
        assert paused.status_code == 200 and paused.json() == {"paused": True}
        assert processor.paused
        processed = await api.client.post("/api/v3/queue/process")
        assert processed.status_code == 200 and processed.json() == {"ids": []}
        assert (await api.client.get(f"/api/v3/queue/{item['id']}")).json()["status"] == "queued"
        resumed = await api.client.put("/api/v3/queue/resume")
        assert resumed.json() == {"paused": False}
        processed = await api.client.post("/api/v3/queue/process")
        assert processed.json() == {"ids": [item["id"]]}
        sent = (await api.client.get(f"/api/v3/queue/{item['id']}")).json()
        assert sent["status"] == "downloading" and sent["downloadClient"] == "qbit"
        assert [c[0] for c in client.calls].count("add") == 1


async def test_without_a_processor_process_answers_409(api: Api) -> None:
    response = await api.client.post("/api/v3/queue/process")
    assert response.status_code == 409
    assert "processor" in response.json()["message"]
