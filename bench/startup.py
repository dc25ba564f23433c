"""`python -m bench --only startup [--repeats N] [--items N ...] [--idle-wait S] [--tree DIR]`:
Queuarr's start-up and idle memory beside a bare FastAPI app's, in one run (issue 18).

- start-up: spawn to the first 200, polled every 5 ms, Queuarr's bytecode written first
  (bench.procs.compiled: as an installed package has it), the servers taken in turn and the
  median of N kept: `uvicorn bench.bare:hello_app` (GET /) and `queuarr serve` on a
  migrated, empty SQLite database (GET /ping), without and (aria2c on the PATH) with the
  managed aria2c a default installation starts;
- idle RSS: the server process once it has gone quiet, the queue empty and then holding
  each `--items` count of queued items (bench/seed.py rows), no download client (so
  nothing to send: idle);
- the CPU other processes took during each start-up (bench.procs.Noise), the worst shown;
- the libraries' floor: a process that only imports the third-party modules a Queuarr
  start loads (listed from a start in a child process: everything in sys.modules that
  comes from site-packages), spawn to done, timed like the servers; what the libraries
  alone cost beside the bare app, before any of Queuarr's own code runs;
- where Queuarr's own part of a start-up goes, step by step (bench/startup_phases.py);
- with `--tree DIR` (another Queuarr's source, e.g. `git archive <commit> | tar -x -C DIR`),
  that one too, in the same rounds: a before/after on a machine whose load varies.

Targets: start-up <= 0.5 s or <= 1.5x the bare app's; RSS <= 85 MiB at 10,000 items and
<= 100 MiB at 100,000."""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench import seed
from bench.peer_pyload import wait_quiet
from bench.processor import claim_rows
from bench.procs import Noise, Server, can_pin, compiled, free_port, pinned, server_env
from bench.report import Checks, narrator, print_medians, ratio
from bench.startup_phases import phases, report

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "queuarr-bench-key-0123456789"
MAX_STARTUP_S, MAX_STARTUP_RATIO = 0.5, 1.5
MAX_RSS_MIB = {10_000: 85.0, 100_000: 100.0}


def _env(extra: dict[str, str]) -> dict[str, str]:
    return server_env({"PYTHONPATH": str(ROOT), **extra})


class Startup:
    def __init__(self, work: Path, logs: Path) -> None:
        self.work, self.logs = work, logs
        self.cpu = 0 if can_pin() else None
        self.say = narrator("startup")
        self.noise = 0.0

    def bare(self) -> Server:
        port = free_port()
        argv = [sys.executable, "-m", "uvicorn", "bench.bare:hello_app", "--host",
                "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        return Server("bare-fastapi", argv, port, env=_env({}), cwd=ROOT,
                      log=self.logs / "startup-bare.log", cpu=self.cpu)

    def queuarr(self, name: str, items: int, managed: bool, tree: Path | None = None
                ) -> Server:
        """`queuarr serve` on its own SQLite file holding `items` queued items (nothing
        to download: no client is configured unless `managed`); from `tree` if given."""
        data = self.work / name
        data.mkdir(parents=True, exist_ok=True)
        if items:
            url = seed.seed_sqlite(data / "queuarr.db", claim_rows(items))["url"]
        else:
            url = _migrated(data / "queuarr.db")
        exe = Path(sys.executable).parent / "queuarr"
        own = tree is None and exe.exists()
        argv = [str(exe)] if own else [sys.executable, "-m", "api.cli"]
        env = _env({"QUEUARR_DATABASE_URL": url, "QUEUARR_API_KEY": API_KEY,
                    "QUEUARR_DATA_DIR": str(data), "QUEUARR_LOG_LEVEL": "WARNING",
                    "QUEUARR_MANAGED_ARIA2": "auto" if managed else "false"})
        if tree is not None:
            env["PYTHONPATH"] = str(tree)
        port = free_port()
        return Server(name, [*argv, "serve", "--host", "127.0.0.1", "--port", str(port)],
                      port, env=env, cwd=tree or data, log=self.logs / f"startup-{name}.log",
                      cpu=self.cpu)

    def start(self, server: Server, ready: str) -> float:
        with Noise() as noise:
            t0 = time.perf_counter()
            server.start(ready, interval=0.005)
            took = time.perf_counter() - t0
        self.noise = max(self.noise, noise.percent)
        return took

    def idle_rss(self, server: Server, ready: str, wait: float) -> float:
        """MiB resident in the server process once it has been quiet `wait` seconds."""
        server.start(ready)
        try:
            wait_quiet(server, 60)
            time.sleep(wait)
            return float(psutil.Process(server.pid).memory_info().rss) / 2**20
        finally:
            server.stop()


LIST_LIBRARIES = """
import asyncio, sys
import api.cli, api.server
from api.app import create_app

async def start() -> None:
    app = create_app()
    async with app.router.lifespan_context(app):
        pass

asyncio.run(start())
print(" ".join(sorted(
    name for name, module in list(sys.modules.items())
    if "site-packages" in (getattr(module, "__file__", None) or "")
    and not name.startswith("__editable__"))))
"""

IMPORT_ONLY = """
import importlib, sys
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception:  # a private module that needs its parent's order: its parent loads it
        pass
print("imported", flush=True)
"""


