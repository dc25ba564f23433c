"""The processor's claim path, pick-up latency, idle cost and sync cost (P3, P4).

`python -m bench --only processor` (or `python -m bench.processor`); a plain
`python -m bench` runs it after the other benchmarks. The section is appended to
bench/results/latest.md (replacing an earlier section of this benchmark there), and the
figures are written to bench/results/processor-<time>.json and .md.

Every figure is stated against a bare reference measured in the same run:

1. **Claim throughput.** N queued items (bench.seed.new_items, all `queued`) are seeded
   once into a template (Postgres: a database migrated with infrastructure.migrate.upgrade
   and filled by COPY, cloned with `CREATE DATABASE ... TEMPLATE`; SQLite: a file, copied).
   Each run gets a fresh copy and claims until nothing is left, `--proc-batches` items per
   call. ours: `SqlQueueRepository.claim(owner, batch, now, lease)`. bare: the most direct
   job on the raw driver (asyncpg / aiosqlite), one transaction per call: one
   `UPDATE queue_item SET <the columns a claim changes>, version = version + 1 WHERE id IN
   (SELECT id ... WHERE state = 'queued' ORDER BY priority DESC, added_at, id LIMIT k
   FOR UPDATE SKIP LOCKED) RETURNING <the item columns>` and one history insert. Both are
   checked: every item claimed exactly once, one `claimed` history row each.
2. **Grab-to-client latency.** A local HTTP server (in this process) records when each
   path is first requested. ours: `queuarr serve` (SQLite, then Postgres) with its managed
   aria2c (no client configured, QUEUARR_ALLOW_PRIVATE_URLS=true) is left idle, then gets
   `POST /api/v3/queue/grab` with a distinct direct http URL every ~0.5 s; the latency is
   from sending the grab to the file server seeing aria2c's GET. bare: an aria2c of our own
   (tests.daemons.Aria2Daemon) gets the same kind of URL straight through `aria2.addUri`.
   QUEUARR_MAX_CONCURRENT is raised so that finished downloads waiting for their next
   status sync never hold the slots: the figure is the pick-up, not the slot limit.
3. **Idle database load.** `queuarr serve` on Postgres (database queuarr_bench_idle, empty
   queue), connected through a counting proxy (PgWireCounter: reads the frontend protocol,
   counts simple queries and executes of prepared statements, per statement text and
   connection). After a warm-up, pg_stat_database (xact_commit + xact_rollback) is sampled
   over the window from an admin connection to another database, and the proxy's counts
   give the statements and which scheduler job sends them. Same window, as references: a
   migrated database nobody connects to, one held by an idle asyncpg pool, and one polled
   by a bare 1 Hz poller (one claim-shaped SELECT per second: what the goal allows).
4. **Sync cost, 1,000 items.** A `core.processor.Processor` over a real
   `SqlQueueRepository` (SQLite file, Postgres), N items `downloading` with download ids,
   and a fake DownloadClient returning prebuilt DownloadStatus objects. Cycles with 1 %
   of the statuses changed before each, then cycles with nothing changed; CPU
   (`time.process_time`) and wall per `sync()`. bare: one SELECT of the tracked rows on
   the raw driver, the diff in Python, one UPDATE of the changed rows and one history
   insert in one transaction. ours and bare cycles alternate on the same database.

Figures are medians and nearest-rank percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import dataclasses
import functools
import http.server
import math
import os
import platform
import pstats
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # core, infrastructure, tests.daemons
    sys.path.insert(0, str(ROOT))

from bench import seed  # noqa: E402
from bench.procs import (  # noqa: E402
    Noise,
    Server,
    cpu_model,
    free_port,
    machine_idle_percent,
    package_version,
    server_env,
)
from bench.report import (  # noqa: E402
    Checks,
    _num,
    _table,
    checks_and_notes,
    publish,
    ratio,
    targets_table,
    write_section,
)

SECTION_START = "<!-- bench.processor: start -->"
SECTION_END = "<!-- bench.processor: end -->"
API_KEY = "0123456789abcdef0123456789abcdef"
HEADERS = {"X-Api-Key": API_KEY}
OWNER = "bench-claimer"
LEASE = timedelta(minutes=5)
SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # infrastructure.db.types.UTCDateTime on SQLite
TRACKED_STATES = ("downloading", "paused", "warning", "clientUnavailable")  # core.leases
NOISY_PCT = 25.0
BODY = b"q" * 1024  # what the file server answers

# Targets from /work/shared/reference/perf-reliability.md, sections 0 (P3, P4) and A5.
MIN_CLAIMS_PER_S = 2000.0  # Postgres, batch claim
MAX_PICKUP_P99_S = 1.0  # grab -> client acts on it
MAX_IDLE_PER_S = 1.0  # queries (and transactions) per second with nothing to do
ABS_MAX_SYNC_CPU_MS = 100.0  # P4's budget for our side of a 1k-item cycle (info here)


# -- arguments ---------------------------------------------------------------------------

PARTS = ("claim", "latency", "idle", "sync")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench --only processor",
        description="The processor: batch claims, grab-to-client latency, idle database "
                    "load and sync cost, each against a bare reference (bench/processor.py).")
    p.add_argument("--quick", action="store_true",
                   help="5k claim items, 20 grabs per line, 20 s idle window, 10 sync "
                        "cycles (about 2 minutes)")
    p.add_argument("--backend", choices=("postgres", "sqlite", "both"), default="both",
                   help="claim and sync backends (latency: both unless one is chosen; "
                        "idle is Postgres only)")
    p.add_argument("--proc-parts", default=",".join(PARTS),
                   help=f"comma-separated subset of {','.join(PARTS)}")
    p.add_argument("--proc-claim-items", type=int, default=None,
                   help="queued items per claim run (default 20000; --quick 5000)")
    p.add_argument("--proc-batches", default="100,1000", help="claim batch sizes")
    p.add_argument("--proc-grabs", type=int, default=None,
                   help="grabs per latency line (default 50; --quick 20)")
    p.add_argument("--proc-grab-spacing", type=float, default=0.5,
                   help="seconds between one grab's download starting and the next grab")
    p.add_argument("--proc-idle-warmup", type=float, default=None,
                   help="seconds before the idle window (default 10; --quick 5)")
    p.add_argument("--proc-idle-seconds", type=float, default=None,
                   help="idle window (default 60; --quick 20)")
    p.add_argument("--proc-sync-items", type=int, default=1000, help="tracked items")
    p.add_argument("--proc-sync-changed", type=float, default=1.0,
                   help="percent of statuses changed before each changed cycle")
    p.add_argument("--proc-sync-cycles", type=int, default=None,
                   help="cycles per kind and side (default 30; --quick 10)")
    p.add_argument("--proc-retries", type=int, default=1,
                   help="extra attempts of a claim run or sync phase during which other "
                        f"processes used more than {NOISY_PCT:g} %% of a core (default 1)")
    p.add_argument("--pg-admin-dsn", default=os.environ.get(
        "BENCH_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test"),
        help="libpq DSN of an existing database, used to CREATE/DROP queuarr_bench_*")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--keep", action="store_true", help="keep databases and temp files")
    p.add_argument("--strict", action="store_true", help="exit 1 if a target fails")
    return p


def parse_args(argv: Sequence[str] | None, lenient: bool = False) -> argparse.Namespace:
    """`lenient`: called from the whole run, whose other flags are not ours."""
    p = parser()
    a = p.parse_known_args(argv)[0] if lenient else p.parse_args(argv)
    q = a.quick
    a.proc_claim_items = a.proc_claim_items or (5000 if q else 20000)
    a.proc_grabs = a.proc_grabs or (20 if q else 50)
    a.proc_idle_warmup = a.proc_idle_warmup if a.proc_idle_warmup is not None else (
        5.0 if q else 10.0)
    a.proc_idle_seconds = a.proc_idle_seconds or (20.0 if q else 60.0)
    a.proc_sync_cycles = a.proc_sync_cycles or (10 if q else 30)
    a.parts = [x.strip() for x in a.proc_parts.split(",") if x.strip()]
    a.batches = [int(x) for x in a.proc_batches.split(",") if x.strip()]
    a.backends = ["postgres", "sqlite"] if a.backend == "both" else [a.backend]
    if not (set(a.parts) <= set(PARTS) and a.parts and a.batches
            and all(1 <= b <= 10_000 for b in a.batches)
            and 100 <= a.proc_claim_items <= 1_000_000 and 1 <= a.proc_grabs <= 1000
            and 0 <= a.proc_grab_spacing <= 10 and 5 <= a.proc_idle_seconds <= 3600
            and 10 <= a.proc_sync_items <= 100_000 and 0 < a.proc_sync_changed <= 100
            and 1 <= a.proc_sync_cycles <= 1000 and 0 <= a.proc_retries <= 5):
        p.error(f"need parts in {PARTS}, 1 <= batch <= 10000, 100 <= claim items <= 1e6, "
                "1 <= grabs <= 1000, 5 <= idle seconds <= 3600, 10 <= sync items <= 1e5, "
                "0 < changed <= 100, 1 <= cycles <= 1000, 0 <= retries <= 5")
    return a


# -- statistics --------------------------------------------------------------------------


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def pct(values: Sequence[float], q: float) -> float | None:
    """Nearest rank: p99 of 50 samples is the largest."""
    if not values:
        return None
    s = sorted(values)
    return s[max(math.ceil(q / 100 * len(s)) - 1, 0)]


def at(d: dict[str, Any] | None, *keys: str) -> float | None:
    """d[k1][k2]..., or None when d is None."""
    value: Any = d
    for key in keys:
        if value is None:
            return None
        value = value[key]
    return None if value is None else float(value)


def spread(values: Sequence[float]) -> dict[str, float | None]:
    return {"n": len(values), "p50": median(values), "p95": pct(values, 95),
            "p99": pct(values, 99), "max": max(values) if values else None,
            "mean": sum(values) / len(values) if values else None}


# -- small helpers -----------------------------------------------------------------------


def sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime(SQLITE_FORMAT)
    if isinstance(value, bool):
        return int(value)
    return value


def pg_url(admin_dsn: str, database: str) -> str:
    return seed.pg_sqlalchemy_url(seed.pg_dsn(admin_dsn, database))


def pg_clone(admin_dsn: str, template: str, database: str) -> None:
    assert database.startswith("queuarr_bench_") and template.startswith("queuarr_bench_")
    asyncio.run(seed.pg_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)',
                         f'CREATE DATABASE "{database}" TEMPLATE "{template}" '
                         "STRATEGY FILE_COPY"))


def pg_fresh(admin_dsn: str, template: str, database: str) -> str:
    """A fresh copy of `template` as `database`; its libpq DSN."""
    pg_clone(admin_dsn, template, database)
    return seed.pg_dsn(admin_dsn, database)


def sqlite_fresh(template: Path, target: Path) -> str:
    """A fresh copy of the `template` file at `target`; its path."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, target)
    return str(target)


