"""yt-dlp behind the DownloadClient port: it supervises worker processes (worker.py), one
per download, through their job directories (jobs.py).

- At most `max_active` workers run; the others wait (QUEUED), highest priority first,
  then oldest. Waiting jobs are started from add(), resume() and statuses() (the sync
  calls it regularly), and so is a job whose worker died without a final status (a
  Queuarr restart) unless it is paused.
- Pause kills the worker's process group; the `.part` file stays, and resume starts a
  worker that continues it with a Range request.
- The state directory is the client: while it is unusable (a volume not mounted) every
  call raises ClientUnavailable; when it is back, so are the jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import logging
import os
import shutil
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.clients import ClientState, DownloadItemStatus
from core.domain import QueueItem, SourceKind
from core.errors import BadRequest, ClientRejected, ClientUnavailable
from core.ports import ClientInfo, DownloadStatus
from infrastructure.clients.paths import disk_usage, subdirectory
from infrastructure.ytdlp import jobs
from infrastructure.ytdlp.config import YtDlpConfig
from infrastructure.ytdlp.jobs import FINAL, Job, Phase, Status

log = logging.getLogger(__name__)

GRACE = 3.0  # seconds between SIGTERM and SIGKILL
MAX_CRASHES = 3  # a worker that dies this often without a result fails the job

# Radarr's view for a generic client: its state, no message but the error.
RADARR_VIEW = {
    ClientState.QUEUED: DownloadItemStatus.QUEUED,
    ClientState.DOWNLOADING: DownloadItemStatus.DOWNLOADING,
    ClientState.PAUSED: DownloadItemStatus.PAUSED,
    ClientState.COMPLETED: DownloadItemStatus.COMPLETED,
    ClientState.FAILED: DownloadItemStatus.FAILED,
}


@dataclass(slots=True)
class Snapshot:
    """One job as read from disk, with whether a worker runs it."""

    name: str
    job: Job
    status: Status | None
    running: bool

    @property
    def final(self) -> bool:
        return not self.running and self.status is not None and self.status.state in FINAL

    @property
    def waiting(self) -> bool:
        return not self.running and not self.job.paused and not self.final


class YtDlpClient:
    """The DownloadClient port for yt-dlp."""

    def __init__(self, name: str, config: YtDlpConfig) -> None:
        self.name = name
        self.config = config
        self._children: dict[str, asyncio.subprocess.Process] = {}
        self._stopping: set[str] = set()  # killed on purpose: not a crash
        self._crashes: dict[str, int] = {}
        self._lock = asyncio.Lock()

    # -- the state directory ---------------------------------------------------------

    def _usable(self) -> None:
        state = self.config.state_dir
        if not (state.is_dir() and os.access(state, os.W_OK | os.X_OK)):
            raise ClientUnavailable(f"{self.name}: the yt-dlp state directory {state} is "
                                    "missing or not writable")

    def _job_dir(self, download_id: str) -> Path:
        if not download_id.startswith(jobs.PREFIX) or not download_id[len(jobs.PREFIX):].isdigit():
            raise KeyError(download_id)
        return self.config.state_dir / download_id

    def _running(self, name: str, status: Status | None) -> bool:
        child = self._children.get(name)
        if child is not None and child.returncode is None:
            return True
        if status is not None and status.state in FINAL:
            return False  # its worker wrote that as it ended
        return jobs.worker_alive(self.config.state_dir / name)

    def _read(self, name: str) -> Snapshot | None:
        job_dir = self.config.state_dir / name
        job = jobs.read_job(job_dir)
        if job is None:
            return None
        status = jobs.read_status(job_dir)
        return Snapshot(name, job, status, self._running(name, status))

    def _scan(self) -> dict[str, Snapshot]:
        self._usable()
        found = {}
        try:
            names = jobs.job_names(self.config.state_dir)
        except OSError as exc:
            raise ClientUnavailable(f"{self.name}: cannot list {self.config.state_dir}: "
                                    f"{exc}") from exc
        for name in names:
            snap = self._read(name)
            if snap is not None:
                found[name] = snap
        return found

    # -- supervision ------------------------------------------------------------------

    def _reap(self, snaps: dict[str, Snapshot]) -> None:
        """Forget exited workers; count those that died without a result; stop those
        whose job directory vanished."""
        for name, child in list(self._children.items()):
            if name not in snaps and child.returncode is None:
                self._signal(child.pid, signal.SIGKILL)  # lost behind our back
            if child.returncode is None:
                continue
            del self._children[name]
            if name in self._stopping:
                self._stopping.discard(name)
                continue
            snap = snaps.get(name)
            if snap is None or snap.final or snap.running:
                self._crashes.pop(name, None)
                continue
            crashes = self._crashes[name] = self._crashes.get(name, 0) + 1
            if crashes >= MAX_CRASHES:
                log.warning("%s: the yt-dlp worker of %s died %d times", self.name, name, crashes)
                failed = snap.status or Status(Phase.FAILED)
                failed.state, failed.permanent = Phase.FAILED, False
                failed.error = (f"the yt-dlp worker exited (code {child.returncode}) "
                                f"without a result {crashes} times; see {jobs.LOG}")
                jobs.write_status(self.config.state_dir / name, failed)
                snap.status = failed

    async def _supervise(self, snaps: dict[str, Snapshot]) -> None:
        self._reap(snaps)
        active = sum(1 for s in snaps.values() if s.running)
        waiting = sorted((s for s in snaps.values() if s.waiting),
                         key=lambda s: (-s.job.priority, s.job.seq, s.name))
        for snap in waiting[:max(self.config.max_active - active, 0)]:
            await self._start(snap.name)
            snap.running = True

    async def _start(self, name: str) -> None:
        job_dir = self.config.state_dir / name
        log_file = await asyncio.to_thread(open, job_dir / jobs.LOG, "ab")
        try:
            child = await asyncio.create_subprocess_exec(
                *self.config.worker_command, str(job_dir),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=log_file, start_new_session=True)
        finally:
            log_file.close()
        self._children[name] = child

    @staticmethod
    def _signal(pgid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    async def _stop(self, snap: Snapshot) -> None:
        """Kill the job's worker and its process group: SIGTERM, then SIGKILL."""
        child = self._children.get(snap.name)
        if child is not None and child.returncode is None:
            self._stopping.add(snap.name)
            self._signal(child.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), GRACE)
            except TimeoutError:
                self._signal(child.pid, signal.SIGKILL)
                await child.wait()
            return
        pid = snap.status.pid if snap.status else None
        job_dir = self.config.state_dir / snap.name
        if pid is None or not await asyncio.to_thread(jobs.worker_alive, job_dir):
            return
        # A worker from before a restart: its lock says it is alive, so the pid is its.
        self._signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE
        while await asyncio.to_thread(jobs.worker_alive, job_dir):
            if time.monotonic() > deadline:
                self._signal(pid, signal.SIGKILL)
            await asyncio.sleep(0.05)

    # -- the port ------------------------------------------------------------------------

    async def test(self) -> ClientInfo:
        try:
            version = importlib.metadata.version("yt-dlp")
        except importlib.metadata.PackageNotFoundError:
            raise ClientUnavailable(f"{self.name}: yt-dlp is not installed") from None
        await asyncio.to_thread(self._usable)
        directory = self.config.directory
        if not await asyncio.to_thread(os.access, directory, os.W_OK | os.X_OK):
            raise ClientUnavailable(f"{self.name}: the download directory {directory} is "
                                    "missing or not writable")
        return ClientInfo(self.name, version)

    def _new_job(self, item: QueueItem) -> Job:
        if item.source not in (SourceKind.VIDEO, SourceKind.HTTP):
            raise ClientRejected("yt-dlp downloads video pages and media URLs, not torrents")
        url = item.download_url or ""
        if not url.lower().startswith(("http://", "https://")):
            raise ClientRejected(f"{self.name}: item {item.id} has no http(s) URL for yt-dlp")
        directory = str(self.config.directory)
        if item.save_under:
            try:
                directory = subdirectory(directory, item.save_under, self.config.roots)
            except BadRequest as exc:
                raise ClientRejected(f"{self.name}: {exc.message}") from None
        c = self.config
        options = {"format": c.chosen_format, "merge_format": c.merge_format,
                   "subtitles": c.subtitles, "rate_limit": c.rate_limit,
                   "cookies_file": str(c.cookies_file) if c.cookies_file else None,
                   "output_template": c.output_template, "ffmpeg": c.ffmpeg,
                   "retries": c.retries}
        return Job(url=url, directory=directory, roots=[str(r) for r in c.roots],
                   options=options, allow_private=c.allow_private,
                   priority=int(item.priority), seq=time.time_ns())

    async def add(self, item: QueueItem, torrent: bytes | None) -> str:
        job = self._new_job(item)
        name = jobs.download_id(item.id)
        async with self._lock:
            await asyncio.to_thread(self._usable)
            created = await asyncio.to_thread(jobs.create, self.config.state_dir, name, job)
            old = self._children.pop(name, None)
            if created and old is not None and old.returncode is None:
                self._signal(old.pid, signal.SIGKILL)  # its job was lost behind our back
                await old.wait()
            elif old is not None:
                self._children[name] = old
            if not created:
                snap = await asyncio.to_thread(self._read, name)
                if (snap is not None and snap.final and snap.status is not None
                        and snap.status.state is Phase.FAILED and not snap.status.permanent):
                    # The processor's retry: start again, keeping the partial files.
                    await asyncio.to_thread(jobs.clear_status, self.config.state_dir / name)
                    self._crashes.pop(name, None)
            await self._supervise(await asyncio.to_thread(self._scan))
        return name

    async def statuses(self, download_ids: Sequence[str]) -> dict[str, DownloadStatus]:
        if not download_ids:
            return {}
        async with self._lock:
            snaps = await asyncio.to_thread(self._scan)
            await self._supervise(snaps)
        return {i: to_status(i, snaps[i]) for i in dict.fromkeys(download_ids) if i in snaps}

    async def _snapshot(self, download_id: str) -> Snapshot | None:
        await asyncio.to_thread(self._usable)
        try:
            self._job_dir(download_id)
        except KeyError:
            return None
        return await asyncio.to_thread(self._read, download_id)

    async def pause(self, download_id: str) -> None:
        async with self._lock:
            snap = await self._snapshot(download_id)
            if snap is None or snap.final or snap.job.paused:
                return
            snap.job.paused = True
            await asyncio.to_thread(jobs.write_job, self._job_dir(download_id), snap.job)
            await self._stop(snap)

    async def resume(self, download_id: str) -> None:
        async with self._lock:
            snap = await self._snapshot(download_id)
            if snap is None or not snap.job.paused:
                return
            snap.job.paused = False
            await asyncio.to_thread(jobs.write_job, self._job_dir(download_id), snap.job)
            self._crashes.pop(download_id, None)
            await self._supervise(await asyncio.to_thread(self._scan))

    async def remove(self, download_id: str, delete_data: bool) -> None:
        async with self._lock:
            snap = await self._snapshot(download_id)
            if snap is None:
                return
            await self._stop(snap)
            self._children.pop(download_id, None)
            self._stopping.discard(download_id)
            self._crashes.pop(download_id, None)
            status = await asyncio.to_thread(jobs.read_status, self._job_dir(download_id))
            await asyncio.to_thread(shutil.rmtree, self._job_dir(download_id), True)
            if delete_data and status is not None:
                await asyncio.to_thread(jobs.delete_files, status, list(self.config.roots))

    async def set_priority(self, download_id: str, priority: int) -> None:
        async with self._lock:
            snap = await self._snapshot(download_id)
            if snap is None or snap.job.priority == int(priority):
                return
            snap.job.priority = int(priority)
            await asyncio.to_thread(jobs.write_job, self._job_dir(download_id), snap.job)

    async def free_space(self) -> int | None:
        await asyncio.to_thread(self._usable)
        usage = await asyncio.to_thread(disk_usage, self.config.directory)
        return None if usage is None else usage[0]

    async def shutdown(self) -> None:
        """Stop the workers this adapter started and wait for them (at server shutdown:
        the next adapter restarts their jobs, continuing the partial files)."""
        async with self._lock:
            for name, child in list(self._children.items()):
                if child.returncode is None:
                    self._stopping.add(name)
                    self._signal(child.pid, signal.SIGTERM)
            for child in list(self._children.values()):
                try:
                    await asyncio.wait_for(child.wait(), GRACE)
                except TimeoutError:
                    self._signal(child.pid, signal.SIGKILL)
                    await child.wait()

    def close(self) -> None:
        """Stop the workers this adapter started (they are restarted with the next one)."""
        for child in self._children.values():
            if child.returncode is None:
                self._signal(child.pid, signal.SIGTERM)


def to_status(download_id: str, snap: Snapshot) -> DownloadStatus:
    status = snap.status or Status(Phase.DOWNLOADING)
    if snap.job.paused and not snap.final:
        state = ClientState.PAUSED
    elif snap.running:
        state = ClientState.DOWNLOADING
    elif snap.final:
        state = (ClientState.COMPLETED if status.state is Phase.COMPLETED
                 else ClientState.FAILED)
    else:
        state = ClientState.QUEUED
    failed = state is ClientState.FAILED
    total = max(status.total, status.downloaded)
    left = 0 if state is ClientState.COMPLETED else max(total - status.downloaded, 0)
    moving = state is ClientState.DOWNLOADING
    return DownloadStatus(
        download_id=download_id,
        state=state,
        total_bytes=total,
        left_bytes=left,
        progress=100.0 if state is ClientState.COMPLETED
        else round((total - left) * 100 / total, 4) if total else 0.0,
        download_speed=status.speed if moving else 0,
        eta_seconds=status.eta if moving else (0 if state is ClientState.COMPLETED else None),
        output_path=status.output,
        error=status.error if failed else None,
        permanent=status.permanent if failed else False,
        name=status.title,
        item_status=RADARR_VIEW[state],
        message=status.error if failed else None,
    )