def libraries(server: Server) -> list[str]:
    """The third-party modules a Queuarr start loads (the server's own environment)."""
    done = subprocess.run([sys.executable, "-c", LIST_LIBRARIES], env=server.env,
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=True)
    return done.stdout.split()


def import_only(names: list[str], cpu: int | None) -> float:
    """Seconds from spawn until a process has imported `names`."""
    with Noise():
        t0 = time.perf_counter()
        child = subprocess.Popen(pinned([sys.executable, "-c", IMPORT_ONLY, *names], cpu),
                                 env=_env({}), cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        line = child.stdout.readline()
        took = time.perf_counter() - t0
    child.wait(30)
    assert line.strip() == "imported", line
    return took


def _migrated(path: Path) -> str:
    from infrastructure.migrate import upgrade

    url = f"sqlite+aiosqlite:///{path.resolve()}"
    upgrade(url)
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench --only startup")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--items", type=int, nargs="*", default=[10_000],
                        help="queue sizes for the idle RSS (besides empty)")
    parser.add_argument("--idle-wait", type=float, default=3.0,
                        help="seconds of quiet before RSS is read")
    parser.add_argument("--tree", type=Path, help="another Queuarr source tree to measure "
                        "alongside (its `api.cli` run from there)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="queuarr_startup_"))
    for tree in (ROOT, args.tree):
        if tree is not None:
            compiled(tree)
    bench = Startup(work, ROOT / "bench" / "results" / "logs")
    servers = {"bare FastAPI hello": (bench.bare(), "/"),
               "Queuarr, empty SQLite": (bench.queuarr("empty", 0, False), "/ping")}
    if shutil.which("aria2c"):
        servers["Queuarr, empty SQLite, managed aria2c"] = (
            bench.queuarr("managed", 0, True), "/ping")
    if args.tree:
        servers[f"{args.tree.name}: Queuarr, empty SQLite"] = (
            bench.queuarr("tree-empty", 0, False, args.tree.resolve()), "/ping")
    floor = "its libraries, imported only"
    try:
        names = libraries(servers["Queuarr, empty SQLite"][0])
        bench.say(f"start-up, {args.repeats} rounds: " + ", ".join([*servers, floor]))
        times: dict[str, list[float]] = {name: [] for name in [*servers, floor]}
        for _ in range(args.repeats):
            for name, (server, ready) in servers.items():
                times[name].append(bench.start(server, ready))
                server.stop()
            times[floor].append(import_only(names, bench.cpu))
        empty = servers["Queuarr, empty SQLite"][0]
        bench.say(f"where Queuarr's own start-up goes, {args.repeats} runs")
        steps = [phases(names, empty.env, empty.cwd, bench.cpu) for _ in range(args.repeats)]
        rss = {name: bench.idle_rss(server, ready, args.idle_wait)
               for name, (server, ready) in servers.items() if "managed" not in name}
        for items in args.items:
            bench.say(f"idle RSS with {items:,} items")
            rss[f"Queuarr, {items:,} items"] = bench.idle_rss(
                bench.queuarr(f"items-{items}", items, False), "/ping", args.idle_wait)
            if args.tree:
                rss[f"{args.tree.name}: Queuarr, {items:,} items"] = bench.idle_rss(
                    bench.queuarr(f"tree-items-{items}", items, False, args.tree.resolve()),
                    "/ping", args.idle_wait)
    finally:
        for server, _ in servers.values():
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    medians = {name: statistics.median(values) for name, values in times.items()}
    bare_s, bare_mib = medians["bare FastAPI hello"], rss["bare FastAPI hello"]
    print(f"\nStart-up, spawn to the first 200 (median of {args.repeats}; other processes "
          f"took up to {bench.noise:.0f} % of a core meanwhile)")
    print_medians(medians, times, bare_s, "median s", "x bare")
    print("\nIdle RSS of the server process (MiB)")
    print(f"  {'':40} {'MiB':>9} {'x bare':>7}")
    for name, mib in rss.items():
        print(f"  {name:40} {mib:9.1f} {ratio(mib, bare_mib) or 0:7.2f}")
    print(f"\n  '{floor}': the {len(names)} third-party modules a Queuarr start loads "
          f"(SQLAlchemy, pydantic-settings, APScheduler...) take "
          f"{ratio(medians[floor], bare_s) or 0:.2f}x the bare app's start-up to import, "
          "before any of Queuarr's own code")
    report(steps)
    checks = Checks()
    queuarr_s = medians["Queuarr, empty SQLite"]
    checks.add("start-up <= 0.5 s", queuarr_s, "<=", MAX_STARTUP_S, "s")
    checks.add("start-up <= 1.5x bare FastAPI", ratio(queuarr_s, bare_s), "<=",
               MAX_STARTUP_RATIO, "x")
    for items in args.items:
        if items in MAX_RSS_MIB:
            checks.add(f"idle RSS at {items:,} items", rss[f"Queuarr, {items:,} items"],
                       "<=", MAX_RSS_MIB[items], "MiB")
    print("\nTargets (issue 18; start-up passes on either)")
    for check in checks:
        print(f"  {check['check']:40} {check['value']:9.3f} {check['op']} "
              f"{check['target']:g} {check['unit']:4} {check['status']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
