"""Events out (issue 6): how long a client change takes to reach a live SSE client, and
what notifications cost the dispatcher.

`python -m bench --only events [--quick]` (or `python -m bench.events`). The section is
appended to bench/results/latest.md (replacing an earlier section of this benchmark there),
and the figures are written to bench/results/events-<UTC time>.json and .md.

Goal (issue 6): "The closing note quotes the event latency from a client change to the SSE
event (p99) and the overhead of notifications on dispatch throughput." What one run does,
in one process on one event loop (uvloop when installed, as `queuarr serve` runs):

1. **Notification overhead on dispatch.** `Processor.dispatch()` over a
   `MemoryQueueRepository` seeded with M `queued` items (default 2,000; `--quick` 500),
   `ProcessorConfig(max_active=10**6)` so that one pass claims and sends them all, a
   `FakeDownloadClient`, the system clock. Three configurations, interleaved round by round
   (`--repeats`, best kept):
   (a) the bare repository, no bus: the reference;
   (b) `PublishingRepository` + `EventBus`, no consumer;
   (c) `PublishingRepository` + `EventBus` with `Metrics`, a `WebhookNotifier` whose one
   target is a local receiver (a subprocess of this benchmark) answering after 50 ms, a
   notifier that always raises, and one live subscription consumed the way the SSE
   endpoint does (`core.events.stream`, each event rendered with `event_json` + `dumps`).
   Logging is configured as `queuarr serve` does (`configure_logging("INFO")`), written to
   /dev/null, so the failing notifier's tracebacks are formatted as in production.
   Each configuration runs twice: with the fake client's `add` taking one turn of the
   event loop (`asyncio.sleep(0)`, as the real clients' I/O and the SQL repositories do;
   the headline, since the consumers then run *during* the pass, on its loop), and with
   the fake as it is (never yields: the pass runs in one step, so the figure is the cost
   of publishing alone, and the consumers only run after it). items/s = items sent ÷ wall
   time of the pass; the overheads are (b) ÷ (a) and (c) ÷ (a). In the add-yields rounds,
   one consumer at a time is also measured (a no-op notifier, Metrics, the webhook, the
   failing notifier, the live subscription) to say where (c)'s cost goes; after the last
   of them, one more (c) pass has its webhook backlog waited for and counted against the
   receiver's count.
2. **Client change to SSE frame.** The app (`api.app.create_app` on a `Container`
   assembled as tests/api/conftest.py's `make_api` does: memory repositories, an
   `EventBus` with `Metrics` and a `WebhookNotifier` without targets, but the real
   `SystemClock`) served by uvicorn on 127.0.0.1; one httpx client follows
   `/api/v3/queue/stream`. N items (default 200; `--quick` 50, plus 10 warm-up items) are
   grabbed through `POST /api/v3/queue/grab` and dispatched by a `Processor` with a
   `FakeDownloadClient`; then, one item at a time, the download is completed in the fake
   client (`advance`) and `processor.sync()` runs; latency = from just before the change
   to the SSE reader having read the item's `completed` frame (perf_counter, same process).
   Bare reference, interleaved sample by sample: a minimal Starlette endpoint served by
   uvicorn that writes a frame (padded to the size of ours) as soon as an `asyncio.Queue`
   receives an item, read by the same reader: put -> frame read. Reported: p50/p95/p99/max,
   the part spent in `sync()`, and p99 ÷ bare p99.

Targets (informative): p99 <= 1 s; (c) >= 0.8 x (a). Gating: every frame and event
accounted for.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import logging
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # core, infrastructure, api, tests.fakes
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import orjson  # noqa: E402
import uvicorn  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import StreamingResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from api.app import create_app  # noqa: E402
from api.logging import configure_logging  # noqa: E402
from api.resources import dumps, event_json  # noqa: E402
from bench.procs import (  # noqa: E402
    Noise,
    cpu_model,
    free_port,
    machine_idle_percent,
    package_version,
)
from bench.report import (  # noqa: E402
    Checks,
    _table,
    checks_and_notes,
    narrator,
    publish,
    ratio,
    targets_table,
    write_section,
)
from core.domain import (  # noqa: E402
    DownloadProtocol,
    HistoryEvent,
    ItemState,
    MovieInfo,
    NewItem,
    QueueItem,
    SourceKind,
)
from core.events import EventBus, PublishingRepository, QueueEvent, stream  # noqa: E402
from core.notifications import NotificationConfig  # noqa: E402
from core.processor import Processor, ProcessorConfig  # noqa: E402
from infrastructure.bootstrap import Container, Stores, assemble  # noqa: E402
from infrastructure.clock import SystemClock  # noqa: E402
from infrastructure.memory import (  # noqa: E402
    MemoryQueueRepository,
)
from infrastructure.memory_release import (  # noqa: E402
    MemoryNotificationRepository,
)
from infrastructure.metrics import Metrics  # noqa: E402
from infrastructure.net.guard import UrlGuard  # noqa: E402
from infrastructure.notifiers.webhook import WebhookNotifier  # noqa: E402

MAX_PENDING = 1000  # WebhookNotifier's default max_pending
from infrastructure.settings import Settings  # noqa: E402
from tests.fakes import FakeClients, FakeDownloadClient  # noqa: E402

SECTION_START = "<!-- bench.events: start -->"
SECTION_END = "<!-- bench.events: end -->"
GOAL_P99_MS = 1000.0  # issue 6 (informative): client change -> SSE event, p99
MIN_DISPATCH_RATIO = 0.8  # issue 6 (informative): (c) >= 0.8 x (a)
API_KEY = "0123456789abcdef0123456789abcdef"
WARMUP = 10  # SSE samples (items, bare frames) measured first and left out
SIZE = 1_000_000_000  # bytes per fake download
CONFIGS: tuple[tuple[str, str], ...] = (
    ("bare", "(a) bare `MemoryQueueRepository`, no bus (reference)"),
    ("bus", "(b) `PublishingRepository` + `EventBus`, no consumer"),
    ("full", "(c) + Metrics, webhook -> slow receiver, failing notifier, live subscription"),
)


# -- shared ------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95),
            "p99": percentile(ms, 99), "max": max(ms), "mean": statistics.fmean(ms)}


def info_hash(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()


class CountingHandler(logging.Handler):
    """Counts the records at WARNING and above, by logger and level."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[f"{record.levelname} {record.name}"] += 1


