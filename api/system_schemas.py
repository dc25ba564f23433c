"""Response shapes of Queuarr's own system resources (not Radarr's), shown at /docs."""

from __future__ import annotations

from pydantic import Field

from api.schemas import Out


class ProcessResources(Out):
    cpu_percent: float = Field(description="CPU use since the previous reading of this "
                               "resource (the process's lifetime on the first), as a "
                               "percentage of one CPU: up to 100 times cpuCount")
    cpu_seconds: float = Field(description="User plus system CPU time so far")
    rss_bytes: int = Field(description="Resident memory")
    threads: int
    open_files: int = Field(description="Open file descriptors (sockets included)")


class HostResources(Out):
    load1: float = Field(description="Load average over 1 minute")
    load5: float
    load15: float
    cpu_count: int
    memory_total_bytes: int
    memory_available_bytes: int


class DiskResources(Out):
    path: str = Field(description="A download root")
    free_bytes: int
    total_bytes: int


class SystemResources(Out):
    """What this process and its host use now, and the space left in each download root."""

    process: ProcessResources
    host: HostResources
    disk: list[DiskResources]
