"""GET /metrics: Prometheus text, behind the API key, fed by the event bus."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from core.domain import HistoryEvent, ItemState
from core.states import transition
from tests.api.conftest import API_KEY, Api


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def scrape(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await api.anon.get("/metrics", headers={
        "Authorization": f"Bearer {API_KEY}", "Accept": "application/openmetrics-text"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def delivered(api: Api, count: int) -> None:
    bus = api.container.events
    assert bus is not None
    await asyncio.wait_for(bus.drained(), 5)
    assert bus.stats()["metrics"].delivered == count


async def test_metrics_count_items_by_state_and_events_by_type(api: Api) -> None:
    first = await api.grab("Heat.1995.1080p.BluRay.x264-SPARKS")
    await api.grab("Alien.1979.1080p.BluRay.x264-GRP")
    await api.client.put(f"/api/v3/queue/{first['id']}/pause")
    await delivered(api, 3)
    got = await scrape(api)
    assert got[("queuarr_items", (("state", "queued"),))] == 1
    assert got[("queuarr_items", (("state", "paused"),))] == 1
    assert got[("queuarr_items", (("state", "completed"),))] == 0
    assert got[("queuarr_events_total", (("type", "grabbed"),))] == 2
    assert got[("queuarr_events_total", (("type", "paused"),))] == 1
    assert got[("queuarr_notifier_events_total", (("notifier", "metrics"),
                                                   ("outcome", "delivered")))] == 3
    assert got[("queuarr_events_published_total", ())] == 3


async def test_failures_are_counted_by_class(api: Api) -> None:
    item = await api.grab("Heat.1995.1080p.BluRay.x264-SPARKS")
    stored = await api.store.items.get(item["id"])
    assert stored is not None
    # The processor's wording for a stall, written through the queue's own repository
    # (so that the events are published).
    queue_items = api.container.queue.items
    sending = transition(stored, ItemState.SENDING, api.clock.now())
    (sending,) = await queue_items.update([(stored, sending)], HistoryEvent("claimed"))
    down = transition(sending, ItemState.DOWNLOADING, api.clock.now())
    (down,) = await queue_items.update([(sending, down)], HistoryEvent("sent"))
    failed = transition(down, ItemState.FAILED, api.clock.now())
    await queue_items.update([(down, failed)], HistoryEvent(
        "downloadFailed", "Stalled for good: no data for 1:00:00"))
    await delivered(api, 3)
    got = await scrape(api)
    assert got[("queuarr_failures_total", (("class", "stalled"),))] == 1
    assert got[("queuarr_grab_to_send_seconds_count", ())] == 1


async def test_metrics_need_the_api_key(api: Api) -> None:
    assert (await api.anon.get("/metrics")).status_code == 401
    assert (await api.anon.get("/metrics", params={"apikey": API_KEY})).status_code == 200