def quiet_production_logging() -> tuple[CountingHandler, Any]:
    """Logging as `queuarr serve` sets it up (INFO, formatter, redaction filter), the
    stream sent to /dev/null: records are formatted (tracebacks too) but not shown."""
    configure_logging("INFO")
    sink = open(os.devnull, "w")  # noqa: SIM115 (closed in main)
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sink)
    counter = CountingHandler()
    root.addHandler(counter)
    return counter, sink


# -- 1. dispatch throughput with and without notifications ---------------------------------


class YieldingClient(FakeDownloadClient):
    """The fake client, its `add` taking one turn of the event loop first, as a real
    client's request (and a SQL repository's write) does."""

    async def add(self, item: QueueItem, torrent: bytes | None) -> str:
        await asyncio.sleep(0)
        return await super().add(item, torrent)


class NoopNotifier:
    """Takes every event and does nothing: the cost of a bus channel itself."""

    name = "noop"

    async def notify(self, event: QueueEvent) -> None:
        return None


class FailingNotifier:
    name = "failing"

    async def notify(self, event: QueueEvent) -> None:
        raise RuntimeError(f"bench: this notifier always fails (event {event.id})")


@dataclass
class LiveCount:
    frames: int = 0
    bytes: int = 0


async def sse_like(subscription: Any, clock: SystemClock, seen: LiveCount) -> None:
    """What GET /api/v3/queue/stream does with each event, without the socket."""
    async for event in stream(subscription, 15.0):
        if event is None:
            continue
        frame = (f"id: {event.id}\nevent: {event.type.value}\n".encode() + b"data: "
                 + dumps(event_json(event, clock.now())) + b"\n\n")
        seen.frames += 1
        seen.bytes += len(frame)


def new_item(n: int, now: datetime) -> NewItem:
    title = f"Bench.Movie.{n:05d}.2020.1080p.WEB-DL.x264-GRP"
    return NewItem(title=title, source=SourceKind.MAGNET, protocol=DownloadProtocol.TORRENT,
                   added_at=now, info_hash=info_hash(f"dispatch-{n}"), movie_id=n + 1,
                   movie=MovieInfo(title=f"Bench Movie {n}"), size=SIZE, indexer="bench")


async def seeded(m: int, clock: SystemClock) -> MemoryQueueRepository:
    repo = MemoryQueueRepository(clock)
    now = clock.now()
    for n in range(m):
        await repo.add(new_item(n, now), HistoryEvent("grabbed"))
    return repo


@dataclass
class Receiver:
    """The slow webhook target: a subprocess (so that its work is not on our loop or
    under our GIL) answering every POST after `delay` seconds; GET /count says how many
    POSTs it has had."""

    delay: float
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.events", "--webhook-receiver", str(self.port),
             "--receiver-delay", str(self.delay)],
            cwd=ROOT, start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"webhook receiver exited with {self.proc.returncode}")
            with contextlib.suppress(httpx.HTTPError, ValueError):
                self.count()
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("webhook receiver did not start")

    def count(self) -> int:
        return int(httpx.get(f"http://127.0.0.1:{self.port}/count", timeout=2).text)

    async def acount(self) -> int:
        async with httpx.AsyncClient(timeout=5) as http:
            return int((await http.get(f"http://127.0.0.1:{self.port}/count")).text)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


async def receive_webhooks(port: int, delay: float) -> None:
    """The receiver's server: HTTP/1.1 keep-alive, Content-Length bodies only."""
    count = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                if head.startswith(b"GET /count"):
                    body = str(count).encode()
                else:
                    count += 1
                    await asyncio.sleep(delay)
                    body = b""
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=256)
    async with server:
        await server.serve_forever()


CONSUMERS: dict[str, tuple[str, ...] | None] = {
    "bare": None, "bus": (), "full": ("metrics", "webhook", "failing", "live"),
    "noop": ("noop",), "metrics": ("metrics",), "webhook": ("webhook",),
    "failing": ("failing",), "live": ("live",),
}
# One consumer at a time (add yields only): where (c)'s overhead comes from.
ATTRIBUTION: tuple[tuple[str, str], ...] = (
    ("noop", "(b) + a notifier that does nothing (a bus channel's own cost)"),
    ("metrics", "(b) + `Metrics` only"),
    ("webhook", "(b) + `WebhookNotifier` -> slow receiver only"),
    ("failing", "(b) + the always-raising notifier only"),
    ("live", "(b) + one live SSE-like subscription only"),
)


