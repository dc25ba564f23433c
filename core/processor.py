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

import logging
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from core.clients import CLIENT_FAULT_STATES, ClientState, route
from core.domain import (
    HistoryEvent,
    ItemState,
    NewBlocklistEntry,
    QueueItem,
    StatusMessage,
)
from core.errors import (
    ClientRejected,
    ConcurrentModification,
    DownloadClientError,
    IllegalTransition,
)
from core.events import EventBus, EventType
from core.policy import ClientBackoff, FailureClass, RetryPolicy, StallPolicy, classify
from core.ports import (
    BlocklistRepository,
    Clock,
    DownloadClient,
    DownloadClients,
    DownloadStatus,
    Prepared,
    QueueRepository,
    SourcePreparer,
    SwitchRepository,
)
from core.slots import held_slots, is_held
from core.states import transition

log = logging.getLogger(__name__)
S = ItemState
CLAIMABLE = frozenset({S.QUEUED, S.RETRYING, S.CLIENT_UNAVAILABLE})
# Client states that end or fault a download: applied from `downloading` only.
FINISHING = frozenset({ClientState.COMPLETED, ClientState.FAILED, *CLIENT_FAULT_STATES})
ENDING = frozenset({ClientState.COMPLETED, ClientState.FAILED})  # what ends a pause
NO_CLIENT_RETRY = timedelta(minutes=1)
DISK_CHECK_EVERY = timedelta(seconds=30)
SLOT_RETRY = timedelta(seconds=30)
PAUSED = "paused"  # the processor switch PUT /api/v3/queue/pause sets


@dataclass(frozen=True)
class ProcessorConfig:
    max_active: int = 3  # downloads at once; 1 is the seed's one-at-a-time mode
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    stall: StallPolicy = field(default_factory=StallPolicy)
    lease: timedelta = timedelta(minutes=5)
    max_rescues: int = 3
    max_size: int | None = None
    missing_cycles: int = 2  # a download absent this many syncs in a row is re-added
    per_client: int | None = None  # active downloads per client (None: only max_active)
    min_free_space: int = 0  # bytes; below it, dispatching pauses until there is room
    blocklist_failed: bool = False  # blocklist every item that fails for good (stalls
    # always are), as Radarr's failed-download handling does


def _cleared(**changes: Any) -> dict[str, Any]:
    return {"lease_owner": None, "lease_expires_at": None, **changes}