def rows_of(values: list[dict[str, Any]]) -> seed.Rows:
    columns = list(values[0])
    return seed.Rows(columns, [tuple(v[c] for c in columns) for v in values])


def project_profile(profile: cProfile.Profile, top: int = 8) -> dict[str, Any]:
    """Where the wall time of a profiled call went: tottime by package, and the project's
    functions by cumulative time (file:function)."""
    stats = pstats.Stats(profile)
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    by_package: Counter[str] = Counter()
    functions = []
    total = 0.0
    for (path, line, name), (_cc, calls, tottime, cumtime, _callers) in entries.items():
        total += tottime
        p = str(path)
        if p == "~" and ("epoll" in name or "select" in name):
            package = "waiting (event loop poll: database, client, worker threads)"
        elif p == "~" and "socket" in name:
            package = "socket calls (round trips)"
        elif p == "~" and "SimpleQueue" in name:
            package = "hand-off to worker threads (aiosqlite, GIL)"
        elif f"{ROOT}/core/" in p or f"{ROOT}/infrastructure/" in p:
            package = "queuarr (core/, infrastructure/)"
        elif "/sqlalchemy/" in p:
            package = "sqlalchemy"
        elif "/asyncpg/" in p or "asyncpg" in p:
            package = "asyncpg"
        elif "/aiosqlite/" in p:
            package = "aiosqlite"
        elif "/asyncio/" in p:
            package = "asyncio"
        else:
            package = "other (stdlib, builtins)"
        by_package[package] += tottime
        if f"{ROOT}/core/" in p or f"{ROOT}/infrastructure/" in p:
            rel = os.path.relpath(p, ROOT)
            functions.append({"function": f"{rel}:{name}", "line": line, "calls": calls,
                              "cum_ms": cumtime * 1e3, "self_ms": tottime * 1e3})
    functions.sort(key=lambda f: -f["cum_ms"])
    hot = sorted(entries.items(), key=lambda kv: -kv[1][2])[:top]
    return {"total_ms": total * 1e3,
            "packages": [{"package": k, "ms": v * 1e3} for k, v in by_package.most_common()],
            "functions": functions[:top],
            "self": [{"function": _where(path, name), "calls": calls, "self_ms": tt * 1e3}
                     for (path, _line, name), (_cc, calls, tt, _ct, _callers) in hot]}


def _where(path: str, name: str) -> str:
    p = str(path)
    if p.startswith(str(ROOT)):
        p = os.path.relpath(p, ROOT)
    elif "site-packages/" in p:
        p = p.split("site-packages/", 1)[1]
    elif "/lib/python" in p:
        p = "stdlib/" + p.split("/lib/python", 1)[1].split("/", 1)[-1]
    return f"{p}:{name}" if p != "~" else name


# -- 1. claim ----------------------------------------------------------------------------


def claim_rows(count: int) -> seed.Rows:
    from infrastructure.db.mapping import insert_values

    return rows_of([insert_values(item) for item in seed.new_items(0, count)])


def waiting_rows() -> seed.Rows:
    """One item waiting for a retry an hour away (attempt 1 failed), as the processor
    leaves it (core.processor_base._retry_or_fail)."""
    from core.domain import ItemState
    from infrastructure.db.mapping import insert_values

    values = insert_values(seed.new_items(0, 1)[0])
    if values.get("state") != ItemState.QUEUED.value:
        raise RuntimeError(f"a new item's row is not queued: {values.get('state')!r}")
    values.update(state=ItemState.RETRYING.value, attempts=1,
                  error_message="bench: the client refused it",
                  next_attempt_at=datetime.now(UTC) + timedelta(hours=1))
    return rows_of([values])


def claim_set(now: datetime) -> dict[str, Any]:
    """The columns a claim changes on a fresh queued item (and their values), from the
    code ours runs (core.leases.leased, infrastructure.db.mapping.update_values); the same
    for every queued item (checked on a few)."""
    from core.domain import materialise
    from core.leases import leased
    from infrastructure.db.mapping import update_values

    seen = [update_values(item, leased(item, OWNER, now, LEASE))
            for item in (materialise(new, 1) for new in seed.new_items(0, 5))]
    if any(s != seen[0] for s in seen):
        raise RuntimeError(f"claims change different columns per item: {seen}")
    return seen[0]


async def claim_ours(url: str, batch: int, now: datetime, calls: int | None = None
                     ) -> dict[str, Any]:
    """Claim until nothing is left (or `calls` times)."""
    from infrastructure.clock import SystemClock
    from infrastructure.db.engine import Database
    from infrastructure.db.queue_repository import SqlQueueRepository

    db = Database(url)
    repo = SqlQueueRepository(db, SystemClock())
    try:
        await db.ping()  # connect outside the measure
        ids: list[int] = []
        times: list[float] = []
        c0, w0 = time.process_time(), time.perf_counter()
        while True:
            t = time.perf_counter()
            got = await repo.claim(OWNER, batch, now, LEASE)
            times.append(time.perf_counter() - t)
            ids.extend(item.id for item in got)
            if not got or len(times) == calls:
                break
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    finally:
        await db.dispose()
    return {"ids": ids, "calls": times, "wall_s": wall, "cpu_s": cpu}


def _bare_pg_sql(sets: dict[str, Any]) -> tuple[str, str]:
    from infrastructure.db.mapping import ITEM_COLUMNS

    assignments = ", ".join(f"{c} = ${i + 2}" for i, c in enumerate(sets))
    update = (f"UPDATE queue_item SET {assignments}, version = version + 1 WHERE id IN ("
              "SELECT id FROM queue_item WHERE state = 'queued' "
              "ORDER BY priority DESC, added_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) "
              f"RETURNING {', '.join(ITEM_COLUMNS)}")
    history = ("INSERT INTO queue_history (item_id, at, event, from_state, to_state) "
               "SELECT unnest($1::int[]), $2, 'claimed', 'queued', 'sending'")
    return update, history


async def bare_claim_call(conn: Any, batch: int, now: datetime, sets: dict[str, Any]
                          ) -> list[int]:
    """One bare claim on an asyncpg connection: the ids claimed."""
    update, history = _bare_pg_sql(sets)
    async with conn.transaction():
        rows = await conn.fetch(update, batch, *sets.values())
        got = [r[0] for r in rows]
        if got:
            await conn.execute(history, got, now)
    return got


async def claim_bare_pg(dsn: str, batch: int, now: datetime, sets: dict[str, Any],
                        calls: int | None = None) -> dict[str, Any]:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        ids: list[int] = []
        times: list[float] = []
        c0, w0 = time.process_time(), time.perf_counter()
        while True:
            t = time.perf_counter()
            got = await bare_claim_call(conn, batch, now, sets)
            times.append(time.perf_counter() - t)
            ids.extend(got)
            if not got or len(times) == calls:
                break
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    finally:
        await conn.close()
    return {"ids": ids, "calls": times, "wall_s": wall, "cpu_s": cpu}


async def claim_bare_sqlite(path: Path, batch: int, now: datetime, sets: dict[str, Any]
                            ) -> dict[str, Any]:
    import aiosqlite

    from infrastructure.db.mapping import ITEM_COLUMNS

    names = list(sets)
    update = (f"UPDATE queue_item SET {', '.join(f'{c} = ?' for c in names)}, "
              "version = version + 1 WHERE id IN (SELECT id FROM queue_item WHERE "
              "state = 'queued' ORDER BY priority DESC, added_at, id LIMIT ?) "
              f"RETURNING {', '.join(ITEM_COLUMNS)}")
    history = ("INSERT INTO queue_history (item_id, at, event, from_state, to_state) "
               "VALUES (?, ?, 'claimed', 'queued', 'sending')")
    values = [sqlite_value(sets[c]) for c in names]
    at = sqlite_value(now)
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON",
                       "busy_timeout=30000"):
            await conn.execute(f"PRAGMA {pragma}")
        ids: list[int] = []
        calls: list[float] = []
        c0, w0 = time.process_time(), time.perf_counter()
        while True:
            t = time.perf_counter()
            await conn.execute("BEGIN IMMEDIATE")
            rows = list(await conn.execute_fetchall(update, [*values, batch]))
            got = [r[0] for r in rows]
            if got:
                await conn.executemany(history, [(i, at) for i in got])
            await conn.execute("COMMIT")
            calls.append(time.perf_counter() - t)
            if not got:
                break
            ids.extend(got)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    finally:
        await conn.close()
    return {"ids": ids, "calls": calls, "wall_s": wall, "cpu_s": cpu}


async def claim_wire_call(side: str, dsn: str, batch: int, now: datetime,
                          sets: dict[str, Any], proxy: PgWireCounter) -> list[dict[str, Any]]:
    """A warm-up claim call (connection set-up, type introspection, prepared statements),
    then one more: the proxy's events of the second call."""
    if side == "ours":
        from infrastructure.clock import SystemClock
        from infrastructure.db.engine import Database
        from infrastructure.db.queue_repository import SqlQueueRepository

        db = Database(seed.pg_sqlalchemy_url(dsn))
        repo = SqlQueueRepository(db, SystemClock())
        try:
            await repo.claim(OWNER, batch, now, LEASE)
            mark = len(proxy.events)
            await repo.claim(OWNER, batch, now, LEASE)
            return proxy.events[mark:]
        finally:
            await db.dispose()
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await bare_claim_call(conn, batch, now, sets)
        mark = len(proxy.events)
        await bare_claim_call(conn, batch, now, sets)
        return proxy.events[mark:]
    finally:
        await conn.close()