async def dispatch_run(config: str, m: int, yielding: bool, receiver: Receiver,
                       drain: bool) -> dict[str, Any]:
    """One dispatch pass of m queued items in `config` (a key of CONSUMERS); its figures."""
    consumers = CONSUMERS[config]
    clock = SystemClock()
    inner = await seeded(m, clock)
    client = YieldingClient("fake") if yielding else FakeDownloadClient("fake")
    bus: EventBus | None = None
    items: Any = inner
    webhook: WebhookNotifier | None = None
    subscription = consumer = None
    live = LiveCount()
    if consumers is not None:
        bus = EventBus(clock)
        items = PublishingRepository(inner, bus)
        if "noop" in consumers:
            bus.add(NoopNotifier())
        if "metrics" in consumers:
            bus.add(Metrics())
        if "webhook" in consumers:
            targets = MemoryNotificationRepository()
            await targets.add(NotificationConfig(0, "bench receiver", receiver.url))
            webhook = WebhookNotifier(targets, UrlGuard(
                allow_private=True, setting="QUEUARR_ALLOW_PRIVATE_WEBHOOKS"))
            webhook.render = lambda event: event_json(event, clock.now())  # as the app does
            bus.add(webhook)
        if "failing" in consumers:
            bus.add(FailingNotifier())
        if "live" in consumers:
            subscription = bus.subscribe()
            consumer = asyncio.get_running_loop().create_task(
                sse_like(subscription, clock, live))
        bus.start()
        await asyncio.sleep(0)
    processor = Processor(items, FakeClients(client), clock, "bench",
                          ProcessorConfig(max_active=10**6), events=bus)
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    sent = await processor.dispatch()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    counts = await inner.counts()
    out: dict[str, Any] = {
        "config": config, "yielding": yielding, "items": m, "sent": len(sent),
        "downloading": counts.total(states=frozenset({ItemState.DOWNLOADING})),
        "wall_s": wall, "cpu_s": cpu, "per_s": len(sent) / wall,
        "published": bus.published if bus else 0, "notifiers": {},
    }
    if bus is None:
        return out
    if webhook is not None:
        handed = bus.stats()["webhook"].delivered
        out["at_end"] = {"webhook_pending": handed - webhook.delivered - webhook.failed
                         - webhook.dropped,
                         "webhook_delivered": webhook.delivered}
    t1 = time.perf_counter()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(30):
            await bus.drained()  # every notifier's queue handled
            while subscription is not None and subscription.queue.qsize():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    out["bus_drained_s"] = time.perf_counter() - t1
    if webhook is not None and drain:
        posted = webhook.delivered + webhook.failed
        c1, t1 = time.process_time(), time.perf_counter()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(120):
                await webhook.drained()
        out["webhook_drained_s"] = time.perf_counter() - t1
        out["webhook_drain_cpu_us_per_post"] = (time.process_time() - c1) / max(
            webhook.delivered + webhook.failed - posted, 1) * 1e6
        out["receiver_count"] = await receiver.acount()
    out["notifiers"] = {name: vars(s).copy() for name, s in bus.stats().items()}
    if webhook is not None:
        out["webhook"] = {"delivered": webhook.delivered, "failed": webhook.failed,
                          "retried": webhook.retried}
    if subscription is not None and consumer is not None:
        out["live"] = {"frames": live.frames, "bytes": live.bytes,
                       "dropped": subscription.dropped}
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
        subscription.close()
    await bus.aclose()
    if webhook is not None:
        await webhook.aclose()
    return out


async def measure_dispatch(m: int, repeats: int, receiver: Receiver,
                           say: Callable[[str], None]) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    noise: list[float] = []
    for yielding in (True, False):
        kind = "add yields" if yielding else "add never yields"
        for round_ in range(repeats):
            last = round_ == repeats - 1
            with Noise() as round_noise:
                got = {}
                configs = [*CONFIGS, *(ATTRIBUTION if yielding else ())]
                for config, _ in configs:
                    run = await dispatch_run(config, m, yielding, receiver, drain=False)
                    run["round"] = round_
                    runs.append(run)
                    got[config] = run
            noise.append(round_noise.percent)
            say(f"dispatch, {kind}, round {round_ + 1}/{repeats} (others "
                f"{round_noise.percent:.0f} % of a core): " + ", ".join(
                    f"{c} {r['per_s']:,.0f}/s" for c, r in got.items()))
            if last and yielding:  # one more (c) run, its webhook backlog counted
                before = await receiver.acount()
                run = await dispatch_run("full", m, yielding, receiver, drain=True)
                run["round"] = "drain"
                run["receiver_count"] -= before
                runs.append(run)
                say(f"dispatch, {kind}, (c) with the webhook backlog drained: "
                    f"{run['per_s']:,.0f}/s; {run['receiver_count']:,} POSTs received, "
                    f"backlog drained in {run['webhook_drained_s']:.1f} s")
    summary: dict[str, Any] = {}
    for yielding in (True, False):
        for config, _ in [*CONFIGS, *(ATTRIBUTION if yielding else ())]:
            mine = [r for r in runs if r["config"] == config and r["yielding"] == yielding
                    and r["round"] != "drain"]
            best = max(mine, key=lambda r: r["per_s"])
            summary[f"{config}/{'yield' if yielding else 'noyield'}"] = {
                "per_s": best["per_s"],
                "median_per_s": statistics.median(r["per_s"] for r in mine),
                "us_per_item": best["wall_s"] / best["sent"] * 1e6,
                "cpu_us_per_item": min(r["cpu_s"] / r["sent"] for r in mine) * 1e6,
                "spread_pct": 100 * (best["per_s"] - min(r["per_s"] for r in mine))
                / best["per_s"],
                "runs": len(mine),
            }
    return {"runs": runs, "summary": summary, "noise_pct": noise}


