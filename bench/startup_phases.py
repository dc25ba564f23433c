"""Where a Queuarr start-up's own time goes (`python -m bench --only startup` prints it
after the start-up table; issue 18).

A child process first imports the third-party modules a start loads (the same list as the
"its libraries, imported only" row), so that what follows is Queuarr's own part. It then
does what `queuarr serve` does, step by step, timing each: import Queuarr's modules (and,
within that, the time spent creating its dataclasses and pydantic model classes), read
the settings, check the schema, create the app, run the lifespan's start, and answer the
first GET /ping through the app (ASGI, no socket). The cyclic collector is off, as
`queuarr serve` has it while it loads."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

from bench.procs import pinned

STEPS = ("libraries", "Queuarr's modules", "  of which: dataclass creation",
         "  of which: pydantic model classes", "settings", "schema check", "create_app",
         "lifespan start", "first GET /ping")

CHILD = r"""
import asyncio, gc, importlib, json, sys, time
gc.disable()
took, counts = {}, {}
t = time.perf_counter()
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception:
        pass
took["libraries"] = time.perf_counter() - t

import dataclasses
from pydantic._internal import _model_construction

def timed(key, make, outermost=lambda: True):
    took[key], counts[key] = 0.0, 0
    def run(*args, **kwargs):
        top = outermost()
        t = time.perf_counter()
        made = make(*args, **kwargs)
        if top:
            took[key] += time.perf_counter() - t
        counts[key] += 1
        return made
    return run

dataclasses._process_class = timed("  of which: dataclass creation",
                                   dataclasses._process_class)
depth = [0]
new_model = _model_construction.ModelMetaclass.__new__
def model(*args, **kwargs):
    depth[0] += 1
    try:
        return new_model(*args, **kwargs)
    finally:
        depth[0] -= 1
_model_construction.ModelMetaclass.__new__ = timed(
    "  of which: pydantic model classes", model, lambda: depth[0] == 0)

t = time.perf_counter()
import api.cli, api.server
from api.app import create_app
from infrastructure.migrate import check_schema
from infrastructure.settings import Settings
took["Queuarr's modules"] = time.perf_counter() - t
t = time.perf_counter(); settings = Settings(); took["settings"] = time.perf_counter() - t
t = time.perf_counter(); check_schema(settings.database)
took["schema check"] = time.perf_counter() - t
t = time.perf_counter(); app = create_app(settings); took["create_app"] = time.perf_counter() - t

async def first_ping():
    sent = []
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}
    async def send(message):
        sent.append(message)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": "/ping", "raw_path": b"/ping",
             "root_path": "", "query_string": b"", "headers": [(b"host", b"x")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    t = time.perf_counter()
    async with app.router.lifespan_context(app):
        took["lifespan start"] = time.perf_counter() - t
        t = time.perf_counter()
        await app(scope, receive, send)
        took["first GET /ping"] = time.perf_counter() - t
    return sent[0]["status"]

status = asyncio.run(first_ping())
print(json.dumps({"status": status, "took": took, "counts": counts}))
"""


def phases(names: list[str], env: dict[str, str], cwd: Path, cpu: int | None
           ) -> dict[str, object]:
    done = subprocess.run(pinned([sys.executable, "-c", CHILD, *names], cpu), env=env,
                          cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    seen: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    assert seen["status"] == 200, seen
    return seen


def report(runs: list[dict[str, object]]) -> None:
    """The median of each step over `runs`, in ms."""
    took = [run["took"] for run in runs]
    counts: dict[str, int] = runs[0]["counts"]  # type: ignore[assignment]
    print(f"\nWhere Queuarr's own start-up goes (one process, median of {len(runs)}; "
          "the libraries first, then each step of `queuarr serve`)")
    print(f"  {'':40} {'ms':>9}")
    for step in STEPS:
        ms = statistics.median(t[step] for t in took) * 1000  # type: ignore[index]
        made = f"   ({counts[step]} classes)" if step in counts else ""
        print(f"  {step:40} {ms:9.1f}{made}")
    own = [sum(v for k, v in t.items() if k in STEPS[1:] and not k.startswith(" "))  # type: ignore[union-attr]
           for t in took]
    print(f"  {'Queuarr, all its own steps':40} {statistics.median(own) * 1000:9.1f}")