async def claim_check_pg(dsn: str) -> tuple[int, int, int]:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        sending = await conn.fetchval("SELECT count(*) FROM queue_item WHERE state = "
                                      "'sending' AND lease_owner = $1", OWNER)
        left = await conn.fetchval("SELECT count(*) FROM queue_item WHERE state = 'queued'")
        history = await conn.fetchval("SELECT count(*) FROM queue_history WHERE event = "
                                      "'claimed'")
    finally:
        await conn.close()
    return int(sending), int(left), int(history)


def claim_check_sqlite(path: Path) -> tuple[int, int, int]:
    conn = sqlite3.connect(path)
    try:
        sending = conn.execute("SELECT count(*) FROM queue_item WHERE state = 'sending' "
                               "AND lease_owner = ?", (OWNER,)).fetchone()[0]
        left = conn.execute("SELECT count(*) FROM queue_item WHERE state = 'queued'"
                            ).fetchone()[0]
        history = conn.execute("SELECT count(*) FROM queue_history WHERE event = 'claimed'"
                               ).fetchone()[0]
    finally:
        conn.close()
    return int(sending), int(left), int(history)


async def pg_explain_claim(dsn: str, batch: int) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        rows = await conn.fetch(
            "EXPLAIN SELECT id FROM queue_item WHERE state = 'queued' OR (state IN "
            "('retrying', 'clientUnavailable') AND download_id IS NULL AND "
            "(next_attempt_at IS NULL OR next_attempt_at <= now())) "
            f"ORDER BY priority DESC, added_at, id LIMIT {int(batch)} FOR UPDATE SKIP LOCKED")
    finally:
        await conn.close()
    return [str(r[0]) for r in rows]


# -- 2. latency --------------------------------------------------------------------------


class _SeenHandler(http.server.BaseHTTPRequestHandler):
    server: _SeenServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.seen(self.command, self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(BODY)

    def do_HEAD(self) -> None:
        self.server.seen(self.command, self.path)
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()


class _SeenServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SeenHandler)
        self.first: dict[str, float] = {}
        self.requests: list[tuple[str, str]] = []
        self.cond = threading.Condition()

    def seen(self, method: str, path: str) -> None:
        t = time.perf_counter()  # the request line and headers are read by now
        with self.cond:
            self.requests.append((method, path))
            self.first.setdefault(path, t)
            self.cond.notify_all()

    def wait(self, path: str, timeout: float) -> float | None:
        with self.cond:
            self.cond.wait_for(lambda: path in self.first, timeout)
            return self.first.get(path)


class FileServer:
    """Answers any GET with 1 KiB and records when each path was first asked for."""

    def __init__(self) -> None:
        self.httpd = _SeenServer()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                       kwargs={"poll_interval": 0.1}, name="bench-files")

    def __enter__(self) -> FileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _grab_loop(files: FileServer, label: str, n: int, spacing: float,
               send: Callable[[str, int], Any]) -> dict[str, Any]:
    """`n` sends of distinct URLs; each: t0, send, wait for the GET; then `spacing`."""
    latencies: list[float] = []
    answers: list[float] = []
    missing = 0
    for i in range(n):
        path = f"/{label}/{i:04d}/bench-{label}-{i:04d}.bin?n={i}"
        t0 = time.perf_counter()
        send(files.url + path, i)
        answers.append(time.perf_counter() - t0)
        seen = files.httpd.wait(path, 10.0)
        if seen is None:
            missing += 1
        else:
            latencies.append(seen - t0)
        time.sleep(spacing)
    return {"latency_s": latencies, "answer_s": answers, "missing": missing}


def latency_bare(tmp: Path, files: FileServer, n: int, spacing: float) -> dict[str, Any]:
    from tests.daemons import Aria2Daemon

    daemon = Aria2Daemon(tmp / "aria2-bare", persist_session=False)
    daemon.start()
    try:
        with httpx.Client(timeout=10, trust_env=False) as http:
            def send(url: str, i: int) -> None:
                r = http.post(daemon.url, json={
                    "jsonrpc": "2.0", "id": str(i), "method": "aria2.addUri",
                    "params": [f"token:{daemon.secret}", [url],
                               {"gid": f"{0xbe0000000000 + i:016x}"}]})
                if "error" in r.json():
                    raise RuntimeError(f"aria2.addUri failed: {r.text}")

            send(files.url + "/warm/bench-warm.bin", 99999)  # first call outside
            files.httpd.wait("/warm/bench-warm.bin", 10)
            time.sleep(1.0)
            return _grab_loop(files, "bare", n, spacing, send)
    finally:
        daemon.stop()


def queuarr_server(name: str, tmp: Path, url: str, extra: dict[str, str] | None = None
                   ) -> Server:
    data = tmp / f"data-{name}"
    data.mkdir(parents=True, exist_ok=True)
    exe = Path(sys.executable).parent / "queuarr"
    argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "api.cli"]
    port = free_port()
    argv += ["serve", "--no-migrate", "--host", "127.0.0.1", "--port", str(port)]
    env = server_env()
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update({"QUEUARR_DATABASE_URL": url, "QUEUARR_API_KEY": API_KEY,
                "QUEUARR_DATA_DIR": str(data), "QUEUARR_LOG_LEVEL": "WARNING",
                "QUEUARR_ALLOW_PRIVATE_URLS": "true", **(extra or {})})
    return Server(f"queuarr-{name}", argv, port, env=env, cwd=data,
                  log=tmp / "logs" / f"queuarr-{name}.log", cpu=None)


def wait_for_client(server: Server, timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=server.base, headers=HEADERS, timeout=5) as http:
        while time.monotonic() < deadline:
            names = [c["name"] for c in http.get("/api/v3/downloadclient").json()]
            if names:
                return names
            time.sleep(0.2)
    raise RuntimeError(f"{server.name}: no download client after {timeout} s "
                       f"(aria2c on the PATH?); see {server.log}")


def latency_ours(server: Server, files: FileServer, label: str, n: int, spacing: float,
                 settle: float) -> dict[str, Any]:
    """Grabs against a started server (stopped at the end)."""
    try:
        clients = wait_for_client(server)
        time.sleep(settle)  # idle: the start-up passes are over
        statuses: Counter[int] = Counter()
        with httpx.Client(base_url=server.base, headers=HEADERS, timeout=30) as http:
            def send(url: str, i: int) -> None:
                r = http.post("/api/v3/queue/grab",
                              json={"downloadUrl": url, "title": f"Bench.Latency.{label}.{i}"})
                statuses[r.status_code] += 1

            out = _grab_loop(files, label, n, spacing, send)
            time.sleep(0.5)
            queue = http.get("/api/v3/queue", params={
                "page": 1, "pageSize": 200, "includeUnknownMovieItems": "true"}).json()
        out["answers"] = dict(statuses)
        out["clients"] = clients
        out["queue_states"] = dict(Counter(str(r.get("status")) for r in queue["records"]))
        return out
    finally:
        server.stop()


# -- 3. idle -----------------------------------------------------------------------------


JOBS: list[tuple[str, re.Pattern[str]]] = [
    ("leadership: PostgresLeader.check() (infrastructure/leader.py)",
     re.compile(r"pg_try_advisory_lock|^\s*SELECT 1\s*$", re.I)),
    ("dispatch: Processor.free_slots() -> SqlQueueRepository.counts()",
     re.compile(r"FROM queue_counter GROUP BY", re.I)),
    ("dispatch: Processor.dispatch() -> SqlQueueRepository.claim()",
     re.compile(r"FOR UPDATE SKIP LOCKED", re.I)),
    ("counter fold: SqlQueueRepository.fold_counters()",
     re.compile(r"DELETE FROM queue_counter", re.I)),
    ("housekeeping: Processor.refresh_switches() (the shared pause switch)",
     re.compile(r"FROM processor_switch", re.I)),
    ("housekeeping: retention (SqlQueueRepository.delete_finished())",
     re.compile(r"DELETE FROM queue_(item|torrent|history)", re.I)),
    ("housekeeping: Housekeeping.run() -> ClientRegistry.load()",
     re.compile(r"FROM download_client", re.I)),
    ("housekeeping: Processor.rescue() -> SqlQueueRepository.expired_leases()",
     re.compile(r"lease_expires_at <", re.I)),
    ("sync: Processor.sync() -> SqlQueueRepository.tracked()",
     re.compile(r"download_id IS NOT NULL", re.I)),
    ("housekeeping: DatabaseClock.calibrate() (database time)",
     re.compile(r"\bnow\(\)|clock_timestamp|CURRENT_TIMESTAMP|statement_timestamp", re.I)),
    ("connection set-up / introspection",
     re.compile(r"pg_catalog|pg_type|version\(\)|^\s*SHOW |current_schema|"
                r"standard_conforming|^\s*SET ", re.I)),
]
CONTROL = re.compile(r"^\s*(BEGIN|START TRANSACTION|COMMIT|ROLLBACK|END)\b", re.I)


def job_of(sql: str) -> str:
    for name, pattern in JOBS:
        if pattern.search(sql):
            return name
    return "other"


def short_sql(sql: str, width: int = 110) -> str:
    text = " ".join(sql.split())
    text = re.sub(r"queue_item\.(\w+)", r"\1", text)
    return text if len(text) <= width else text[:width - 1] + "…"


