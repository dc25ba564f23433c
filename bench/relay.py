"""Events across processes (infrastructure/event_relay.py): how long an event published
in one process takes to reach a live subscription in another, and how many events a burst
gets through per second, each against raw asyncpg LISTEN/NOTIFY measured in the same run.

`python -m bench --only relay [--quick]` (or `python -m bench.relay`). The section is
appended to bench/results/latest.md (replacing an earlier section of this benchmark there),
and the figures are written to bench/results/relay-<UTC time>.json and .md.

Two "processes" are wired as tests/infrastructure/test_event_relay.py wires them: two
`EventBus`es (the real `SystemClock`), each with a `PostgresEventRelay` on a fresh
Postgres database (`queuarr_bench_relay_<hex>`, created and dropped by this benchmark; the
relay needs no tables) and a channel of this run's own; each measurement reads a
subscription of its own on bus B, as the SSE endpoint reads it (`Subscription.get`). Both
live in this one process, on one event loop (uvloop when installed): A's sending and B's
receiving share a core, which two real processes would not.

1. **Latency.** N events (default 1,000; `--quick` 200; after 20 warm-up ones), one at a
   time: `bus_a.publish(PROGRESS, item)` -> `await sub_b.get(...)` returns it (a default
   subscription, `bus.subscribe()`). The items are realistic (bench/seed.py's generator
   moved to downloading/warning/completed states, each event a distinct item so that
   nothing is coalesced), ~0.9 KB payloads. A lone event goes in the relay's one statement
   (`SELECT pg_notify($1, payload) FROM unnest($2::text[])`, one payload). Bare reference,
   interleaved sample by sample: `SELECT pg_notify($1, $2)` on one asyncpg connection -> an
   `add_listener` callback on another connection setting an asyncio future (timed to the
   callback), with the very payload the relay sent for that sample.
2. **Throughput.** A burst of B events (default 5,000; distinct items, so nothing is
   coalesced) published on A: (i) in one step, as `PublishingRepository` publishes the
   events of one multi-item write (a bulk removal: DELETE /api/v3/queue/bulk,
   core/service.py `remove_many`); (ii) one publish per turn of the event loop
   (`asyncio.sleep(0)`): faster than any real producer, whose every write awaits the
   database (`processor.sync()` writes and publishes one item at a time). A's relay
   channel (a bus queue of `PostgresEventRelay.queue_size` events) hands the relay every
   event waiting, up to `core.events.BATCH` per `notify_many` call, and the relay sends
   them in one statement. B's subscription holds the whole burst: a reader that keeps up,
   so that the figure is the relay's throughput. (iii) Informative: (i) again, read from a
   default subscription (1,000, as the SSE route subscribes), by the same reader: whether
   it fell more than 1,000 behind, dropped what was waiting (`Subscription.dropped`) and was flagged
   (`take_stale()`, on which the stream sends `reset`).
   events/s = events read from B's subscription ÷ (last read - first publish). Bare, the
   same payloads heard by a listener on another connection: (a) one raw `pg_notify` per
   event, awaited one after another on one connection; (b) `BATCH` payloads per statement
   (`SELECT pg_notify($1, p) FROM unnest($2::text[]) p`), statements awaited one after
   another: the fairest reference for the relay's batched sending. `--repeats` rounds
   (default 3), best kept.

Targets: relay p99 <= 50 ms (informative: a remote stream should feel live). Gating: no
event lost in the latency run; every event of a burst accounted for (on A: sent + dropped +
failed + timed out = published; B heard every event A sent; on B: read + dropped by the
subscription = relayed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import logging
import os
import platform
import random
import secrets
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # core, infrastructure
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from bench import seed  # noqa: E402
from bench.events import (  # noqa: E402
    event_loop_factory,
    quiet_production_logging,
    summary_ms,
)
from bench.procs import Noise, cpu_model, machine_idle_percent, package_version  # noqa: E402
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
from core.domain import ItemState, QueueItem  # noqa: E402
from core.events import BATCH, EventBus, EventType, QueueEvent, Subscription  # noqa: E402
from infrastructure.clock import SystemClock  # noqa: E402
from infrastructure.event_relay import PostgresEventRelay, decode, encode  # noqa: E402

SECTION_START = "<!-- bench.relay: start -->"
SECTION_END = "<!-- bench.relay: end -->"
GOAL_P99_MS = 50.0  # informative: a remote live stream should feel live
WARMUP = 20  # latency samples (each side) measured first and left out
WAIT = 2.0  # seconds a latency sample waits for its event before it counts as lost
QUIET = 3.0  # seconds a burst waits for its last events
STATES = ((ItemState.DOWNLOADING, 0.7), (ItemState.WARNING, 0.2), (ItemState.COMPLETED, 0.1))
BARE_MANY = "SELECT pg_notify($1, p) FROM unnest($2::text[]) p"
# Burst modes: the bare references, then the relay's.
BARE_ONE, BARE_BATCHED = "bare", "bare batched"
ONE_STEP, YIELDS, DEFAULT_SUB = "one step", "yields", "one step, default subscription"
RELAY_MODES = (ONE_STEP, YIELDS, DEFAULT_SUB)


# -- items and wiring ----------------------------------------------------------------------


def items(count: int) -> list[QueueItem]:
    """Realistic queue items (bench/seed.py's generator, moved to the states live events
    are about), ids 1..count."""
    rng = random.Random(20261121)
    out = []
    for i, new in enumerate(seed.new_items(0, count)):
        r, state = rng.random(), ItemState.DOWNLOADING
        for candidate, share in STATES:
            if r < share:
                state = candidate
                break
            r -= share
        out.append(replace(seed._advance(new, state, rng), id=i + 1))
    return out


@dataclass
class Side:
    """One "process": a bus and its relay; on A the relay's statements counted, on B the
    times its listener was called."""

    bus: EventBus
    relay: PostgresEventRelay
    heard: Heard | None = None
    sent: Sent | None = None


async def open_side(url: str, channel: str, receiver: bool) -> Side:
    """A bus and its relay as bootstrap.build() wires them (default queue sizes: the
    relay's channel holds `PostgresEventRelay.queue_size`); the receiver (B) gets its
    listener timed, the sender (A) its `notify_many` calls counted."""
    async def read_item(_item_id: int) -> QueueItem | None:  # never needed: ~1 KB items
        return None

    bus = EventBus(SystemClock())
    relay = PostgresEventRelay(url, bus, read_item, channel=channel)
    bus.add(relay)
    side = Side(bus, relay)
    try:
        # Before start(): the listener, and the bus's delivery task, then use the wrappers.
        if receiver:
            side.heard = Heard(relay)
        else:
            side.sent = Sent(relay)
        bus.start()
        relay.start()
        await asyncio.wait_for(relay.listening(), 10)
    except BaseException:
        await close_side(side)
        raise
    return side


async def close_side(side: Side) -> None:
    await side.bus.aclose()
    await side.relay.aclose()


class Heard:
    """Bench instrumentation of B's relay: when its listener callback was last called
    (wraps the instance's `_heard` before it starts listening; the class is untouched)."""

    def __init__(self, relay: PostgresEventRelay) -> None:
        inner = relay._heard

        def heard(conn: Any, pid: int, channel: str, payload: str) -> None:
            now = time.perf_counter()
            inner(conn, pid, channel, payload)
            self.last = now

        self.last = 0.0
        relay._heard = heard  # type: ignore[method-assign]


class Sent:
    """Bench instrumentation of A's relay: `notify_many` calls (one statement each) and the
    events handed to them (wraps the instance's method before the bus's delivery task
    looks it up; the class is untouched)."""

    def __init__(self, relay: PostgresEventRelay) -> None:
        inner = relay.notify_many

        async def notify_many(events: list[QueueEvent]) -> None:
            self.calls += 1
            self.events += len(events)
            self.largest = max(self.largest, len(events))
            await inner(events)

        self.calls = self.events = self.largest = 0
        relay.notify_many = notify_many  # type: ignore[method-assign]


class BareListener:
    """The bare reference's receiving side: counts notifications; resolves `future`
    (latency) or, once `target` have been heard, `done` (throughput)."""

    def __init__(self) -> None:
        self.count = 0
        self.target = 0
        self.future: asyncio.Future[None] | None = None
        self.last = 0.0

    def __call__(self, _conn: Any, _pid: int, _channel: str, _payload: str) -> None:
        self.count += 1
        self.last = time.perf_counter()
        future = self.future
        if future is not None and not future.done() and (
                not self.target or self.count >= self.target):
            future.set_result(None)


@dataclass
class Bare:
    send: asyncpg.Connection
    listen: asyncpg.Connection
    channel: str
    listener: BareListener

    @classmethod
    async def open(cls, dsn: str) -> Bare:
        channel = f"bench_bare_{uuid.uuid4().hex[:12]}"
        send = await asyncpg.connect(dsn, timeout=10)
        listen = await asyncpg.connect(dsn, timeout=10)
        listener = BareListener()
        await listen.add_listener(channel, listener)
        return cls(send, listen, channel, listener)

    async def notify(self, payload: str) -> None:
        await self.send.execute("SELECT pg_notify($1, $2)", self.channel, payload)

    async def notify_many(self, payloads: list[str]) -> None:
        await self.send.execute(BARE_MANY, self.channel, payloads)

    async def close(self) -> None:
        for conn in (self.send, self.listen):
            await conn.close(timeout=2)


def snapshot(side: Side) -> dict[str, Any]:
    out = {"channel": dataclasses.asdict(side.bus.stats()["relay"]),
           "relay": dataclasses.asdict(side.relay.stats),
           "published": side.bus.published, "relayed": side.bus.relayed}
    if side.sent is not None:
        out["statements"] = side.sent.calls
        out["handed"] = side.sent.events
    return out


def delta(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    return {k: delta(v, before[k]) if isinstance(v, dict) else v - before[k]
            for k, v in after.items()}


# -- 1. latency ----------------------------------------------------------------------------


async def relay_sample(a: Side, b: Side, sub: Subscription, item: QueueItem
                       ) -> tuple[float | None, float | None, int]:
    """publish on A -> read on B: (seconds, seconds until B's listener was called, events
    read that were not this one); None when it did not arrive within WAIT."""
    assert b.heard is not None
    heard = b.heard
    late = 0
    t0 = time.perf_counter()
    a.bus.publish(EventType.PROGRESS, item)
    while True:
        event = await sub.get(WAIT)
        if event is None:
            return None, None, late
        if event.item is not None and event.item.id == item.id:
            t1 = time.perf_counter()
            return t1 - t0, heard.last - t0, late
        late += 1


async def bare_sample(bare: Bare, payload: str) -> float | None:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()
    bare.listener.target, bare.listener.future = 0, future
    t0 = time.perf_counter()
    await bare.notify(payload)
    try:
        await asyncio.wait_for(future, WAIT)
    except TimeoutError:
        return None
    # Timed to the callback (not to this coroutine resuming, which also waits for the
    # NOTIFY's own reply on the sending connection): a shade in the bare path's favour.
    return bare.listener.last - t0


async def measure_latency(a: Side, b: Side, bare: Bare, pool: list[QueueItem], n: int,
                          say: Callable[[str], None]) -> dict[str, Any]:
    ours: list[float] = []
    transport: list[float] = []
    after_heard: list[float] = []
    bare_s: list[float] = []
    lost = late = bare_lost = 0
    sizes: list[int] = []
    sub = b.bus.subscribe()  # as the SSE route subscribes
    before = (snapshot(a), snapshot(b))
    say(f"latency: {n} samples (+{WARMUP} warm-up), relay and bare interleaved")
    gc.collect()
    try:
        with Noise() as noise:
            for k, item in enumerate(pool[:n + WARMUP]):
                payload, _ = encode(QueueEvent(0, EventType.PROGRESS, a.bus.clock.now(),
                                               item), a.relay.origin)
                seconds, to_heard, extra = await relay_sample(a, b, sub, item)
                late += extra
                bare_seconds = await bare_sample(bare, payload)
                if k < WARMUP:
                    continue
                sizes.append(len(payload.encode()))
                if seconds is None:
                    lost += 1
                else:
                    ours.append(seconds)
                    if to_heard is not None and 0 < to_heard <= seconds:
                        transport.append(to_heard)
                        after_heard.append(seconds - to_heard)
                if bare_seconds is None:
                    bare_lost += 1
                else:
                    bare_s.append(bare_seconds)
        after = (snapshot(a), snapshot(b))
        # Anything that arrived after its sample gave up is read now (counted as late).
        while await sub.get(0.2) is not None:
            late += 1
    finally:
        sub.close()
    return {
        "samples": n, "warmup": WARMUP, "lost": lost, "late": late, "bare_lost": bare_lost,
        "subscription_size": sub.queue.maxsize, "subscription_dropped": sub.dropped,
        "payload_bytes": {"mean": statistics.fmean(sizes), "min": min(sizes),
                          "max": max(sizes)},
        "ours": summary_ms(ours) if ours else None,
        "transport": summary_ms(transport) if transport else None,
        "after_heard": summary_ms(after_heard) if after_heard else None,
        "bare": summary_ms(bare_s) if bare_s else None,
        "a": delta(after[0], before[0]), "b": delta(after[1], before[1]),
        "noise_pct": noise.percent, "noise_top": noise.top,
    }


# -- 2. throughput -------------------------------------------------------------------------


async def relay_burst(a: Side, b: Side, burst: list[QueueItem], mode: str
                      ) -> dict[str, Any]:
    """One burst published on A, read on B from a fresh subscription: one that holds the
    whole burst, or (DEFAULT_SUB) a default one, as the SSE route subscribes."""
    assert a.sent is not None
    yields = mode == YIELDS
    sub = b.bus.subscribe() if mode == DEFAULT_SUB else b.bus.subscribe(len(burst))
    before = (snapshot(a), snapshot(b))
    a.sent.largest = 0
    arrived = peak = 0
    last = 0.0
    expected = len(burst) + 1  # until A's channel has said how many it sent
    all_in = asyncio.Event()

    async def reader() -> None:
        nonlocal arrived, last, peak
        while True:
            event = await sub.get(60)
            if event is not None:
                arrived += 1
                last = time.perf_counter()
                peak = max(peak, sub.queue.qsize() + 1)  # waiting when the reader ran
                if arrived + sub.dropped >= expected:
                    all_in.set()

    task = asyncio.get_running_loop().create_task(reader())
    try:
        await asyncio.sleep(0)
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        for item in burst:
            a.bus.publish(EventType.PROGRESS, item)
            if yields:
                await asyncio.sleep(0)
        published_s = time.perf_counter() - t0
        await a.bus.drained()  # each event sent, dropped or failed by A's relay channel
        sent_s = time.perf_counter() - t0
        expected = a.bus.stats()["relay"].delivered - before[0]["channel"]["delivered"]
        if arrived + sub.dropped >= expected:
            all_in.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_in.wait(), QUIET)
        cpu = time.process_time() - c0
        await asyncio.sleep(0.2)  # anything more (there should be nothing)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        sub.close()
    after = (snapshot(a), snapshot(b))
    seconds = (last - t0) if arrived else None
    return {"mode": mode, "events": len(burst), "arrived": arrived,
            "sub_size": sub.queue.maxsize, "sub_dropped": sub.dropped,
            "overflowed": sub.take_stale(), "peak_waiting": peak,
            "largest_batch": a.sent.largest,
            "published_s": published_s, "sent_s": sent_s,
            "seconds": seconds, "per_s": arrived / seconds if seconds else 0.0,
            "cpu_us_per_event": cpu * 1e6 / max(arrived, 1),
            "a": delta(after[0], before[0]), "b": delta(after[1], before[1])}


async def bare_burst(bare: Bare, payloads: list[str], batched: bool) -> dict[str, Any]:
    """The payloads as raw NOTIFYs: one statement each, or BATCH per statement; the
    statements awaited one after another on one connection, heard on another."""
    loop = asyncio.get_running_loop()
    listener = bare.listener
    listener.count = 0
    listener.target = len(payloads)
    listener.future = loop.create_future()
    chunks = [payloads[i:i + BATCH] for i in range(0, len(payloads), BATCH)]
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    if batched:
        for chunk in chunks:
            await bare.notify_many(chunk)
    else:
        for payload in payloads:
            await bare.notify(payload)
    sent_s = time.perf_counter() - t0
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(listener.future, QUIET)
    cpu = time.process_time() - c0
    seconds = listener.last - t0 if listener.count else None
    listener.target, listener.future = 0, None
    return {"mode": BARE_BATCHED if batched else BARE_ONE, "events": len(payloads),
            "arrived": listener.count, "statements": len(chunks) if batched else len(payloads),
            "largest_batch": BATCH if batched else 1, "sent_s": sent_s, "seconds": seconds,
            "per_s": listener.count / seconds if seconds else 0.0,
            "cpu_us_per_event": cpu * 1e6 / max(listener.count, 1)}


async def measure_throughput(a: Side, b: Side, bare: Bare, pool: list[QueueItem],
                             size: int, repeats: int, first_id: int,
                             say: Callable[[str], None]) -> dict[str, Any]:
    say(f"throughput: bursts of {size:,} events, {repeats} round(s) of bare one by one, "
        f"bare {BATCH} per statement, relay in one step, relay yielding, relay in one step "
        "read from a default subscription")
    next_id = first_id
    runs: list[dict[str, Any]] = []
    payloads = [encode(QueueEvent(0, EventType.PROGRESS, a.bus.clock.now(), item),
                       a.relay.origin)[0] for item in pool[:size]]
    with Noise() as noise:
        for round_ in range(repeats):
            for batched in (False, True):
                run = await bare_burst(bare, payloads, batched)
                run["round"] = round_
                runs.append(run)
            for mode in RELAY_MODES:
                # Fresh item ids each burst: A's channel coalesces progress of one item
                # within 1 s, and nothing here may be coalesced.
                burst = [replace(item, id=next_id + i) for i, item in enumerate(pool[:size])]
                next_id += size
                run = await relay_burst(a, b, burst, mode)
                run["round"] = round_
                runs.append(run)
            # Let A's own echoes (its listener hears its own NOTIFYs) settle.
            await asyncio.sleep(0.2)
    best = {}
    for mode in (BARE_ONE, BARE_BATCHED, *RELAY_MODES):
        mine = [r for r in runs if r["mode"] == mode]
        top = max(mine, key=lambda r: r["per_s"])
        best[mode] = {"best_per_s": top["per_s"],
                      "median_per_s": statistics.median(r["per_s"] for r in mine),
                      "best_run": top}
    return {"size": size, "repeats": repeats, "batch": BATCH, "runs": runs, "best": best,
            "noise_pct": noise.percent, "noise_top": noise.top}


def codec_cost(a: Side, pool: list[QueueItem], k: int = 2000) -> dict[str, float]:
    """µs of this process's CPU to encode a payload (A's `notify_many`), to decode one
    (B's listener, for every event of another process) and to skip one of one's own,
    heard back (A's listener: the origin prefix, nothing decoded)."""
    events = [QueueEvent(0, EventType.PROGRESS, a.bus.clock.now(), item) for item in pool[:k]]
    t0 = time.process_time()
    payloads = [encode(e, a.relay.origin)[0] for e in events]
    t1 = time.process_time()
    for p in payloads:
        decode(p)
    t2 = time.process_time()
    heard, received = a.relay._heard, a.relay.stats.received
    for p in payloads:
        heard(None, 0, a.relay.channel, p)
    t3 = time.process_time()
    if a.relay.stats.received != received:
        raise RuntimeError("A's relay took its own events for another process's")
    return {"encode_us": (t1 - t0) * 1e6 / len(events),
            "decode_us": (t2 - t1) * 1e6 / len(events),
            "own_skip_us": (t3 - t2) * 1e6 / len(events)}


async def measure(dsn: str, n: int, size: int, repeats: int, say: Callable[[str], None]
                  ) -> dict[str, Any]:
    pool = items(max(n + WARMUP, size))
    channel = f"queuarr_bench_{uuid.uuid4().hex[:12]}"
    a = await open_side(dsn, channel, receiver=False)
    b: Side | None = None
    bare: Bare | None = None
    try:
        b = await open_side(dsn, channel, receiver=True)
        bare = await Bare.open(dsn)
        pg = {"server_version": await bare.send.fetchval("SHOW server_version")}
        out: dict[str, Any] = {"postgres": pg, "channel_queue_size": a.relay.queue_size,
                               "batch": BATCH}
        out["latency"] = await measure_latency(a, b, bare, pool, n, say)
        out["default_subscription_size"] = out["latency"]["subscription_size"]
        out["throughput"] = await measure_throughput(a, b, bare, pool, size, repeats,
                                                     len(pool) + 1, say)
        out["codec"] = codec_cost(a, pool)
        return out
    finally:
        if bare is not None:
            await bare.close()
        if b is not None:
            await close_side(b)
        await close_side(a)


# -- checks and report ---------------------------------------------------------------------


def accounted(run: dict[str, Any]) -> bool:
    """Every event of a relay burst: on A sent, dropped, failed or timed out; B heard
    every event A sent and relayed it; read from B's subscription or dropped by it."""
    chan, b = run["a"]["channel"], run["b"]
    return (sum(chan[k] for k in ("delivered", "dropped", "failed", "timed_out"))
            == run["events"]
            and chan["delivered"] == run["a"]["relay"]["sent"] == b["relay"]["received"]
            == b["relayed"] == run["arrived"] + run["sub_dropped"])


def checks(results: dict[str, Any]) -> list[dict[str, Any]]:
    lat, thr = results["latency"], results["throughput"]
    size, queue = thr["size"], results["channel_queue_size"]
    out = Checks()
    add = out.add
    add("relay p99 latency, publish on A -> read from a subscription on B",
        lat["ours"] and lat["ours"]["p99"], "<=", GOAL_P99_MS, "ms", True)
    add(f"latency run: events lost (not read on B within {WAIT:g} s)",
        float(lat["lost"]), "<=", 0.0, "count")
    add("latency run: events read late, out of turn or twice", float(lat["late"]), "<=",
        0.0, "count")
    add("latency run: every payload carried its item (none sent by id)",
        float(lat["a"]["relay"]["by_reference"]), "<=", 0.0, "count", True)
    add("latency run: A's relay channel dropped or failed nothing",
        float(lat["a"]["channel"]["dropped"] + lat["a"]["channel"]["failed"]
              + lat["a"]["channel"]["timed_out"]), "<=", 0.0, "count")
    add("bare references: every raw NOTIFY heard (latency, bursts one by one and batched)",
        1.0 if lat["bare_lost"] == 0 and all(
            r["arrived"] == r["events"] for r in thr["runs"]
            if r["mode"] in (BARE_ONE, BARE_BATCHED)) else 0.0, ">=", 1.0, "bool")
    relay_runs = [r for r in thr["runs"] if r["mode"] in RELAY_MODES]
    add("bursts: every event accounted for (on A: sent + dropped + failed + timed out = "
        "published; B heard every event A sent; on B: read + dropped by the subscription "
        "= relayed)", 1.0 if all(accounted(r) for r in relay_runs) else 0.0, ">=", 1.0,
        "bool")
    add(f"bursts read from a subscription holding the whole burst ({size:,}): events it "
        "dropped, worst round",
        float(max(r["sub_dropped"] for r in relay_runs if r["mode"] != DEFAULT_SUB)), "<=",
        0.0, "count")
    for mode in (ONE_STEP, YIELDS):
        worst = max(r["a"]["channel"]["dropped"] for r in relay_runs if r["mode"] == mode)
        add(f"burst of {size:,}, {mode}: events dropped by A's relay channel (queue "
            f"{queue:,}), worst round", float(worst), "<=", 0.0, "count", True)
    default = [r for r in relay_runs if r["mode"] == DEFAULT_SUB]
    add(f"burst of {size:,}, one step, default subscription "
        f"({results['default_subscription_size']:,}): every round that dropped events was "
        "flagged stale (`take_stale()`: the stream sends `reset`)",
        1.0 if all(r["overflowed"] or not r["sub_dropped"] for r in default) else 0.0,
        ">=", 1.0, "bool", True)
    return out


def _fmt(value: float | None, unit: str, op: str = "") -> str:
    if unit == "bool":
        text = "-" if value is None else "yes" if value >= 1 else "no"
        return "yes" if op else text
    if value is None:
        return "-"
    text = f"{value:,.2f} ms" if unit == "ms" else f"{value:,.0f}"
    return f"{op} {text}" if op else text


def _ms(value: float) -> str:
    return f"{value:,.1f}" if value >= 100 else f"{value:.2f}"


def _per_statement(runs: list[dict[str, Any]]) -> str:
    """Events per statement: the mean over the rounds, and the largest."""
    if runs[0]["mode"] in (BARE_ONE, BARE_BATCHED):
        mean = sum(r["events"] for r in runs) / sum(r["statements"] for r in runs)
    else:
        mean = (sum(r["a"]["handed"] for r in runs)
                / max(sum(r["a"]["statements"] for r in runs), 1))
    return f"{mean:,.0f} (max {max(r['largest_batch'] for r in runs):,})"


def render(results: dict[str, Any]) -> str:
    env, lat, thr = results["environment"], results["latency"], results["throughput"]
    pkgs = ", ".join(f"{k} {v}" for k, v in env["packages"].items())
    size, batch, queue = thr["size"], thr["batch"], results["channel_queue_size"]
    dsize = results["default_subscription_size"]
    pay = lat["payload_bytes"]
    out = [
        SECTION_START,
        "## Events across processes: the Postgres LISTEN/NOTIFY relay",
        "",
        f"- {env['when']} on {env['host']}: {env['cpu']}, {env['cpus']} CPUs; Python "
        f"{env['python']}, event loop {env['loop']}; {env['idle_before_pct']:.0f} % idle "
        "before the run" + (" (`--quick`)" if env["quick"] else ""),
        f"- PostgreSQL {results['postgres']['server_version']} (fresh database, no tables); "
        f"{pkgs}",
        "- Two \"processes\" (an `EventBus` + `PostgresEventRelay` each, as "
        "tests/infrastructure/test_event_relay.py wires them) in this one process, on one "
        "event loop: A's sending and B's receiving share one core. Logging as `queuarr "
        "serve` sets it (INFO), written to /dev/null; whole benchmark "
        f"{results['elapsed_s']:.0f} s",
        "",
        "### 1. Latency: publish on A -> read from a subscription on B, one at a time",
        "",
        f"{lat['samples']:,} progress events (after {lat['warmup']} warm-up ones), each for "
        f"a distinct realistic item (payload {pay['mean']:,.0f} B, {pay['min']:,} to "
        f"{pay['max']:,}), read from a default subscription ({lat['subscription_size']:,}); "
        "the relay sends a lone event in its one statement (`SELECT pg_notify($1, payload) "
        "FROM unnest($2::text[])`, one payload). Bare: `SELECT pg_notify($1, $2)` on one "
        "asyncpg connection -> an `add_listener` callback on another (timed to the "
        "callback), with the same payload, interleaved sample by sample. Other processes: "
        f"{lat['noise_pct']:.0f} % of a core.",
        "",
    ]
    rows = []
    for key, label in (("ours", "**relay: publish on A -> `subscription.get` on B**"),
                       ("transport", "relay, of which publish -> B's listener called"),
                       ("after_heard", "relay, of which B's listener -> read"),
                       ("bare", "bare: pg_notify -> listener callback")):
        x = lat[key]
        if x is None:
            continue
        versus = [f"{x[q] / lat['bare'][q]:.2f}" if key != "bare" and lat["bare"] else "-"
                  for q in ("p50", "p99")]
        rows.append([label, f"{x['n']:,}", _ms(x["p50"]), _ms(x["p95"]), _ms(x["p99"]),
                     _ms(x["max"]), *versus])
    out.append(_table(["path", "samples", "p50 ms", "p95 ms", "p99 ms", "max ms",
                       "p50 ÷ bare p50", "p99 ÷ bare p99"], rows))
    if lat["ours"] and lat["bare"]:
        out += [
            "",
            f"- **relay p99 {lat['ours']['p99']:.2f} ms** (p50 {lat['ours']['p50']:.2f} ms, "
            f"max {lat['ours']['max']:.2f} ms): **{lat['ours']['p99'] / lat['bare']['p99']:.2f}"
            f" x** the bare NOTIFY's p99 ({lat['bare']['p99']:.2f} ms) in the same run; "
            f"goal p99 <= {GOAL_P99_MS:.0f} ms. Lost {lat['lost']}, late {lat['late']}. "
            f"Medians: {lat['ours']['p50'] / lat['bare']['p50']:.2f} x bare. A p99 of "
            f"{lat['samples']:,} samples rests on its few worst samples: on a shared 2-core "
            "box it follows the other processes' load more than the code (the median ratio "
            "is the steadier figure).",
        ]
    codec = results["codec"]
    out += [
        f"- CPU per event in this process: encode {codec['encode_us']:.0f} µs (A's "
        "`notify_many`: `item_to_wire`, the download URL blanked in the wire row, "
        f"`orjson`); decode {codec['decode_us']:.0f} µs (B's listener, for every event of "
        f"another process); {codec['own_skip_us']:.1f} µs to skip one of its own events "
        "heard back (A listens on the connection it sends on: the payload's origin prefix "
        "is checked, nothing decoded).",
        "",
        f"### 2. Throughput: a burst of {size:,} events on A until read on B",
        "",
        f"Distinct items (nothing coalesced). \"one step\": the {size:,} `publish` calls in "
        "one turn of the loop, as `PublishingRepository` publishes one multi-item write "
        "(a bulk removal); \"yields\": `asyncio.sleep(0)` after each publish, faster than "
        "any real producer (`processor.sync()` awaits a database write per item and "
        "event, which this benchmark does not model). A's relay channel holds "
        f"{queue:,} events (`PostgresEventRelay.queue_size`) and hands the relay every "
        f"event waiting, up to {batch:,} (`core.events.BATCH`) per `notify_many` call, "
        "sent in one `SELECT pg_notify($1, payload) FROM unnest($2::text[])`. B's "
        f"subscription holds the whole burst ({size:,}): a reader that keeps up, so that "
        "events/s is the relay's; the informative last relay row reads a default "
        f"subscription ({dsize:,}, as `GET /api/v3/queue/stream` subscribes) instead, "
        "with the same reader. events/s = events read on B ÷ (last read - first "
        f"publish); best of {thr['repeats']} round(s). Bare, the same payloads heard by "
        f"a listener on another connection: {size:,} raw `pg_notify` statements, and "
        f"{-(-size // batch):,} statements of {batch:,} (`SELECT pg_notify($1, p) FROM "
        "unnest($2::text[]) p`), each awaited before the next on one connection. CPU is "
        f"this process's. Other processes: {thr['noise_pct']:.0f} % of a core.",
        "",
    ]
    best = thr["best"]
    bare_one, bare_many = best[BARE_ONE]["best_per_s"], best[BARE_BATCHED]["best_per_s"]
    rows = []
    for mode, label in ((ONE_STEP, "relay, published in one step"),
                        (YIELDS, "relay, one publish per loop turn"),
                        (DEFAULT_SUB, "relay, one step, default subscription (info)"),
                        (BARE_ONE, "bare: one pg_notify per statement"),
                        (BARE_BATCHED, f"bare: {batch:,} pg_notify per statement")):
        bst = best[mode]
        r = bst["best_run"]
        mine = [x for x in thr["runs"] if x["mode"] == mode]
        if mode in (BARE_ONE, BARE_BATCHED):
            acct = ["-"] * 7
        else:
            chan = [x["a"]["channel"] for x in mine]
            over = sum(1 for x in mine if x["overflowed"])
            acct = [f"{max(c['dropped'] for c in chan):,}",
                    f"{max(c['failed'] + c['timed_out'] for c in chan):,}",
                    f"{r['sub_size']:,}", f"{max(x['peak_waiting'] for x in mine):,}",
                    f"{max(x['sub_dropped'] for x in mine):,}",
                    f"{over} of {len(mine)}", f"{r['sent_s'] * 1000:,.0f}"]
        # With events dropped by the subscription, events/s is not a throughput figure.
        valid = not any(x.get("sub_dropped") for x in mine)
        rate = [f"{bst['best_per_s']:,.0f}", f"{bst['median_per_s']:,.0f}"] if valid \
            else ["-", "-"]
        versus = [f"{ratio(bst['best_per_s'], ref):.2f}" if valid and ref and mode not in
                  (BARE_ONE, BARE_BATCHED) else "-" for ref in (bare_one, bare_many)]
        rows.append([label, f"{r['events']:,}", f"{min(x['arrived'] for x in mine):,}",
                     *acct[:6], _per_statement(mine), acct[6], *rate, *versus,
                     f"{r['cpu_us_per_event']:.0f}" if valid else "-"])
    out.append(_table(["path", "events", "read on B (worst)",
                       "dropped by A's channel (worst)", "failed (worst)",
                       "B's subscription holds", "most waiting in it (worst)",
                       "dropped by it (worst)", "flagged overflowed",
                       "events per statement", "A's channel drained after ms",
                       "events/s (best)", "events/s (median)", "÷ bare one by one",
                       "÷ bare batched", "CPU µs per event read"], rows))
    one, yld = best[ONE_STEP]["best_per_s"], best[YIELDS]["best_per_s"]
    default = [x for x in thr["runs"] if x["mode"] == DEFAULT_SUB]
    worst_drop = max(x["sub_dropped"] for x in default)
    worst_peak = max(x["peak_waiting"] for x in default)
    if worst_drop:
        dropping = [x for x in default if x["sub_dropped"]]
        flagged = sum(1 for x in dropping if x["overflowed"])
        fate = (f"fell more than {dsize:,} behind in {len(dropping)} of {len(default)} "
                f"round(s): it dropped up to {worst_drop:,} waiting events and was flagged "
                f"overflowed in {flagged} of them. That is the designed behaviour: the "
                "stream then sends `reset` (api/routers/stream.py) and its client reads the "
                "queue afresh. (Its events/s is left out: with events dropped it is not a "
                "throughput figure.)")
    else:
        fate = (f"kept up in every round (at most {worst_peak:,} of {dsize:,} waiting when "
                "the reader ran): nothing dropped, no `reset`. Whether it overflows "
                "depends on how many NOTIFYs B takes in before its reader gets a turn "
                "(the whole-burst rows' \"most waiting\" column); the SSE route also "
                "renders and writes a frame per event, which this reader does not.")
    out += [
        "",
        f"- Relay throughput ÷ bare one by one ({bare_one:,.0f} NOTIFY/s): one step "
        f"{ratio(one, bare_one):.2f}, yields {ratio(yld, bare_one):.2f}; ÷ bare batched "
        f"({bare_many:,.0f} NOTIFY/s, {batch:,} per statement): one step "
        f"{ratio(one, bare_many):.2f}, yields {ratio(yld, bare_many):.2f}. The relay "
        "sends what its channel holds in one statement (events per statement above); "
        "over the bare paths it adds per event the bus channel hop and encoding on A, "
        "decoding, `EventBus.relay` and `Subscription.offer` on B, and on A skipping its "
        "own NOTIFYs heard back (by their origin prefix). CPU per event read is this "
        "whole process's: A, B and the reader.",
        f"- A default subscription ({dsize:,}) read by the same reader in a one-step "
        f"burst {fate}",
        "",
        "### Targets",
        "",
    ]
    out.append(targets_table(results["checks"], _fmt))
    out += checks_and_notes(results, "Problems")
    out.append(SECTION_END)
    return "\n".join(out)


def write(results: dict[str, Any], text: str, out: Path) -> tuple[Path, Path, Path]:
    return write_section(results, text, out, "relay", SECTION_START, SECTION_END)


# -- command line ------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench --only relay",
        description="Latency and throughput of the Postgres event relay between two "
                    "processes, against raw LISTEN/NOTIFY (see bench/relay.py).")
    p.add_argument("--quick", action="store_true",
                   help="200 latency samples, bursts of 2,000, 1 round")
    p.add_argument("--samples", type=int, default=None,
                   help="latency samples (default 1000, --quick 200)")
    p.add_argument("--burst", type=int, default=None,
                   help="events per burst (default 5000, --quick 2000)")
    p.add_argument("--repeats", type=int, default=None,
                   help="burst rounds, best kept (default 3, --quick 1)")
    p.add_argument("--pg-admin-dsn", default=os.environ.get(
        "BENCH_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test"),
        help="libpq DSN of an existing database, used to CREATE/DROP "
             "queuarr_bench_relay_*")
    p.add_argument("--keep", action="store_true", help="keep the database")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    return p


def notes(results: dict[str, Any]) -> None:
    lat, thr = results["latency"], results["throughput"]
    size, queue = thr["size"], results["channel_queue_size"]
    dropped = {mode: max(r["a"]["channel"]["dropped"] for r in thr["runs"]
                         if r["mode"] == mode) for mode in (ONE_STEP, YIELDS)}
    if any(dropped.values()):
        results["notes"].append(
            f"events lost to the other processes in a burst of {size:,}: A's relay channel "
            f"dropped up to {dropped[ONE_STEP]:,} (published in one step) and "
            f"{dropped[YIELDS]:,} (one publish per loop turn), counted in "
            "`bus.stats()['relay'].dropped`: the channel holds "
            f"{queue:,} events (`PostgresEventRelay.queue_size`), and whatever a burst "
            "publishes beyond that faster than the relay sends is lost to the other "
            "processes' live streams and leader-only notifiers (the publishing process's "
            "own streams get everything). Production code unchanged.")
    if lat["ours"] and lat["bare"] and lat["ours"]["p99"] > 3 * lat["bare"]["p99"]:
        results["notes"].append(
            f"relay p99 is {lat['ours']['p99'] / lat['bare']['p99']:.1f} x bare (medians "
            f"{lat['ours']['p50'] / lat['bare']['p50']:.1f} x): the relay path adds A's bus "
            "channel hop and encoding, and on B decoding, `EventBus.relay` and "
            "`Subscription.get`; both sides share this process's loop here, and the tail "
            "moves with other processes' load (see the noise figures)")
    noise = max(lat["noise_pct"], thr["noise_pct"])
    if noise > 25:
        top = lat["noise_top"] if lat["noise_pct"] >= thr["noise_pct"] else thr["noise_top"]
        results["notes"].append(
            f"other processes used up to {noise:.0f} % of a core during a measurement ("
            + ", ".join(f"{name} {pct:.0f} %" for name, pct in top)
            + "): rerun on a quiet machine to confirm a marginal result")



def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    n = args.samples or (200 if args.quick else 1000)
    size = args.burst or (2000 if args.quick else 5000)
    repeats = args.repeats or (1 if args.quick else 3)
    if not (20 <= n <= 20_000 and 100 <= size <= 100_000 and 1 <= repeats <= 20):
        p.error("need 20 <= samples <= 20000, 100 <= burst <= 100000, 1 <= repeats <= 20")
    started = time.monotonic()
    say = narrator("relay")

    factory, loop_name = event_loop_factory()
    idle = machine_idle_percent(0.5)
    database = f"queuarr_bench_relay_{secrets.token_hex(4)}"
    say(f"database {database}")
    seed.pg_recreate(args.pg_admin_dsn, database)
    counter, sink = quiet_production_logging()
    results: dict[str, Any] = {"notes": [], "problems": []}
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            results |= runner.run(measure(seed.pg_dsn(args.pg_admin_dsn, database), n,
                                          size, repeats, say))
    finally:
        logging.getLogger().removeHandler(counter)
        sink.close()
        if not args.keep:
            seed.pg_drop(args.pg_admin_dsn, database)
            say(f"dropped {database}")
    results["log_records"] = dict(counter.counts)
    results["environment"] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(), "cpu": cpu_model(), "cpus": os.cpu_count(),
        "python": platform.python_version(), "loop": loop_name,
        "idle_before_pct": round(idle, 1), "quick": args.quick, "samples": n,
        "burst": size, "repeats": repeats, "database": database,
        "packages": {k: package_version(k) for k in ("asyncpg", "orjson", "uvloop")},
    }
    notes(results)
    if results["log_records"]:
        results["notes"].append("log records at WARNING and above: " + ", ".join(
            f"{k} {v:,}" for k, v in sorted(results["log_records"].items())))
    if args.quick:
        results["notes"].append(f"`--quick`: {n} latency samples, bursts of {size:,}, "
                                f"{repeats} round(s); a full run uses 1,000, 5,000 and 3")
    results["elapsed_s"] = time.monotonic() - started
    results["checks"] = checks(results)
    publish(results, render(results), write, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
