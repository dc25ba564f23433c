"""`python -m bench --only grabcpu [--tree DIR] [--rounds N] [--seconds S]`: the server's
CPU per grab, this tree beside another (issue 18: "CPU per grab <= 2 ms", or the same
fraction of the older code's, measured in one run).

Each round starts `queuarr serve` from each tree in turn (alternating, so that a machine
whose load drifts treats both alike) on a fresh SQLite file that the server migrates
itself (trees of different schema revisions each get their own), no download client and
dispatching paused (PUT /api/v3/queue/pause): a grab is the API's work only. The server
is pinned to CPU 0 and wrk to CPU 1; after a warm-up run (the release parser loads on
the first grab), wrk posts plain grabs, a title and a unique magnet (as the peers bench)
for `--seconds` with `--connections` connections, and the server's CPU (psutil, process
and children) before and after, divided by the 201 answers, is the CPU per grab. The
median of the rounds is printed for each tree, with the ratio tree / this one. In the
same rounds, the floor: the main bench's bare FastAPI + SQLite grab (bench/bare_grab.py:
a JSON body, the magnet's hash, one transaction of a duplicate check, the item and a
history row; no title parsed, nothing else), run by uvicorn through the same script.
`--tree` takes a source tree such as `git archive <commit> | tar -x -C DIR`; its Python
dependencies must be importable from this venv."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

from bench import bare_grab
from bench.load import POST_JSON_INIT, LoadGenerator
from bench.procs import Server, can_pin, compiled, free_port, server_env
from bench.report import narrator, print_medians, ratio

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "queuarr-bench-key-0123456789"
MAX_CPU_MS = 2.0
BARE = "bare FastAPI + SQLite"

# A plain grab, as the peers bench sends it: a title and a unique magnet (the arguments
# are bench.load's per-run prefix).
_PLAIN = r"""
local counter = 0
local prefix = "000000000000000000000000"
""" + POST_JSON_INIT + r"""
function request()
  counter = counter + 1
  local name = string.format("Grab.Cpu.%s%016x.2160p.WEB-DL.x265-BENCH", prefix, counter)
  return wrk.format(nil, nil, nil, string.format(
    '{"title":"%s","downloadUrl":"magnet:?xt=urn:btih:%s%016x&dn=%s"}',
    name, prefix, counter, name))
end
"""


def _server(tree: Path, work: Path, name: str, cpu: int | None) -> Server:
    data = work / name
    data.mkdir(parents=True)
    env = server_env({
        "PYTHONPATH": str(tree), "QUEUARR_API_KEY": API_KEY, "QUEUARR_DATA_DIR": str(data),
        "QUEUARR_DATABASE_URL": f"sqlite+aiosqlite:///{data / 'queuarr.db'}",
        "QUEUARR_MANAGED_ARIA2": "false"})
    port = free_port()
    return Server(name, [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1",
                         "--port", str(port)], port, env=env, cwd=tree,
                  log=ROOT / "bench" / "results" / "logs" / f"grabcpu-{name}.log", cpu=cpu)


def _bare(work: Path, name: str, cpu: int | None) -> Server:
    """The floor: bench.bare_grab's SQLite app on tables of its own."""
    path = work / f"{name}.db"
    bare_grab.create_tables("sqlite", str(path))
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "bench.bare_grab:sqlite_grab_app", "--host",
            "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    return Server(name, argv, port, env=server_env({"PYTHONPATH": str(ROOT),
                                                    "BENCH_BARE_SQLITE": str(path)}),
                  cwd=ROOT, log=ROOT / "bench" / "results" / "logs" / f"grabcpu-{name}.log",
                  cpu=cpu)


def cpu_per_grab(server: Server, load: LoadGenerator, script: Path, seconds: float,
                 connections: int, queuarr: bool = True) -> tuple[float, int]:
    """(ms of server CPU per 201, grabs answered 201) for one measured run of Queuarr
    (or, `queuarr=False`, of the bare app)."""
    headers = {"X-Api-Key": API_KEY} if queuarr else {}
    server.start("/ping" if queuarr else "/ready")
    try:
        if queuarr:
            httpx.put(server.base + "/api/v3/queue/pause", headers=headers,
                      timeout=10).raise_for_status()
        url = server.base + ("/api/v3/queue/grab" if queuarr else "/grab")
        load.run(url, connections, 3, headers=headers, script=script)  # the parser loads
        before = server.cpu_seconds()
        result = load.run(url, connections, seconds, headers=headers, script=script)
        used = server.cpu_seconds() - before
        ok = result.requests - result.errors
        if ok <= 0:
            raise RuntimeError(f"{server.name}: no grab answered 201; see {server.log}")
        return 1000 * used / ok, ok
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench --only grabcpu")
    parser.add_argument("--tree", type=Path, help="another Queuarr source tree, measured "
                        "in the same rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args(argv)
    say = narrator("grabcpu")
    trees = {"this tree": ROOT}
    if args.tree is not None:
        trees[args.tree.name] = args.tree.resolve()
    for tree in trees.values():
        compiled(tree)
    pinning = can_pin()
    load = LoadGenerator(1 if pinning else None)
    if not load.wrk:
        raise SystemExit("bench --only grabcpu needs wrk (apt-get install -y wrk)")
    script = load.script("grabcpu", _PLAIN)
    per_grab: dict[str, list[float]] = {name: [] for name in [*trees, BARE]}
    cpu = 0 if pinning else None
    with tempfile.TemporaryDirectory(prefix="queuarr_grabcpu_") as tmp:
        for n in range(args.rounds):
            for name in per_grab:
                server = (_bare(Path(tmp), f"bare-{n}", cpu) if name == BARE else
                          _server(trees[name], Path(tmp), f"{name.replace(' ', '-')}-{n}",
                                  cpu))
                ms, ok = cpu_per_grab(server, load, script, args.seconds, args.connections,
                                      queuarr=name != BARE)
                per_grab[name].append(ms)
                say(f"round {n + 1}: {name} {ms:.2f} ms per grab ({ok:,} grabs)")
    load.close()
    medians = {name: statistics.median(values) for name, values in per_grab.items()}
    here = medians["this tree"]
    print(f"\nServer CPU per grab, empty SQLite, dispatching paused, wrk -c"
          f"{args.connections} for {args.seconds:g} s, median of {args.rounds}")
    print_medians(medians, per_grab, here, "ms/grab", "x this", width=24, digits=2)
    status = "PASS" if here <= MAX_CPU_MS else "FAIL"
    print(f"\nTarget (issue 18): CPU per grab <= {MAX_CPU_MS:g} ms (CPU-speed dependent)"
          f"   {here:.2f}   {status}")
    print(f"  this tree / {BARE}: {ratio(here, medians[BARE]) or 0:.2f}")
    if args.tree is not None:
        print(f"  this tree / {args.tree.name}: "
              f"{ratio(here, medians[args.tree.name]) or 0:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
