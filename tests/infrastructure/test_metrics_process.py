"""/metrics carries the build and the process (issue 17): queuarr_build_info, process_*
from prometheus_client's collectors on Queuarr's own registry, and every cumulative count
typed as a counter. Also the CPU meter behind system/resources and Telegram's /status."""

from __future__ import annotations

import platform

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from api.version import QUEUARR_VERSION
from core.domain import StateCounts
from core.events import EventBus
from infrastructure import resources
from infrastructure.metrics import Metrics
from tests.fakes import FakeClock

# The only queuarr_* families that may go down: all others count up (counters) or are
# histograms.
GAUGES = {"queuarr_items", "queuarr_client_available", "queuarr_build_info"}


class CountsOnly:
    async def counts(self) -> StateCounts:
        return StateCounts()


async def _families(metrics: Metrics, bus: EventBus | None) -> dict[str, tuple[str,
                                                                              list[Sample]]]:
    text = (await metrics.render(CountsOnly(), bus, None)).decode()  # type: ignore[arg-type]
    return {f.name: (f.type, f.samples) for f in text_string_to_metric_families(text)}


async def test_build_info_names_queuarrs_and_pythons_versions() -> None:
    families = await _families(Metrics(), None)
    kind, samples = families["queuarr_build_info"]
    assert kind == "gauge"
    assert [(s.labels, s.value) for s in samples] == [
        ({"version": QUEUARR_VERSION, "python": platform.python_version()}, 1.0)]


async def test_process_series_are_on_queuarrs_registry() -> None:
    families = await _families(Metrics(), None)
    values = {s.name: s.value for _, samples in families.values() for s in samples}
    assert values["process_resident_memory_bytes"] > 1024**2
    assert values["process_cpu_seconds_total"] > 0
    assert values["process_start_time_seconds"] > 1.7e9  # after 2023: a real timestamp
    assert values["process_open_fds"] >= 3
    assert families["process_cpu_seconds"][0] == "counter"
    assert "python_info" in values


async def test_cumulative_counts_are_counters() -> None:
    metrics = Metrics()
    bus = EventBus(FakeClock())
    bus.add(metrics)
    bus.published = 4
    bus.stats()["metrics"].delivered = 3
    families = await _families(metrics, bus)
    # prometheus_client's *_created timestamps of histograms are gauges by design.
    ours = {name: kind for name, (kind, _) in families.items()
            if name.startswith("queuarr_") and not name.endswith("_created")}
    assert {name for name, kind in ours.items() if kind == "gauge"} == GAUGES
    assert set(ours.values()) == {"gauge", "counter", "histogram"}
    kind, samples = families["queuarr_events_published"]
    assert (kind, [(s.name, s.value) for s in samples]) == (
        "counter", [("queuarr_events_published_total", 4.0)])
    kind, samples = families["queuarr_notifier_events"]
    assert kind == "counter"
    assert {(s.name, s.labels["outcome"]): s.value for s in samples} == {
        ("queuarr_notifier_events_total", "delivered"): 3.0,
        ("queuarr_notifier_events_total", "failed"): 0.0,
        ("queuarr_notifier_events_total", "dropped"): 0.0,
        ("queuarr_notifier_events_total", "timedOut"): 0.0}


def test_cpu_percent_covers_the_time_since_the_previous_reading(
        monkeypatch: pytest.MonkeyPatch) -> None:
    wall = iter([1000.0, 1010.0, 1020.0, 1030.0])
    used = iter([0.0, 5.0, 5.0, 25.0])
    monkeypatch.setattr(resources, "_process_start", lambda: None)
    monkeypatch.setattr(resources.time, "time", lambda: next(wall))
    monkeypatch.setattr(resources, "cpu_seconds", lambda: next(used))
    meter = resources.CpuMeter()  # 1000 s, 0 CPU s
    assert meter.percent() == (50.0, 5.0)  # 5 CPU s in 10 s
    assert meter.percent() == (0.0, 5.0)  # idle since
    assert meter.percent() == (200.0, 25.0)  # two CPUs busy


def test_the_first_reading_covers_the_process_lifetime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "_process_start", lambda: 900.0)
    monkeypatch.setattr(resources.time, "time", lambda: 1000.0)
    monkeypatch.setattr(resources, "cpu_seconds", lambda: 25.0)
    assert resources.CpuMeter().percent() == (25.0, 25.0)


def test_the_process_start_read_from_proc_is_the_one_prometheus_reports() -> None:
    start = resources._process_start()
    assert start is not None
    text = generate_latest(Metrics().registry).decode()
    reported = next(s.value for f in text_string_to_metric_families(text) for s in f.samples
                    if s.name == "process_start_time_seconds")
    assert abs(start - reported) < 1
