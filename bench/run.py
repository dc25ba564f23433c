"""The benchmark run: references, seeding, the Queuarr measurements, the report.

Everything is loopback, every load run is bounded by --duration, every server is stopped
in a `finally`, and the databases it creates are named queuarr_bench_* (dropped at the
end unless --keep)."""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import bare_grab, report, seed
from bench.load import LoadGenerator, Result, median
from bench.procs import (
    Server,
    can_pin,
    cpu_model,
    free_port,
    machine_idle_percent,
    package_version,
    server_env,
)
from bench.profile import Profiler, py_spy, summarise

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "queuarr-bench-key-0123456789"
HEADERS = {"X-Api-Key": API_KEY}
QUEUE = "/api/v3/queue"
PAGE_INC = f"{QUEUE}?page=1&pageSize=50&includeUnknownMovieItems=true"
PAGE_DEFAULT = f"{QUEUE}?page=1&pageSize=50"
GRAB = f"{QUEUE}/grab"
BIG_PAGE = 100_000
CODINGS = ("identity", "gzip", "br", "zstd")  # the whole queue is read in each


@dataclass
class Config:
    backends: list[str]
    sizes: list[int]
    duration: float
    repeats: int
    conns: int
    latency_conns: int
    grab_conns: int
    warmup: float
    admin_dsn: str
    out: Path
    keep: bool
    refs: bool
    profile: bool
    prefer_wrk: bool
    noisy_pct: float
    retry_budget: float
    strict: bool


def parse_args(argv: list[str] | None = None) -> Config:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark Queuarr's /api/v3/queue against same-machine references "
                    "(see bench/README.md).")
    p.add_argument("--quick", action="store_true",
                   help="10k items only, 2 s runs, 1 repeat (about 2 minutes)")
    p.add_argument("--backend", choices=("postgres", "sqlite", "both"), default="both")
    p.add_argument("--sizes", default=None,
                   help="comma-separated queue sizes (default 10000,100000)")
    p.add_argument("--duration", type=float, default=None,
                   help="seconds per load run (default 4; --quick 2)")
    p.add_argument("--repeats", type=int, default=None,
                   help="runs per point, the median is reported (default 3; --quick 1)")
    p.add_argument("--connections", type=int, default=32, help="saturating connections")
    p.add_argument("--latency-connections", type=int, default=4)
    p.add_argument("--grab-connections", type=int, default=8)
    p.add_argument("--pg-admin-dsn", default=os.environ.get(
        "BENCH_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test"),
        help="libpq DSN of an existing database, used to CREATE/DROP queuarr_bench_*")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--keep", action="store_true", help="keep the databases and temp files")
    p.add_argument("--no-refs", action="store_true", help="skip the hello references")
    p.add_argument("--profile", action="store_true",
                   help="also sample the server with py-spy (extra runs at the first size)")
    p.add_argument("--no-wrk", action="store_true",
                   help="use the Python load generator even if wrk is installed")
    p.add_argument("--strict", action="store_true", help="exit 1 if any target fails")
    a = p.parse_args(argv)
    sizes = [int(s) for s in (a.sizes or ("10000" if a.quick else "10000,100000")).split(",")]
    duration = a.duration if a.duration is not None else (2.0 if a.quick else 4.0)
    repeats = a.repeats if a.repeats is not None else (1 if a.quick else 3)
    if not (0 < duration <= 60 and 1 <= repeats <= 9 and all(0 < s <= 1_000_000 for s in sizes)
            and 1 <= a.connections <= 256):
        p.error("need 0 < duration <= 60 s, 1 <= repeats <= 9, 0 < size <= 1e6, "
                "1 <= connections <= 256")
    return Config(
        backends=["postgres", "sqlite"] if a.backend == "both" else [a.backend],
        sizes=sorted(set(sizes)), duration=duration, repeats=repeats, conns=a.connections,
        latency_conns=a.latency_connections, grab_conns=a.grab_connections,
        warmup=1.0, admin_dsn=a.pg_admin_dsn, out=a.out, keep=a.keep, refs=not a.no_refs,
        profile=a.profile, prefer_wrk=not a.no_wrk, noisy_pct=25.0,
        retry_budget=12.0 * duration, strict=a.strict,
    )


