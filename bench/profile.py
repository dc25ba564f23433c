"""Sampling profiles of the server under load (py-spy, if installed), summarised as the
functions with the most self time and the most inclusive time. The raw collapsed stacks
are kept, so that `flamegraph.pl` or speedscope can draw them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path


def py_spy() -> str | None:
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


class Profiler:
    """`with Profiler(pid, out, seconds):` samples pid for at most `seconds`."""

    def __init__(self, pid: int, out: Path, seconds: float, rate: int = 250) -> None:
        self.exe = py_spy()
        self.argv = [str(self.exe), "record", "-p", str(pid), "-d", str(max(int(seconds), 1)),
                     "-r", str(rate), "-f", "raw", "-o", str(out), "--nonblocking"]
        self.out = out
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Profiler:
        if self.exe:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                self.proc.wait(5)


def _frame(raw: str) -> str:
    """'func (path/to/file.py:12)' -> 'func (file.py)', so lines of one function merge."""
    name, _, where = raw.partition(" (")
    file = where.rsplit(":", 1)[0] if where else ""
    parts = file.split("/")
    short = "/".join(parts[-2:]) if len(parts) > 1 else file
    return f"{name} ({short})" if short else name


_IDLE_LEAVES = ("Condition.wait", "Queue.get", "Event.wait", "_wait_for_tstate_lock",
                "select (selectors.py)", "Semaphore.acquire")
_PROJECT = ("api/", "core/", "infrastructure/")


def _idle_sites() -> set[str]:
    """'function (file.py:line)' leaves where a worker thread blocks in C without a Python
    frame of its own: aiosqlite's worker waiting on its SimpleQueue."""
    sites: set[str] = set()
    try:
        import inspect

        import aiosqlite.core as core

        lines, start = inspect.getsourcelines(core._connection_worker_thread)
        for offset, text in enumerate(lines):
            if ".get(" in text:
                sites.add(f"_connection_worker_thread (aiosqlite/core.py:{start + offset})")
    except Exception:  # another aiosqlite layout: nothing to filter
        pass
    return sites


def summarise(path: Path, top: int = 12) -> dict[str, object]:
    """Self-time shares (percent of non-idle samples) of the busiest functions, and the
    inclusive shares of Queuarr's own functions (api/, core/, infrastructure/)."""
    empty = {"samples": 0, "self": [], "inclusive": [], "thread_pct": 0.0}
    if not path.exists():
        return empty
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = pool = 0
    idle_sites = _idle_sites()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        raw = [f for f in stack.split(";") if f]
        if not raw:
            continue
        frames = [_frame(f) for f in raw]
        in_thread = "threading.py" in raw[0]  # not the main thread (the event loop)
        if in_thread and (frames[-1].startswith(_IDLE_LEAVES) or raw[-1] in idle_sites):
            continue  # an idle worker thread (thread pool, aiosqlite): not work
        n = int(count)
        total += n
        pool += n if in_thread else 0
        own[frames[-1]] += n
        for f in {f for f, r in zip(frames, raw, strict=True)
                  if r.partition(" (")[2].startswith(_PROJECT)}:
            inclusive[f] += n
    if not total:
        return empty

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(f, round(100.0 * n / total, 1)) for f, n in counter.most_common(top)]

    return {"samples": total, "self": share(own), "inclusive": share(inclusive),
            "thread_pct": round(100.0 * pool / total, 1)}
