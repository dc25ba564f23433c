"""Radarr's commands (POST /api/v3/command), the few that mean something to a download
queue. Each runs in the background, one at a time per process, and is kept for GET
/api/v3/command: the last KEEP of them, in this process's memory only.

- RefreshMonitoredDownloads (and its old name CheckForFinishedDownload): a sync pass now
  (Radarr: read every client's downloads);
- ProcessMonitoredDownloads: a sync pass, then a dispatch pass (Radarr acts on what the
  refresh found: fails, re-grabs, imports; Queuarr's sync already fails and completes,
  and what that made due is sent by the dispatch). A pass asked for while the scheduler's
  own runs waits for it (the processor runs one pass of each kind at a time).

A process that does not run the processor now (`queuarr serve --no-processor`, or a
standby) runs no pass: it wakes the leader (Postgres NOTIFY: a dispatch pass there) and
completes the command with a message that says so; the leader syncs on its own schedule.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Protocol

from core.errors import BadRequest, IllegalTransition, NotFound, QueuarrError
from core.ports import Clock

log = logging.getLogger(__name__)

KEEP = 100  # commands kept per process, newest first; older finished ones are forgotten


class Passes(Protocol):
    """The processor's passes a command runs (core.processor.Processor has them)."""

    async def sync(self) -> int:
        """A sync pass; the number of items changed."""
        ...

    async def dispatch(self) -> list[int]:
        """A dispatch pass (after the one running, if one is); the ids sent."""
        ...


async def refresh(passes: Passes) -> str:
    changed = await passes.sync()
    return f"Completed: synced the download clients, {changed} item(s) changed"


async def process(passes: Passes) -> str:
    changed = await passes.sync()
    sent = await passes.dispatch()
    return (f"Completed: synced the download clients, {changed} item(s) changed; "
            f"sent {len(sent)} due item(s)")


@dataclass(frozen=True, slots=True)
class CommandKind:
    name: str  # Radarr's command name (its class name without "Command")
    run: Callable[[Passes], Awaitable[str]]  # the completion message
    requires_disk_access: bool = False
    is_long_running: bool = False


KINDS: tuple[CommandKind, ...] = (
    CommandKind("RefreshMonitoredDownloads", refresh),
    CommandKind("CheckForFinishedDownload", refresh),  # Radarr's deprecated name for it
    CommandKind("ProcessMonitoredDownloads", process, requires_disk_access=True,
                is_long_running=True),
)


class CommandStatus(Enum):
    QUEUED = "queued"
    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


WAITING = frozenset({CommandStatus.QUEUED, CommandStatus.STARTED})


@dataclass(slots=True)
class CommandRun:
    """One command as GET /api/v3/command shows it (Radarr's CommandModel)."""

    id: int
    kind: CommandKind
    queued_at: datetime
    user_agent: str | None = None
    send_updates: bool = False  # what the caller asked (Radarr: SuppressMessages = !it)
    status: CommandStatus = CommandStatus.QUEUED
    started_at: datetime | None = None
    ended_at: datetime | None = None
    message: str | None = None
    exception: str | None = None
    delegated: bool = False  # run by the processor of another process
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.kind.name


class CommandService:
    """Starts, lists and cancels commands. `passes()` is the processor when this process
    runs it now, else None; `wake()` tells the leader that work is due."""

    def __init__(self, clock: Clock, passes: Callable[[], Passes | None],
                 wake: Callable[[], None], kinds: tuple[CommandKind, ...] = KINDS) -> None:
        self.clock = clock
        self.passes = passes
        self.wake = wake
        self.kinds: Mapping[str, CommandKind] = {k.name.lower(): k for k in kinds}
        self._runs: OrderedDict[int, CommandRun] = OrderedDict()
        self._next_id = 1
        self._lock = asyncio.Lock()  # one command at a time

    def kind(self, name: str | None) -> CommandKind:
        """The command named so (any case); BadRequest for a name Queuarr does not run."""
        if not name or not name.strip():
            raise BadRequest("The command's name must not be empty")
        found = self.kinds.get(name.strip().lower())
        if found is None:
            runs = ", ".join(k.name for k in self.kinds.values())
            raise BadRequest(f"Queuarr does not run the command {name!r}; it runs: {runs}")
        return found

    def start(self, name: str | None, *, user_agent: str | None = None,
              send_updates: bool = False) -> CommandRun:
        """Queue a command and run it in the background. The same command already queued
        or running is answered instead of a second one (as Radarr does)."""
        kind = self.kind(name)
        for run in self._runs.values():
            if run.kind is kind and run.status in WAITING:
                return run
        run = CommandRun(self._next_id, kind, self.clock.now(), user_agent, send_updates)
        self._next_id += 1
        self._runs[run.id] = run
        self._runs.move_to_end(run.id, last=False)
        self._forget()
        run._task = asyncio.get_running_loop().create_task(self._execute(run))
        return run

    def _forget(self) -> None:
        while len(self._runs) > KEEP:
            oldest = next((r for r in reversed(self._runs.values())
                           if r.status not in WAITING), None)
            if oldest is None:
                return
            del self._runs[oldest.id]

    async def _execute(self, run: CommandRun) -> None:
        async with self._lock:
            if run.status is not CommandStatus.QUEUED:  # cancelled while it waited
                return
            run.status, run.started_at = CommandStatus.STARTED, self.clock.now()
            try:
                run.message = await self._run(run)
                run.status = CommandStatus.COMPLETED
            except QueuarrError as exc:  # the database or a client is away
                log.warning("Command %s failed: %s", run.name, exc.message)
                run.status, run.message = CommandStatus.FAILED, exc.message
                run.exception = f"{type(exc).__name__}: {exc.message}"
            except Exception as exc:  # a job boundary: logged, and shown as Radarr does
                log.exception("Command %s failed", run.name)
                run.status, run.message = CommandStatus.FAILED, "Failed"
                run.exception = f"{type(exc).__name__}: {exc}"
            finally:
                run.ended_at = self.clock.now()

    async def _run(self, run: CommandRun) -> str:
        passes = self.passes()
        if passes is None:
            run.delegated = True
            self.wake()
            return ("Completed: this process does not run the processor; the one that "
                    "does was woken, and syncs the download clients on its own schedule")
        return await run.kind.run(passes)

    def get(self, command_id: int) -> CommandRun:
        run = self._runs.get(command_id)
        if run is None:
            raise NotFound()
        return run

    def all(self) -> list[CommandRun]:
        """The commands kept, newest first."""
        return list(self._runs.values())

    def cancel(self, command_id: int) -> CommandRun:
        """Cancel a queued command; one that started or ended cannot be (Radarr: 409)."""
        run = self.get(command_id)
        if run.status is not CommandStatus.QUEUED:
            raise IllegalTransition(f"Unable to cancel task: command {command_id} is "
                                    f"{run.status.value}")
        run.status, run.ended_at = CommandStatus.CANCELLED, self.clock.now()
        if run._task is not None:
            run._task.cancel()
        return run

    async def aclose(self) -> None:
        """Stop commands in flight (the process stops)."""
        tasks = [r._task for r in self._runs.values() if r._task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