class PgWireCounter:
    """A TCP proxy in front of Postgres that reads the frontend protocol and records every
    simple query ('Q') and every execute ('E') of a parsed statement, with its SQL text,
    connection and application_name. SSL/GSS requests are answered 'N' (plain text on
    loopback). Statements inside BEGIN...COMMIT are grouped so the control statements can
    be attributed to the job whose statement the block carried."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5432) -> None:
        self.host, self.upstream = host, port
        self.port = 0
        self.events: list[dict[str, Any]] = []
        self.parses = 0
        self.connections = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                      ) -> None:
        self.connections += 1
        cid = self.connections
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.upstream)
        except OSError:
            writer.close()
            return
        back = asyncio.create_task(self._pipe(up_reader, writer))
        try:
            await self._frontend(cid, reader, writer, up_writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            up_writer.close()
            with contextlib.suppress(Exception):
                await back
            writer.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _frontend(self, cid: int, reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter, up: asyncio.StreamWriter) -> None:
        app = ""
        while True:  # untyped start-up messages
            head = await reader.readexactly(4)
            body = await reader.readexactly(int.from_bytes(head, "big") - 4)
            code = int.from_bytes(body[:4], "big")
            if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest: no
                writer.write(b"N")
                await writer.drain()
                continue
            up.write(head + body)
            await up.drain()
            if code == 80877102:  # CancelRequest
                return
            fields = body[4:].split(b"\0")
            params = dict(zip(fields[::2], fields[1::2], strict=False))
            app = params.get(b"application_name", b"").decode(errors="replace")
            break
        statements: dict[bytes, str] = {}
        portals: dict[bytes, bytes] = {}
        block: list[dict[str, Any]] | None = None
        while True:
            kind = await reader.readexactly(1)
            head = await reader.readexactly(4)
            body = await reader.readexactly(int.from_bytes(head, "big") - 4)
            up.write(kind + head + body)
            sql: str | None = None
            if kind == b"Q":
                sql = body[:-1].decode(errors="replace")
            elif kind == b"P":
                name, query = body.split(b"\0", 2)[:2]
                statements[name] = query.decode(errors="replace")
                self.parses += 1
            elif kind == b"B":
                portal, name = body.split(b"\0", 2)[:2]
                portals[portal] = name
            elif kind == b"E":
                portal = body.split(b"\0", 1)[0]
                sql = statements.get(portals.get(portal, b""), "?")
            elif kind == b"X":
                await up.drain()
                return
            if sql is not None:
                event = {"t": time.monotonic(), "conn": cid, "app": app, "sql": sql,
                         "job": job_of(sql)}
                self.events.append(event)
                control = CONTROL.match(sql)
                if control:
                    word = control.group(1).upper()
                    if word in ("BEGIN", "START TRANSACTION"):
                        block = [event]
                    else:
                        members = (block or []) + [event]
                        owner = next((e["job"] for e in members
                                      if not CONTROL.match(e["sql"])), "empty transaction")
                        for e in members:
                            if CONTROL.match(e["sql"]):
                                e["job"] = f"{owner} [BEGIN/COMMIT]"
                        block = None
                elif block is not None:
                    block.append(event)
            await up.drain()


class Background:
    """An event loop in a thread, for the proxy, the idle pool and the poller."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                       name="bench-background")
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


async def xacts(admin_dsn: str, names: Sequence[str]) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(admin_dsn, timeout=10)
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        rows = await conn.fetch("SELECT datname, xact_commit + xact_rollback AS x FROM "
                                "pg_stat_database WHERE datname = ANY($1::text[])", list(names))
    finally:
        await conn.close()
    return {r["datname"]: int(r["x"]) for r in rows}


async def idle_pool(dsn: str, size: int) -> Any:
    import asyncpg

    return await asyncpg.create_pool(dsn, min_size=size, max_size=size)