class Bench:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.pin = can_pin()
        self.load = LoadGenerator(1 if self.pin else None, prefer_wrk=cfg.prefer_wrk)
        self.tmp = Path(tempfile.mkdtemp(prefix="queuarr_bench_"))
        self.logs = cfg.out / "logs"
        self.retry_left = cfg.retry_budget
        self.points: list[dict[str, Any]] = []
        self.memory: list[dict[str, Any]] = []
        self.compression: list[dict[str, Any]] = []
        self.seeding: list[dict[str, Any]] = []
        self.checks: list[dict[str, Any]] = []
        self.profiles: list[dict[str, Any]] = []
        self.grab_accounting: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.t0 = time.monotonic()

    # -- plumbing ----------------------------------------------------------------------

    def say(self, message: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.1f}s] {message}", flush=True)

    def server_env(self, extra: dict[str, str]) -> dict[str, str]:
        env = server_env()
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        env.update(extra)
        return env

    def measure(self, url: str, conns: int, *, headers: dict[str, str] | None = None,
                grab: bool = False, server: Server | None = None,
                pg_db: str | None = None) -> Result:
        """The median of `repeats` runs; a run taken while other processes used more than
        noisy_pct of a core is run again while the retry budget lasts. With `server`, also
        the server's CPU use (percent of one core) over the runs."""
        tried: list[Result] = []
        kept = 0
        cpu0, t0 = (server.cpu_seconds() if server else 0.0), time.monotonic()
        sessions0 = self.pg_sessions(pg_db)
        while kept < self.cfg.repeats and len(tried) < self.cfg.repeats * 3:
            r = self.load.run(url, conns, self.cfg.duration, headers=headers, grab=grab)
            tried.append(r)
            if r.noise_pct > self.cfg.noisy_pct and self.retry_left >= self.cfg.duration:
                self.retry_left -= self.cfg.duration
                who = ", ".join(f"{n} {p:.0f} %" for n, p in r.noise_top)
                self.say(f"    (noisy run: other processes used {r.noise_pct:.0f} % of a "
                         f"core: {who}; running it again)")
                continue
            kept += 1
        # The `repeats` quietest runs (all of them unless the retry budget ran out).
        runs = sorted(tried, key=lambda r: r.noise_pct)[: self.cfg.repeats]
        result = median(runs)
        if server is not None:
            result.server_cpu_pct = (100.0 * (server.cpu_seconds() - cpu0)
                                     / max(time.monotonic() - t0, 1e-3))
        sessions1 = self.pg_sessions(pg_db)
        if sessions0 is not None and sessions1 is not None:
            result.pg_sessions = sessions1 - sessions0
        return result

    def pg_sessions(self, database: str | None) -> int | None:
        """Sessions ever opened to `database` (pg_stat_database.sessions, Postgres 14+;
        flushed within about a second, so per-point differences are approximate)."""
        if database is None:
            return None
        import asyncio

        import asyncpg

        async def read() -> int | None:
            conn = await asyncpg.connect(self.cfg.admin_dsn, timeout=10)
            try:
                value = await conn.fetchval(
                    "SELECT sessions FROM pg_stat_database WHERE datname = $1", database)
                return int(value) if value is not None else None
            except asyncpg.PostgresError:  # before Postgres 14
                return None
            finally:
                await conn.close()

        return asyncio.run(read())

    def record(self, group: str, backend: str, size: int | None, endpoint: str, conns: int,
               r: Result) -> Result:
        self.points.append({"group": group, "backend": backend, "size": size,
                            "endpoint": endpoint, "conns": conns, **r.as_dict()})
        self.say(f"  {group:8} {backend:9} {size or '':>7} {endpoint:24} c={conns:<3} "
                 f"{r.rps:9.1f} req/s  p50 {r.p50_ms:7.2f} ms  p99 {r.p99_ms:7.2f} ms"
                 + (f"  server CPU {r.server_cpu_pct:.0f} %" if r.server_cpu_pct is not None
                    else "")
                 + (f"  new PG sessions {r.pg_sessions}" if r.pg_sessions else "")
                 + (f"  errors {r.errors}" if r.errors else "")
                 + (f"  (other processes {r.noise_pct:.0f} %)" if r.noise_pct >= 10 else ""))
        return r

    def warm(self, url: str, *, headers: dict[str, str] | None = None,
             grab: bool = False) -> None:
        self.load.run(url, self.cfg.latency_conns, self.cfg.warmup, headers=headers,
                      grab=grab)

    def uvicorn(self, name: str, app: str, env: dict[str, str]) -> Server:
        port = free_port()
        argv = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port",
                str(port), "--no-access-log", "--log-level", "warning"]
        return Server(name, argv, port, env=self.server_env(env), cwd=self.tmp,
                      log=self.logs / f"{name}.log", cpu=0 if self.pin else None)

    # -- references --------------------------------------------------------------------

    def hello_refs(self) -> None:
        self.say("references: raw ASGI hello and FastAPI hello")
        for name, app in (("raw ASGI hello", "bench.bare:raw_app"),
                          ("FastAPI hello", "bench.bare:hello_app")):
            server = self.uvicorn(name.replace(" ", "-"), app, {}).start("/")
            try:
                self.warm(server.base + "/")
                self.record("ref", name, None, "GET /", self.cfg.conns,
                            self.measure(server.base + "/", self.cfg.conns, server=server))
            finally:
                server.stop()

    def bare_refs(self, size: int, pg: dict[str, Any] | None,
                  lite: dict[str, Any] | None) -> None:
        for label, app, env, info in (
            ("bare-pg", "bench.bare:pg_app", "BENCH_BARE_DSN", pg),
            ("bare-sqlite", "bench.bare:sqlite_app", "BENCH_BARE_SQLITE", lite),
        ):
            if info is None:
                continue
            value = info["dsn"] if label == "bare-pg" else info["path"]
            server = self.uvicorn(f"{label}-{size}", app, {env: value}).start("/page")
            try:
                self.warm(server.base + "/page")
                for conns in (self.cfg.conns, self.cfg.latency_conns):
                    self.record("ref", label, size, "GET page 1", conns, self.measure(
                        server.base + "/page", conns, server=server,
                        pg_db=f"queuarr_bench_{size}" if label == "bare-pg" else None))
            finally:
                server.stop()

    def bare_grab_refs(self, size: int, pg: dict[str, Any] | None,
                       lite: dict[str, Any] | None) -> None:
        """The grab's references (bench/bare_grab.py): the same wrk script, connections
        and pinning as Queuarr's grab run, on tables of their own in the same database."""
        for label, dialect, env, where in (
            ("bare-pg-insert", "postgresql", "BENCH_BARE_DSN", pg and pg["dsn"]),
            ("bare-sqlite-insert", "sqlite", "BENCH_BARE_SQLITE", lite and lite["path"]),
        ):
            if where is None:
                continue
            app = "bench.bare_grab:" + ("pg_grab_app" if dialect == "postgresql"
                                        else "sqlite_grab_app")
            bare_grab.create_tables(dialect, where)
            server = self.uvicorn(f"{label}-{size}", app, {env: where}).start("/ready")
            try:
                self.warm(server.base + "/grab", grab=True)
                before, ok_before = bare_grab.rows(dialect, where), self.load.completed_ok
                self.grab_point("ref", label, size, server, server.base + "/grab",
                                pg_db=f"queuarr_bench_{size}" if dialect == "postgresql"
                                else None)
                answered = self.load.completed_ok - ok_before
                added = bare_grab.rows(dialect, where) - before
                slack = self.cfg.grab_conns * self.cfg.repeats * 3
                self.grab_accounting.append({
                    "backend": label, "size": size, "rows_added": added,
                    "answered_201": answered, "slack": slack,
                    "ok": answered <= added <= answered + slack})
            finally:
                server.stop()
                if not self.cfg.keep:
                    bare_grab.drop_tables(dialect, where)

    def grab_point(self, group: str, backend: str, size: int, server: Server, url: str, *,
                   headers: dict[str, str] | None = None, pg_db: str | None = None) -> Result:
        """`measure` and `record` a grab run at the grab connections, plus the server's
        CPU per successful grab: psutil CPU seconds before/after ÷ the 2xx answers over
        the same runs (discarded noisy runs included on both sides)."""
        cpu0, ok0 = server.cpu_seconds(), self.load.completed_ok
        r = self.measure(url, self.cfg.grab_conns, headers=headers, grab=True, server=server,
                         pg_db=pg_db)
        ok = self.load.completed_ok - ok0
        self.record(group, backend, size, "POST grab", self.cfg.grab_conns, r)
        cpu_ms = 1000.0 * (server.cpu_seconds() - cpu0) / ok if ok else None
        self.points[-1]["cpu_ms_per_grab"] = cpu_ms
        if cpu_ms is not None:
            self.say(f"           server CPU per grab {cpu_ms:.2f} ms")
        return r

    # -- Queuarr -----------------------------------------------------------------------

    def queuarr(self, backend: str, size: int, url: str) -> Server:
        port = free_port()
        data = self.tmp / f"data-{backend}-{size}"
        data.mkdir(parents=True, exist_ok=True)
        exe = Path(sys.executable).parent / "queuarr"
        argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "api.cli"]
        argv += ["serve", "--no-migrate", "--host", "127.0.0.1", "--port", str(port)]
        # Retention off: the seeded rows (cached, bench/results/cache) carry the dates
        # they were made with, and a start-up retention pass would delete the finished
        # ones once they are 30 days old, under the harness's row-count check.
        env = self.server_env({"QUEUARR_DATABASE_URL": url, "QUEUARR_API_KEY": API_KEY,
                               "QUEUARR_DATA_DIR": str(data), "QUEUARR_LOG_LEVEL": "WARNING",
                               "QUEUARR_RETENTION_DAYS": "0"})
        return Server(f"queuarr-{backend}-{size}", argv, port, env=env, cwd=data,
                      log=self.logs / f"queuarr-{backend}-{size}.log",
                      cpu=0 if self.pin else None)

    def total(self, server: Server) -> int:
        r = httpx.get(f"{server.base}{QUEUE}?page=1&pageSize=1&includeUnknownMovieItems=true",
                      headers=HEADERS, timeout=30)
        r.raise_for_status()
        return int(r.json()["totalRecords"])

    def run_queuarr(self, backend: str, size: int, url: str, profile: bool) -> None:
        server = self.queuarr(backend, size, url).start("/ping")
        try:
            self._run_queuarr(server, backend, size, profile)
        finally:
            server.stop()

    def _run_queuarr(self, server: Server, backend: str, size: int, profile: bool) -> None:
        base = server.base
        db = f"queuarr_bench_{size}" if backend == "postgres" else None
        total = self.total(server)
        if total != size:
            raise RuntimeError(f"{server.name}: totalRecords {total}, expected {size}")
        first = httpx.get(base + PAGE_INC, headers=HEADERS, timeout=30)
        first.raise_for_status()
        if len(first.json()["records"]) != min(50, size):
            raise RuntimeError(f"{server.name}: page 1 has {len(first.json()['records'])} "
                               "records")
        last_page = math.ceil(total / 50)
        last = f"{QUEUE}?page={last_page}&pageSize=50&includeUnknownMovieItems=true"
        rss_start = server.rss()
        for path in (PAGE_INC, PAGE_DEFAULT, last):
            self.warm(base + path, headers=HEADERS)
        c, lc, gc = self.cfg.conns, self.cfg.latency_conns, self.cfg.grab_conns
        for label, path in (("page 1 +unknown", PAGE_INC), ("page 1 default", PAGE_DEFAULT)):
            for conns in (c, lc):
                self.record("queuarr", backend, size, label, conns,
                            self.measure(base + path, conns, headers=HEADERS, server=server,
                                         pg_db=db))
        self.record("queuarr", backend, size, f"last page ({last_page})", lc,
                    self.measure(base + last, lc, headers=HEADERS, server=server, pg_db=db))
        if profile:
            self.profile(server, backend, size, "get", base + PAGE_INC, c)

        # Grabs: each run adds rows, so they come after the page measurements.
        self.warm(base + GRAB, headers=HEADERS, grab=True)
        before, ok_before = self.total(server), self.load.completed_ok
        self.grab_point("queuarr", backend, size, server, base + GRAB, headers=HEADERS,
                        pg_db=db)
        added, answered = self.total(server) - before, self.load.completed_ok - ok_before
        # Requests cut off when a run ends may commit without their answer being counted.
        slack = gc * self.cfg.repeats * 3
        self.grab_accounting.append({"backend": backend, "size": size, "rows_added": added,
                                     "answered_201": answered, "slack": slack,
                                     "ok": answered <= added <= answered + slack})
        # The list again, now that grabs have written (Postgres appends a counter delta
        # row per write statement; the page's totalRecords sums them).
        counter_rows = self.counter_rows(backend, db, server)
        self.grab_accounting[-1]["counter_rows_after"] = counter_rows
        self.record("queuarr", backend, size, "page 1 after grabs", lc,
                    self.measure(base + PAGE_INC, lc, headers=HEADERS, server=server,
                                 pg_db=db))
        if profile:
            self.profile(server, backend, size, "grab", base + GRAB, gc, grab=True)
        self.memory.append(self.big_get(server, backend, size, rss_start))
        for coding in CODINGS:
            self.compression.append(self.whole_queue(server, backend, size, coding))

    def counter_rows(self, backend: str, db: str | None, server: Server) -> int | None:
        """Rows in queue_counter (Postgres keeps appending deltas until something folds)."""
        if backend != "postgres" or db is None:
            return None
        import asyncio

        import asyncpg

        async def read() -> int:
            conn = await asyncpg.connect(seed.pg_dsn(self.cfg.admin_dsn, db), timeout=10)
            try:
                return int(await conn.fetchval("SELECT count(*) FROM queue_counter"))
            finally:
                await conn.close()

        rows = asyncio.run(read())
        self.say(f"  counters {backend:9} queue_counter holds {rows} rows after the grabs")
        return rows

    def big_get(self, server: Server, backend: str, size: int, rss_start: int
                ) -> dict[str, Any]:
        rss_runs = server.rss()
        t0 = time.perf_counter()
        received = 0
        url = f"{server.base}{QUEUE}?page=1&pageSize={BIG_PAGE}&includeUnknownMovieItems=true"
        with httpx.stream("GET", url, headers={**HEADERS, "Accept-Encoding": "identity"},
                          timeout=300) as r:
            status = r.status_code
            for chunk in r.iter_raw():
                received += len(chunk)
        seconds = time.perf_counter() - t0
        time.sleep(0.5)
        entry = {
            "backend": backend, "size": size, "rss_start_mib": rss_start / 2**20,
            "rss_after_runs_mib": rss_runs / 2**20, "rss_after_big_get_mib": server.rss() / 2**20,
            "peak_rss_mib": server.peak_rss() / 2**20, "big_get_status": status,
            "big_get_seconds": seconds, "big_get_bytes": received,
        }
        self.say(f"  memory   {backend:9} {size:>7} RSS start {entry['rss_start_mib']:.0f} MiB, "
                 f"after runs {entry['rss_after_runs_mib']:.0f} MiB, after pageSize="
                 f"{BIG_PAGE} GET ({received / 2**20:.0f} MiB in {seconds:.1f} s, "
                 f"HTTP {status}) {entry['rss_after_big_get_mib']:.0f} MiB, peak "
                 f"{entry['peak_rss_mib']:.0f} MiB")
        return entry

    def whole_queue(self, server: Server, backend: str, size: int, coding: str
                    ) -> dict[str, Any]:
        """The whole queue in one GET asking for `coding`: the bytes sent and the server's
        CPU for it (medians of `repeats` reads; the client reads the raw bytes only)."""
        url = f"{server.base}{QUEUE}?page=1&pageSize={BIG_PAGE}&includeUnknownMovieItems=true"
        headers = {**HEADERS, "Accept-Encoding": coding}
        runs = []
        for _ in range(self.cfg.repeats):
            cpu0, t0, received = server.cpu_seconds(), time.perf_counter(), 0
            with httpx.stream("GET", url, headers=headers, timeout=300) as r:
                r.raise_for_status()
                sent = r.headers.get("content-encoding", "identity")
                for chunk in r.iter_raw():
                    received += len(chunk)
            runs.append((server.cpu_seconds() - cpu0, time.perf_counter() - t0, received))
        if sent != coding:
            raise RuntimeError(f"{server.name}: asked for {coding}, got {sent}")
        cpu, seconds, received = (statistics.median(r[i] for r in runs) for i in range(3))
        entry = {"backend": backend, "size": size, "coding": coding, "bytes": int(received),
                 "server_cpu_ms": cpu * 1000, "seconds": seconds}
        self.say(f"  whole    {backend:9} {size:>7} {coding:8} {int(received):>11,} bytes, "
                 f"server CPU {cpu * 1000:.0f} ms, {seconds:.2f} s")
        return entry

    def profile(self, server: Server, backend: str, size: int, what: str, url: str,
                conns: int, grab: bool = False) -> None:
        if not py_spy():
            self.notes.append("--profile: py-spy is not installed "
                              "(.venv/bin/pip install py-spy)")
            return
        out = self.cfg.out / "profiles" / f"{backend}-{size}-{what}.txt"
        out.unlink(missing_ok=True)
        seconds = max(self.cfg.duration, 4.0)
        with Profiler(server.pid, out, seconds):
            time.sleep(0.3)
            self.load.run(url, conns, seconds + 1, headers=HEADERS, grab=grab)
        summary = summarise(out)
        self.profiles.append({"backend": backend, "size": size, "what": what,
                              "conns": conns, "file": str(out), **summary})
        self.say(f"  profile  {backend:9} {size:>7} {what}: {summary['samples']} samples "
                 f"-> {out}")

    # -- the run -----------------------------------------------------------------------

    def environment(self) -> dict[str, Any]:
        cpu = cpu_model()
        pg = self._pg_settings()
        wrk = "-"
        if self.load.wrk:
            out = subprocess.run([self.load.wrk, "-v"], capture_output=True, text=True,
                                 check=False)
            wrk = (out.stdout or out.stderr).split("\n")[0].strip()
        import sqlite3

        return {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "host": platform.node(), "cpu": cpu, "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "packages": {p: package_version(p) for p in (
                "uvicorn", "uvloop", "httptools", "fastapi", "starlette", "sqlalchemy",
                "asyncpg", "aiosqlite", "orjson")},
            "postgres": pg, "sqlite": sqlite3.sqlite_version,
            "load_generator": self.load.name, "wrk": wrk,
            "pinning": "server on CPU 0, load generator on CPU 1 (taskset); Postgres "
                       "unpinned" if self.pin else "none (taskset or CPUs 0-1 unavailable)",
            "duration_s": self.cfg.duration, "repeats": self.cfg.repeats,
            "connections": {"saturated": self.cfg.conns, "latency": self.cfg.latency_conns,
                            "grab": self.cfg.grab_conns},
        }

    def _pg_settings(self) -> dict[str, str]:
        import asyncio

        async def read() -> dict[str, str]:
            import asyncpg

            conn = await asyncpg.connect(self.cfg.admin_dsn, timeout=10)
            try:
                out = {}
                for name in ("server_version", "shared_buffers", "synchronous_commit",
                             "work_mem"):
                    out[name] = await conn.fetchval(f"SHOW {name}")
                return out
            finally:
                await conn.close()

        if "postgres" not in self.cfg.backends:
            return {}
        return asyncio.run(read())

    def run(self) -> dict[str, Any]:
        cfg = self.cfg
        env = self.environment()
        idle = machine_idle_percent(1.0)
        env["idle_before_pct"] = round(idle, 1)
        self.say(f"Queuarr benchmark: backends {', '.join(cfg.backends)}, sizes "
                 f"{', '.join(map(str, cfg.sizes))}, {cfg.duration:g} s x {cfg.repeats} per "
                 f"point, load generator {self.load.name}, pinning "
                 f"{'on' if self.pin else 'off'}; machine {idle:.0f} % idle")
        if idle < 70:
            self.notes.append(f"The machine was only {idle:.0f} % idle before the run: "
                              "other processes compete for the 2 cores and add noise.")
        cache = cfg.out / "cache"
        try:
            if cfg.refs:
                self.hello_refs()
            t0 = time.perf_counter()
            self.say(f"building {max(cfg.sizes)} rows (cached in {cache})")
            all_rows = seed.cached_rows(max(cfg.sizes), cache)
            self.seeding.append({"size": max(cfg.sizes), "what": "build rows",
                                 "seconds": time.perf_counter() - t0})
            for i, size in enumerate(cfg.sizes):
                self.say(f"seeding {size} items")
                rows = all_rows.head(size)
                pg = lite = None
                if "postgres" in cfg.backends:
                    pg = seed.seed_postgres(cfg.admin_dsn, f"queuarr_bench_{size}", rows)
                    self.seeding.append({"size": size, "what": "postgres", **_public(pg)})
                    self.say(f"  postgres: {size} rows in {pg['seconds']:.1f} s "
                             f"(queue_item {pg['table_bytes'] / 2**20:.0f} MiB with indexes)")
                if "sqlite" in cfg.backends:
                    lite = seed.seed_sqlite(self.tmp / f"queuarr-{size}.db", rows)
                    self.seeding.append({"size": size, "what": "sqlite", **_public(lite)})
                    self.say(f"  sqlite: {size} rows in {lite['seconds']:.1f} s "
                             f"(file {lite['file_bytes'] / 2**20:.0f} MiB)")
                del rows
                self.bare_refs(size, pg, lite)
                self.bare_grab_refs(size, pg, lite)
                for backend in cfg.backends:
                    info = pg if backend == "postgres" else lite
                    assert info is not None
                    self.run_queuarr(backend, size, info["url"], cfg.profile and i == 0)
                if not cfg.keep:
                    self.drop(size)
        finally:
            self.load.close()
            if not cfg.keep:
                for size in cfg.sizes:
                    self.drop(size)
                shutil.rmtree(self.tmp, ignore_errors=True)
        if self.retry_left < cfg.retry_budget:
            self.notes.append(f"{(cfg.retry_budget - self.retry_left) / cfg.duration:.0f} "
                              "noisy runs were discarded and run again.")
        return {"environment": env, "seeding": self.seeding, "points": self.points,
                "memory": self.memory, "compression": self.compression,
                "grab_accounting": self.grab_accounting,
                "profiles": self.profiles, "notes": self.notes,
                "elapsed_s": round(time.monotonic() - self.t0, 1)}

    def drop(self, size: int) -> None:
        if "postgres" in self.cfg.backends:
            try:
                seed.pg_drop(self.cfg.admin_dsn, f"queuarr_bench_{size}")
            except Exception as exc:  # best effort at cleanup
                self.notes.append(f"could not drop queuarr_bench_{size}: {exc}")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.tmp / f'queuarr-{size}.db'}{suffix}").unlink(missing_ok=True)


def _public(info: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in info.items() if k not in ("dsn", "url", "path")}


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    cfg.out.mkdir(parents=True, exist_ok=True)
    results = Bench(cfg).run()
    results["checks"] = report.checks(results, cfg.sizes, cfg.backends)
    text = report.render(results)
    print()
    print(text)
    paths = report.write(results, text, cfg.out)
    print(f"\nResults: {paths[0]} and {paths[1]} (also latest.json / latest.md)")
    failed = [c for c in results["checks"] if c["status"] == "FAIL" and not c["informative"]]
    return 1 if cfg.strict and failed else 0
