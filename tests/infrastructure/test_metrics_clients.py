"""Download-client request times: every call through TimedClients lands in
queuarr_client_request_seconds{client, call, outcome}, errors passed through."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from core.domain import DownloadProtocol, ItemState, QueueItem, SourceKind
from core.errors import ClientUnavailable
from infrastructure.metrics import Metrics, TimedClients
from tests.fakes import EPOCH, FakeClients, FakeDownloadClient


def counts(metrics: Metrics) -> dict[tuple[str, str, str], float]:
    text = generate_latest(metrics.registry).decode()
    return {(s.labels["client"], s.labels["call"], s.labels["outcome"]): s.value
            for f in text_string_to_metric_families(text) for s in f.samples
            if s.name == "queuarr_client_request_seconds_count"}


async def test_client_calls_are_timed_by_client_call_and_outcome() -> None:
    fake = FakeDownloadClient("aria2")
    metrics = Metrics()
    clients = TimedClients(FakeClients(fake), metrics)
    client = clients.get("aria2")
    assert client is not None and client is clients.get("aria2")  # one wrapper per client
    assert clients.get("nope") is None
    assert [d.name for d in clients.descriptors()] == ["aria2"]
    item = QueueItem(1, "Heat", SourceKind.MAGNET, DownloadProtocol.TORRENT,
                     ItemState.SENDING, EPOCH, EPOCH, info_hash="a" * 40, size=10)
    download = await client.add(item, None)
    await client.statuses([download])
    await client.statuses([download])
    fake.down = True
    with pytest.raises(ClientUnavailable):
        await client.statuses([download])
    assert client.name == "aria2"
    assert counts(metrics) == {("aria2", "add", "ok"): 1, ("aria2", "statuses", "ok"): 2,
                               ("aria2", "statuses", "ClientUnavailable"): 1}