async def poller(dsn: str, stop: asyncio.Event) -> list[float]:
    """The bare 1 Hz poller: one claim-shaped SELECT per second on one connection; the
    (monotonic) times of its polls."""
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    polls: list[float] = []
    try:
        while not stop.is_set():
            await conn.fetch("SELECT id FROM queue_item WHERE state = 'queued' "
                             "ORDER BY priority DESC, added_at, id LIMIT 3")
            polls.append(time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    finally:
        await conn.close()
    return polls


# -- 4. sync -----------------------------------------------------------------------------


@dataclasses.dataclass
class SyncData:
    rows: seed.Rows
    statuses: dict[str, Any]  # download id -> DownloadStatus
    ids: list[str]


def sync_data(count: int, now: datetime) -> SyncData:
    from core.clients import ClientState
    from core.domain import ItemState, materialise
    from core.ports import DownloadStatus
    from infrastructure.db.mapping import insert_values, update_values

    rng = random.Random(4242)
    values = []
    statuses: dict[str, DownloadStatus] = {}
    ids = []
    for i, new in enumerate(seed.new_items(0, count)):
        item = materialise(new, 0)
        size = max(item.size, 1 << 30)
        progress = round(rng.uniform(1, 90), 3)
        left = int(size * (1 - progress / 100))
        speed = rng.randint(100_000, 20_000_000)
        up = rng.randint(0, 1_000_000)
        eta = left // speed
        gid = f"bench{i:011x}"
        downloading = item.evolve(
            state=ItemState.DOWNLOADING, updated_at=now, started_at=now, size=size,
            download_client="bench", download_id=gid, progress=progress, size_left=left,
            download_speed=speed, upload_speed=up, eta_seconds=eta,
            estimated_completion_at=now + timedelta(seconds=eta), progress_at=now)
        row = insert_values(new)
        row.update(update_values(item, downloading))
        values.append(row)
        statuses[gid] = DownloadStatus(
            gid, ClientState.DOWNLOADING, total_bytes=size, left_bytes=left,
            progress=progress, download_speed=speed, upload_speed=up, eta_seconds=eta,
            seeders=item.seeders)
        ids.append(gid)
    return SyncData(rows_of(values), statuses, ids)


class FakeClient:
    """The DownloadClient port (core/ports.py) over prebuilt statuses."""

    name = "bench"

    def __init__(self, statuses: dict[str, Any]) -> None:
        self.current = statuses

    async def test(self) -> Any:
        from core.ports import ClientInfo

        return ClientInfo(self.name, "bench")

    async def add(self, item: Any, torrent: bytes | None) -> str:
        from core.errors import ClientRejected

        raise ClientRejected("the bench client takes nothing")

    async def statuses(self, download_ids: Sequence[str]) -> dict[str, Any]:
        current = self.current
        return {i: current[i] for i in download_ids if i in current}

    async def pause(self, download_id: str) -> None:
        return None

    async def resume(self, download_id: str) -> None:
        return None

    async def remove(self, download_id: str, delete_data: bool) -> None:
        return None

    async def set_priority(self, download_id: str, priority: int) -> None:
        return None

    async def free_space(self) -> int | None:
        return None


class FakeClients:
    def __init__(self, client: FakeClient) -> None:
        from core.clients import ClientDescriptor, ClientKind

        self.client = client
        self._descriptors = [ClientDescriptor("bench", ClientKind.ARIA2)]

    def get(self, name: str) -> FakeClient | None:
        return self.client if name == self.client.name else None

    def descriptors(self) -> Sequence[Any]:
        return self._descriptors


def change_statuses(data: SyncData, start: int, count: int, rng: random.Random) -> set[str]:
    """`count` statuses from `start` (rotating) move on: fewer bytes left, a new speed."""
    changed = set()
    for k in range(count):
        gid = data.ids[(start + k) % len(data.ids)]
        s = data.statuses[gid]
        left = max(s.left_bytes - rng.randint(1 << 20, 64 << 20), 1)
        speed = rng.randint(100_000, 20_000_000)
        data.statuses[gid] = dataclasses.replace(
            s, left_bytes=left, download_speed=speed, eta_seconds=left // speed,
            progress=round(100 * (1 - left / s.total_bytes), 4))
        changed.add(gid)
    return changed


class BareSync:
    """One SELECT of the tracked rows, the diff, one UPDATE + one history insert."""

    SELECT = ("SELECT id, version, download_id, size_left, progress, download_speed, "
              "upload_speed, eta_seconds FROM queue_item WHERE state IN "
              f"({', '.join(repr(s) for s in TRACKED_STATES)}) AND download_id IS NOT NULL")

    def __init__(self, client: FakeClient, dialect: str, target: str) -> None:
        self.client = client
        self.dialect = dialect
        self.target = target
        self.conn: Any = None

    async def open(self) -> None:
        if self.dialect == "postgresql":
            import asyncpg

            self.conn = await asyncpg.connect(self.target, timeout=10)
        else:
            import aiosqlite

            self.conn = await aiosqlite.connect(self.target, isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON",
                           "busy_timeout=30000"):
                await self.conn.execute(f"PRAGMA {pragma}")

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()

    async def cycle(self) -> int:
        from core.listing import NO_ETA

        pg = self.dialect == "postgresql"
        rows = (await self.conn.fetch(self.SELECT) if pg
                else await self.conn.execute_fetchall(self.SELECT))
        statuses = await self.client.statuses([r[2] for r in rows])
        now = datetime.now(UTC)
        changed = []
        for r in rows:
            s = statuses.get(r[2])
            if s is None:
                continue
            if (s.left_bytes, s.progress, s.download_speed, s.upload_speed,
                    s.eta_seconds) != (r[3], r[4], r[5], r[6], r[7]):
                eta = s.eta_seconds
                ect = NO_ETA if eta is None else now + timedelta(seconds=eta)
                changed.append((r[0], r[1], s.left_bytes, s.progress, s.download_speed,
                                s.upload_speed, eta, ect))
        if not changed:
            return 0
        if pg:
            cols = list(zip(*changed, strict=True))
            async with self.conn.transaction():
                status = await self.conn.execute(
                    "UPDATE queue_item q SET size_left = v.l, progress = v.p, "
                    "download_speed = v.d, upload_speed = v.u, eta_seconds = v.e, "
                    "ect_sort = v.c, progress_at = $9, updated_at = $9, "
                    "version = q.version + 1 FROM unnest($1::int[], $2::int[], "
                    "$3::bigint[], $4::float8[], $5::bigint[], $6::bigint[], $7::bigint[], "
                    "$8::timestamptz[]) AS v(id, ver, l, p, d, u, e, c) "
                    "WHERE q.id = v.id AND q.version = v.ver", *cols, now)
                await self.conn.execute(
                    "INSERT INTO queue_history (item_id, at, event, from_state, to_state) "
                    "SELECT unnest($1::int[]), $2, 'progress', 'downloading', "
                    "'downloading'", list(cols[0]), now)
            updated = int(status.split()[-1])
        else:
            at = sqlite_value(now)
            await self.conn.execute("BEGIN IMMEDIATE")
            cursor = await self.conn.executemany(
                "UPDATE queue_item SET size_left = ?, progress = ?, download_speed = ?, "
                "upload_speed = ?, eta_seconds = ?, ect_sort = ?, progress_at = ?, "
                "updated_at = ?, version = version + 1 WHERE id = ? AND version = ?",
                [(c[2], c[3], c[4], c[5], c[6], sqlite_value(c[7]), at, at, c[0], c[1])
                 for c in changed])
            updated = cursor.rowcount
            await self.conn.executemany(
                "INSERT INTO queue_history (item_id, at, event, from_state, to_state) "
                "VALUES (?, ?, 'progress', 'downloading', 'downloading')",
                [(c[0], at) for c in changed])
            await self.conn.execute("COMMIT")
        if updated != len(changed):
            raise RuntimeError(f"bare sync updated {updated} of {len(changed)} rows")
        return len(changed)


# -- the run -----------------------------------------------------------------------------


class ProcessorBench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.t0 = time.monotonic()
        self.notes: list[str] = []
        self.problems: list[str] = []
        self.noise: dict[str, float] = {}
        self.results: dict[str, Any] = {}
        self.tmp = Path(tempfile.mkdtemp(prefix="queuarr_bench_proc_"))
        (self.tmp / "logs").mkdir()
        self.databases: set[str] = set()

    def say(self, message: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.1f}s] {message}", flush=True)

    @contextlib.contextmanager
    def phase(self, name: str) -> Any:
        with Noise() as noise:
            yield
        self.noise[name] = round(noise.percent, 1)
        if noise.percent > NOISY_PCT:
            self.notes.append(f"{name}: other processes used {noise.percent:.0f} % of a core ("
                              + ", ".join(f"{n} {p:.0f} %" for n, p in noise.top)
                              + "): figures may be noisy.")

    def attempts(self, name: str, body: Callable[[], Any]) -> Any:
        """Run `body`; while other processes used more than NOISY_PCT of a core, run it
        again (at most --proc-retries times) and keep the quietest attempt's value."""
        tried: list[tuple[float, Any, list[tuple[str, float]]]] = []
        for _ in range(1 + self.args.proc_retries):
            with Noise() as noise:
                value = body()
            tried.append((noise.percent, value, noise.top))
            if noise.percent <= NOISY_PCT:
                break
            self.say(f"    (noisy: other processes used {noise.percent:.0f} % of a core: "
                     + ", ".join(f"{n} {p:.0f} %" for n, p in noise.top) + ")")
        percent, value, top = min(tried, key=lambda t: t[0])
        self.noise[name] = round(percent, 1)
        if percent > NOISY_PCT:
            self.notes.append(f"{name}: other processes used {percent:.0f} % of a core in "
                              f"the quietest of {len(tried)} attempts (" + ", ".join(
                                  f"{n} {p:.0f} %" for n, p in top)
                              + "): figures may be noisy.")
        return value

    def pg_db(self, name: str) -> str:
        assert name.startswith("queuarr_bench_")
        self.databases.add(name)
        return name

    def run(self) -> dict[str, Any]:
        a = self.args
        idle = machine_idle_percent(1.0)
        self.say(f"processor benchmark: parts {', '.join(a.parts)}; backends "
                 f"{', '.join(a.backends)}; machine {idle:.0f} % idle")
        failed = True
        try:
            if "claim" in a.parts:
                self.claim()
            if "sync" in a.parts:
                self.sync()
            if "latency" in a.parts:
                self.latency()
            if "idle" in a.parts:
                self.idle()
            failed = False
        finally:
            self.cleanup(keep_files=failed)
        return {"environment": self.environment(idle), **self.results, "notes": self.notes,
                "problems": self.problems, "elapsed_s": round(time.monotonic() - self.t0, 1)}

    def cleanup(self, keep_files: bool = False) -> None:
        """Drop the databases and the temp dir (kept with --keep, and the temp dir with
        the server logs is kept when the run failed)."""
        if self.args.keep:
            self.say(f"kept {self.tmp} and databases {sorted(self.databases)}")
            return
        for name in sorted(self.databases):
            with contextlib.suppress(Exception):
                seed.pg_drop(self.args.pg_admin_dsn, name)
        if keep_files:
            self.say(f"the run failed: logs kept in {self.tmp / 'logs'}")
            return
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, server: Server) -> None:
        """Start a server; once more after 10 s if it exits at start (core/ and
        infrastructure/ may be mid-edit while the benchmark runs)."""
        try:
            server.start("/ping")
        except RuntimeError as exc:
            self.say(f"  {exc}; trying once more in 10 s")
            self.notes.append(f"{server.name} failed to start once ({exc}); started again")
            time.sleep(10)
            server.start("/ping")

    # -- 1. claim ------------------------------------------------------------------------

    def claim(self) -> None:
        a = self.args
        n = a.proc_claim_items
        self.say(f"claim: building {n:,} queued items")
        rows = claim_rows(n)
        now = datetime.now(UTC)
        sets = claim_set(now)
        runs: list[dict[str, Any]] = []
        explain: list[str] = []
        profiles: dict[str, Any] = {}
        wire: dict[str, Any] = {}
        for backend in a.backends:
            if backend == "postgres":
                template = self.pg_db("queuarr_bench_claim_tpl")
                work = self.pg_db("queuarr_bench_claim")
                info = seed.seed_postgres(a.pg_admin_dsn, template, rows)
                self.say(f"  postgres template: {info['items']:,} items in "
                         f"{info['seconds']:.1f} s")
                fresh: Callable[[], str] = functools.partial(
                    pg_fresh, a.pg_admin_dsn, template, work)
            else:
                tpl_path = self.tmp / "claim-template.db"
                info = seed.seed_sqlite(tpl_path, rows)
                self.say(f"  sqlite template: {info['items']:,} items in "
                         f"{info['seconds']:.1f} s")
                fresh = functools.partial(sqlite_fresh, tpl_path, self.tmp / "claim.db")

            for k, batch in enumerate(a.batches):
                order = ("ours", "bare") if k % 2 == 0 else ("bare", "ours")
                for side in order:
                    r = self.attempts(f"claim {backend} b{batch} {side}", functools.partial(
                        self._claim_run, backend, side, batch, fresh, now, sets))
                    ids = r.pop("ids")
                    calls = r.pop("calls")
                    check = r.pop("check")
                    ok = len(ids) == n and len(set(ids)) == n and check == (n, 0, n)
                    if not ok:
                        self.problems.append(
                            f"claim {backend} batch {batch} {side}: {len(ids)} claimed "
                            f"({len(set(ids))} distinct) of {n}; (sending, queued, claimed "
                            f"history) = {check}")
                    run = {"backend": backend, "batch": batch, "side": side, "items": len(ids),
                           "calls": len(calls), **r, "ok": ok,
                           "items_per_s": len(ids) / r["wall_s"] if r["wall_s"] else None,
                           "cpu_ms_per_100": 1e5 * r["cpu_s"] / max(len(ids), 1),
                           "call_ms": {k2: (v * 1e3 if v is not None else None)
                                       for k2, v in spread(calls[:-1] or calls).items()
                                       if k2 != "n"}}
                    runs.append(run)
                    self.say(f"  {backend} batch {batch:>5} {side}: "
                             f"{run['items_per_s']:,.0f} items/s, "
                             f"{run['cpu_ms_per_100']:.1f} ms CPU per 100 items, "
                             f"call p50 {run['call_ms']['p50']:.1f} ms")
            # Where ours spends one big claim (a fresh copy, cProfile, in this process).
            batch = max(a.batches)
            target = fresh()
            url = (seed.pg_sqlalchemy_url(target) if backend == "postgres"
                   else f"sqlite+aiosqlite:///{Path(target).resolve()}")
            if backend == "postgres":
                explain = asyncio.run(pg_explain_claim(target, batch))
            profiles[backend] = asyncio.run(self._profile_claim(url, batch, now))
            if backend == "postgres":
                wire = {side: self._claim_wire(side, min(a.batches), fresh, now, sets)
                        for side in ("ours", "bare")}
        self.results["claim"] = {"items": n, "batches": a.batches, "runs": runs,
                                 "claim_sets": sorted(sets), "explain": explain,
                                 "profiles": profiles, "wire": wire}

    @staticmethod
    def _claim_run(backend: str, side: str, batch: int, fresh: Callable[[], str],
                   now: datetime, sets: dict[str, Any]) -> dict[str, Any]:
        """One run on a fresh copy: claim until nothing is left; then count the rows."""
        target = fresh()
        if side == "ours":
            url = (seed.pg_sqlalchemy_url(target) if backend == "postgres"
                   else f"sqlite+aiosqlite:///{Path(target).resolve()}")
            r = asyncio.run(claim_ours(url, batch, now))
        elif backend == "postgres":
            r = asyncio.run(claim_bare_pg(target, batch, now, sets))
        else:
            r = asyncio.run(claim_bare_sqlite(Path(target), batch, now, sets))
        r["check"] = (asyncio.run(claim_check_pg(target)) if backend == "postgres"
                      else claim_check_sqlite(Path(target)))
        return r

    @staticmethod
    def _claim_wire(side: str, batch: int, fresh: Callable[[], str], now: datetime,
                    sets: dict[str, Any]) -> dict[str, Any]:
        """One claim call of `batch` on a fresh Postgres copy, through the counting
        proxy: the statements it sends, by kind."""
        target = fresh()
        bg = Background()
        proxy = PgWireCounter()
        try:
            port = bg.run(proxy.start())
            dsn = re.sub(r"@[^/]+/", f"@127.0.0.1:{port}/", target, count=1)
            events = asyncio.run(claim_wire_call(side, dsn, batch, now, sets, proxy))
            bg.run(proxy.stop())
        finally:
            bg.close()
        kinds: Counter[str] = Counter()
        for e in events:
            words = e["sql"].replace(";", " ").split()
            kinds[" ".join(words[:2]).upper().rstrip(",") if words else "?"] += 1
        return {"batch": batch, "statements": len(events), "by_kind": dict(kinds)}

    @staticmethod
    async def _profile_claim(url: str, batch: int, now: datetime) -> dict[str, Any]:
        from infrastructure.clock import SystemClock
        from infrastructure.db.engine import Database
        from infrastructure.db.queue_repository import SqlQueueRepository

        db = Database(url)
        repo = SqlQueueRepository(db, SystemClock())
        try:
            await repo.claim(OWNER, 1, now, LEASE)  # connect and compile outside
            profile = cProfile.Profile()
            profile.enable()
            got = await repo.claim(OWNER, batch, now, LEASE)
            profile.disable()
        finally:
            await db.dispose()
        return {"batch": batch, "claimed": len(got), **project_profile(profile)}

    # -- 4. sync -------------------------------------------------------------------------

    def sync(self) -> None:
        a = self.args
        n = a.proc_sync_items
        changed_n = max(1, round(n * a.proc_sync_changed / 100))
        self.say(f"sync: {n:,} downloading items, {changed_n} changed per cycle, "
                 f"{a.proc_sync_cycles} cycles per kind and side")
        samples: list[dict[str, Any]] = []
        profiles: dict[str, Any] = {}
        for backend in a.backends:
            data = sync_data(n, datetime.now(UTC))
            if backend == "postgres":
                name = self.pg_db("queuarr_bench_sync")
                info = seed.seed_postgres(a.pg_admin_dsn, name, data.rows)
                url, target = info["url"], info["dsn"]
            else:
                info = seed.seed_sqlite(self.tmp / "sync.db", data.rows)
                url, target = info["url"], info["path"]
            got = self.attempts(f"sync {backend}", functools.partial(
                self._sync_phase, backend, url, target, data, changed_n))
            samples.extend(got["samples"])
            self.problems.extend(got["problems"])
            profiles[backend] = got["profile"]
            for kind in ("changed", "none"):
                for side in ("ours", "bare"):
                    cpu = [s["cpu_ms"] for s in got["samples"]
                           if s["kind"] == kind and s["side"] == side]
                    self.say(f"  {backend} {kind:>7} {side}: CPU median "
                             f"{median(cpu) or 0:.1f} ms")
        self.results["sync"] = {"items": n, "changed": changed_n,
                                "cycles": a.proc_sync_cycles, "samples": samples,
                                "profiles": profiles}

    def _sync_phase(self, backend: str, url: str, target: str, data: SyncData,
                    changed_n: int) -> dict[str, Any]:
        return asyncio.run(self._sync_cycles(backend, url, target, data, changed_n))

    async def _sync_cycles(self, backend: str, url: str, target: str, data: SyncData,
                           changed_n: int) -> dict[str, Any]:
        from core.processor import Processor, ProcessorConfig
        from infrastructure.clock import SystemClock
        from infrastructure.db.engine import Database
        from infrastructure.db.queue_repository import SqlQueueRepository

        a = self.args
        rng = random.Random(7)
        client = FakeClient(data.statuses)
        db = Database(url)
        repo = SqlQueueRepository(db, SystemClock())
        processor = Processor(repo, FakeClients(client), SystemClock(), "bench-sync",
                              ProcessorConfig())
        bare = BareSync(client, db.dialect, target)
        samples: list[dict[str, Any]] = []
        problems: list[str] = []
        start = 0
        try:
            await bare.open()
            # Warm both: connections, compiled statements, caches (nothing changed yet).
            for _ in range(2):
                await processor.sync()
                await bare.cycle()
            for kind in ("changed", "none"):
                for i in range(a.proc_sync_cycles):
                    for side in ("ours", "bare") if i % 2 == 0 else ("bare", "ours"):
                        want = 0
                        if kind == "changed":
                            want = len(change_statuses(data, start, changed_n, rng))
                            start += changed_n
                        c0, w0 = time.process_time(), time.perf_counter()
                        got = await (processor.sync() if side == "ours" else bare.cycle())
                        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
                        if got != want:
                            problems.append(f"sync {backend} {kind} {side} cycle {i}: "
                                                 f"{got} changed, {want} expected")
                        samples.append({"backend": backend, "kind": kind, "side": side,
                                        "wall_ms": wall * 1e3, "cpu_ms": cpu * 1e3,
                                        "changed": got})
            if processor.tracked_count != len(data.ids):
                problems.append(f"sync {backend}: the processor tracked "
                                     f"{processor.tracked_count} of {len(data.ids)} items")
            # One profiled changed cycle of ours.
            change_statuses(data, start, changed_n, rng)
            profile = cProfile.Profile()
            profile.enable()
            await processor.sync()
            profile.disable()
        finally:
            await bare.close()
            await db.dispose()
        return {"samples": samples, "problems": problems,
                "profile": project_profile(profile)}

    # -- 2. latency ----------------------------------------------------------------------

    def latency(self) -> None:
        a = self.args
        if shutil.which("aria2c") is None:
            self.notes.append("latency: aria2c is not installed (apt-get install -y aria2); "
                              "skipped")
            return
        from infrastructure.migrate import upgrade

        lines: list[dict[str, Any]] = []
        extra = {"QUEUARR_MAX_CONCURRENT": "1000"}
        with FileServer() as files:
            self.say(f"latency: bare aria2.addUri x {a.proc_grabs}")
            with self.phase("latency bare"):
                bare = latency_bare(self.tmp, files, a.proc_grabs, a.proc_grab_spacing)
            lines.append({"line": "bare: aria2.addUri (own aria2c)", "key": "bare", **bare})
            self._latency_said(lines[-1])
            for backend in ["sqlite", "postgres"] if a.backend == "both" else a.backends:
                if backend == "sqlite":
                    path = self.tmp / "latency.db"
                    url = f"sqlite+aiosqlite:///{path.resolve()}"
                else:
                    name = self.pg_db("queuarr_bench_latency")
                    seed.pg_recreate(a.pg_admin_dsn, name)
                    url = pg_url(a.pg_admin_dsn, name)
                upgrade(url)
                server = queuarr_server(f"latency-{backend}", self.tmp, url, extra)
                self.say(f"latency: queuarr serve ({backend}, managed aria2c) x "
                         f"{a.proc_grabs} grabs")
                self.start(server)
                with self.phase(f"latency {backend}"):
                    ours = latency_ours(server, files, backend, a.proc_grabs,
                                        a.proc_grab_spacing, settle=3.0)
                lines.append({"line": f"queuarr serve, {backend}, managed aria2c",
                              "key": backend, **ours})
                self._latency_said(lines[-1])
                if ours["missing"] or ours["answers"] != {201: a.proc_grabs}:
                    self.problems.append(
                        f"latency {backend}: answers {ours['answers']}, {ours['missing']} "
                        "downloads never reached the file server within 10 s")
            methods = Counter(m for m, _ in files.httpd.requests)
        self.results["latency"] = {"grabs": a.proc_grabs, "spacing_s": a.proc_grab_spacing,
                                   "server_env": extra, "methods": dict(methods),
                                   "lines": lines}

    def _latency_said(self, line: dict[str, Any]) -> None:
        s = spread(line["latency_s"])
        self.say(f"  {line['line']}: p50 {1e3 * (s['p50'] or 0):.1f} ms, p99 "
                 f"{1e3 * (s['p99'] or 0):.1f} ms, max {1e3 * (s['max'] or 0):.1f} ms, "
                 f"{line['missing']} missing")

    # -- 3. idle -------------------------------------------------------------------------

    def idle(self) -> None:
        a = self.args
        if "postgres" not in a.backends:
            self.notes.append("idle: Postgres only; skipped with --backend sqlite")
            return
        from infrastructure.migrate import upgrade

        names = {"server": self.pg_db("queuarr_bench_idle"),
                 "waiting": self.pg_db("queuarr_bench_idle_waiting"),
                 "empty": self.pg_db("queuarr_bench_idle_empty"),
                 "pool": self.pg_db("queuarr_bench_idle_pool"),
                 "poller": self.pg_db("queuarr_bench_idle_poller")}
        for name in names.values():
            seed.pg_recreate(a.pg_admin_dsn, name)
            upgrade(pg_url(a.pg_admin_dsn, name))
        asyncio.run(seed._pg_copy(seed.pg_dsn(a.pg_admin_dsn, names["waiting"]),
                                  waiting_rows()))
        bg = Background()
        proxy, proxy_waiting = PgWireCounter(), PgWireCounter()
        head, _, _ = a.pg_admin_dsn.partition("@")

        def proxied(counter: PgWireCounter, database: str) -> str:
            return (f"postgresql+asyncpg://{head.split('://', 1)[1]}@127.0.0.1:"
                    f"{bg.run(counter.start())}/{database}")

        server = queuarr_server("idle", self.tmp, proxied(proxy, names["server"]))
        waiting = queuarr_server("idle-waiting", self.tmp,
                                 proxied(proxy_waiting, names["waiting"]))
        pool = stop = poll_task = None
        try:
            self.say(f"idle: queuarr serve on Postgres through the counting proxy, empty "
                     f"and with one retry due in an hour; {a.proc_idle_warmup:g} s "
                     f"warm-up, {a.proc_idle_seconds:g} s window")
            self.start(server)
            self.start(waiting)
            clients = wait_for_client(server)
            wait_for_client(waiting)
            pool = bg.run(idle_pool(seed.pg_dsn(a.pg_admin_dsn, names["pool"]), 10))
            stop = asyncio.Event()
            poll_task = bg.spawn(poller(seed.pg_dsn(a.pg_admin_dsn, names["poller"]), stop))
            time.sleep(a.proc_idle_warmup)
            with self.phase("idle"):
                samples = []
                cpu0, waiting_cpu0 = server.cpu_seconds(), waiting.cpu_seconds()
                t_start = time.monotonic()
                end = t_start + a.proc_idle_seconds
                while True:
                    now = time.monotonic()
                    samples.append((now, asyncio.run(xacts(a.pg_admin_dsn,
                                                           list(names.values())))))
                    if now >= end:
                        break
                    time.sleep(min(5.0, max(end - time.monotonic(), 0.05)))
                t_end = time.monotonic()
                cpu = server.cpu_seconds() - cpu0
                waiting_cpu = waiting.cpu_seconds() - waiting_cpu0
        finally:
            server.stop()
            waiting.stop()
            if stop is not None:
                bg.loop.call_soon_threadsafe(stop.set)
            polls = poll_task.result(10) if poll_task is not None else []
            if pool is not None:
                bg.run(pool.close())
            bg.run(proxy.stop())
            bg.run(proxy_waiting.stop())
            bg.close()
        window = t_end - t_start
        (t0, first), (t1, last) = samples[0], samples[-1]
        rates = {k: (last.get(db, 0) - first.get(db, 0)) / (t1 - t0)
                 for k, db in names.items()}
        waited = [e for e in proxy_waiting.events if t_start <= e["t"] <= t_end]
        events = [e for e in proxy.events if t_start <= e["t"] <= t_end]
        by_statement: dict[tuple[str, str], dict[str, Any]] = {}
        for e in events:
            key = (e["job"], short_sql(e["sql"]))
            entry = by_statement.setdefault(key, {"job": e["job"], "sql": key[1], "count": 0,
                                                  "apps": set()})
            entry["count"] += 1
            entry["apps"].add(e["app"] or "(none)")
        statements = sorted(
            ({**v, "apps": sorted(v["apps"]), "per_s": v["count"] / window}
             for v in by_statement.values()), key=lambda v: -v["count"])
        by_job: dict[str, float] = defaultdict(float)
        for e in events:
            by_job[re.sub(r" \[BEGIN/COMMIT\]$", "", e["job"])] += 1 / window
        self.results["idle"] = {
            "window_s": window, "warmup_s": a.proc_idle_warmup, "clients": clients,
            "xact_per_s": rates, "statements_per_s": len(events) / window,
            "statements": statements,
            "jobs_per_s": dict(sorted(by_job.items(), key=lambda kv: -kv[1])),
            "server_cpu_pct": 100 * cpu / window, "proxy_connections": proxy.connections,
            "waiting": {"statements_per_s": len(waited) / window,
                        "server_cpu_pct": 100 * waiting_cpu / window,
                        "statements": sorted({short_sql(e["sql"]) for e in waited})},
            "poller_per_s": sum(t_start <= t <= t_end for t in polls) / window,
            "samples": [(round(t - t0, 2), s) for t, s in samples]}
        self.say(f"  queuarr: {len(events) / window:.2f} statements/s, "
                 f"{rates['server']:.2f} transactions/s; with a retry waiting "
                 f"{len(waited) / window:.2f} statements/s, {rates['waiting']:.2f} "
                 f"transactions/s; empty db {rates['empty']:.2f}, "
                 f"idle pool {rates['pool']:.2f}, 1 Hz poller {rates['poller']:.2f} "
                 "transactions/s")

    # -- environment ---------------------------------------------------------------------

    def environment(self, idle: float) -> dict[str, Any]:
        cpu = cpu_model()
        pg: dict[str, str] = {}
        if "postgres" in self.args.backends:
            async def read() -> dict[str, str]:
                import asyncpg

                conn = await asyncpg.connect(self.args.pg_admin_dsn, timeout=10)
                try:
                    return {k: str(await conn.fetchval(f"SHOW {k}")) for k in (
                        "server_version", "shared_buffers", "synchronous_commit")}
                finally:
                    await conn.close()

            with contextlib.suppress(Exception):
                pg = asyncio.run(read())
        aria2 = "-"
        if shutil.which("aria2c"):
            with contextlib.suppress(Exception):
                import subprocess

                aria2 = subprocess.run(["aria2c", "--version"], capture_output=True,
                                       text=True, timeout=10).stdout.split("\n")[0]
        return {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "host": platform.node(), "cpu": cpu, "cpus": os.cpu_count(),
            "python": platform.python_version(), "idle_before_pct": round(idle, 1),
            "postgres": pg, "sqlite": sqlite3.sqlite_version, "aria2": aria2,
            "packages": {p: package_version(p) for p in ("sqlalchemy", "asyncpg", "aiosqlite",
                                                 "apscheduler", "aria2p", "uvicorn")},
            "quick": self.args.quick, "parts": self.args.parts,
            "backends": self.args.backends, "noise_pct": self.noise,
        }


