"""Processes the benchmark starts (servers pinned with taskset), their memory, and a
monitor of the CPU that other processes on the machine take while we measure."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import psutil


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def can_pin() -> bool:
    """taskset exists and this process may run on CPUs 0 and 1."""
    try:
        allowed = os.sched_getaffinity(0)
    except AttributeError:
        return False
    return shutil.which("taskset") is not None and {0, 1} <= allowed


SOURCE_PACKAGES = ("api", "core", "infrastructure", "migrations")


def compiled(tree: Path) -> None:
    """Write the bytecode of a Queuarr source tree, as `pip install` does for an
    installed package and as a first run does: under PYTHONDONTWRITEBYTECODE (set in
    many shells and images) every start would otherwise compile Queuarr's ~170 modules
    from source, while the bare app's libraries load theirs from site-packages."""
    import compileall

    for package in SOURCE_PACKAGES:
        if (tree / package).is_dir():
            compileall.compile_dir(tree / package, quiet=1)


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment for a server, without the caller's own Queuarr and bench
    settings (QUEUARR_*, BENCH_*, DATABASE_URL), plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("QUEUARR_", "BENCH_")) and k != "DATABASE_URL"}
    return {**env, **(extra or {})}


def pinned(argv: list[str], cpu: int | None) -> list[str]:
    return ["taskset", "-c", str(cpu), *argv] if cpu is not None else argv


class Server:
    """One server process (started in its own process group), ready when `ready_path`
    answers 200."""

    def __init__(self, name: str, argv: list[str], port: int, *, env: dict[str, str],
                 cwd: Path, log: Path, cpu: int | None) -> None:
        self.name = name
        self.argv = pinned(argv, cpu)
        self.port = port
        self.env = env
        self.cwd = cwd
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, ready_path: str, headers: dict[str, str] | None = None,
              timeout: float = 60, interval: float = 0.1) -> Server:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode} at "
                                       f"start; see {self.log}")
                try:
                    if client.get(self.base + ready_path, headers=headers).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(interval)
        self.stop()
        raise RuntimeError(f"{self.name} was not ready within {timeout} s; see {self.log}")

    def stop(self, timeout: float = 15) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def processes(self) -> list[psutil.Process]:
        root = psutil.Process(self.pid)
        return [root, *root.children(recursive=True)]

    def rss(self) -> int:
        """Resident bytes of the server and its children (psutil)."""
        total = 0
        for p in self.processes():
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total

    def peak_rss(self) -> int:
        """High-water mark of the server process's RSS (VmHWM), bytes."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def cpu_seconds(self) -> float:
        total = 0.0
        for p in self.processes():
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
        return total


_PG_AUX = ("checkpointer", "background writer", "walwriter", "autovacuum launcher",
           "logical replication", "archiver", "stats collector", "startup", "io worker")


def _foreign_cpu(own: set[int]) -> dict[int, tuple[str, float]]:
    """(name, CPU seconds so far) of every process that is neither ours nor our Postgres
    work."""
    seen: dict[int, tuple[str, float]] = {}
    for p in psutil.process_iter(["pid", "name", "cmdline", "cpu_times"]):
        info: dict[str, Any] = p.info
        if info["pid"] in own or info["cpu_times"] is None:
            continue
        if info["name"] == "postgres" or (info["name"] or "").startswith("postgres"):
            title = " ".join(info["cmdline"] or ())
            if "queuarr_bench_" in title or any(a in title for a in _PG_AUX) \
                    or "postgres:" not in title:
                continue  # our backends, the server's own housekeeping, the postmaster
        seen[info["pid"]] = (info["name"] or "?",
                             info["cpu_times"].user + info["cpu_times"].system)
    return seen


class Noise:
    """CPU used by other processes (another test run, a build...) during a measurement,
    as a percentage of one core."""

    def __init__(self) -> None:
        self._t0 = 0.0
        self._before: dict[int, tuple[str, float]] = {}
        self.percent = 0.0
        self.top: list[tuple[str, float]] = []

    @staticmethod
    def _own() -> set[int]:
        me = psutil.Process()
        return {me.pid, *(c.pid for c in me.children(recursive=True))}

    def __enter__(self) -> Noise:
        self._before = _foreign_cpu(self._own())
        self._t0 = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        elapsed = max(time.monotonic() - self._t0, 1e-3)
        after = _foreign_cpu(self._own())
        used: dict[str, float] = {}
        for pid, (name, t) in after.items():
            delta = t - self._before.get(pid, (name, 0.0))[1]
            if delta > 0:
                used[name] = used.get(name, 0.0) + delta
        self.percent = 100.0 * sum(used.values()) / elapsed
        self.top = sorted(((n, 100.0 * t / elapsed) for n, t in used.items()),
                          key=lambda x: -x[1])[:3]


def machine_idle_percent(seconds: float = 1.0) -> float:
    """Share of the machine's CPU left idle over `seconds` (before anything starts)."""
    return 100.0 - psutil.cpu_percent(interval=seconds)


def package_version(name: str) -> str:
    """An installed package's version, or "-"."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or "?"."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"