# -- 2. client change -> SSE frame --------------------------------------------------------


class Reader:
    """Follows one SSE stream; stamps (perf_counter) each frame when its closing blank
    line has been read, and resolves the future waiting for a `completed` frame's key."""

    def __init__(self, key: Callable[[Any], int]) -> None:
        self.key = key
        self.counts: Counter[str] = Counter()
        self.sizes: dict[str, list[int]] = {}
        self.waiting: dict[int, asyncio.Future[float]] = {}
        self.ready = asyncio.Event()
        self.late: list[int] = []  # completed frames nobody waited for

    def expect(self, key: int) -> asyncio.Future[float]:
        future = asyncio.get_running_loop().create_future()
        self.waiting[key] = future
        return future

    async def follow(self, url: str, headers: dict[str, str]) -> None:
        async with httpx.AsyncClient(timeout=60) as http, http.stream(
                "GET", url, headers=headers) as response:
            response.raise_for_status()
            event, data, size = None, None, 0
            async for line in response.aiter_lines():
                if line:
                    size += len(line) + 1
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        data = line[6:]
                    continue
                at = time.perf_counter()
                if event is not None:
                    self.counts[event] += 1
                    self.sizes.setdefault(event, []).append(size + 1)
                    if event == "status":
                        self.ready.set()
                    elif event == "completed" and data is not None:
                        key = self.key(orjson.loads(data))
                        future = self.waiting.pop(key, None)
                        if future is None:
                            self.late.append(key)
                        elif not future.done():
                            future.set_result(at)
                event, data, size = None, None, 0

    async def until(self, event: str, count: int) -> None:
        async with asyncio.timeout(30):
            while self.counts[event] < count:  # noqa: ASYNC110 (frames come in bursts)
                await asyncio.sleep(0.005)