# -- figures, checks, report -------------------------------------------------------------


def _claim_run(results: dict[str, Any], backend: str, batch: int, side: str
               ) -> dict[str, Any] | None:
    for r in results.get("claim", {}).get("runs", []):
        if (r["backend"], r["batch"], r["side"]) == (backend, batch, side):
            return dict(r)
    return None


def _line(results: dict[str, Any], key: str) -> dict[str, Any] | None:
    for line in results.get("latency", {}).get("lines", []):
        if line["key"] == key:
            return dict(line)
    return None


def sync_summary(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for s in results.get("sync", {}).get("samples", []):
        out.setdefault(f"{s['backend']}/{s['kind']}/{s['side']}", []).append(s)
    return {k: {"n": len(v), "cpu_ms": spread([s["cpu_ms"] for s in v]),
                "wall_ms": spread([s["wall_ms"] for s in v])} for k, v in out.items()}


def checks(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = Checks()
    add = out.add

    claim = results.get("claim")
    if claim:
        for backend in ("postgres", "sqlite"):
            for batch in claim["batches"]:
                ours = _claim_run(results, backend, batch, "ours")
                bare = _claim_run(results, backend, batch, "bare")
                if ours is None:
                    continue
                add(f"P3 claim items/s, {backend}, batch {batch}", ours["items_per_s"], ">=",
                    MIN_CLAIMS_PER_S, "/s", informative=backend != "postgres")
                add(f"P3 claim items/s ours ÷ bare, {backend}, batch {batch}",
                    ratio(ours["items_per_s"], at(bare, "items_per_s")), ">=", 0.0, "x",
                    informative=True)
    latency = results.get("latency")
    if latency:
        bare = _line(results, "bare")
        for key in ("sqlite", "postgres"):
            line = _line(results, key)
            if line is None:
                continue
            p99 = pct(line["latency_s"], 99)
            add(f"P3 grab -> client GET p99, {key}", p99, "<=", MAX_PICKUP_P99_S, "s")
            add(f"P3 grab -> client GET p99 ÷ bare addUri p99, {key}",
                ratio(p99, pct(bare["latency_s"], 99) if bare else None), "<=", math.inf, "x",
                informative=True)
    idle = results.get("idle")
    if idle:
        add("P3 idle queries/s (statements on the wire), empty queue, Postgres",
            idle["statements_per_s"], "<=", MAX_IDLE_PER_S, "/s")
        add("P3 idle transactions/s (pg_stat_database), empty queue, Postgres",
            idle["xact_per_s"]["server"], "<=", MAX_IDLE_PER_S, "/s")
        if "waiting" in idle:
            add("P3 idle queries/s, one retry due in an hour, Postgres",
                idle["waiting"]["statements_per_s"], "<=", MAX_IDLE_PER_S, "/s")
    sync = results.get("sync")
    if sync:
        s = sync_summary(results)
        for backend in ("postgres", "sqlite"):
            ours = s.get(f"{backend}/changed/ours")
            bare = s.get(f"{backend}/changed/bare")
            if ours is None:
                continue
            add(f"sync CPU per cycle, {sync['changed']} of {sync['items']:,} changed, "
                f"{backend} (P4's 100 ms budget)", ours["cpu_ms"]["p50"], "<=",
                ABS_MAX_SYNC_CPU_MS, "ms", informative=True)
            add(f"sync CPU ours ÷ bare, changed cycle, {backend}",
                ratio(ours["cpu_ms"]["p50"], at(bare, "cpu_ms", "p50")), "<=",
                math.inf, "x", informative=True)
    add("every item claimed once; every grab reached the client; every sync cycle "
        "changed what it should", 0.0 if results["problems"] else 1.0, ">=", 1.0, "bool")
    return out


def _fmt(value: float | None, unit: str, op: str = "") -> str:
    if unit == "bool":
        return "yes" if op else ("-" if value is None else "yes" if value >= 1 else "no")
    if value is not None and math.isinf(value):
        return "-"
    if unit == "s" and value is not None:
        text = f"{value * 1e3:.0f} ms" if value < 10 else f"{value:.1f} s"
    else:
        text = f"{_num(value)} {unit}".strip()
    return f"{op} {text}" if op else text


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1e3:.1f}"


def _profile_tables(prof: dict[str, Any]) -> str:
    project = _table(["project function", "calls", "cumulative ms", "self ms"], [
        [f"`{f['function']}`", f"{f['calls']:,}", _num(f["cum_ms"]), _num(f["self_ms"])]
        for f in prof["functions"]])
    hot = _table(["hottest function (any code)", "calls", "self ms"], [
        [f"`{f['function']}`", f"{f['calls']:,}", _num(f["self_ms"])]
        for f in prof.get("self", [])])
    return project + "\n\n" + hot


def render(results: dict[str, Any]) -> str:
    env = results["environment"]
    pkgs = ", ".join(f"{k} {v}" for k, v in env["packages"].items())
    pg = env["postgres"]
    out = [
        SECTION_START,
        "## Processor: batch claims, grab-to-client latency, idle load, sync cost",
        "",
        f"- {env['when']} on {env['host']}: {env['cpu']}, {env['cpus']} CPUs, Python "
        f"{env['python']}; {env['idle_before_pct']:.0f} % idle before the run"
        + (" (`--quick`)" if env["quick"] else ""),
        f"- PostgreSQL {pg.get('server_version', '-')} (shared_buffers "
        f"{pg.get('shared_buffers', '-')}, synchronous_commit "
        f"{pg.get('synchronous_commit', '-')}), SQLite {env['sqlite']} (synchronous=FULL, "
        f"WAL), {env['aria2']}; {pkgs}",
        "- Other processes' CPU, percent of one core, per phase: " + ", ".join(
            f"{k} {v:.0f} %" for k, v in env["noise_pct"].items())
        + f"; whole benchmark {results['elapsed_s']:.0f} s",
    ]
    claim = results.get("claim")
    if claim:
        out += ["", f"### 1. Claim throughput: {claim['items']:,} queued items claimed to "
                "the last", "",
                "ours: `SqlQueueRepository.claim(owner, batch, now, lease)` until it returns "
                "nothing. bare: one `UPDATE ... WHERE id IN (SELECT ... ORDER BY priority "
                "DESC, added_at, id LIMIT k FOR UPDATE SKIP LOCKED) RETURNING <item columns>` "
                "+ one history insert per call, one transaction (asyncpg; aiosqlite with "
                "BEGIN IMMEDIATE). Same columns set (" + ", ".join(claim["claim_sets"])
                + ", version). CPU: this process (`time.process_time`).", ""]
        rows = []
        for r in claim["runs"]:
            bare = _claim_run(results, r["backend"], r["batch"], "bare")
            rows.append([r["backend"], f"{r['batch']:,}", r["side"], f"{r['items']:,}",
                         str(r["calls"]), f"{r['wall_s']:.2f}", _num(r["items_per_s"]),
                         "-" if r["side"] == "bare" else _num(ratio(
                             r["items_per_s"], at(bare, "items_per_s")), 3),
                         _num(r["cpu_ms_per_100"]),
                         "-" if r["side"] == "bare" else _num(ratio(
                             r["cpu_ms_per_100"], at(bare, "cpu_ms_per_100"))),
                         _num(r["call_ms"]["p50"]), _num(r["call_ms"]["p99"]),
                         "yes" if r["ok"] else "NO"])
        out.append(_table(["backend", "batch", "side", "claimed", "calls", "s", "items/s",
                           "÷ bare items/s", "CPU ms / 100 items", "÷ bare CPU",
                           "call p50 ms", "call p99 ms", "all once"], rows))
        wire = claim.get("wire") or {}
        if wire:
            out += ["", "Statements one claim call sends (Postgres, counting proxy): " + "; ".join(
                f"{side}, batch {w['batch']:,}: {w['statements']:,} (" + ", ".join(
                    f"{k} {v:,}" for k, v in sorted(w["by_kind"].items(), key=lambda kv: -kv[1]))
                + ")" for side, w in wire.items()) + "."]
        for backend, prof in claim["profiles"].items():
            out += ["", f"Where ours spends one claim of {prof['batch']:,} ({backend}, "
                    f"cProfile, {prof['total_ms']:.0f} ms profiled wall): " + "; ".join(
                        f"{p['package']} {p['ms']:.0f} ms" for p in prof["packages"][:5]), ""]
            out.append(_profile_tables(prof))
        if claim["explain"]:
            out += ["", "Postgres plan of ours' pick (`EXPLAIN`, batch "
                    f"{max(claim['batches']):,}): " + " / ".join(
                        f"`{line.strip()}`" for line in claim["explain"][:6])]
    latency = results.get("latency")
    if latency:
        out += ["", f"### 2. Grab-to-client latency: {latency['grabs']} grabs per line, "
                f"~{latency['spacing_s']:g} s apart", "",
                "From sending the request (`POST /api/v3/queue/grab` with a distinct direct "
                "http URL; bare: `aria2.addUri` of the same kind of URL to an aria2c of our "
                "own) to the bench's file server reading aria2c's GET. The server runs "
                "with its managed aria2c and " + ", ".join(
                    f"{k}={v}" for k, v in latency["server_env"].items())
                + " (finished downloads wait for a status sync before they free a slot; "
                "the default of 3 slots would measure that instead). Requests the file "
                "server saw: " + ", ".join(f"{k} {v}" for k, v in latency["methods"].items())
                + ".", ""]
        bare = _line(results, "bare")
        rows = []
        for line in latency["lines"]:
            lat = spread(line["latency_s"])
            ans = spread(line["answer_s"])
            ref = spread(bare["latency_s"]) if bare and line["key"] != "bare" else None
            rows.append([line["line"], str(lat["n"]), _ms(lat["p50"]), _ms(lat["p95"]),
                         _ms(lat["p99"]), _ms(lat["max"]),
                         "-" if ref is None else _num(ratio(lat["p50"], ref["p50"])),
                         "-" if ref is None else _num(ratio(lat["p99"], ref["p99"])),
                         _ms(ans["p50"]), _ms(ans["p99"]), str(line["missing"])])
        out.append(_table(["line", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "÷ bare p50",
                           "÷ bare p99", "answer p50 ms", "answer p99 ms", "missing"], rows))
    idle = results.get("idle")
    if idle:
        x = idle["xact_per_s"]
        out += ["", f"### 3. Idle database load: {idle['window_s']:.0f} s window after "
                f"{idle['warmup_s']:g} s warm-up, empty queue, Postgres", "",
                "Transactions: `pg_stat_database` (xact_commit + xact_rollback) of each "
                "database, read from another database. Statements: simple queries and "
                "executes (an executemany counts once per row) seen by the counting proxy "
                "between the server and Postgres (nothing else connects to that "
                "database).", ""]
        out.append(_table(["database", "transactions/s", "statements/s", "server CPU %"], [
            ["queuarr serve (managed aria2c, empty queue)", f"{x['server']:.2f}",
             f"{idle['statements_per_s']:.2f}", f"{idle['server_cpu_pct']:.2f}"],
            *([["queuarr serve, one retry due in an hour", f"{x['waiting']:.2f}",
                f"{idle['waiting']['statements_per_s']:.2f}",
                f"{idle['waiting']['server_cpu_pct']:.2f}"]] if "waiting" in idle else []),
            ["bare: nobody connected", f"{x['empty']:.2f}", "0", "-"],
            ["bare: idle asyncpg pool of 10", f"{x['pool']:.2f}", "0", "-"],
            ["bare: 1 Hz poller (one SELECT per second)", f"{x['poller']:.2f}",
             f"{idle['poller_per_s']:.2f}",
             "-"],
        ]))
        out += ["", f"queuarr ÷ 1 Hz poller: transactions "
                f"{_num(ratio(x['server'], x['poller']))}x, statements "
                f"{_num(ratio(idle['statements_per_s'], 1.0))}x. By job (statements/s): "
                + "; ".join(f"{k} {v:.2f}" for k, v in idle["jobs_per_s"].items()), ""]
        out.append(_table(["job", "statement", "count", "per s", "one every", "connection"], [
            [s["job"], f"`{s['sql']}`", str(s["count"]), f"{s['per_s']:.2f}",
             f"{1 / s['per_s']:.1f} s", ", ".join(
                 "pool" if app == "queuarr" else "own connection" if app == "(none)" else app
                 for app in s["apps"])] for s in idle["statements"][:16]]))
    sync = results.get("sync")
    if sync:
        s = sync_summary(results)
        out += ["", f"### 4. Sync cost: {sync['items']:,} downloading items, "
                f"{sync['changed']} changed per cycle, {sync['cycles']} cycles per kind "
                "and side", "",
                "ours: `Processor.sync()` over `SqlQueueRepository` and a fake client "
                "returning prebuilt `DownloadStatus`es. bare: one SELECT of the tracked "
                "rows (raw driver), the diff, one UPDATE of the changed rows + one history "
                "insert in one transaction. CPU: this process (`time.process_time`; "
                "aiosqlite's thread included).", ""]
        rows = []
        for backend in ("postgres", "sqlite"):
            for kind, label in (("changed", f"{sync['changed']} changed"),
                                ("none", "nothing changed")):
                for side in ("ours", "bare"):
                    e = s.get(f"{backend}/{kind}/{side}")
                    if e is None:
                        continue
                    b = s.get(f"{backend}/{kind}/bare")
                    rows.append([backend, label, side, str(e["n"]),
                                 _num(e["cpu_ms"]["p50"]), _num(e["cpu_ms"]["p95"]),
                                 "-" if side == "bare" else _num(ratio(
                                     e["cpu_ms"]["p50"], at(b, "cpu_ms", "p50"))),
                                 _num(e["wall_ms"]["p50"]), _num(e["wall_ms"]["p95"]),
                                 "-" if side == "bare" else _num(ratio(
                                     e["wall_ms"]["p50"], at(b, "wall_ms", "p50")))])
        out.append(_table(["backend", "cycle", "side", "n", "CPU ms p50", "p95",
                           "÷ bare CPU", "wall ms p50", "p95", "÷ bare wall"], rows))
        for backend, prof in sync["profiles"].items():
            out += ["", f"Where ours spends one changed cycle ({backend}, cProfile, "
                    f"{prof['total_ms']:.0f} ms profiled wall): " + "; ".join(
                        f"{p['package']} {p['ms']:.0f} ms" for p in prof["packages"][:5]), ""]
            out.append(_profile_tables(prof))
    out += ["", "### Targets (reference sections 0 (P3, P4) and A5)", ""]
    out.append(targets_table(
        results["checks"], _fmt,
        no_target=lambda c: math.isinf(c["target"]) or (c["informative"] and c["target"] == 0)))
    out += checks_and_notes(results, "Not as expected")
    out.append(SECTION_END)
    return "\n".join(out)


def write(results: dict[str, Any], text: str, out: Path) -> tuple[Path, Path, Path]:
    return write_section(results, text, out, "processor", SECTION_START, SECTION_END)


def main(argv: Sequence[str] | None = None, lenient: bool = False) -> int:
    """`lenient`: part of the whole `python -m bench` run (its other flags are ignored
    here, and a part whose tools are missing is skipped instead of failing)."""
    args = parse_args(argv, lenient)
    bench = ProcessorBench(args)
    results = bench.run()
    results["checks"] = checks(results)
    publish(results, render(results), write, args.out)
    failed = [c for c in results["checks"] if c["status"] == "FAIL" and not c["informative"]]
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
