"""Download-client status cycle: 1,000 torrents in a real qBittorrent.

`python -m bench --only clients` (or `python -m bench.clients`); a plain `python -m bench`
runs it after the queue benchmark. The section is appended to bench/results/latest.md
(replacing an earlier section of this benchmark there), and the figures are written to
bench/results/clients-<time>.json and .md.

What one run does:

1. Starts `qbittorrent-nox` (tests.daemons.QbittorrentDaemon: loopback only, DHT/PeX/LSD
   off, queueing off) with a temporary profile; builds N single-file torrents (torf, no
   tracker) of distinct 16 KiB random files, adds them stopped (`paused`/`stopped`, 100 per
   multipart request) with a save path where the files do not exist, and waits until all
   N are listed, none is checking and an incremental `sync/maindata` comes back empty.
2. Full cycle: a fresh `QbittorrentClient` (logged in beforehand, outside the measure)
   and its first `statuses(all N hashes)`: one `sync/maindata?rid=0` (full_update) merged
   into `MainData` and N `DownloadStatus`es.
3. Incremental cycles on one long-lived adapter: `--qbt-cycles` cycles with 1 % of the
   torrents changed before each (a new download limit on a rotating slice: one field per
   torrent), then as many with nothing changed.
4. Bare reference, same run, interleaved with the adapter (order alternating): what any
   client must at least do for the same answer: a raw httpx GET of `sync/maindata` with
   its own session's rid (0 for the full cycle, the previous answer's rid after that) and
   `orjson.loads`; no merge, no statuses. Both sessions see the same changes: qBittorrent
   diffs per session.

Per cycle: wall time (perf_counter), our CPU (`time.process_time`, which covers every
thread of this process, so the adapter's worker thread too), qBittorrent's CPU (psutil),
and the answer's bytes: JSON bytes (decompressed) and bytes on the wire (qBittorrent gzips
when asked; both sides send `Accept-Encoding: gzip, deflate`). The adapter's bytes are read
by a requests response hook on its own session (no extra request), and its answers are
checked: each incremental one must carry exactly the changed torrents (10, or 0).

Figures are medians and p95 (nearest rank) of the cycles; ratios are median ÷ median.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import math
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
from pydantic import SecretStr

from bench.procs import Noise, cpu_model, machine_idle_percent, package_version
from bench.report import (
    Checks,
    _num,
    _table,
    checks_and_notes,
    publish,
    ratio,
    targets_table,
    write_section,
)

ROOT = Path(__file__).resolve().parent.parent
SECTION_START = "<!-- bench.clients: start -->"
SECTION_END = "<!-- bench.clients: end -->"
MAINDATA = "/api/v2/sync/maindata"
ACCEPT = {"Accept-Encoding": "gzip, deflate"}  # what requests (qbittorrent-api) sends
ADD_BATCH = 100
CHECKING = {"checkingResumeData", "checkingDL", "checkingUP", "allocating", "moving",
            "metaDL", "forcedMetaDL"}

# Targets from /work/shared/reference/perf-reliability.md, section 0 (P4) and A4.
MAX_INCR_VS_FULL = 0.1  # bytes and CPU of an incremental cycle, 1 % changed, vs a full one
ABS_MAX_CPU_MS = 100.0  # our CPU per incremental cycle, 1k torrents (reference box)
NOISY_PCT = 25.0  # as the queue benchmark: a phase run again above this other-process CPU


# -- arguments ---------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench --only clients",
        description="One download-client status cycle for N torrents in a real "
                    "qBittorrent: adapter vs bare sync/maindata (see bench/clients.py).")
    p.add_argument("--qbt-torrents", type=int, default=1000, help="torrents (default 1000)")
    p.add_argument("--qbt-changed", type=float, default=1.0,
                   help="percent of the torrents changed before each incremental cycle "
                        "(default 1)")
    p.add_argument("--qbt-cycles", type=int, default=30,
                   help="incremental cycles per kind (changed / nothing changed; default 30)")
    p.add_argument("--qbt-full-cycles", type=int, default=10,
                   help="full cycles (fresh adapter each; default 10)")
    p.add_argument("--qbt-retries", type=int, default=2,
                   help="extra attempts of a phase during which other processes used more "
                        f"than {NOISY_PCT:g} %% of a core (default 2)")
    p.add_argument("--qbt-binary", default=os.environ.get("BENCH_QBITTORRENT",
                                                          "qbittorrent-nox"))
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--keep", action="store_true", help="keep the qBittorrent profile")
    return p


def parse_args(argv: Sequence[str] | None, lenient: bool = False) -> argparse.Namespace:
    """`lenient`: called from the whole run, whose other flags are not ours."""
    p = parser()
    a = p.parse_known_args(argv)[0] if lenient else p.parse_args(argv)
    if not (10 <= a.qbt_torrents <= 20_000 and 0 < a.qbt_changed <= 100
            and 1 <= a.qbt_cycles <= 1000 and 1 <= a.qbt_full_cycles <= 100
            and 0 <= a.qbt_retries <= 5):
        p.error("need 10 <= torrents <= 20000, 0 < changed <= 100, 1 <= cycles <= 1000, "
                "1 <= full cycles <= 100, 0 <= retries <= 5")
    return a


# -- statistics --------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def p95(values: Sequence[float]) -> float:
    """Nearest rank: with 10 samples the largest, with 30 the second largest."""
    s = sorted(values)
    return s[max(math.ceil(0.95 * len(s)) - 1, 0)]


# -- torrents ----------------------------------------------------------------------------


def build_torrents(directory: Path, count: int, size: int = 16 * 1024
                   ) -> list[tuple[str, bytes]]:
    """(info hash, .torrent bytes) of `count` distinct single-file torrents, no tracker."""
    import torf

    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(count):
        path = directory / f"bench-{i:05d}.bin"
        path.write_bytes(random.Random(i).randbytes(size))
        torrent = torf.Torrent(path=path, private=False, created_by=None, creation_date=None)
        torrent.generate(threads=1)
        out.append((torrent.infohash.lower(), torrent.dump()))
    return out


def add_stopped(web: httpx.Client, torrents: list[tuple[str, bytes]], save_path: Path) -> None:
    for k in range(0, len(torrents), ADD_BATCH):
        files = [("torrents", (f"{h}.torrent", body, "application/x-bittorrent"))
                 for h, body in torrents[k:k + ADD_BATCH]]
        # `paused` before Web API 2.11 (qBittorrent 5.0), `stopped` from then on.
        r = web.post("/api/v2/torrents/add", files=files, timeout=60,
                     data={"savepath": str(save_path), "paused": "true", "stopped": "true"})
        if r.status_code != 200 or r.text.strip().lower().startswith("fails"):
            raise RuntimeError(f"torrents/add answered {r.status_code} {r.text[:200]!r}")


def _wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    from tests.daemons import wait_for  # imported late: main() puts the repo on sys.path

    return wait_for(condition, timeout, what, interval=0.25)


# -- the two sides of a cycle ------------------------------------------------------------


class Bare:
    """The bare reference: its own logged-in httpx session, a raw GET and orjson.loads."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=60, trust_env=False, headers=ACCEPT)
        r = self.http.post("/api/v2/auth/login",
                           data={"username": username, "password": password})
        if r.text != "Ok.":
            raise RuntimeError(f"qBittorrent login failed: {r.status_code} {r.text!r}")
        self.rid = 0
        self.full_content = b""

    def cycle(self, rid: int | None = None) -> tuple[dict[str, Any], int, int]:
        """One GET (rid: ours unless given) + orjson.loads: (data, JSON bytes, wire bytes)."""
        r = self.http.get(MAINDATA, params={"rid": self.rid if rid is None else rid})
        r.raise_for_status()
        data = orjson.loads(r.content)
        self.rid = int(data.get("rid") or 0)
        if data.get("full_update"):
            self.full_content = r.content
        return data, len(r.content), r.num_bytes_downloaded

    def close(self) -> None:
        self.http.close()


