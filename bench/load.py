"""Load generation: wrk (with --latency and Lua scripts that print exact percentiles)
when it is installed, else bench.pyload (asyncio, raw keep-alive sockets) in its own
process. Both are pinned to their own CPU and bounded in time."""

from __future__ import annotations

import json
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.procs import Noise, pinned

# Prints exact percentiles (microseconds) from wrk's own histogram.
_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCHJSON {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,\"status_errors\":%d," ..
    "\"connect_errors\":%d,\"read_errors\":%d,\"write_errors\":%d,\"timeouts\":%d," ..
    "\"p50_us\":%.0f,\"p90_us\":%.0f,\"p99_us\":%.0f,\"max_us\":%.0f,\"mean_us\":%.1f}\n",
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read,
    e.write, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
  if report_statuses then report_statuses() end
end
"""

# A unique magnet per request: <24 hex run prefix><2 hex thread><14 hex counter>.
# A POST script's init: the per-run prefix (LoadGenerator.run's first argument), JSON.
POST_JSON_INIT = r"""
function init(args)
  prefix = args[1]
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end
"""

_GRAB = r"""
local counter = 0
local prefix = "000000000000000000000000"
local nthreads = 0
function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
end
""" + POST_JSON_INIT + r"""
function request()
  counter = counter + 1
  local h = string.format("%s%02x%014x", prefix, tid or 0, counter)
  local movie = 500000 + (counter % 5000)
  local body = string.format(
    '{"title":"Bench.Grab.%s.2160p.WEB-DL.x265-BENCH",' ..
    '"downloadUrl":"magnet:?xt=urn:btih:%s&dn=Bench.Grab.%s' ..
    '&tr=udp%%3A%%2F%%2Ftracker.example.org%%3A1337",' ..
    '"movieId":%d,"movie":{"title":"Bench Movie %d","year":2024,"tmdbId":%d,' ..
    '"imdbId":"tt%07d"},"indexer":"BenchIndexer","size":%d,"seeders":120,' ..
    '"leechers":7,"category":"radarr"}',
    h, h, h, movie, movie, movie, movie, 4000000000 + counter)
  return wrk.format(nil, nil, nil, body)
end
"""


@dataclass
class Result:
    """One load run, or the median of several (rps, p50, p90, p99 taken separately)."""

    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    errors: int
    seconds: float
    bytes: int
    noise_pct: float = 0.0
    server_cpu_pct: float | None = None
    pg_sessions: int | None = None
    noise_top: list[tuple[str, float]] = field(default_factory=list)
    runs: list[dict[str, float]] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)  # from a script's BENCHSTATUS

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def median(results: list[Result]) -> Result:
    if len(results) == 1:
        only = results[0]
        only.runs = [{"rps": only.rps, "p50_ms": only.p50_ms, "p99_ms": only.p99_ms}]
        return only

    def med(name: str) -> float:
        return float(statistics.median(getattr(r, name) for r in results))

    return Result(
        rps=med("rps"), p50_ms=med("p50_ms"), p90_ms=med("p90_ms"), p99_ms=med("p99_ms"),
        max_ms=max(r.max_ms for r in results), requests=sum(r.requests for r in results),
        errors=sum(r.errors for r in results), seconds=sum(r.seconds for r in results),
        bytes=sum(r.bytes for r in results), noise_pct=max(r.noise_pct for r in results),
        runs=[{"rps": r.rps, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms} for r in results],
    )


class LoadGenerator:
    """Runs bounded load against a URL from a process pinned to `cpu`."""

    def __init__(self, cpu: int | None, prefer_wrk: bool = True) -> None:
        self.cpu = cpu
        self.wrk = shutil.which("wrk") if prefer_wrk else None
        self.completed_ok = 0  # successful requests over every run, kept or discarded
        self._dir = Path(tempfile.mkdtemp(prefix="queuarr_bench_lua_"))
        (self._dir / "get.lua").write_text(_DONE)
        (self._dir / "grab.lua").write_text(_GRAB + _DONE)

    @property
    def name(self) -> str:
        return "wrk" if self.wrk else "bench.pyload"

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def script(self, name: str, lua: str) -> Path:
        """A wrk script of the caller's (`lua`, with the BENCHJSON `done` appended) for
        `run(script=...)`; it may print a `BENCHSTATUS {"<status>": n}` line too."""
        path = self._dir / f"{name}.lua"
        path.write_text(lua + _DONE)
        return path

    def run(self, url: str, connections: int, seconds: float, *,
            headers: dict[str, str] | None = None, grab: bool = False,
            script: Path | None = None, args: Sequence[str] = ()) -> Result:
        headers = headers or {}
        prefix = secrets.token_hex(12)
        if script is not None and not self.wrk:
            raise RuntimeError("a custom load script needs wrk (apt-get install -y wrk)")
        if self.wrk:
            lua = script or self._dir / ("grab.lua" if grab else "get.lua")
            argv = [self.wrk, "-t1", f"-c{connections}", f"-d{max(round(seconds), 1)}s",
                    "--latency", "--timeout", "10s", "-s", str(lua)]
            for k, v in headers.items():
                argv += ["-H", f"{k}: {v}"]
            argv += [url, "--", prefix, *args] if grab or script else [url]
        else:
            argv = [sys.executable, "-m", "bench.pyload", "--url", url,
                    "-c", str(connections), "-d", str(seconds)]
            for k, v in headers.items():
                argv += ["-H", f"{k}: {v}"]
            if grab:
                argv += ["--grab", prefix]
        with Noise() as noise:
            done = subprocess.run(pinned(argv, self.cpu), capture_output=True, text=True,
                                  timeout=seconds + 60, check=False)
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCHJSON ")),
                    None)
        if done.returncode != 0 or line is None:
            raise RuntimeError(f"load generator failed ({done.returncode}): "
                               f"{done.stdout[-800:]} {done.stderr[-800:]}")
        d = json.loads(line.removeprefix("BENCHJSON "))
        counted = next((ln for ln in done.stdout.splitlines()
                        if ln.startswith("BENCHSTATUS ")), None)
        statuses = json.loads(counted.removeprefix("BENCHSTATUS ")) if counted else {}
        secs = d["duration_us"] / 1e6
        errors = (d["status_errors"] + d["connect_errors"] + d["read_errors"]
                  + d["write_errors"] + d["timeouts"])
        self.completed_ok += d["requests"] - errors
        return Result(
            rps=(d["requests"] - errors) / secs if secs else 0.0,
            p50_ms=d["p50_us"] / 1000, p90_ms=d["p90_us"] / 1000, p99_ms=d["p99_us"] / 1000,
            max_ms=d["max_us"] / 1000, requests=d["requests"], errors=errors, seconds=secs,
            bytes=d["bytes"], noise_pct=noise.percent, noise_top=noise.top,
            statuses=statuses,
        )

    def measure(self, url: str, connections: int, seconds: float, repeats: int, *,
                headers: dict[str, str] | None = None, grab: bool = False) -> Result:
        return median([self.run(url, connections, seconds, headers=headers, grab=grab)
                       for _ in range(repeats)])
