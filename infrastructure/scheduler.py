"""The processor on APScheduler: thin jobs that call core.processor's passes.

- dispatch every QUEUARR_DISPATCH_INTERVAL seconds (5) while it sends or follows
  downloads, and at once when woken. A pass that sends nothing although items wait runs
  next when one could go (Processor.next_chance: the earliest retry due, a client's
  backoff over, the next free-space check; at most IDLE_SECONDS away); with every slot
  held or dispatching paused, only when woken;
- sync every QUEUARR_SYNC_INTERVAL seconds while anything is tracked;
- rescue (expired leases back to the queue) every 10 s while any item is leased for a
  send; housekeeping (client registry reload, shared switches, retention) every 30 s;
- leadership: a standby tries for the lock every 5 s; the leader checks it holds it.

An idle processor sleeps: when nothing is tracked, nothing waits to be sent and nothing is
leased, each pass puts its next run IDLE_SECONDS away (a safety net, not the way work
arrives). The dispatcher is woken by whatever may let an item go: grabs, resumes,
retries, un-pausing, an added or enabled client, a paused or removed download
(Dispatching.wake, NOTIFY from other processes); a sync pass that moved a download out of
its slot and a rescue that gave leases back (Processor.slots_freed); a housekeeping
reload that changed the clients or found dispatching resumed. A wake during a dispatch
pass runs it again at its end. A dispatch that sent something wakes the sync and the
housekeeping, and the leader's lost connection wakes the leadership check.

Every job has max_instances=1 and coalesce=True, so a slow pass never piles up behind
itself, and a generous misfire grace time, so a busy loop delays passes rather than
dropping them. A pass that fails is logged and the next one runs as scheduled. Each job
is named for what it does (JOB_NAMES); an idle pass logs nothing at INFO (api.logging).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core.errors import QueuarrError
from core.processor import Processor
from infrastructure.leader import AlwaysLeader

log = logging.getLogger(__name__)

IDLE_SECONDS = 300.0  # an idle processor's passes, when nothing wakes them sooner
HOUSEKEEPING_SECONDS = 30.0
RESCUE_SECONDS = 10.0  # expired leases back to the queue within lease + this
LEADERSHIP_SECONDS = 5.0  # a standby takes over within this (plus a pass) of a death
LEADING_CHECK_SECONDS = 60.0  # the idle leader's check that it still holds the lock
# What each job does, as APScheduler names it in its log (else the wrapper's __qualname__).
JOB_NAMES = {
    "leadership": "check which process leads",
    "dispatch": "send queued items to their clients",
    "sync": "follow downloads in their clients",
    "housekeeping": "reload clients, shared switches and retention",
    "rescue": "requeue items whose send lease expired",
}


class Leader(Protocol):
    on_wake: Callable[[], None] | None
    on_lost: Callable[[], None] | None

    async def check(self) -> bool: ...

    async def close(self) -> None: ...


class ProcessorRunner:
    def __init__(self, processor: Processor,
                 housekeeping: Callable[[], Awaitable[None]] | None = None,
                 sync_interval: float = 5.0, dispatch_interval: float = 1.0,
                 leader: Leader | None = None,
                 observe: Callable[[str, float], None] | None = None,
                 sole: bool = False) -> None:
        self.processor = processor
        self.sole = sole  # no other processor uses the database (SQLite): see recover()
        self._stopping = False
        self.observe = observe  # (job name, seconds) after each pass: metrics
        self.housekeeping = housekeeping
        self.leader: Leader = leader or AlwaysLeader()
        self.leader.on_lost = self._lost
        self.leading = False
        self.sync_interval = sync_interval
        self.dispatch_interval = dispatch_interval
        self.scheduler = AsyncIOScheduler(job_defaults={
            "max_instances": 1, "coalesce": True, "misfire_grace_time": 60})
        self._tracked = True  # assume work until a sync says otherwise
        self._woken = False  # woken: re-read the shared switches before dispatching
        self._wakes = 0  # wakes so far: one during a dispatch pass runs it again
        self._in_dispatch = False
        self._dispatch_due = False  # a wake has put the dispatch pass at now
        self._resting = False  # items wait, and the dispatcher sleeps until one can go

    async def recover(self) -> None:
        """Before the first pass, when this processor is the database's only one: give
        back at once what an earlier run left leased (it was killed). If the database
        does not answer now, those leases expire on their own."""
        if not self.sole:
            return
        try:
            released = await self.processor.release_earlier()
        except QueuarrError as exc:
            log.warning("Leases an earlier run left not given back at start (%s); they "
                        "expire on their own", exc.message)
            return
        if released:
            log.info("Gave back %d item(s) an earlier run left leased: %s", len(released),
                     released)

    def start(self) -> None:
        def add(job: str, run: Callable[[], Awaitable[object]], seconds: float,
                always: bool = False) -> None:
            self.scheduler.add_job(self._guarded(job, run, always), "interval",
                                   seconds=seconds, id=job, name=JOB_NAMES[job],
                                   next_run_time=datetime.now())

        add("leadership", self._leadership, LEADERSHIP_SECONDS, always=True)
        add("dispatch", self._dispatch, self.dispatch_interval)
        add("sync", self._sync, self.sync_interval)
        add("housekeeping", self._housekeeping, HOUSEKEEPING_SECONDS)
        add("rescue", self._rescue, RESCUE_SECONDS)
        self.scheduler.start()
        log.info("Processor %s started", self.processor.owner)

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def stop(self, grace: float = 10.0) -> None:
        """Stop scheduling (a pass in flight is cancelled), then give back this
        processor's leases (within `grace`)."""
        self._stopping = True
        self.shutdown()
        try:
            released = await asyncio.wait_for(self.processor.release(), grace)
        except (TimeoutError, QueuarrError) as exc:
            log.warning("Leases not released (%s); they expire on their own", exc)
        else:
            if released:
                log.info("Released %d leased item(s): %s", len(released), released)
        finally:
            await self.leader.close()

    def wake(self) -> None:
        """Run a dispatch pass now (a grab arrived, or dispatching was resumed); the other
        passes return to their working intervals if an idle spell put them far away."""
        self._woken = True
        self._wakes += 1
        self._resting = False
        if not self.scheduler.running or self._dispatch_due or self._in_dispatch:
            return  # a pass is due now, or runs and runs again when it ends: one for all
        if self.sole and self.processor.paused:
            return  # one process: only its own resume un-pauses it, and that wakes it
        self._dispatch_due = True
        self.scheduler.modify_job("dispatch", next_run_time=datetime.now())
        self._busy()

    def _busy(self) -> None:
        self._sooner("rescue", RESCUE_SECONDS)
        self._sooner("housekeeping", HOUSEKEEPING_SECONDS)
        self._sooner("leadership", LEADERSHIP_SECONDS)

    def _guarded(self, name: str, job: Callable[[], Awaitable[object]], always: bool = False
                 ) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if not (always or self.leading):
                return  # a standby: another process runs the passes
            started = time.perf_counter()
            try:
                await job()
            except asyncio.CancelledError:
                if not self._stopping:
                    raise
                log.info("%s pass cut short by the stop", name)  # not an error
                return
            except QueuarrError as exc:  # the database or a client is away: next pass
                log.warning("%s pass: %s", name, exc.message)
            except Exception:
                log.exception("%s pass failed", name)
            if self.observe is not None:
                self.observe(name, time.perf_counter() - started)

        run.__name__ = run.__qualname__ = name
        return run

    def idle(self) -> bool:
        """Nothing tracked, nothing leased for a send, no free-space check pending, and
        nothing waiting to be sent, or nothing that can be before the dispatcher's next
        chance (resting: a retry an hour away), as the last passes saw it: the passes
        may sleep."""
        p = self.processor
        if self._tracked or p.sending != 0:
            return False
        return p.paused or ((p.claimable == 0 or self._resting) and p.disk_message is None)

    def _later(self, job: str, seconds: float) -> None:
        """The job's next run `seconds` from now (a wake can still bring it forward)."""
        if self.scheduler.running and not self._stopping:
            self.scheduler.modify_job(job, next_run_time=datetime.now() + timedelta(
                seconds=seconds))

    def _sooner(self, job: str, seconds: float) -> None:
        """The job's next run within `seconds` (an idle pass may have put it far away)."""
        if not self.scheduler.running or self._stopping:
            return
        scheduled = self.scheduler.get_job(job)
        due = scheduled.next_run_time if scheduled is not None else None
        if due is not None and due > datetime.now(due.tzinfo) + timedelta(seconds=seconds):
            self._later(job, seconds)

    def _now(self, *jobs: str) -> None:
        if self.scheduler.running and not self._stopping:
            for job in jobs:
                self.scheduler.modify_job(job, next_run_time=datetime.now())

    async def _leadership(self) -> None:
        was = self.leading
        self.leading = await self.leader.check()
        if self.leading and not was:
            self.processor.claimable = self.processor.sending = None  # read them afresh
            self._tracked = True
            self._now("housekeeping", "rescue", "dispatch", "sync")
        elif self.leading and self.idle():
            self._later("leadership", LEADING_CHECK_SECONDS)

    def _lost(self) -> None:
        """The leader's connection closed: check the lock now, not at the next check."""
        self._now("leadership")

    def _may_send(self) -> None:
        """A pass freed a slot or queued an item again: dispatch now if items wait."""
        self._wakes += 1
        self._resting = False
        if not self._in_dispatch:  # else the pass runs again when it ends
            self._now("dispatch")

    async def _dispatch(self) -> None:
        """Dispatch passes until one ran without a wake during it (what a woken pass read
        may be stale). Run here, in the same job: a pass put at now from inside the job
        would be skipped by APScheduler, its one instance still running."""
        self._in_dispatch = True
        try:
            while True:
                wakes = self._wakes
                self._dispatch_due = False
                later = await self._dispatch_pass()
                if self._wakes == wakes:
                    break
        finally:
            self._in_dispatch = False
        if later is not None:
            self._later("dispatch", later)

    async def _dispatch_pass(self) -> float | None:
        """One dispatch pass; the seconds to its next (None: at the interval)."""
        p = self.processor
        self._resting = False
        if self._woken:
            self._woken = False
            if not self.sole:  # one process (SQLite): its own pause is already known
                await p.refresh_switches()
        if await p.dispatch():
            self._tracked = True
            self._now("sync")
            self._busy()
            return None
        if self.idle():
            return IDLE_SECONDS
        if not (p.paused or p.claimable or p.disk_message is not None):
            return None  # nothing waits; downloads are followed
        chance = await p.next_chance()  # items wait, and none can be sent now
        # Nothing to follow or rescue meanwhile: the other passes may sleep too (idle).
        self._resting = p.disk_message is None
        if chance is None:
            return IDLE_SECONDS  # until a wake
        return min(max((chance - p.clock.now()).total_seconds(), 0.0), IDLE_SECONDS)

    async def _rescue(self) -> None:
        if self.processor.sending == 0:  # nothing leased when dispatch last looked
            if self.idle():
                self._later("rescue", IDLE_SECONDS)
            return
        if await self.processor.rescue():
            self._may_send()

    async def _sync(self) -> None:
        freed = self.processor.slots_freed
        await self.processor.sync()
        self._tracked = self.processor.tracked_count > 0
        if self.processor.slots_freed != freed and self.processor.claimable != 0:
            self._may_send()
        if self.idle():
            self._later("sync", IDLE_SECONDS)

    async def _housekeeping(self) -> None:
        p = self.processor
        clients, paused = list(p.clients.descriptors()), p.paused
        if self.housekeeping is not None:
            await self.housekeeping()
        if (paused and not p.paused) or list(p.clients.descriptors()) != clients:
            self._may_send()  # resumed by another process, or the clients changed
        if self.idle():
            self._later("housekeeping", IDLE_SECONDS)
