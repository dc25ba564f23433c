"""Dispatching as the doors and services see it: paused or not, and woken when items
became due.

Pausing is one switch that every process reads (PUT /api/v3/queue/pause, the bot's
/pause): the processor of this process, when it runs one, applies it at once; an
API-only replica only sets the switch, which the processing process reads at its next
housekeeping. A wake goes to this process's dispatcher when it leads; otherwise the
leader, wherever it runs, is told (`tell_leader`: a Postgres NOTIFY; None where one
process is all there is)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from core.ports import Clock, SwitchRepository
from core.processor import Processor
from core.processor_base import PAUSED


class Runner(Protocol):
    """The processor's scheduler in this process (infrastructure.scheduler)."""

    leading: bool

    def wake(self) -> None: ...


class Dispatching:
    def __init__(self, switches: SwitchRepository, clock: Clock,
                 tell_leader: Callable[[], None] | None = None) -> None:
        self.switches = switches
        self.clock = clock
        self.tell_leader = tell_leader
        # Set by the composition root when this process runs the processor.
        self.processor: Processor | None = None
        self.runner: Runner | None = None

    def leading(self) -> bool:
        """Whether this process runs the processor now (an API-only replica never)."""
        return self.runner is not None and self.runner.leading

    def wake(self) -> None:
        """Items became due: the dispatcher runs now if this process leads; otherwise
        the leader is told."""
        if self.runner is not None and self.leading():
            self.runner.wake()
        elif self.tell_leader is not None:
            self.tell_leader()

    async def set_paused(self, paused: bool) -> None:
        """Pause or resume dispatching in every process; a resume wakes the dispatcher."""
        if self.processor is not None:
            await self.processor.set_paused(paused)
        else:
            await self.switches.set(PAUSED, "true" if paused else "false", self.clock.now())
        if not paused:
            self.wake()

    async def paused(self) -> bool:
        if self.processor is not None:
            return await self.processor.refresh_switches()
        return await self.switches.get(PAUSED) == "true"