class Processor:
    def __init__(self, items: QueueRepository, clients: DownloadClients, clock: Clock,
                 owner: str, config: ProcessorConfig | None = None,
                 blocklist: BlocklistRepository | None = None,
                 switches: SwitchRepository | None = None,
                 local_free: Callable[[], Awaitable[int | None]] | None = None,
                 on_failed: Callable[[QueueItem, str], Awaitable[object]] | None = None,
                 events: EventBus | None = None,
                 sources: SourcePreparer | None = None) -> None:
        self.items = items
        self.clients = clients
        self.clock = clock
        self.owner = owner
        self.config = config or ProcessorConfig()
        self.blocklist = blocklist
        self.switches = switches  # shared with every process (pause-all)
        self.local_free = local_free  # free bytes in the download dir, for clients that
        # cannot tell their own
        self.paused = False  # PUT /api/v3/queue/pause: no new sends
        self.disk_message: str | None = None  # set while free space is below the floor
        self._disk_checked_at: datetime | None = None
        self._active: Counter[str] = Counter()  # slots held per client (this pass)
        self._orphans = False  # a pass broke off after claiming: release before the next
        self.backoffs: dict[str, ClientBackoff] = defaultdict(ClientBackoff)
        self._missing: dict[int, int] = defaultdict(int)
        self._failed_this_pass: set[str] = set()  # one refusal per client per pass
        self.tracked_count = 0  # items the last sync followed
        self.on_failed = on_failed  # after an item failed for good: the next-best re-grab
        self.events = events  # client down / back (item events come from the repository)
        self.sources = sources  # what the client gets: fetched, checked, trackers removed

    # -- saving ------------------------------------------------------------------------

    async def _save(self, old: QueueItem, new: QueueItem, event: HistoryEvent
                    ) -> QueueItem | None:
        """Write one change fenced on old.version; None when someone else changed the
        item meanwhile (the API, or a newer claim): theirs stands."""
        try:
            (saved,) = await self.items.update([(old, new)], event)
        except ConcurrentModification:
            log.info("Item %d changed meanwhile; leaving it to the newer change", old.id)
            return None
        return saved

    async def _move(self, item: QueueItem, target: ItemState, event: str,
                    message: str | None = None, *, blocklist: bool = False,
                    **changes: Any) -> QueueItem | None:
        try:
            new = transition(item, target, self.clock.now(), **changes)
        except IllegalTransition as exc:
            log.warning("%s", exc.message)
            return None
        saved = await self._save(item, new, HistoryEvent(event, message))
        if saved is not None and target is S.FAILED:
            await self._failed(item, message or "failed",
                               blocklist or self.config.blocklist_failed)
        return saved

    async def _failed(self, item: QueueItem, message: str, blocklist: bool) -> None:
        """Blocklist the release (if asked), then hand the item to `on_failed`; neither
        may break the pass."""
        try:
            if blocklist and self.blocklist is not None:
                await self.blocklist.add(
                    NewBlocklistEntry.from_item(item, self.clock.now(), message))
            if self.on_failed is not None:
                await self.on_failed(item, message)
        except Exception:
            log.exception("After item %d failed", item.id)

    # -- dispatch ----------------------------------------------------------------------

    async def free_slots(self) -> int:
        """Items that may be claimed now: 0 when nothing waits (one cheap read of the
        state counters, so an idle server's dispatch pass costs one query). Slots are
        held as core.slots says, counted afresh from the store every pass."""
        counts = await self.items.counts()
        if not counts.total(states=CLAIMABLE):
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

    def _full(self, name: str) -> bool:
        limit = self.config.per_client
        return limit is not None and self._active[name] >= limit

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
        """Claim due items up to the free slots and send them; the ids handled."""
        if self._orphans:
            # An earlier pass claimed and then lost the database mid-way: nothing of
            # this processor's is being sent now (one pass at a time), so its own
            # leases go back to the queue at once instead of after the lease.
            await self.release("lost the database during a pass")
            self._orphans = False
        if self.paused or await self.disk_low():
            return []
        slots = await self.free_slots()
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
                       next_attempt_at=None))

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
                       error_message=None, status_messages=(), next_attempt_at=None))

    async def _prepare(self, item: QueueItem) -> Prepared:
        """The release as the client gets it (core.ports.SourcePreparer)."""
        torrent = await self.items.get_torrent(item.id) if item.has_torrent_file else None
        if self.sources is None:
            return Prepared(item, torrent)
        return await self.sources.prepare(item, torrent)

    def _client_down(self, name: str, backoff: ClientBackoff, now: datetime, error: str
                     ) -> None:
        was_up = backoff.available
        backoff.failed(now, error)
        if was_up and self.events is not None:
            self.events.publish(EventType.CLIENT_UNAVAILABLE, message=error, client=name)

    def _client_up(self, name: str, backoff: ClientBackoff) -> None:
        if backoff.succeeded():
            log.info("Download client %r is back", name)
            if self.events is not None:
                self.events.publish(EventType.CLIENT_BACK, client=name)

    async def _wait(self, item: QueueItem, event: str, reason: str, shown: str,
                    until: datetime | None, **changes: Any) -> QueueItem | None:
        """Park an item in clientUnavailable until `until` (no attempt burned), its lease
        given back; `shown` is its status message."""
        return await self._move(
            item, S.CLIENT_UNAVAILABLE, event, reason,
            **_cleared(next_attempt_at=until,
                       status_messages=(StatusMessage(item.title, (shown,)),), **changes))

    async def _unavailable(self, item: QueueItem, name: str, backoff: ClientBackoff
                           ) -> QueueItem | None:
        reason = f"Download client {name!r} is unavailable: {backoff.last_error}"
        return await self._wait(item, "clientUnavailable", reason, reason, backoff.until,
                                download_client=name)

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

    async def _retry_or_fail(self, item: QueueItem, error: str) -> QueueItem | None:
        attempts = item.attempts + 1
        delay = (item.retry_policy or self.config.retry).delay(attempts)
        if delay is None:
            return await self._move(
                item, S.FAILED, "downloadFailed",
                f"Failed after {attempts} attempts: {error}",
                **_cleared(attempts=attempts, error_message=error, download_id=None))
        when = self.clock.now() + delay
        return await self._move(
            item, S.RETRYING, "retryScheduled",
            f"Attempt {attempts} failed: {error}; next at {when.isoformat()}",
            **_cleared(attempts=attempts, error_message=error, next_attempt_at=when,
                       download_id=None,
                       status_messages=(StatusMessage(item.title, (error,)),)))

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
        """Every item in `sending` under a lease, expired or not."""
        return await self.items.expired_leases(self.clock.now() + timedelta(days=3650))

    async def _give_back(self, items: list[QueueItem], why: Callable[[QueueItem], str]
                         ) -> list[int]:
        released = []
        for item in items:
            saved = await self._move(item, S.QUEUED, "released", why(item), **_cleared())
            if saved is not None:
                released.append(item.id)
        return released

    # -- sync --------------------------------------------------------------------------

    async def sync(self) -> int:
        """One status call per client for every tracked item; the number changed."""
        changed = 0
        groups: dict[str, list[QueueItem]] = defaultdict(list)
        for item in await self.items.tracked():
            groups[item.download_client or ""].append(item)
        for name, group in groups.items():
            changed += await self._sync_client(name, group)
        tracked_ids = {i.id for g in groups.values() for i in g}
        self.tracked_count = len(tracked_ids)
        for item_id in set(self._missing) - tracked_ids:
            del self._missing[item_id]
        return changed

    async def _sync_client(self, name: str, group: list[QueueItem]) -> int:
        client = self.clients.get(name)
        if client is None:
            log.warning("Items %s belong to download client %r, which no longer exists",
                        [i.id for i in group], name)
            return 0
        now = self.clock.now()
        backoff = self.backoffs[name]
        if not backoff.ready(now):
            return 0
        try:
            statuses = await client.statuses([i.download_id or "" for i in group])
        except DownloadClientError as exc:
            if classify(exc) is not FailureClass.UNAVAILABLE:
                log.warning("Status of %r failed: %s", name, exc.message)
                return 0
            self._client_down(name, backoff, now, exc.message)
            changed = 0
            for item in group:
                if item.state in (S.DOWNLOADING, S.WARNING):
                    changed += await self._unavailable(item, name, backoff) is not None
            return changed
        self._client_up(name, backoff)
        changed = 0
        for item in group:
            status = statuses.get(item.download_id or "")
            changed += await self._follow(client, item, status) is not None
        return changed

    async def _follow(self, client: DownloadClient, item: QueueItem,
                      status: DownloadStatus | None) -> QueueItem | None:
        now = self.clock.now()
        if status is None or status.state is ClientState.REMOVED:
            return await self._missing_download(client, item)
        self._missing.pop(item.id, None)
        if (item.state is S.CLIENT_UNAVAILABLE and status.state in FINISHING) or (
                item.state is S.PAUSED and status.state in ENDING):
            # It finished or failed while paused here or while its client was away:
            # back to downloading first (the client has it), then what the client says.
            back = await self._move(item, S.DOWNLOADING, "resumed",
                                    "The client has it again" if item.state is
                                    S.CLIENT_UNAVAILABLE else "It went on in the client",
                                    error_message=None, status_messages=())
            if back is None:
                return None
            item = back
        rekey: dict[str, Any] = {} if status.download_id == item.download_id else {
            "download_id": status.download_id}
        max_size = self.config.max_size
        if max_size is not None and status.total_bytes > max_size:
            await client.remove(status.download_id, delete_data=True)
            reason = (f"The release is {status.total_bytes} bytes, over the size limit of "
                      f"{max_size} bytes")
            return await self._move(item, S.FAILED, "downloadFailed", reason,
                                    error_message=reason, **rekey)
        if status.state is ClientState.COMPLETED:
            return await self._move(
                item, S.COMPLETED, "downloadCompleted", status.output_path,
                progress=100.0, size=status.total_bytes or item.size, size_left=0,
                download_speed=0, upload_speed=status.upload_speed, eta_seconds=None,
                estimated_completion_at=None, output_path=status.output_path,
                status_messages=(), error_message=None, **rekey)
        if status.state is ClientState.FAILED:
            error = status.error or "the download client reports a failure"
            if status.permanent:
                return await self._move(item, S.FAILED, "downloadFailed", error,
                                        error_message=error, **rekey)
            return await self._retry_or_fail(item, error)
        if status.state in CLIENT_FAULT_STATES:
            message = status.error or "the download client reports a problem"
            if item.state is S.WARNING and item.error_message == message:
                return None
            if item.state is S.PAUSED:
                return await self._keep_paused(client, item, status, rekey, message)
            target = S.WARNING if item.state is not S.CLIENT_UNAVAILABLE else S.DOWNLOADING
            return await self._move(item, target, "clientWarning", message,
                                    error_message=message, status_messages=(
                                        StatusMessage(item.title, (message,)),), **rekey)
        if item.state is S.PAUSED and status.state is not ClientState.PAUSED:
            return await self._keep_paused(client, item, status, rekey)
        if item.state is S.CLIENT_UNAVAILABLE and status.state is ClientState.PAUSED:
            # It was to run when its client went away (resumed here, or downloading):
            # now the client is back, it runs.
            try:
                await client.resume(status.download_id)
            except DownloadClientError as exc:
                log.warning("Resuming item %d in its client: %s", item.id, exc.message)
                return None
            status = replace(status, state=ClientState.DOWNLOADING)
        return await self._progress(item, status, now, rekey)

    async def _keep_paused(self, client: DownloadClient, item: QueueItem,
                           status: DownloadStatus, rekey: dict[str, Any],
                           fault: str | None = None) -> QueueItem | None:
        """A pause holds until QueueService.resume, whatever the client does: a download
        it runs anyway (resumed in its own UI; aria2's real download after a magnet's
        metadata, under a new id) is paused there again; a fault is shown, not obeyed."""
        changes: dict[str, Any] = dict(rekey)
        event = HistoryEvent("progress", recorded=False)
        if fault is None:
            log.info("Item %d is paused, but %r runs %s: pausing it there again", item.id,
                     item.download_client, status.download_id)
            try:
                await client.pause(status.download_id)
            except DownloadClientError as exc:
                log.warning("Pausing item %d again in its client: %s", item.id, exc.message)
        elif item.error_message != fault:
            changes.update(error_message=fault,
                           status_messages=(StatusMessage(item.title, (fault,)),))
            event = HistoryEvent("clientWarning", fault)
        if not changes:
            return None
        return await self._save(item, item.evolve(updated_at=self.clock.now(), **changes),
                                event)

    async def _missing_download(self, client: DownloadClient, item: QueueItem
                                ) -> QueueItem | None:
        self._missing[item.id] += 1
        if self._missing[item.id] < self.config.missing_cycles:
            return None
        del self._missing[item.id]
        try:
            prepared = await self._prepare(item)
            download_id = await client.add(prepared.item, prepared.torrent)
        except ClientRejected as exc:
            return await self._move(item, S.FAILED, "downloadFailed",
                                    f"Lost by the client and refused again: {exc.message}",
                                    error_message=exc.message)
        except DownloadClientError as exc:
            log.warning("Re-adding item %d failed: %s", item.id, exc.message)
            return None
        new = item.evolve(download_id=download_id, updated_at=self.clock.now())
        return await self._save(item, new, HistoryEvent(
            "readded", f"The client had lost it; added again as {download_id}"))

    async def _progress(self, item: QueueItem, status: DownloadStatus, now: datetime,
                        rekey: dict[str, Any]) -> QueueItem | None:
        moved = status.left_bytes < item.size_left or status.progress > item.progress
        progress_at = now if moved or item.progress_at is None else item.progress_at
        eta = status.eta_seconds
        values: dict[str, Any] = {
            "size": status.total_bytes or item.size, "size_left": status.left_bytes,
            "progress": status.progress, "download_speed": status.download_speed,
            "upload_speed": status.upload_speed, "eta_seconds": eta,
            "seeders": status.seeders if status.seeders is not None else item.seeders,
            "output_path": status.output_path or item.output_path,
            "progress_at": progress_at, **rekey,
        }
        if eta != item.eta_seconds or moved:
            values["estimated_completion_at"] = None if eta is None else now + timedelta(
                seconds=eta)
        target = item.state
        event = "progress"
        message = None
        stalled = self.config.stall.stalled(status.state, progress_at, now)
        if status.state is ClientState.PAUSED and item.state is S.DOWNLOADING:
            target, event = S.PAUSED, "paused"
        elif status.state is not ClientState.PAUSED and item.state is S.PAUSED:
            target, event = S.DOWNLOADING, "resumed"
        elif stalled is not None and item.state is S.DOWNLOADING:
            target, event, message = S.WARNING, "stalled", f"Stalled: {stalled}"
            values["error_message"] = message
            values["status_messages"] = (StatusMessage(item.title, (message,)),)
        elif stalled is not None and item.state is S.WARNING and self.config.stall.stalled(
                status.state, progress_at, now, times=2):
            return await self._fail_stalled(item, stalled, values)
        elif stalled is None and item.state in (S.WARNING, S.CLIENT_UNAVAILABLE):
            target, event = S.DOWNLOADING, "resumed"
            values["error_message"] = None
            values["status_messages"] = ()
        changes = {k: v for k, v in values.items() if getattr(item, k) != v}
        if target is item.state:
            if not changes:
                return None
            return await self._save(item, item.evolve(updated_at=now, **changes),
                                    HistoryEvent(event, recorded=False))
        return await self._move(item, target, event, message, **changes)

    async def _fail_stalled(self, item: QueueItem, reason: str, values: dict[str, Any]
                            ) -> QueueItem | None:
        client = self.clients.get(item.download_client or "")
        if client is not None and item.download_id:
            try:
                await client.remove(item.download_id, delete_data=True)
            except DownloadClientError as exc:
                log.warning("Removing stalled item %d from its client: %s", item.id,
                            exc.message)
        message = f"Stalled for good: {reason}"
        return await self._move(item, S.FAILED, "downloadFailed", message, blocklist=True,
                                error_message=message, progress_at=values["progress_at"])

    # -- a manual pass ---------------------------------------------------------------------

    async def process(self) -> list[int]:
        """POST /api/v3/queue/process: rescue, dispatch and sync once; the ids dispatched
        or rescued."""
        rescued = await self.rescue()
        sent = await self.dispatch()
        await self.sync()
        return sorted(set(rescued) | set(sent))
