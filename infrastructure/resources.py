"""What this process and its host use: CPU, memory, threads, open files and the host's load,
read from the standard library and /proc (no psutil at run time). Feeds
GET /api/v3/system/resources and the Telegram /status line."""

from __future__ import annotations

import os
import resource
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ProcessUsage:
    cpu_percent: float
    cpu_seconds: float
    rss_bytes: int
    threads: int
    open_files: int


@dataclass(frozen=True, slots=True)
class HostUsage:
    load1: float
    load5: float
    load15: float
    cpu_count: int
    memory_total_bytes: int
    memory_available_bytes: int


def cpu_seconds() -> float:
    """User plus system CPU time of this process, children excluded."""
    times = os.times()
    return times.user + times.system


def _proc_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def rss_bytes() -> int:
    """Resident memory now (/proc/self/statm); elsewhere the peak, the best getrusage has."""
    statm = _proc_lines("/proc/self/statm")
    if statm:
        return int(statm[0].split()[1]) * os.sysconf("SC_PAGE_SIZE")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS counts bytes, not KiB


def thread_count() -> int:
    """Every thread of the process (the OS's count, so threads C libraries start too)."""
    for line in _proc_lines("/proc/self/status"):
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return threading.active_count()


def open_files() -> int:
    for fds in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(fds))
        except OSError:
            continue
    return 0


def _process_start() -> float | None:
    """When this process started (epoch seconds), from /proc; None elsewhere."""
    stat = _proc_lines("/proc/self/stat")
    boot = next((line for line in _proc_lines("/proc/stat") if line.startswith("btime ")), None)
    if not stat or boot is None:
        return None
    # The command name (field 2) may hold spaces; starttime is the 20th field after it.
    ticks = int(stat[0].rpartition(")")[2].split()[19])
    return int(boot.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """The process's CPU use since the previous reading, as a percentage of one CPU (so up
    to 100 times cpuCount, as top shows it). The first reading covers the time since the
    process started (or since the meter was made where /proc is missing)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        start = _process_start()
        self._last = (time.time(), cpu_seconds()) if start is None else (start, 0.0)

    def percent(self) -> tuple[float, float]:
        """(percent since the last reading, CPU seconds so far)."""
        now, used = time.time(), cpu_seconds()
        with self._lock:
            then, before = self._last
            self._last = (now, used)
        elapsed = now - then
        return (max(0.0, (used - before) / elapsed * 100) if elapsed > 0 else 0.0), used


def process_usage(meter: CpuMeter) -> ProcessUsage:
    percent, used = meter.percent()
    return ProcessUsage(cpu_percent=round(percent, 2), cpu_seconds=round(used, 3),
                        rss_bytes=rss_bytes(), threads=thread_count(), open_files=open_files())


def _meminfo() -> tuple[int, int]:
    """(total, available) bytes: /proc/meminfo's MemAvailable, or sysconf's free pages."""
    fields = {}
    for line in _proc_lines("/proc/meminfo"):
        key, _, value = line.partition(":")
        fields[key] = int(value.split()[0]) * 1024
    if "MemTotal" in fields and "MemAvailable" in fields:
        return fields["MemTotal"], fields["MemAvailable"]
    page = os.sysconf("SC_PAGE_SIZE")
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * page
    except (ValueError, OSError):  # not on macOS
        available = 0
    return os.sysconf("SC_PHYS_PAGES") * page, available


# Files a container runtime leaves (Docker; Podman), and files it mounts into every
# container. A marker alone proves nothing: an image turned into a VM's disk keeps it.
CONTAINER_MARKERS = ("/.dockerenv", "/run/.containerenv")
MOUNTINFO = "/proc/self/mountinfo"
_RUNTIME_MOUNTS = frozenset({"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"})


def in_container() -> bool:
    """True when a container runtime started this process: its marker is there and it
    mounted /etc/hostname, /etc/hosts or /etc/resolv.conf (Docker, Podman and Kubernetes
    all do)."""
    if not any(os.path.exists(marker) for marker in CONTAINER_MARKERS):
        return False
    return any(len(fields) > 4 and fields[4] in _RUNTIME_MOUNTS
               for fields in (line.split() for line in _proc_lines(MOUNTINFO)))


def host_usage() -> HostUsage:
    load1, load5, load15 = os.getloadavg()
    total, available = _meminfo()
    return HostUsage(load1=round(load1, 2), load5=round(load5, 2), load15=round(load15, 2),
                     cpu_count=os.cpu_count() or 1, memory_total_bytes=total,
                     memory_available_bytes=available)