class Adapter:
    """Queuarr's QbittorrentClient, with a response hook counting the bytes it receives
    and a wrapper recording the rid it sent and what came back (no extra request)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, url: str, username: str,
                 password: str) -> None:
        from infrastructure.clients.qbittorrent import QbittorrentClient, QbittorrentConfig

        self.loop = loop
        self.client = QbittorrentClient("bench", QbittorrentConfig(
            url=url, username=username, password=SecretStr(password), timeout=60))
        self.last: dict[str, Any] = {}
        api: Any = self.client._api  # the qbittorrentapi.Client the adapter calls
        original = api.sync_maindata

        def sync_maindata(rid: int = 0, **kwargs: Any) -> Any:
            data: dict[str, Any] = original(rid=rid, **kwargs)
            self.last.update(rid_sent=int(rid), full=bool(data.get("full_update")),
                             torrents=set(data.get("torrents") or ()))
            return data

        api.sync_maindata = sync_maindata
        loop.run_until_complete(self.client.test())  # log in, outside any measure
        # After the login: qbittorrent-api starts a new requests session when it logs in.
        api._session.hooks["response"].append(self._hook)

    def _hook(self, response: Any, *args: Any, **kwargs: Any) -> None:
        if "/sync/maindata" in response.url:
            self.last.update(json_bytes=len(response.content),
                             wire_bytes=int(response.headers.get("Content-Length")
                                            or len(response.content)))

    def cycle(self, ids: Sequence[str]) -> dict[str, Any]:
        return self.loop.run_until_complete(self.client.statuses(ids))

    def close(self) -> None:
        self.client.close()


def daemon_cpu(pid: int) -> Callable[[], float]:
    """A function returning the CPU seconds the daemon used so far: the sum of its threads'
    /proc/<pid>/task/*/schedstat (nanoseconds) where readable, else psutil (clock ticks,
    10 ms steps, too coarse for one cycle)."""
    tasks = Path(f"/proc/{pid}/task")

    def schedstat() -> float:
        total = 0
        for task in os.scandir(tasks):
            with contextlib.suppress(OSError, ValueError, IndexError), \
                    open(f"{task.path}/schedstat") as f:
                total += int(f.read().split()[0])
        return total / 1e9

    with contextlib.suppress(OSError, ValueError):
        if schedstat() > 0:
            return schedstat
    proc = psutil.Process(pid)

    def ticks() -> float:
        times = proc.cpu_times()
        return float(times.user + times.system)

    return ticks


def cpu_steps(full_answer: bytes, ids: Sequence[str], repeats: int = 15
              ) -> list[dict[str, Any]]:
    """Where the adapter's CPU goes, step by step, in-process and without I/O: each step's
    median CPU ms over `repeats` runs, on the last full answer (N torrents)."""
    from requests import compat  # Response.json() uses compat.json (simplejson or json)

    requests_json: Any = compat.json  # type: ignore[attr-defined]

    from infrastructure.clients.qbittorrent import MainData, to_status

    text = full_answer.decode()
    data = orjson.loads(full_answer)
    merged = MainData()
    merged.merge(data)
    n = len(ids)

    def statuses() -> None:
        torrents = merged.torrents
        for h in ids:
            t = torrents.get(h.lower())
            if t is not None:
                to_status(h.lower(), t)

    steps: list[tuple[str, Callable[[], Any]]] = [
        (f"`{requests_json.__name__}.loads` of a full answer (what requests' "
         "`Response.json()` runs)", lambda: requests_json.loads(text)),
        ("`orjson.loads` of a full answer (the bare reference)",
         lambda: orjson.loads(full_answer)),
        ("`MainData.merge` of a full answer (statuses built for every torrent)",
         lambda: MainData().merge(data)),
        (f"{n:,} x `to_status` (part of a full merge; after it, only changed torrents)",
         statuses),
    ]
    out = []
    for label, fn in steps:
        runs = []
        for _ in range(repeats):
            c0 = time.process_time()
            fn()
            runs.append((time.process_time() - c0) * 1e3)
        out.append({"step": label, "cpu_ms": median(runs), "p95_ms": p95(runs)})
    return out


# -- the run -----------------------------------------------------------------------------


class ClientsBench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.t0 = time.monotonic()
        self.samples: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.problems: list[str] = []

    def say(self, message: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.1f}s] {message}", flush=True)

    def run(self) -> dict[str, Any]:
        from tests.daemons import QbittorrentDaemon

        a = self.args
        idle = machine_idle_percent(1.0)
        tmp = Path(tempfile.mkdtemp(prefix="queuarr_bench_qbt_"))
        daemon = QbittorrentDaemon(tmp / "profile", binary=a.qbt_binary)
        loop = asyncio.new_event_loop()
        try:
            self.say(f"qBittorrent status cycle: {a.qbt_torrents} torrents, "
                     f"{a.qbt_changed:g} % changed, {a.qbt_cycles} incremental cycles per "
                     f"kind, {a.qbt_full_cycles} full; machine {idle:.0f} % idle")
            t = time.perf_counter()
            torrents = build_torrents(tmp / "payload", a.qbt_torrents)
            self.say(f"  built {len(torrents)} torrents in {time.perf_counter() - t:.1f} s")
            daemon.start()
            setup = self.populate(daemon, torrents, tmp / "absent")
            self.measure(daemon, loop, [h for h, _ in torrents])
            env = self.environment(daemon, idle)
        finally:
            loop.close()
            daemon.stop()
            if not a.keep:
                shutil.rmtree(tmp, ignore_errors=True)
        return {"environment": env, "setup": setup, "samples": self.samples,
                "steps": self.steps, "notes": self.notes, "problems": self.problems,
                "elapsed_s": round(time.monotonic() - self.t0, 1)}

    def populate(self, daemon: Any, torrents: list[tuple[str, bytes]], absent: Path
                 ) -> dict[str, Any]:
        n = len(torrents)
        t = time.perf_counter()
        with daemon.web_client(timeout=60) as web:
            add_stopped(web, torrents, absent)

            def settled() -> bool:
                listed = web.get("/api/v2/torrents/info").raise_for_status().json()
                return len(listed) >= n and not any(x["state"] in CHECKING for x in listed)

            _wait_for(settled, 120, f"qBittorrent to list {n} settled torrents")
            listed = web.get("/api/v2/torrents/info").json()
        states: dict[str, int] = {}
        for x in listed:
            states[x["state"]] = states.get(x["state"], 0) + 1
        ours = {h for h, _ in torrents}
        if len(listed) != n or {x["hash"] for x in listed} != ours:
            raise RuntimeError(f"qBittorrent lists {len(listed)} torrents, not our {n}")
        seconds = time.perf_counter() - t
        # Quiet: an incremental answer with nothing in it, twice in a row.
        bare = Bare(daemon.url, daemon.username, daemon.password)
        try:
            bare.cycle()
            quiet = 0

            def calm() -> bool:
                nonlocal quiet
                data = bare.cycle()[0]
                quiet = quiet + 1 if not data.get("torrents") and not data.get(
                    "full_update") else 0
                return quiet >= 2

            _wait_for(calm, 30, "sync/maindata to come back empty")
        finally:
            bare.close()
        self.say(f"  added {n} torrents stopped in {seconds:.1f} s (states {states})")
        return {"torrents": n, "add_seconds": round(seconds, 2), "states": states}

    def measure(self, daemon: Any, loop: asyncio.AbstractEventLoop, ids: list[str]) -> None:
        a = self.args
        qbt_cpu = daemon_cpu(daemon.pid)
        current: list[dict[str, Any]] = []  # the samples of the phase attempt under way

        def timed(kind: str, side: str, fn: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
            q0, c0, w0 = qbt_cpu(), time.process_time(), time.perf_counter()
            value = fn()
            w1, c1, q1 = time.perf_counter(), time.process_time(), qbt_cpu()
            sample = {"kind": kind, "side": side, "wall_ms": (w1 - w0) * 1e3,
                      "cpu_ms": (c1 - c0) * 1e3, "qbt_cpu_ms": (q1 - q0) * 1e3}
            current.append(sample)
            return value, sample

        def bare_cycle(kind: str, bare: Bare, rid: int | None = None) -> dict[str, Any]:
            answer, s = timed(kind, "bare", lambda: bare.cycle(rid))
            data: dict[str, Any] = answer[0]
            jb, wb = answer[1], answer[2]
            s.update(json_bytes=jb, wire_bytes=wb, full=bool(data.get("full_update")),
                     entries=len(data.get("torrents") or {}))
            return data

        def adapter_cycle(kind: str, adapter: Adapter) -> set[str]:
            adapter.last.clear()
            found, s = timed(kind, "adapter", lambda: adapter.cycle(ids))
            last = adapter.last
            s.update(json_bytes=last.get("json_bytes"), wire_bytes=last.get("wire_bytes"),
                     full=last.get("full"), entries=len(last.get("torrents") or ()),
                     rid_sent=last.get("rid_sent"))
            if len(found) != len(ids):
                self.problems.append(f"{kind}: the adapter returned {len(found)} statuses "
                                     f"for {len(ids)} torrents")
            return set(last.get("torrents") or ())

        def phase(name: str, body: Callable[[], None]) -> None:
            """Run `body`; while other processes took more than NOISY_PCT of a core, run
            it again (at most --qbt-retries times) and keep the quietest attempt."""
            attempts: list[tuple[float, list[dict[str, Any]], list[tuple[str, float]]]] = []
            for _ in range(1 + a.qbt_retries):
                current.clear()
                with Noise() as noise:
                    body()
                attempts.append((noise.percent, list(current), noise.top))
                who = ", ".join(f"{n} {p:.0f} %" for n, p in noise.top)
                if noise.percent <= NOISY_PCT:
                    break
                self.say(f"    (noisy: other processes used {noise.percent:.0f} % of a core"
                         f": {who})")
            pct, kept, top = min(attempts, key=lambda t: t[0])
            self.samples.extend(kept)
            self.noise[name] = round(pct, 1)
            if pct > NOISY_PCT:
                self.notes.append(
                    f"{name}: other processes used {pct:.0f} % of a core in the quietest "
                    f"of {len(attempts)} attempts (" + ", ".join(
                        f"{n} {p:.0f} %" for n, p in top) + "): figures may be noisy.")
            elif len(attempts) > 1:
                self.notes.append(f"{name}: {len(attempts) - 1} noisy attempt(s) discarded.")

        creds = (daemon.url, daemon.username, daemon.password)
        bare = Bare(*creds)
        adapters: list[Adapter] = []
        changed_n = max(1, round(len(ids) * a.qbt_changed / 100))
        changes = 0

        def full_cycles() -> None:
            for i in range(a.qbt_full_cycles):
                for old in adapters:
                    old.close()
                adapters[:] = [Adapter(loop, *creds)]  # fresh: its first statuses is rid=0
                for side in ("adapter", "bare") if i % 2 == 0 else ("bare", "adapter"):
                    if side == "adapter":
                        adapter_cycle("full", adapters[0])
                    else:
                        bare_cycle("full", bare, rid=0)

        def incremental(kind: str, web: httpx.Client) -> None:
            nonlocal changes
            # The adapter left by the full cycles and the bare session hold a full copy:
            # from here on both are incremental (each session has its own rid).
            adapter = adapters[0]
            for i in range(a.qbt_cycles):
                want: set[str] = set()
                if kind == "incr changed":
                    changes += 1
                    first = (changes * changed_n) % len(ids)
                    want = {ids[(first + k) % len(ids)] for k in range(changed_n)}
                    # A download limit (KiB/s) no torrent had before: one field changes.
                    web.post("/api/v2/torrents/setDownloadLimit", data={
                        "hashes": "|".join(sorted(want)),
                        "limit": str(changes * 1024)}).raise_for_status()
                for side in ("adapter", "bare") if i % 2 == 0 else ("bare", "adapter"):
                    if side == "adapter":
                        got = adapter_cycle(kind, adapter)
                    else:
                        got = set(bare_cycle(kind, bare).get("torrents") or ())
                    if got != want:
                        self.problems.append(
                            f"{kind} cycle {i}, {side}: the answer carried {len(got)} "
                            f"torrents, {len(want & got)} of the {len(want)} changed")
            full = sum(1 for s in current if s["full"])
            if full:
                self.problems.append(f"{kind}: {full} answers were full updates")

        self.noise: dict[str, float] = {}
        try:
            self.say(f"  full cycles: {a.qbt_full_cycles} x (fresh adapter, bare rid=0)")
            phase("full", full_cycles)
            full_answer = bare.full_content
            with daemon.web_client(timeout=60) as web:
                for kind in ("incr changed", "incr none"):
                    self.say(f"  {kind}: {a.qbt_cycles} cycles"
                             + (f", {changed_n} torrents changed before each"
                                if kind == "incr changed" else ""))
                    phase(kind, functools.partial(incremental, kind, web))
        finally:
            bare.close()
            for adapter in adapters:
                adapter.close()
        self.steps = cpu_steps(full_answer, ids)

    def environment(self, daemon: Any, idle: float) -> dict[str, Any]:
        with daemon.web_client() as web:
            qbt = web.get("/api/v2/app/version").text.strip()
            api = web.get("/api/v2/app/webapiVersion").text.strip()
        cpu = cpu_model()
        return {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "host": platform.node(), "cpu": cpu, "cpus": os.cpu_count(),
            "python": platform.python_version(), "idle_before_pct": round(idle, 1),
            "qbittorrent": qbt, "web_api": api,
            "packages": {p: package_version(p) for p in ("qbittorrent-api", "requests", "httpx",
                                                 "orjson", "torf")},
            "torrents": self.args.qbt_torrents, "changed_pct": self.args.qbt_changed,
            "cycles": self.args.qbt_cycles, "full_cycles": self.args.qbt_full_cycles,
            "noise_pct": {k: round(v, 1) for k, v in self.noise.items()},
        }


# -- figures, checks, report -------------------------------------------------------------

KINDS = (("full", "full (rid=0)"), ("incr changed", "incremental, {pct} changed"),
         ("incr none", "incremental, nothing changed"))
FIELDS = ("wall_ms", "cpu_ms", "qbt_cpu_ms", "json_bytes", "wire_bytes", "entries")


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, _ in KINDS:
        for side in ("adapter", "bare"):
            rows = [s for s in results["samples"] if s["kind"] == kind and s["side"] == side]
            if not rows:
                continue
            out[f"{kind}/{side}"] = {
                "n": len(rows),
                **{f: {"median": median([r[f] for r in rows if r.get(f) is not None]),
                       "p95": p95([r[f] for r in rows if r.get(f) is not None])}
                   for f in FIELDS if any(r.get(f) is not None for r in rows)},
            }
    return out


def _m(summary: dict[str, Any], key: str, field: str) -> float | None:
    entry = summary.get(key, {}).get(field)
    return entry["median"] if entry else None


def checks(results: dict[str, Any]) -> list[dict[str, Any]]:
    s = results["summary"]
    n = results["environment"]["torrents"]
    pct = f"{results['environment']['changed_pct']:g} %"
    out = Checks()
    add = out.add

    full, incr = "full/adapter", "incr changed/adapter"
    add(f"P4 JSON bytes: incremental ({pct} changed) ÷ full, {n:,} torrents",
        ratio(_m(s, incr, "json_bytes"), _m(s, full, "json_bytes")), "<=",
        MAX_INCR_VS_FULL, "x")
    add(f"P4 our CPU: incremental ({pct} changed) ÷ full, {n:,} torrents",
        ratio(_m(s, incr, "cpu_ms"), _m(s, full, "cpu_ms")), "<=", MAX_INCR_VS_FULL, "x")
    add(f"P4 wire bytes (gzip): incremental ({pct} changed) ÷ full",
        ratio(_m(s, incr, "wire_bytes"), _m(s, full, "wire_bytes")), "<=",
        MAX_INCR_VS_FULL, "x", True)
    add(f"P4 wall time: incremental ({pct} changed) ÷ full (mostly qBittorrent's time)",
        ratio(_m(s, incr, "wall_ms"), _m(s, full, "wall_ms")), "<=", MAX_INCR_VS_FULL, "x",
        True)
    add(f"abs (reference box) P4 our CPU per incremental cycle ({pct} changed), "
        f"{n:,} torrents", _m(s, incr, "cpu_ms"), "<=", ABS_MAX_CPU_MS, "ms", True)
    add("incremental answers carry exactly the changed torrents; every status returned",
        0.0 if results["problems"] else 1.0, ">=", 1.0, "bool")
    return out


def _fmt(value: float | None, unit: str, op: str = "") -> str:
    if unit == "bool":
        return "yes" if op else ("-" if value is None else "yes" if value >= 1 else "no")
    digits = 4 if value is not None and unit == "x" and abs(value) < 0.01 else 2
    text = f"{_num(value, digits)} {unit}"
    return f"{op} {text}" if op else text


def _bytes(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100_000:
        return f"{value / 1024:,.0f} KiB"
    return f"{value:,.0f} B"


def render(results: dict[str, Any]) -> str:
    env, s = results["environment"], results["summary"]
    pct = f"{env['changed_pct']:g} %"
    pkgs = ", ".join(f"{k} {v}" for k, v in env["packages"].items())
    out = [
        SECTION_START,
        f"## Download-client status cycle: qBittorrent {env['qbittorrent']}, "
        f"{env['torrents']:,} torrents",
        "",
        f"- {env['when']} on {env['host']}: {env['cpu']}, {env['cpus']} CPUs, "
        f"Python {env['python']}; {env['idle_before_pct']:.0f} % idle before the run",
        f"- qBittorrent {env['qbittorrent']} (Web API {env['web_api']}), loopback; {pkgs}",
        f"- {env['torrents']:,} single-file 16 KiB torrents, no tracker, added stopped "
        "(" + ", ".join(f"{n:,} {st}" for st, n in results["setup"]["states"].items())
        + f"); {env['full_cycles']} full cycles (a fresh "
        f"adapter each), {env['cycles']} incremental cycles per kind; {pct} = "
        f"{max(1, round(env['torrents'] * env['changed_pct'] / 100))} torrents get a new "
        "download limit before each changed cycle",
        "- adapter: `QbittorrentClient.statuses(all hashes)`: one `sync/maindata?rid=N` "
        "(qbittorrent-api, worker thread), merged into `MainData`, a `DownloadStatus` per "
        "torrent. bare: the same call raw (httpx GET, own session and rid) + `orjson.loads`",
        "- CPU ms: this process (`time.process_time`, all threads); qBittorrent CPU ms: "
        "the daemon (its threads' `/proc/<pid>/task/*/schedstat`); bytes: JSON "
        "(decompressed) and on the wire (gzip); "
        "median and p95 (nearest rank); ratios are of medians",
        "- Other processes' CPU, percent of one core: " + ", ".join(
            f"{k} {v:.0f} %" for k, v in env["noise_pct"].items())
        + f" (a phase above {NOISY_PCT:g} % is run again, quietest kept); whole "
        f"benchmark {results['elapsed_s']:.0f} s",
        "",
    ]
    rows = []
    for kind, label in KINDS:
        for side in ("adapter", "bare"):
            e = s.get(f"{kind}/{side}")
            if not e:
                continue
            bare = s.get(f"{kind}/bare")
            rows.append([
                label.format(pct=pct), side, str(e["n"]),
                _num(e["wall_ms"]["median"]), _num(e["wall_ms"]["p95"]),
                _num(e["cpu_ms"]["median"]), _num(e["cpu_ms"]["p95"]),
                "-" if side == "bare" else
                _num(ratio(e["cpu_ms"]["median"], bare and bare["cpu_ms"]["median"])),
                _num(e["qbt_cpu_ms"]["median"]),
                _bytes(e["json_bytes"]["median"]), _bytes(e["wire_bytes"]["median"]),
                f"{e['entries']['median']:.0f}",
            ])
    out.append(_table(["cycle", "side", "n", "wall ms", "p95", "our CPU ms", "p95",
                       "÷ bare CPU", "qBittorrent CPU ms", "JSON", "wire",
                       "torrents in answer"], rows))
    out += ["", f"### Incremental ({pct} changed) ÷ full", ""]
    rows = []
    for side in ("adapter", "bare"):
        full, inc, none = (f"full/{side}", f"incr changed/{side}", f"incr none/{side}")
        rows.append([side] + [_num(ratio(_m(s, k, f), _m(s, full, f)), 3) for k in (inc,)
                              for f in ("json_bytes", "wire_bytes", "wall_ms", "cpu_ms",
                                        "qbt_cpu_ms")]
                    + [_num(ratio(_m(s, none, "wall_ms"), _m(s, full, "wall_ms")), 3)])
    out.append(_table(["side", "JSON bytes", "wire bytes", "wall time", "our CPU",
                       "qBittorrent CPU", "wall time, nothing changed"], rows))
    out += ["", "### Where our CPU goes (in-process, no I/O; a full answer of "
            f"{env['torrents']:,} torrents)", ""]
    out.append(_table(["step", "CPU ms", "p95"],
                      [[x["step"], _num(x["cpu_ms"]), _num(x["p95_ms"])]
                       for x in results["steps"]]))
    out += ["", "### Targets (reference sections 0 (P4) and A4)", ""]
    out.append(targets_table(results["checks"], _fmt))
    out += checks_and_notes(results, "Answers not as expected")
    out.append(SECTION_END)
    return "\n".join(out)


def write(results: dict[str, Any], text: str, out: Path) -> tuple[Path, Path, Path]:
    return write_section(results, text, out, "clients", SECTION_START, SECTION_END)


def main(argv: Sequence[str] | None = None, lenient: bool = False) -> int:
    """`lenient`: part of the whole `python -m bench` run (its flags are ignored here, and
    a missing qbittorrent-nox skips this benchmark instead of failing)."""
    args = parse_args(argv, lenient)
    if shutil.which(args.qbt_binary) is None:
        print(f"bench.clients: {args.qbt_binary} is not installed "
              "(apt-get install -y qbittorrent-nox); skipped", flush=True)
        return 0 if lenient else 1
    if str(ROOT) not in sys.path:  # tests.daemons, infrastructure
        sys.path.insert(0, str(ROOT))
    bench = ClientsBench(args)
    results = bench.run()
    results["summary"] = summarise(results)
    results["checks"] = checks(results)
    publish(results, render(results), write, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
