"""The Telegram bot (issue 14's closing figures): `python -m bench --only telegram
[--quick]` (or `python -m bench.telegram`); see bench/README.md. Everything is loopback,
against the fake Bot API of the tests (tests/notifiers/fake_bot_api.py). No targets:
informative.

1. **Updates handled per second.** N link messages (one magnet each, spread over 20
   allowed users so that no one hits the per-user flood limit) pushed at once, through
   the real python-telegram-bot Application (TelegramBot over a memory-store container):
   from the push to the N-th answer sent. Bare reference, same run, same fake: plain
   httpx getUpdates (offset, limit 100) + one sendMessage per update, no Queuarr.
2. **Summary edit cadence** under 10 active downloads: a Processor with a
   FakeDownloadClient, every download advanced a little and `sync()` run each (scaled)
   second; the events reach the TelegramNotifier (edit_every 5 s) through the container's
   bus. A clock running SCALE times faster than real time (the notifier's ticks are
   shortened by the same factor), WINDOW scaled seconds; the intervals between
   editMessageText calls to the chat, read on that clock.
3. **Memory.** RSS of `queuarr serve` (SQLite, fresh data dir) with the bot on (polling
   the fake) vs off, once idle, and after M link messages / M API grabs."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.events import percentile
from bench.procs import Server, cpu_model, free_port
from bench.report import _num, _table, narrator, publish, ratio, write_section
from core.intake import Intake, Source
from core.processor import Processor
from core.processor_base import ProcessorConfig
from infrastructure.bootstrap import Stores, assemble
from infrastructure.clock import SystemClock
from infrastructure.notifiers.telegram import TelegramNotifier
from infrastructure.settings import Settings
from infrastructure.telegram.access import Access
from infrastructure.telegram.bot import TelegramBot
from infrastructure.telegram.services import BotServices
from tests.fakes import FakeClients, FakeDownloadClient
from tests.notifiers.fake_bot_api import FakeBotApi, ThreadedBotApi

ROOT = Path(__file__).resolve().parent.parent
KEY = "0123456789abcdef0123456789abcdef"
TOKEN = "123456:BENCH-token"
USERS = list(range(2001, 2021))  # 20 allowed users
CHAT = -100777  # the notifier's chat
SCALE = 10.0  # the cadence run's clock speed
SECTION_START, SECTION_END = "<!-- bench.telegram: start -->", "<!-- bench.telegram: end -->"


def magnet(name: str) -> str:
    return f"magnet:?xt=urn:btih:{hashlib.sha1(name.encode()).hexdigest()}&dn={name}"


async def _until(condition: Any, what: str, ceiling: float = 120) -> None:
    deadline = time.monotonic() + ceiling
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not done in {ceiling:g} s")
        await asyncio.sleep(0.002)


# -- 1. updates per second -------------------------------------------------------------------


async def queuarr_updates(n: int, tag: str) -> float:
    clock = SystemClock()
    api = FakeBotApi(TOKEN, clock)
    await api.start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), api_key=KEY, managed_aria2="false")
        container = assemble(settings, clock, KEY, Stores.memory(clock), guard_urls=False)
        await container.housekeeping.ensure_defaults()
        services = BotServices(container.queue, Intake(container.queue), clock, settings,
                               container.dispatching, container.releases)
        bot = TelegramBot(TOKEN, services, Access(USERS, [], []), lambda: True, api.url,
                          check_every=0.05)
        try:
            bot.start()
            await _until(lambda: bot.polling, "the bot to poll")
            started = time.perf_counter()
            for k in range(n):
                api.push_message(USERS[k % len(USERS)], magnet(f"Bench.{tag}.{k}.2024"))
            await _until(lambda: len(api.ok("sendMessage")) >= n, f"{n} answers")
            took = time.perf_counter() - started
            queued = sum((c.text or "").startswith("✅ Queued") for c in api.ok("sendMessage"))
            if queued != n:
                raise RuntimeError(f"{queued} of {n} answers say queued")
        finally:
            await bot.aclose()
            await container.aclose()
            await api.stop()
    return n / took


async def bare_updates(n: int) -> float:
    api = FakeBotApi(TOKEN, SystemClock())
    base = f"{await api.start()}/bot{TOKEN}"
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            started = time.perf_counter()
            for k in range(n):
                api.push_message(USERS[k % len(USERS)], magnet(f"Bare.{k}.2024"))
            offset, answered = 0, 0
            while answered < n:
                got = (await http.post(f"{base}/getUpdates", json={
                    "offset": offset, "limit": 100, "timeout": 1})).json()["result"]
                for update in got:
                    message = update["message"]
                    await http.post(f"{base}/sendMessage", json={
                        "chat_id": message["chat"]["id"], "text": "✅ " + message["text"]})
                    offset, answered = update["update_id"] + 1, answered + 1
            return n / (time.perf_counter() - started)
    finally:
        await api.stop()


# -- 2. the edit cadence -----------------------------------------------------------------------


class FastClock:
    """Real time, SCALE times faster, from now."""

    def __init__(self) -> None:
        self.start, self.t0 = datetime.now().astimezone(), time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self.t0) * SCALE)


async def cadence(window: float) -> dict[str, Any]:
    clock = FastClock()
    api = FakeBotApi(TOKEN, clock)
    await api.start()
    client = FakeDownloadClient("aria2")
    notifier = TelegramNotifier(TOKEN, [CHAT], api.url, clock=clock,
                                tick_every=1 / SCALE)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), api_key=KEY, managed_aria2="false")
        container = assemble(settings, clock, KEY, Stores.memory(clock),
                             notifiers=[notifier], clients=FakeClients(client),
                             guard_urls=False)
        assert container.events is not None
        container.events.leading = lambda: True  # the notifier is the leader's
        container.events.start()  # each notifier's delivery task
        await container.housekeeping.ensure_defaults()
        processor = Processor(container.queue.items, FakeClients(client), clock,
                              "bench-telegram", ProcessorConfig(max_active=100),
                              events=container.events)
        try:
            size = 10**9
            await Intake(container.queue).grab(
                [Source(link=magnet(f"Cadence.{k}.2024") + f"&xl={size}") for k in range(10)])
            await processor.dispatch()
            ids = list(client.downloads)
            if len(ids) != 10:
                raise RuntimeError(f"{len(ids)} downloads, not 10")
            end, second = clock.now() + timedelta(seconds=window), 0
            while clock.now() < end:  # a sync pass each scaled second, as QUEUARR_SYNC_INTERVAL=1
                second += 1
                for k, download in enumerate(ids):
                    # 0.25-0.36 % a second: the shown progress changes every second
                    # and nothing finishes within 180 s (an unchanged text is not edited)
                    client.advance(download, min(size - 1, second * size * (20 + k) // 8000))
                await processor.sync()
                await asyncio.sleep(1 / SCALE)
            edits = [c.at for c in api.ok("editMessageText") if c.chat_id == str(CHAT)]
        finally:
            await notifier.aclose()
            await container.aclose()
            await api.stop()
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(edits)]
    return {"window_s": window, "edits": len(edits),
            "p50_s": percentile(gaps, 50), "p95_s": percentile(gaps, 95),
            "min_s": min(gaps, default=float("nan")),
            "per_minute": len(edits) * 60 / window, "stats": vars(notifier.stats)}


# -- 3. memory -----------------------------------------------------------------------------------


def memory(links: int) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    with ThreadedBotApi(TOKEN) as fake, tempfile.TemporaryDirectory() as tmp:
        for mode in ("off", "on"):
            data = Path(tmp) / mode
            env = {**os.environ, "QUEUARR_DATA_DIR": str(data), "QUEUARR_API_KEY": KEY,
                   "QUEUARR_DATABASE_URL": f"sqlite+aiosqlite:///{data / 'q.db'}",
                   "QUEUARR_LOG_LEVEL": "WARNING"}
            if mode == "on":
                env |= {"QUEUARR_TELEGRAM_TOKEN": TOKEN,
                        "QUEUARR_TELEGRAM_API_URL": fake.api.url_for(mode),
                        "QUEUARR_TELEGRAM_ALLOWED_USERS": ",".join(map(str, USERS))}
            port = free_port()
            server = Server(f"serve-{mode}", [sys.executable, "-m", "api.cli", "serve",
                                              "--port", str(port)], port, env=env,
                            cwd=ROOT, log=data / "server.log", cpu=None)
            server.start("/ping")
            try:
                if mode == "on":
                    _wait(lambda: fake.polls()["on"] > 0, "the bot to poll")
                time.sleep(2)  # idle: what start-up left
                idle = server.rss()
                if mode == "on":
                    for k in range(links):
                        fake.push(USERS[k % len(USERS)], magnet(f"Mem.{k}.2024"))
                    _wait(lambda: sum(len(fake.answers(u)) for u in USERS) >= links,
                          f"{links} answers")
                else:
                    with httpx.Client(base_url=server.base, headers={"X-Api-Key": KEY},
                                      timeout=30) as http:
                        for k in range(links):
                            http.post("/api/v3/queue/grab", json={
                                "downloadUrl": magnet(f"Mem.{k}.2024")}).raise_for_status()
                rows[mode] = {"idle_mib": idle / 2**20, "after_mib": server.rss() / 2**20,
                              "peak_mib": server.peak_rss() / 2**20}
            finally:
                server.stop()
    return rows


def _wait(condition: Any, what: str, ceiling: float = 120) -> None:
    deadline = time.monotonic() + ceiling
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not done in {ceiling:g} s")
        time.sleep(0.05)


# -- report -----------------------------------------------------------------------------------


def render(r: dict[str, Any]) -> str:
    u, c, m = r["updates"], r["cadence"], r["memory"]
    out = [SECTION_START, "## Telegram bot (issue 14)", "",
           f"- {r['cpu']}; loopback, the tests' fake Bot API; ratios to references in the "
           "same run", ""]
    out.append(_table(
        ["measure", "Queuarr", "bare reference", "ratio"],
        [[f"updates handled/s ({u['n']} link messages, best of {u['repeats']})",
          _num(u["queuarr"], 0), _num(u["bare"], 0),
          _num(ratio(u["queuarr"], u["bare"]))],
         [f"summary edit interval p50 / p95 s (10 downloads, {c['window_s']:.0f} s at x"
          f"{SCALE:g})", f"{_num(c['p50_s'])} / {_num(c['p95_s'])}", "5.00 (edit_every)",
          _num(ratio(c["p50_s"], 5.0))],
         ["summary edits / minute", _num(c["per_minute"], 1), "12.0",
          _num(ratio(c["per_minute"], 12.0))],
         [f"serve RSS idle / after {m['links']} links or grabs, MiB",
          f"on {m['on']['idle_mib']:.0f} / {m['on']['after_mib']:.0f}",
          f"off {m['off']['idle_mib']:.0f} / {m['off']['after_mib']:.0f}",
          _num(ratio(m["on"]["idle_mib"], m["off"]["idle_mib"]))]]))
    out += ["", "- the bare reference of updates/s is plain httpx getUpdates + one "
            "sendMessage per update against the same fake; Queuarr's includes the grab "
            "(memory store) and its answer", f"- cadence: {c['edits']} edits, shortest "
            f"interval {_num(c['min_s'])} s; notifier stats {c['stats']}", SECTION_END]
    return "\n".join(out)


def write(results: dict[str, Any], text: str, out: Path) -> tuple[Path, Path, Path]:
    return write_section(results, text, out, "telegram", SECTION_START, SECTION_END)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench --only telegram")
    p.add_argument("--quick", action="store_true", help="fewer updates, a shorter window")
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = p.parse_args(argv)
    n, repeats, window, links = (200, 1, 60.0, 100) if args.quick else (1000, 3, 180.0, 500)
    say = narrator("telegram")
    updates: dict[str, Any] = {"n": n, "repeats": repeats, "queuarr": 0.0, "bare": 0.0}
    for round_ in range(repeats):
        say(f"updates/s round {round_ + 1}: bare, then Queuarr")
        updates["bare"] = max(updates["bare"], asyncio.run(bare_updates(n)))
        updates["queuarr"] = max(updates["queuarr"],
                                 asyncio.run(queuarr_updates(n, str(round_))))
    say(f"edit cadence: {window:.0f} s at x{SCALE:g}")
    cadence_row = asyncio.run(cadence(window))
    say("memory: serve with the bot off, then on")
    results = {"cpu": f"{cpu_model()}, {os.cpu_count()} CPUs, Python "
               f"{platform.python_version()}", "updates": updates, "cadence": cadence_row,
               "memory": {"links": links, **memory(links)}}
    publish(results, render(results), write, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