def bare_app(queue: asyncio.Queue[int], pad: list[str]) -> Starlette:
    """The reference: a frame written as soon as the queue receives an item."""

    async def follow(request: Request) -> StreamingResponse:
        async def frames() -> Any:
            yield b"retry: 3000\n\n"
            yield b"event: status\ndata: {}\n\n"
            while True:
                n = await queue.get()
                yield (b"id: %d\nevent: completed\ndata: " % n
                       + orjson.dumps({"eventType": "completed", "queueItem": {"id": n},
                                       "pad": pad[0]}) + b"\n\n")

        return StreamingResponse(frames(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    return Starlette(routes=[Route("/stream", follow)])


def build_container(data_dir: Path, clock: SystemClock, clients: FakeClients
                    ) -> Container:
    """The app's container as tests/api/conftest.py's make_api builds it (memory
    repositories, an EventBus with Metrics and a WebhookNotifier), on the system clock."""
    settings = Settings(data_dir=data_dir, api_key=API_KEY, managed_aria2="false",
                        allow_private_webhooks=True)
    stores = Stores.memory(clock)
    webhook = WebhookNotifier(stores.notifications, UrlGuard(
        allow_private=True, setting="QUEUARR_ALLOW_PRIVATE_WEBHOOKS"))
    return assemble(settings, clock, API_KEY, stores, notifiers=[webhook], clients=clients,
                    guard_urls=False)


async def serve(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off",
                                           log_level="warning", access_log=False,
                                           timeout_graceful_shutdown=3))
    task = asyncio.get_running_loop().create_task(server.serve())
    async with asyncio.timeout(15):
        while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
            await asyncio.sleep(0.01)
    return server, task, f"http://127.0.0.1:{port}"


async def stop(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            await task


async def measure_sse(n: int, say: Callable[[str], None]) -> dict[str, Any]:
    clock = SystemClock()
    client = FakeDownloadClient("aria2")
    total = n + WARMUP
    out: dict[str, Any] = {"items": n, "warmup": WARMUP}
    with tempfile.TemporaryDirectory(prefix="queuarr-bench-events-") as tmp:
        container = build_container(Path(tmp), clock, FakeClients(client))
        app = create_app(container=container)
        assert container.events is not None
        processor = Processor(container.queue.items, FakeClients(client), clock,
                              "bench-events", ProcessorConfig(max_active=10**6),
                              events=container.events)
        queue: asyncio.Queue[int] = asyncio.Queue()
        pad = [""]
        ours = Reader(lambda data: int(data["queueItem"]["id"]))
        bare = Reader(lambda data: int(data["queueItem"]["id"]))
        async with app.router.lifespan_context(app):
            server, task, base = await serve(app)
            bare_server, bare_task, bare_base = await serve(bare_app(queue, pad))
            loop = asyncio.get_running_loop()
            readers = [
                loop.create_task(ours.follow(base + "/api/v3/queue/stream",
                                             {"X-Api-Key": API_KEY})),
                loop.create_task(bare.follow(bare_base + "/stream", {})),
            ]
            try:
                async with asyncio.timeout(15):
                    await ours.ready.wait()
                    await bare.ready.wait()
                say(f"SSE: app and bare reference served; grabbing {total} items through "
                    "the API")
                async with httpx.AsyncClient(base_url=base, timeout=30,
                                             headers={"X-Api-Key": API_KEY}) as http:
                    t0 = time.perf_counter()
                    for k in range(total):
                        title = f"Bench.Events.{k:04d}.2021.1080p.BluRay.x264-GRP"
                        link = (f"magnet:?xt=urn:btih:{info_hash(f'sse-{k}')}"
                                f"&dn={quote(title)}&xl={SIZE}")
                        response = await http.post("/api/v3/queue/grab", json={
                            "downloadUrl": link, "title": title, "movieId": 1000 + k})
                        if response.status_code != 201:
                            raise RuntimeError(f"grab answered {response.status_code}: "
                                               f"{response.text[:300]}")
                    out["grab_s"] = time.perf_counter() - t0
                await ours.until("grabbed", total)
                sent = await processor.dispatch()
                await ours.until("sent", total)
                tracked = sorted(await processor.items.tracked(), key=lambda i: i.id)
                if len(sent) != total or len(tracked) != total:
                    raise RuntimeError(f"dispatched {len(sent)}, tracked {len(tracked)} of "
                                       f"{total}")
                sizes = ours.sizes["sent"]
                pad[0] = "x" * max(0, int(statistics.median(sizes)) - 90)
                say(f"SSE: {total} items downloading; timing {n} completions (+{WARMUP} "
                    "warm-up), each followed by a bare frame")
                latency, sync_part, after_sync, bare_latency = [], [], [], []
                with Noise() as noise:
                    for k, item in enumerate(tracked):
                        future = ours.expect(item.id)
                        t0 = time.perf_counter()
                        client.advance(item.download_id or "", SIZE)
                        changed = await processor.sync()
                        t1 = time.perf_counter()
                        async with asyncio.timeout(10):
                            at = await future
                        if changed != 1:
                            raise RuntimeError(f"sync changed {changed} items, not 1")
                        future = bare.expect(k)
                        b0 = time.perf_counter()
                        queue.put_nowait(k)
                        async with asyncio.timeout(10):
                            b_at = await future
                        if k >= WARMUP:
                            latency.append(at - t0)
                            sync_part.append(t1 - t0)
                            after_sync.append(at - t1)
                            bare_latency.append(b_at - b0)
                out["noise_pct"] = noise.percent
                await asyncio.sleep(0.2)  # frames that should not come
                out["frames"] = dict(ours.counts)
                out["bare_frames"] = dict(bare.counts)
                out["late"] = len(ours.late) + len(bare.late)
                out["frame_bytes"] = {e: statistics.median(s) for e, s in ours.sizes.items()}
                out["bare_frame_bytes"] = statistics.median(bare.sizes["completed"])
                out["ours"] = summary_ms(latency)
                out["sync"] = summary_ms(sync_part)
                out["after_sync"] = summary_ms(after_sync)
                out["bare"] = summary_ms(bare_latency)
                out["published"] = container.events.published
                out["notifiers"] = {k: vars(s).copy()
                                    for k, s in container.events.stats().items()}
            finally:
                for reader in readers:
                    reader.cancel()
                await asyncio.gather(*readers, return_exceptions=True)
                await stop(server, task)
                await stop(bare_server, bare_task)
        await container.aclose()
    return out


# -- checks and report ---------------------------------------------------------------------


def checks(results: dict[str, Any]) -> list[dict[str, Any]]:
    s, d = results["sse"], results["dispatch"]
    total = s["items"] + s["warmup"]
    out = Checks()
    add = out.add
    add("issue 6: client change -> SSE `completed` frame, p99", s["ours"]["p99"], "<=",
        GOAL_P99_MS, "ms", True)
    summ = d["summary"]
    add("issue 6: dispatch items/s, (c) all consumers ÷ (a) bare, client add yields "
        "(headline)", ratio(summ["full/yield"]["per_s"], summ["bare/yield"]["per_s"]), ">=",
        MIN_DISPATCH_RATIO, "x", True)
    add("dispatch items/s, (c) ÷ (a), client add never yields (publish cost only)",
        ratio(summ["full/noyield"]["per_s"], summ["bare/noyield"]["per_s"]), ">=",
        MIN_DISPATCH_RATIO, "x", True)
    frames = s["frames"]
    add(f"SSE: grabbed, sent and completed frames, one each for the {total} items",
        1.0 if all(frames.get(e) == total for e in ("grabbed", "sent", "completed"))
        and s["late"] == 0 else 0.0, ">=", 1.0, "bool")
    runs = d["runs"]
    add("dispatch: every pass sent all its items (state downloading)",
        1.0 if all(r["sent"] == r["items"] == r["downloading"] for r in runs) else 0.0,
        ">=", 1.0, "bool")
    full_yield = [r for r in runs if r["config"] == "full" and r["yielding"]]
    add("(c), add yields: no event dropped by a notifier's queue (metrics, webhook, "
        "failing)", float(sum(n["dropped"] for r in full_yield
                              for n in r["notifiers"].values())), "<=", 0.0, "count")
    ok = all(r["notifiers"]["failing"]["failed"] == r["published"]
             and r["notifiers"]["metrics"]["delivered"] == r["published"]
             and r["notifiers"]["webhook"]["delivered"] == r["published"]
             and r["live"]["frames"] + r["live"]["dropped"] == r["published"]
             for r in full_yield)
    add("(c), add yields: failures of the failing notifier, deliveries to Metrics and to "
        "the webhook, live frames + live drops: each equals the events published",
        1.0 if ok else 0.0, ">=", 1.0, "bool")
    live = [r for r in runs if r["config"] in ("full", "live") and r["yielding"]]
    add("add yields: events dropped by the live subscription, worst pass (it is bounded "
        "and may drop; 0 means it kept up)",
        float(max(r["live"]["dropped"] for r in live)), "<=", 0.0, "count", True)
    drained = [r for r in runs if r["round"] == "drain" and r["yielding"]]
    add("(c), add yields: after draining, the receiver got one POST per event",
        1.0 if drained and all(r["receiver_count"] == r["published"]
                               == r["webhook"]["delivered"] for r in drained) else 0.0,
        ">=", 1.0, "bool")
    return out


def _fmt(value: float | None, unit: str, op: str = "") -> str:
    if unit == "bool":
        text = "-" if value is None else "yes" if value >= 1 else "no"
        return "yes" if op else text
    if value is None:
        return "-"
    if unit == "x":
        text = f"{value:.2f} x"
    elif unit == "ms":
        text = f"{value:,.2f} ms"
    else:
        text = f"{value:,.0f}"
    return f"{op} {text}" if op else text


def _ms(value: float) -> str:
    return f"{value:,.1f}" if value >= 100 else f"{value:.2f}"


def render(results: dict[str, Any]) -> str:
    env, s, d = results["environment"], results["sse"], results["dispatch"]
    pkgs = ", ".join(f"{k} {v}" for k, v in env["packages"].items())
    summ = d["summary"]
    m = env["dispatch_items"]
    out = [
        SECTION_START,
        "## Events out: client change -> SSE latency, notifications vs dispatch (issue 6)",
        "",
        f"- {env['when']} on {env['host']}: {env['cpu']}, {env['cpus']} CPUs; Python "
        f"{env['python']}, event loop {env['loop']}; {env['idle_before_pct']:.0f} % idle "
        "before the run" + (" (`--quick`)" if env["quick"] else ""),
        f"- {pkgs}",
        f"- One process, one event loop: the app, its uvicorn, the SSE readers, the "
        "processor. Logging as `queuarr serve` sets it (INFO), written to /dev/null; "
        f"whole benchmark {results['elapsed_s']:.0f} s",
        "",
        "### 1. Client change -> SSE `completed` frame",
        "",
        f"{s['items']} items (after {s['warmup']} warm-up ones) grabbed through the API, "
        "dispatched, then completed one at a time: `FakeDownloadClient.advance` + "
        "`processor.sync()`; timed from just before the change to the reader having read "
        "the frame. Bare: a minimal Starlette SSE endpoint on uvicorn writing a frame of "
        f"the same size ({s['bare_frame_bytes']:,.0f} B; ours "
        f"{s['frame_bytes'].get('completed', 0):,.0f} B) as soon as an asyncio.Queue gets "
        "an item, interleaved sample by sample. Other processes: "
        f"{s['noise_pct']:.0f} % of a core.",
        "",
    ]
    rows = []
    for key, label in (("ours", "**ours: client change -> frame read**"),
                       ("sync", "ours, of which `processor.sync()`"),
                       ("after_sync", "ours, of which publish -> frame read"),
                       ("bare", "bare: queue put -> frame read")):
        x = s[key]
        rows.append([label, str(x["n"]), _ms(x["p50"]), _ms(x["p95"]), _ms(x["p99"]),
                     _ms(x["max"]), "-" if key == "bare" else
                     f"{x['p99'] / s['bare']['p99']:.2f}"])
    out.append(_table(["path", "samples", "p50 ms", "p95 ms", "p99 ms", "max ms",
                       "p99 ÷ bare p99"], rows))
    out += [
        "",
        f"- **p99 {s['ours']['p99']:.2f} ms** from a client change to the SSE event "
        f"(p50 {s['ours']['p50']:.2f} ms), **{s['ours']['p99'] / s['bare']['p99']:.1f} x** "
        f"the bare SSE endpoint's p99 ({s['bare']['p99']:.2f} ms) measured in the same run; "
        f"goal p99 <= {GOAL_P99_MS:,.0f} ms.",
        f"- `sync()` follows all {s['items'] + s['warmup']} downloading items each time "
        "(one changes); the memory repository does not yield, so the frame is written "
        "only once `sync()` has returned.",
        "",
        f"### 2. Dispatch throughput with notifications ({m:,} queued items, one pass)",
        "",
        f"`Processor.dispatch()` with `ProcessorConfig(max_active=10**6)`, best of "
        f"{env['repeats']} rounds (configurations interleaved). (c)'s webhook target "
        f"answers after {env['receiver_delay_ms']:.0f} ms (a subprocess); the webhook "
        "sends 8 at a time. \"add yields\": the fake client's `add` awaits "
        "`asyncio.sleep(0)` first, as real I/O does, so the consumers run during the "
        "pass (the headline); \"never yields\": the fake as it is, the pass is one step "
        "and measures publishing alone.",
        "",
    ]
    rows = []
    for mode, mode_label in (("yield", "yields"), ("noyield", "never yields")):
        bare = summ[f"bare/{mode}"]
        for config, label in [*CONFIGS, *(ATTRIBUTION if mode == "yield" else ())]:
            x = summ[f"{config}/{mode}"]
            rows.append([label, mode_label, f"{x['per_s']:,.0f}", f"{x['median_per_s']:,.0f}",
                         f"{x['us_per_item']:.1f}",
                         f"{x['us_per_item'] - bare['us_per_item']:+.1f}",
                         f"{x['cpu_us_per_item']:.1f}", f"{x['spread_pct']:.1f} %",
                         "-" if config == "bare" else f"{x['per_s'] / bare['per_s']:.2f}"])
    out.append(_table(["configuration", "client add", "items/s (best)", "items/s (median)",
                       "µs/item (best)", "µs/item vs (a)", "CPU µs/item", "worst vs best",
                       "÷ (a)"], rows))
    y, ny = summ["full/yield"], summ["full/noyield"]

    def over_bus(name: str) -> float:
        return float(summ[f"{name}/yield"]["us_per_item"] - summ["bus/yield"]["us_per_item"])

    out += [
        "",
        f"- Overhead with every consumer, client add yields: **(c) ÷ (a) = "
        f"{y['per_s'] / summ['bare/yield']['per_s']:.2f}** "
        f"({y['us_per_item'] - summ['bare/yield']['us_per_item']:+.1f} µs per item sent); "
        f"publishing alone, (b) ÷ (a) = "
        f"{summ['bus/yield']['per_s'] / summ['bare/yield']['per_s']:.2f}; "
        f"never yields: (c) ÷ (a) = {ny['per_s'] / summ['bare/noyield']['per_s']:.2f}, "
        f"(b) ÷ (a) = {summ['bus/noyield']['per_s'] / summ['bare/noyield']['per_s']:.2f}. "
        f"Goal (c) >= {MIN_DISPATCH_RATIO} x (a).",
        "- Where (c)'s cost comes from, one consumer at a time (add yields, µs per item "
        "over (b)): " + ", ".join(f"{name} {over_bus(name):+.1f}" for name, _ in ATTRIBUTION)
        + f"; all together {over_bus('full'):+.1f}.",
        "- The bare memory repository's `update` copies and scans the whole item map per "
        "write, so (a)'s cost per item grows with the queue; the added µs per item is the "
        "figure that does not depend on it.",
        "",
        "### (c) event accounting",
        "",
    ]
    rows = []
    for r in (r for r in d["runs"] if r["config"] == "full"):
        n = r["notifiers"]
        rows.append([
            ("yields" if r["yielding"] else "never yields") + (
                ", drained" if r["round"] == "drain" else f", round {r['round'] + 1}"),
            f"{r['published']:,}",
            f"{n['metrics']['delivered']:,} / {n['metrics']['dropped']:,}",
            f"{n['failing']['failed']:,} / {n['failing']['dropped']:,}",
            f"{n['webhook']['delivered']:,} / {n['webhook']['dropped']:,}",
            f"{r['at_end']['webhook_pending']:,}",
            f"{r['at_end']['webhook_delivered']:,}",
            f"{r['live']['frames']:,} / {r['live']['dropped']:,}",
            f"{r['bus_drained_s']:.2f}",
            "-" if "webhook_drained_s" not in r else
            f"{r['webhook']['delivered']:,} in {r['webhook_drained_s']:.1f} s, "
            f"receiver {r['receiver_count']:,}; "
            f"{r['webhook_drain_cpu_us_per_post']:.0f} µs CPU per POST"])
    out.append(_table(["run", "events", "metrics delivered / dropped",
                       "failing failed / dropped", "webhook handed / dropped",
                       "webhook POSTs pending at pass end", "POSTed by pass end",
                       "live frames / dropped", "bus queues empty after s",
                       "webhook backlog drained"], rows))
    logs = results["log_records"]
    out += ["", "- Log records at WARNING and above over the whole run: " + (
        ", ".join(f"{k} {v:,}" for k, v in sorted(logs.items())) or "none") + "."]
    out += ["", "### Targets (issue 6)", ""]
    out.append(targets_table(results["checks"], _fmt))
    out += checks_and_notes(results, "Problems")
    out.append(SECTION_END)
    return "\n".join(out)


def write(results: dict[str, Any], text: str, out: Path) -> tuple[Path, Path, Path]:
    return write_section(results, text, out, "events", SECTION_START, SECTION_END)


# -- command line ------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench --only events",
        description="Client change -> SSE event latency and the overhead of notifications "
                    "on dispatch throughput (see bench/events.py).")
    p.add_argument("--quick", action="store_true",
                   help="50 SSE items, 500 dispatch items, 2 rounds")
    p.add_argument("--items", type=int, default=None,
                   help="SSE items timed (default 200, --quick 50)")
    p.add_argument("--dispatch-items", type=int, default=None,
                   help="queued items per dispatch pass (default 2000, --quick 500)")
    p.add_argument("--repeats", type=int, default=None,
                   help="dispatch rounds per mode, best kept (default 5, --quick 2)")
    p.add_argument("--receiver-delay", type=float, default=0.05,
                   help="seconds the webhook receiver waits before answering (0.05)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--webhook-receiver", type=int, default=None, help=argparse.SUPPRESS)
    return p


def event_loop_factory() -> tuple[Callable[[], asyncio.AbstractEventLoop], str]:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop, "asyncio"
    return uvloop.new_event_loop, f"uvloop {uvloop.__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    factory, loop_name = event_loop_factory()
    if args.webhook_receiver is not None:
        with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(
                loop_factory=factory) as runner:
            runner.run(receive_webhooks(args.webhook_receiver, args.receiver_delay))
        return 0
    n = args.items or (50 if args.quick else 200)
    m = args.dispatch_items or (500 if args.quick else 2000)
    repeats = args.repeats or (2 if args.quick else 5)
    if not (10 <= n <= 900 and 50 <= m <= 50_000 and 1 <= repeats <= 20):
        p.error("need 10 <= items <= 900, 50 <= dispatch-items <= 50000, "
                "1 <= repeats <= 20")
    started = time.monotonic()
    say = narrator("events")

    idle = machine_idle_percent(0.5)
    counter, sink = quiet_production_logging()
    results: dict[str, Any] = {"notes": [], "problems": []}
    receiver = Receiver(args.receiver_delay).start()
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            say(f"dispatch: {m:,} items per pass, {repeats} rounds per mode")
            results["dispatch"] = runner.run(measure_dispatch(m, repeats, receiver, say))
            say(f"SSE latency: {n} items")
            results["sse"] = runner.run(measure_sse(n, say))
    finally:
        receiver.stop()
        logging.getLogger().removeHandler(counter)
        sink.close()
    results["log_records"] = dict(counter.counts)
    results["environment"] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(), "cpu": cpu_model(), "cpus": os.cpu_count(),
        "python": platform.python_version(), "loop": loop_name,
        "idle_before_pct": round(idle, 1), "quick": args.quick, "sse_items": n,
        "dispatch_items": m, "repeats": repeats,
        "receiver_delay_ms": args.receiver_delay * 1000,
        "packages": {k: package_version(k) for k in ("uvicorn", "starlette", "fastapi",
                                                     "httpx", "httptools")},
    }
    noise = max([*results["dispatch"]["noise_pct"], results["sse"]["noise_pct"]])
    if noise > 25:
        results["notes"].append(
            f"other processes used up to {noise:.0f} % of a core during a measurement: "
            "rerun on a quiet machine to confirm a marginal result")
    full = [r for r in results["dispatch"]["runs"] if r["config"] == "full" and r["yielding"]]
    pending = max(r["at_end"]["webhook_pending"] for r in full)
    dropped = max(r["notifiers"]["webhook"]["dropped"] for r in full)
    if pending > MAX_PENDING:
        results["problems"].append(
            f"the webhook had {pending:,} POSTs pending when a pass ended, past its bound "
            f"of {MAX_PENDING:,} (WebhookNotifier.max_pending)")
    elif dropped:
        results["notes"].append(
            f"the webhook's bus channel dropped {dropped:,} events (its queue was full)")
    live = [r for r in results["dispatch"]["runs"] if r["config"] == "live" and r["yielding"]]
    lost = max(r["live"]["dropped"] for r in live)
    if lost:
        results["problems"].append(
            f"a live subscription alone dropped {lost:,} of {m:,} events in a pass whose "
            "client add yields once per item, while every notifier channel kept up: "
            "`Subscription.get` (core/events.py) wraps each read in `asyncio.wait_for("
            "self.queue.get(), wait)`, which on Python 3.11 makes a Task and a timer per "
            "event and takes about three loop turns per event even when events are "
            "waiting; the SSE stream (`core.events.stream`) reads through it, so it "
            "falls behind any producer that publishes once per loop turn and drops "
            "events once 1,000 are behind")
    summ = results["dispatch"]["summary"]
    failing = summ["failing/yield"]["us_per_item"] - summ["noop/yield"]["us_per_item"]
    errors = sum(v for k, v in counter.counts.items() if k == "ERROR core.events")
    if failing > 20 and errors:
        results["problems"].append(
            f"a notifier that always fails costs {failing:.0f} µs of the loop per event "
            "more than a bus channel that does nothing: `EventBus._notify` logs "
            "`log.exception` (a formatted traceback) for every failed event, with no "
            f"rate limit ({errors:,} ERROR records from core.events in this run)")
    noyield = [r for r in results["dispatch"]["runs"] if r["config"] == "full"
               and not r["yielding"]]
    dropped = max(sum(x["dropped"] for x in r["notifiers"].values()) + r["live"]["dropped"]
                  for r in noyield)
    if dropped:
        results["notes"].append(
            f"never-yields mode: up to {dropped:,} events dropped per (c) pass: the pass "
            "publishes all its events before any consumer runs, so each bounded queue "
            "(1,000) overflows; an artefact of a pass that never yields (a SQL repository "
            "yields on every write), shown to size the publish cost alone")
    if args.quick:
        results["notes"].append(f"`--quick`: {n} SSE items, {m:,} dispatch items, "
                                f"{repeats} rounds; a full run uses 200, 2,000 and 5")
    results["elapsed_s"] = time.monotonic() - started
    results["checks"] = checks(results)
    publish(results, render(results), write, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
