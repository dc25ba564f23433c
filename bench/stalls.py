"""Event-loop stalls from one heavy request, in-process (httpx.ASGITransport): /ping
latency and RSS while it runs, against a bare /ping run (`python -m bench.stalls`, or
`python -m bench --only stalls`; see bench/README.md). No targets: informative."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import gc
import json
import logging
import os
import platform
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from api.app import create_app
from bench.events import summary_ms
from bench.procs import Noise, cpu_model
from bench.report import _num, _table, narrator, publish, ratio, write_section
from infrastructure.bootstrap import Stores, assemble
from infrastructure.clock import SystemClock
from infrastructure.settings import Settings
from tests.torrent_data import many_files

KEY = "0123456789abcdef0123456789abcdef"
EVIL = r"(x+x+)+y"  # catastrophic backtracking on a long run of x without a y
SECTION_START, SECTION_END = "<!-- bench.stalls: start -->", "<!-- bench.stalls: end -->"
GRAB, SCORE = "/api/v3/queue/grab", "/api/v3/release/score"
STATUS = Path("/proc/self/status")


async def _pings(client: httpx.AsyncClient, done: asyncio.Event, out: list[float]) -> None:
    """Latency from when the ping was due (10 ms after the last answer): a blocked loop
    that could not even send it counts."""
    while not done.is_set():
        due = time.perf_counter() + 0.01
        await asyncio.sleep(0.01)
        if (await client.get("/ping")).status_code != 200:
            raise RuntimeError("/ping did not answer 200")
        out.append(time.perf_counter() - due)


def _status(field: str) -> float:
    """A memory figure of this process from /proc/self/status, MiB."""
    line = next(x for x in STATUS.read_text().splitlines() if x.startswith(field + ":"))
    return int(line.split()[1]) / 1024


@contextlib.asynccontextmanager
async def _client(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh app on memory stores, its lifespan running, and a client to it."""
    clock = SystemClock()
    settings = Settings(data_dir=data_dir, api_key=KEY, managed_aria2="false")
    container = assemble(settings, clock, KEY, Stores.memory(clock), guard_urls=False)
    app = create_app(container=container)
    try:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://q",
                headers={"X-Api-Key": KEY}, timeout=600) as client:
            yield client
    finally:
        await container.aclose()  # a container handed in is the caller's to close


async def scenario(name: str, bodies: Sequence[dict[str, Any]] = (), url: str = GRAB,
                   formats: int = 0, bare_s: float = 0.0) -> dict[str, Any]:
    """A fresh app; `formats` catastrophic custom formats; /ping while `bodies` are posted
    to `url` at once (or for `bare_s` seconds with nothing else)."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # what earlier scenarios freed leaves the RSS
    with tempfile.TemporaryDirectory() as tmp:
        async with _client(Path(tmp)) as client:
            # warm-up: the title parser and the default formats, a small grab
            await client.post(SCORE, json={"titles": ["Warm.Up.2020.1080p.WEB-DL-GRP"]})
            await client.post(GRAB, json={"torrentFile": base64.b64encode(
                many_files(10)).decode()})
            for i in range(formats):
                r = await client.post("/api/v3/customformat", json={
                    "name": f"evil{i}", "specifications": [{
                        "name": "t", "implementation": "ReleaseTitleSpecification",
                        "fields": {"value": EVIL}}]})
                r.raise_for_status()
            raw = [json.dumps(b).encode() for b in bodies]  # the client's work is not a stall
            done, pings = asyncio.Event(), list[float]()
            STATUS.with_name("clear_refs").write_text("5")  # VmHWM := VmRSS (Linux)
            before = _status("VmRSS")
            with Noise() as noise:
                pinger = asyncio.create_task(_pings(client, done, pings))
                await asyncio.sleep(0.1)
                started = time.perf_counter()
                answers = await asyncio.gather(*(client.post(
                    url, content=r, headers={"Content-Type": "application/json"})
                    for r in raw), asyncio.sleep(bare_s))
                took = time.perf_counter() - started
                await asyncio.sleep(0.1)
                done.set()
                await pinger
            return {"name": name, "took_s": took, "pings": summary_ms(pings),
                    "answers": [f"{a.status_code} {a.text[:100]}" for a in answers[:-1]],
                    "rss_mib": [before, _status("VmRSS"), _status("VmHWM")],
                    "noise_pct": noise.percent}


def render(results: dict[str, Any]) -> str:
    rows = results["scenarios"]
    bare = rows[0]["pings"]["p99"]
    out = [SECTION_START, "## Event-loop stalls from one heavy request (in-process)", "",
           f"- {results['cpu']}; one process, memory stores, a fresh app per scenario",
           "- /ping every 10 ms (latency from when it was due) during each request; ratios "
           f"to the bare run's p99 ({bare:.2f} ms), same run", ""]
    out.append(_table(
        ["scenario", "answer", "request s", "pings", "p50 ms", "p99 ms", "max ms",
         "p99 ÷ bare p99", "max ÷ bare p99", "RSS before / after / peak MiB", "other CPU %"],
        [[r["name"], ", ".join(sorted({a[:3] for a in r["answers"]})) or "-",
          f"{r['took_s']:.2f}", str(r["pings"]["n"]), _num(r["pings"]["p50"]),
          _num(r["pings"]["p99"]), _num(r["pings"]["max"]),
          _num(ratio(r["pings"]["p99"], bare)), _num(ratio(r["pings"]["max"], bare)),
          " / ".join(f"{x:.0f}" for x in r["rss_mib"]), f"{r['noise_pct']:.0f}"]
         for r in rows]))
    out += ["", *(f"- {r['name']}: `{r['answers'][0]}`" for r in rows if r["answers"]),
            SECTION_END]
    return "\n".join(out)


def write(results: dict[str, Any], text: str, out: Path) -> tuple[Path, Path, Path]:
    return write_section(results, text, out, "stalls", SECTION_START, SECTION_END)


async def measure() -> list[dict[str, Any]]:
    say, rows = narrator("stalls"), []
    torrent = {n: {"torrentFile": base64.b64encode(many_files(n)).decode()}
               for n in (410_000, 99_000)}
    for name, kw in [
            ("bare /ping (reference)", {"bare_s": 3.0}),
            (f"score 6 titles, 20 x {EVIL}", {"url": SCORE, "formats": 20, "bodies": [
                {"titles": [f"{'x' * 300}.{i}" for i in range(6)]}]}),
            *((f"grab {n:,}-file .torrent x{k}", {"bodies": [torrent[n]] * k})
              for n, k in ((410_000, 1), (410_000, 3), (99_000, 1)))]:
        say(name)
        rows.append(await scenario(name, **kw))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    if argv:
        sys.exit("usage: python -m bench.stalls (it takes no options)")
    # the catastrophic pattern's time-outs are expected: one warning per title and format
    logging.getLogger("infrastructure.release.patterns").setLevel(logging.ERROR)
    results = {"cpu": f"{cpu_model()}, {os.cpu_count()} CPUs, Python "
               f"{platform.python_version()}", "scenarios": asyncio.run(measure())}
    publish(results, render(results), write, Path(__file__).parent / "results")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
