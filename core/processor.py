"""The processor: what makes the queue move. Three passes, each a plain coroutine that a
scheduler calls (infrastructure/scheduler.py) and tests call directly:

- dispatch: claim due items up to the free slots, send each to its client
  idempotently, record the result fenced on the claimed version;
- sync: one batched status call per client; progress, completion, failures, stalls,
  downloads the client lost;
- rescue: expired leases go back to the queue; the third rescue fails the item.

Failures follow core.policy: permanent -> failed, transient -> retrying with the retry
policy's delays, client unavailable -> clientUnavailable with the client backed off and
the item's attempts untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from core.clients import route
from core.domain import QueueItem, StatusMessage
from core.errors import DownloadClientError
from core.policy import FailureClass, classify
from core.processor_base import (
    CLAIMABLE,
    DISK_CHECK_EVERY,
    NO_CLIENT_RETRY,
    PAUSED,
    SLOT_RETRY,
    S,
    _cleared,
    log,
)
from core.processor_base import (
    ProcessorConfig as ProcessorConfig,  # re-exported: the processor's configuration
)
from core.slots import all_leased, held_slots, is_held
from core.syncing import SyncPass

SENDING = frozenset({S.SENDING})  # leased for a send: what rescue looks for


class Processor(SyncPass):
    """Dispatch, rescue and sync (core.syncing.SyncPass), over the ports."""

    # -- dispatch ----------------------------------------------------------------------

    async def free_slots(self) -> int:
        """Items that may be claimed now: 0 when nothing waits (one cheap read of the
        state counters, so an idle server's dispatch pass costs one query). Slots are
        held as core.slots says, counted afresh from the store every pass."""
        counts = await self.items.counts()
        self.claimable = counts.total(states=CLAIMABLE)
        self.sending = counts.total(states=SENDING)
        if not self.claimable:
            return 0
        limit = self.config.per_client
        active, self._active = await held_slots(self.items, self.clients, counts, limit,
                                                self.clock.now())
        slots = max(self.config.max_active - active, 0)
        if limit is not None:
            room = sum(max(limit - self._active[d.name], 0)
                       for d in self.clients.descriptors() if d.enabled)
            slots = min(slots, room)
        return slots

    async def refresh_switches(self) -> bool:
        """Read the shared pause switch (another process may have set it)."""
        if self.switches is not None:
            self.paused = await self.switches.get(PAUSED) == "true"
        return self.paused

    async def set_paused(self, paused: bool) -> None:
        if self.switches is not None:
            await self.switches.set(PAUSED, "true" if paused else "false", self.clock.now())
        self.paused = paused

    async def disk_low(self) -> bool:
        """Whether free space is below QUEUARR_MIN_FREE_SPACE where any enabled client
        saves (what the client reports, else the local download dir); checked at most
        every 30 s. Nothing is failed for it: dispatching just waits."""
        floor = self.config.min_free_space
        if floor <= 0:
            return False
        now = self.clock.now()
        if self._disk_checked_at is not None and now - self._disk_checked_at < DISK_CHECK_EVERY:
            return self.disk_message is not None
        self._disk_checked_at = now
        low = []
        for d in self.clients.descriptors():
            client = self.clients.get(d.name)
            if client is None or not d.enabled or not self.backoffs[d.name].ready(now):
                continue
            try:
                free = await client.free_space()
            except DownloadClientError as exc:
                log.info("Free space of %r unknown: %s", d.name, exc.message)
                continue
            if free is None and self.local_free is not None:
                free = await self.local_free()
            if free is not None and free < floor:
                low.append(f"{d.name} has {free:,} bytes free")
        message = (f"Dispatching waits for free space: {'; '.join(low)} (the floor, "
                   f"QUEUARR_MIN_FREE_SPACE, is {floor:,} bytes)") if low else None
        if message != self.disk_message:
            if message is not None:
                log.warning("%s", message)
            else:
                log.info("Free space is back above the floor; dispatching resumes")
        self.disk_message = message
        return message is not None

    async def dispatch(self) -> list[int]:
        """Claim due items up to the free slots and send them; the ids handled. A pass
        asked for while one runs waits for it, then runs."""
        async with self._dispatching:
            return await self._dispatch()

    async def _dispatch(self) -> list[int]:
        if self._orphans:
            # An earlier pass claimed and then lost the database mid-way: nothing of
            # this processor's is being sent now (one pass at a time), so its own
            # leases go back to the queue at once instead of after the lease.
            await self.release("lost the database during a pass")
            self._orphans = False
        if self.paused or await self.disk_low():
            return []
        slots = await self.free_slots()
        self.slots_full = not slots and bool(self.claimable)
        if not slots:
            return []
        now = self.clock.now()
        self._orphans = True  # until this pass has recorded every claim's outcome
        claimed = await self.items.claim(self.owner, slots, now, self.config.lease)
        self._failed_this_pass.clear()
        for item in claimed:
            if is_held(item):
                await self._resume_held(item)
            else:
                await self.send(item)
        self._orphans = False
        return [item.id for item in claimed]

    async def next_chance(self) -> datetime | None:
        """After a dispatch pass that sent nothing although items wait: the earliest moment
        one could be sent with nothing else changing (a retry due, a client's backoff
        over, the next free-space check). None when only a change wakes it: every slot
        held (a freed slot wakes it), dispatching paused (resuming wakes it)."""
        if self.paused:
            return None
        now = self.clock.now()
        if self.disk_message is not None:
            return (self._disk_checked_at or now) + DISK_CHECK_EVERY
        if self.slots_full:
            return None
        ready = [b.until for b in self.backoffs.values() if b.until is not None and b.until > now]
        due = await self.items.next_attempt_after(now)
        return min([*ready, *([due] if due is not None else [])], default=None)

    async def _resume_held(self, item: QueueItem) -> QueueItem | None:
        """A claimed item whose paused download its client kept (QueueService.resume):
        resume it there, in its slot; not sent again. Its client full, it waits queued;
        its client away, it holds its slot and runs when the client is back (sync)."""
        name = item.download_client or ""
        client = self.clients.get(name)
        if client is None or item.download_id is None:
            return await self.send(item)
        if self._full(name):
            reason = f"Waiting for a free slot in {name!r}"
            return await self._move(item, S.QUEUED, "waitingForSlot", reason, **_cleared(
                status_messages=(StatusMessage(item.title, (reason,)),)))
        now = self.clock.now()
        backoff = self.backoffs[name]
        if not backoff.ready(now) or name in self._failed_this_pass:
            return await self._unavailable(item, name, backoff)
        try:
            await client.resume(item.download_id)
        except DownloadClientError as exc:
            if classify(exc) is not FailureClass.UNAVAILABLE:
                reason = f"Resuming it in {name!r} failed: {exc.message}"
                return await self._move(item, S.QUEUED, "clientWarning", reason, **_cleared(
                    status_messages=(StatusMessage(item.title, (reason,)),)))
            self._client_down(name, backoff, now, exc.message)
            self._failed_this_pass.add(name)
            return await self._unavailable(item, name, backoff)
        self._client_up(name, backoff)
        self._active[name] += 1
        return await self._move(
            item, S.DOWNLOADING, "sent", f"Resumed in {name} as {item.download_id}",
            **_cleared(progress_at=now, error_message=None, status_messages=(),
                       next_attempt_at=None, client_status=None, client_message=None))

    async def send(self, item: QueueItem) -> QueueItem | None:
        """Send one claimed item to its client and record the outcome."""
        now = self.clock.now()
        everyone = self.clients.descriptors()
        target = route(item, [d for d in everyone if not self._full(d.name)])
        busy = route(item, everyone) if target is None else None
        if busy is not None:  # its client runs QUEUARR_MAX_PER_CLIENT downloads already
            reason = f"Waiting for a free slot in {busy.name!r}"
            return await self._wait(item, "waitingForSlot", reason, reason,
                                    now + SLOT_RETRY)
        client = self.clients.get(target.name) if target is not None else None
        if target is None or client is None:
            return await self._wait(item, "noClient",
                                    "No enabled download client can take this release",
                                    "No enabled download client can take it",
                                    now + NO_CLIENT_RETRY)
        backoff = self.backoffs[target.name]
        if not backoff.ready(now) or target.name in self._failed_this_pass:
            return await self._unavailable(item, target.name, backoff)
        try:
            prepared = await self._prepare(item)
            download_id = await client.add(prepared.item, prepared.torrent)
        except DownloadClientError as exc:
            return await self._send_failed(item, target.name, exc)
        self._client_up(target.name, backoff)
        self._active[target.name] += 1
        return await self._move(
            item, S.DOWNLOADING, "sent",
            "; ".join((f"Sent to {target.name} as {download_id}", *prepared.notes)),
            **_cleared(download_client=target.name, download_id=download_id, progress_at=now,
                       error_message=None, status_messages=(), next_attempt_at=None,
                       client_status=None, client_message=None))  # until the next sync

    async def _send_failed(self, item: QueueItem, name: str, exc: DownloadClientError
                           ) -> QueueItem | None:
        now = self.clock.now()
        kind = classify(exc)
        if kind is FailureClass.UNAVAILABLE:
            backoff = self.backoffs[name]
            self._client_down(name, backoff, now, exc.message)
            self._failed_this_pass.add(name)
            return await self._unavailable(item, name, backoff)
        if kind is FailureClass.PERMANENT:
            return await self._move(item, S.FAILED, "downloadFailed", exc.message,
                                    **_cleared(error_message=exc.message))
        return await self._retry_or_fail(item, exc.message)

    # -- rescue ------------------------------------------------------------------------

    async def rescue(self) -> list[int]:
        """Expired leases back to the queue; an item rescued `max_rescues` times fails
        (a poison pill that keeps killing its sender). The ids handled."""
        handled = []
        for item in await self.items.expired_leases(self.clock.now()):
            rescues = item.rescues + 1
            if rescues >= self.config.max_rescues:
                saved = await self._move(
                    item, S.FAILED, "downloadFailed",
                    f"Its send was interrupted {rescues} times; giving up",
                    **_cleared(rescues=rescues,
                               error_message=f"send interrupted {rescues} times"))
            else:
                saved = await self._move(item, S.QUEUED, "rescued",
                                         f"Lease of {item.lease_owner} expired",
                                         **_cleared(rescues=rescues))
            if saved is not None:
                handled.append(item.id)
        return handled

    async def release(self, reason: str = "stopped") -> list[int]:
        """Give back this processor's leases (a graceful stop): its items in `sending`
        return to the queue at once, not when the lease expires. An add that went
        through meanwhile is found again by the next send."""
        mine = [i for i in await self._leased() if i.lease_owner == self.owner]
        return await self._give_back(mine, lambda _: f"{self.owner} {reason}")

    async def release_earlier(self) -> list[int]:
        """At start, on a database that no other processor uses (SQLite: one process),
        the leases that are not this processor's were left by an earlier run that was
        killed: give them back now, not when they expire. Not counted as rescues (the
        poison-pill count): nothing tells which of them was being sent when it died,
        and a process that crash-loops would fail its whole first pass in seconds."""
        theirs = [i for i in await self._leased() if i.lease_owner != self.owner]
        return await self._give_back(
            theirs, lambda i: f"{self.owner} started; {i.lease_owner} had stopped without "
                              "giving it back")

    async def _leased(self) -> list[QueueItem]:
        return await all_leased(self.items, self.clock.now())

    async def _give_back(self, items: list[QueueItem], why: Callable[[QueueItem], str]
                         ) -> list[int]:
        released = []
        for item in items:
            saved = await self._move(item, S.QUEUED, "released", why(item), **_cleared())
            if saved is not None:
                released.append(item.id)
        return released

    # -- a manual pass ---------------------------------------------------------------------

    async def process(self) -> list[int]:
        """POST /api/v3/queue/process: rescue, dispatch and sync once; the ids dispatched
        or rescued."""
        rescued = await self.rescue()
        sent = await self.dispatch()
        await self.sync()
        return sorted(set(rescued) | set(sent))
