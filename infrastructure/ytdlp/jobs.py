"""yt-dlp downloads on disk: one job directory per download in the state directory,
`job.json` (what to download; written by the adapter), `status.json` (how it goes;
written by the worker), `lock` (held by the live worker) and `worker.log`.

Both files are replaced atomically (a temporary file, then os.replace), so a reader
never sees half a file. Whether a worker runs is told by its lock (flock, released by
the kernel when the process dies, whatever kills it), never by a pid that may be reused.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from infrastructure.clients.paths import is_within

PREFIX = "ytdlp-"
JOB, STATUS, LOCK, LOG = "job.json", "status.json", "lock", "worker.log"


class Phase(StrEnum):
    DOWNLOADING = "downloading"
    POSTPROCESSING = "postprocessing"
    COMPLETED = "completed"
    FAILED = "failed"


FINAL = frozenset({Phase.COMPLETED, Phase.FAILED})


def download_id(item_id: int) -> str:
    return f"{PREFIX}{item_id}"


@dataclass(slots=True)
class Job:
    url: str
    directory: str  # absolute; the item's save_under already appended
    roots: list[str]
    options: dict[str, Any]
    allow_private: bool = False
    paused: bool = False
    priority: int = 1
    seq: int = 0  # creation order, for the waiting queue


@dataclass(slots=True)
class Status:
    state: Phase
    downloaded: int = 0
    total: int = 0  # over every requested format; estimated until known
    speed: int = 0
    eta: int | None = None
    title: str | None = None
    output: str | None = None  # the final (merged) file, expected until completed
    error: str | None = None
    permanent: bool = False
    pid: int | None = None
    files: list[str] = field(default_factory=list)  # every path yt-dlp named for this job


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_job(job_dir: Path) -> Job | None:
    data = read_json(job_dir / JOB)
    return None if data is None else Job(**_known(Job, data))


def write_job(job_dir: Path, job: Job) -> None:
    write_json(job_dir / JOB, asdict(job))


def read_status(job_dir: Path) -> Status | None:
    data = read_json(job_dir / STATUS)
    if data is None or data.get("state") not in set(Phase):
        return None
    known = _known(Status, data)
    known["state"] = Phase(known["state"])
    return Status(**known)


def write_status(job_dir: Path, status: Status) -> None:
    write_json(job_dir / STATUS, asdict(status))


def clear_status(job_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (job_dir / STATUS).unlink()


def create(state_dir: Path, name: str, job: Job) -> bool:
    """Write a new job directory whole (built aside, then renamed into place); False when
    the job already exists."""
    final = state_dir / name
    if final.exists():
        return False
    aside = state_dir / f".{name}.{os.getpid()}.new"
    shutil.rmtree(aside, ignore_errors=True)
    aside.mkdir()
    write_job(aside, job)
    try:
        aside.rename(final)
    except OSError:  # created meanwhile
        shutil.rmtree(aside, ignore_errors=True)
        return False
    return True


def job_names(state_dir: Path) -> list[str]:
    return [p.name for p in state_dir.iterdir() if p.name.startswith(PREFIX) and p.is_dir()]


def take_lock(job_dir: Path) -> IO[bytes] | None:
    """The job's lock, held until the returned file is closed or the process ends; None
    when another process holds it."""
    handle = open(job_dir / LOCK, "ab")  # noqa: SIM115 - held for the process's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def worker_alive(job_dir: Path) -> bool:
    """Whether a worker holds the job's lock (a probe: taken and released at once)."""
    if not (job_dir / LOCK).exists():
        return False
    try:
        held = take_lock(job_dir)
    except OSError:
        return False
    if held is None:
        return True
    held.close()
    return False


# Suffixes yt-dlp puts on a file while it works on it.
_WORK_SUFFIXES = (".part", ".ytdl", ".temp")


def written_files(status: Status) -> set[Path]:
    """The files a job wrote: the paths it named, what yt-dlp derives from them (.part,
    .ytdl, fragments, per-format parts, subtitles: all begin with the final file's stem
    and a dot) and nothing else."""
    named = {Path(p) for p in status.files}
    if status.output:
        named.add(Path(status.output))
    found: set[Path] = set()
    for path in named:
        found.update(path.with_name(path.name + s) for s in _WORK_SUFFIXES)
        found.add(path)
        stem = path.name.rsplit(".", 1)[0] + "."
        with contextlib.suppress(OSError):
            found.update(p for p in path.parent.iterdir() if p.name.startswith(stem))
    return found


def delete_files(status: Status, roots: list[Path]) -> list[Path]:
    """Delete what the job wrote, only regular files inside the roots; the paths deleted."""
    deleted = []
    for path in sorted(written_files(status)):
        if path.is_symlink() or not path.is_file() or not is_within(path, roots):
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            deleted.append(path)
    return deleted
