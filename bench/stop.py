"""How long a stop takes (issue 12, section 8): `python -m bench.stop [runs]`.

- the managed aria2c alone: ManagedAria2.stop() on an idle aria2c;
- `queuarr serve` with the managed aria2c and one open /api/v3/queue/stream client:
  SIGTERM to exit, and the part of it the server spends before its interpreter exits
  (from uvicorn's "Shutting down" to "Finished server process" in its log).

Prints the median and the worst of `runs` (5) runs of each. Docker kills 10 s after
SIGTERM; the target is under 5 s."""

from __future__ import annotations

import asyncio
import signal
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx

from infrastructure.clients.managed_aria2 import ManagedAria2, find_aria2c
from tests.e2e.conftest import start_server


async def _aria2_stop(executable: str) -> float:
    with tempfile.TemporaryDirectory() as root:
        managed = ManagedAria2(executable, Path(root) / "downloads", Path(root) / "aria2")
        await managed.start()
        await asyncio.sleep(1.5)  # idle, between two of its polls
        started = time.perf_counter()
        await managed.stop()
        return time.perf_counter() - started


def _stamp(log: str, marker: str) -> datetime:
    line = next(line for line in log.splitlines() if marker in line)
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")


def _serve_stop() -> tuple[float, float]:
    """(SIGTERM to exit, the server's own part) in seconds."""
    with tempfile.TemporaryDirectory() as root:
        process, server = start_server(Path(root), {"QUEUARR_LOG_LEVEL": "INFO"})
        opened = threading.Event()

        def read() -> None:
            with httpx.Client(base_url=server.url, timeout=None, trust_env=False,
                              headers={"X-Api-Key": server.api_key}) as http, \
                    http.stream("GET", "/api/v3/queue/stream") as response:
                for _ in response.iter_lines():
                    opened.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        opened.wait(10)
        started = time.perf_counter()
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        total = time.perf_counter() - started
        reader.join(5)
        log = server.log.read_text()
        inside = (_stamp(log, "Finished server process")
                  - _stamp(log, "Shutting down")).total_seconds()
        return total, inside


def _line(name: str, values: list[float]) -> str:
    return f"{name}: median {statistics.median(values):.2f} s, worst {max(values):.2f} s"


def main(argv: list[str]) -> int:
    runs = int(argv[0]) if argv else 5
    executable = find_aria2c()
    if executable is None:
        print("aria2c is not installed", file=sys.stderr)
        return 1
    aria2 = [asyncio.run(_aria2_stop(executable)) for _ in range(runs)]
    serve = [_serve_stop() for _ in range(runs)]
    print(_line("managed aria2c stop", aria2))
    print(_line("queuarr serve, SIGTERM to exit (stream open)", [t for t, _ in serve]))
    print(_line("  of which the server (Shutting down -> Finished)", [i for _, i in serve]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
