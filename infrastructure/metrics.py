"""Prometheus metrics (GET /metrics): items by state, events by type (grabs, retries,
failures, stalls...), failures by class, grab-to-send latency, processor pass times,
download-client request times and availability, notifier delivery, the build, and the
process (CPU, memory, open files: prometheus_client's process, platform and GC collectors).
Counters are fed by the event bus (this object is a notifier too), so nothing here sits in
the processor's path; client calls are timed by a thin wrapper (TimedClients)."""

from __future__ import annotations

import platform
import time
from collections.abc import Iterable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from core.clients import ClientDescriptor
from core.domain import ItemState
from core.errors import DownloadClientError
from core.events import EventBus, EventType, QueueEvent

if TYPE_CHECKING:
    from core.ports import DownloadClient, DownloadClients
    from core.processor import Processor
    from core.service import QueueService

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600)
_PASS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def failure_class(message: str | None) -> str:
    """Why an item failed for good, from the processor's wording."""
    text = message or ""
    if text.startswith("Stalled"):
        return "stalled"
    if text.startswith("Failed after"):
        return "retriesExhausted"
    if "send was interrupted" in text:
        return "interrupted"
    if "over the size limit" in text:
        return "tooLarge"
    return "permanent"


class Metrics:
    name = "metrics"

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.items = Gauge("queuarr_items", "Queue items by state", ["state"], registry=r)
        self.events = Counter("queuarr_events", "Queue events by type (grabbed, sent, "
                              "retryScheduled, failed, stalled...)", ["type"], registry=r)
        self.failures = Counter("queuarr_failures", "Items failed for good, by class",
                                ["class"], registry=r)
        self.grab_to_send = Histogram("queuarr_grab_to_send_seconds", "From grab to the "
                                      "client's confirmation of the add", buckets=_LATENCY,
                                      registry=r)
        self.passes = Histogram("queuarr_pass_seconds", "Processor pass durations",
                                ["job"], buckets=_PASS, registry=r)
        self.client_up = Gauge("queuarr_client_available", "1 while a download client "
                               "answers, 0 while it is backed off", ["client"], registry=r)
        self.client_requests = Histogram(
            "queuarr_client_request_seconds", "Download-client requests by client, call "
            "and outcome", ["client", "call", "outcome"], buckets=_PASS, registry=r)
        # The bus keeps its own totals: exported as counters, read at scrape time.
        self._bus = _BusCounters()
        r.register(self._bus)
        Gauge("queuarr_build_info", "Always 1: the version of Queuarr and of Python",
              ["version", "python"], registry=r).labels(
                  _package_version(), platform.python_version()).set(1)
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)

    async def notify(self, event: QueueEvent) -> None:
        self.events.labels(event.type.value).inc()
        if event.type is EventType.FAILED:
            self.failures.labels(failure_class(event.message)).inc()
        elif event.type is EventType.SENT and event.item is not None:
            self.grab_to_send.observe(max((event.at - event.item.added_at).total_seconds(),
                                          0.0))

    def observe_pass(self, name: str, seconds: float) -> None:
        self.passes.labels(name).observe(seconds)

    async def render(self, queue: QueueService, bus: EventBus | None,
                     processor: Processor | None) -> bytes:
        counts = await queue.counts()
        for state in ItemState:
            self.items.labels(state.value).set(
                counts.known.get(state, 0) + counts.unknown.get(state, 0))
        self._bus.bus = bus
        if processor is not None:
            for client, backoff in processor.backoffs.items():
                self.client_up.labels(client).set(1 if backoff.available else 0)
        return generate_latest(self.registry)


def _package_version() -> str:
    try:
        return version("queuarr")
    except PackageNotFoundError:  # a source tree that is not installed (as api.version)
        return "0.0.0"


class _BusCounters(Collector):
    """The event bus's own cumulative counts (published; per notifier delivered, failed,
    dropped, timedOut) as counters, read from the bus at each scrape."""

    def __init__(self) -> None:
        self.bus: EventBus | None = None

    def describe(self) -> Iterable[Metric]:
        return self._families(None)

    def collect(self) -> Iterable[Metric]:
        return self._families(self.bus)

    @staticmethod
    def _families(bus: EventBus | None) -> list[Metric]:
        published = CounterMetricFamily("queuarr_events_published", "Events published in "
                                        "this process")
        delivery = CounterMetricFamily("queuarr_notifier_events", "Events per notifier by "
                                       "outcome (delivered, failed, dropped, timedOut)",
                                       labels=["notifier", "outcome"])
        if bus is not None:
            published.add_metric([], bus.published)
            for name, stats in bus.stats().items():
                for outcome, value in (("delivered", stats.delivered),
                                       ("failed", stats.failed),
                                       ("dropped", stats.dropped),
                                       ("timedOut", stats.timed_out)):
                    delivery.add_metric([name, outcome], value)
        return [published, delivery]


_TIMED_CALLS = frozenset({"test", "add", "statuses", "pause", "resume", "remove",
                          "set_priority", "free_space"})


class _TimedClient:
    """A download client whose calls are timed into queuarr_client_request_seconds."""

    def __init__(self, inner: DownloadClient, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name not in _TIMED_CALLS:
            return value

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            outcome = "ok"
            try:
                return await value(*args, **kwargs)
            except DownloadClientError as exc:
                outcome = type(exc).__name__
                raise
            finally:
                self._metrics.client_requests.labels(
                    self._inner.name, name, outcome).observe(time.perf_counter() - started)

        return timed


class TimedClients:
    """The DownloadClients port, each client's calls timed (the processor's view)."""

    def __init__(self, inner: DownloadClients, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics
        self._wrapped: dict[int, tuple[DownloadClient, _TimedClient]] = {}

    def get(self, name: str) -> DownloadClient | None:
        client = self.inner.get(name)
        if client is None:
            return None
        hit = self._wrapped.get(id(client))
        if hit is None or hit[0] is not client:
            hit = (client, _TimedClient(client, self.metrics))
            self._wrapped[id(client)] = hit
        return hit[1]  # type: ignore[return-value]

    def descriptors(self) -> Sequence[ClientDescriptor]:
        return self.inner.descriptors()
