"""A webhook target that does not answer: deliveries pile up only to max_pending, the
rest are dropped and counted; a failing notifier logs its traceback once, not per event."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from core.events import EventBus, EventType
from core.notifications import NotificationConfig
from infrastructure.memory_release import MemoryNotificationRepository
from infrastructure.net.guard import UrlGuard
from infrastructure.notifiers.webhook import WebhookNotifier
from tests.fakes import FakeClock


async def test_a_stuck_target_holds_at_most_max_pending_deliveries() -> None:
    targets = MemoryNotificationRepository()
    await targets.add(NotificationConfig(0, "stuck", "http://127.0.0.1:9/hook"))
    release = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return httpx.Response(200)

    webhook = WebhookNotifier(targets, UrlGuard(allow_private=True), max_pending=2)
    webhook._http = httpx.AsyncClient(transport=httpx.MockTransport(hang))
    bus = EventBus(FakeClock())
    for n in range(5):
        await webhook.notify(bus.publish(EventType.GRABBED, message=f"event {n}"))
    assert (len(webhook._tasks), webhook.dropped) == (2, 3)
    release.set()
    await webhook.drained()
    assert webhook.delivered == 2
    await webhook.aclose()


class Failing:
    name = "failing"

    async def notify(self, event: object) -> None:
        raise RuntimeError("always")


async def test_a_notifier_that_always_fails_logs_one_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus(FakeClock())
    bus.add(Failing())
    bus.start()
    with caplog.at_level(logging.WARNING, "core.events"):
        for n in range(250):
            bus.publish(EventType.GRABBED, message=str(n))
        await bus.drained()
    await bus.aclose()
    assert bus.stats()["failing"].failed == 250
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1
    assert [r.getMessage() for r in caplog.records if not r.exc_info] == [
        "Notifier failing has failed 100 times", "Notifier failing has failed 200 times"]
