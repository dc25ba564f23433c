"""What the processor's passes share (core.processor, core.syncing): the configuration,
fenced saves and moves, the client backoffs, and preparing a release for its client."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.clients import CLIENT_FAULT_STATES, ClientState
from core.domain import (
    HistoryEvent,
    ItemState,
    NewBlocklistEntry,
    QueueItem,
    StatusMessage,
)
from core.errors import (
    ConcurrentModification,
    IllegalTransition,
)
from core.events import EventBus, EventType
from core.policy import ClientBackoff, RetryPolicy, StallPolicy
from core.ports import (
    BlocklistRepository,
    Clock,
    DownloadClients,
    DownloadStatus,
    Prepared,
    QueueRepository,
    SourcePreparer,
    SwitchRepository,
)
from core.slots import holds_slot
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


def _log_move(item: QueueItem, event: str, message: str | None) -> None:
    """One INFO line for each move a person wants to read later: a send, a completion,
    a failure, a retry scheduled (progress and bookkeeping moves stay out of the log)."""
    if event == "sent":
        log.info("Item %d sent to %s as %s", item.id, item.download_client, item.download_id)
    elif item.state is S.COMPLETED:
        log.info("Item %d completed: %s", item.id, item.output_path)
    elif item.state is S.FAILED:
        log.info("Item %d failed: %s", item.id, message or item.error_message)
    elif item.state is S.RETRYING:
        log.info("Item %d will be retried at %s: %s", item.id,
                 item.next_attempt_at.isoformat() if item.next_attempt_at else "once due",
                 item.error_message)


def _cleared(**changes: Any) -> dict[str, Any]:
    return {"lease_owner": None, "lease_expires_at": None, **changes}


class ProcessorBase:
    """The state and the helpers the dispatch, rescue and sync passes share."""

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
        # The sync's reads (core.syncing): tracked items as last read, by id; and the
        # status each last had with nothing to do, with the item it was for and when it
        # would stall.
        self._read: dict[int, QueueItem] = {}
        self._read_versions: dict[int, int] | None = None  # of _groups, when reusable
        self._groups: dict[str, tuple[list[QueueItem], list[str]]] = {}
        self._quiet: dict[int, tuple[QueueItem, DownloadStatus, datetime | None]] = {}
        self._deferred: list[tuple[QueueItem, QueueItem]] = []  # progress saves to write
        self._flushed = 0  # deferred saves written, all passes
        self._failed_this_pass: set[str] = set()  # one refusal per client per pass
        self.tracked_count = 0  # items the last sync followed
        # From the state counters as the last dispatch pass read them (None: not read
        # yet): items waiting to be sent, and items leased for a send. The scheduler
        # lets an idle processor sleep on them (infrastructure/scheduler.py).
        self.claimable: int | None = None
        self.sending: int | None = None
        self.slots_full = False  # the last dispatch pass found every slot held
        # Moves that freed a slot or queued an item again (a download ended or paused, a
        # lease given back), all passes: the scheduler wakes the dispatcher on them.
        self.slots_freed = 0
        self.on_failed = on_failed  # after an item failed for good: the next-best re-grab
        self.events = events  # client down / back (item events come from the repository)
        self.sources = sources  # what the client gets: fetched, checked, trackers removed
        # One pass of each kind at a time, whoever asks (the scheduler, POST
        # /queue/process, a command): two dispatches would give back each other's leases
        # as orphans, two syncs count a lost download missing twice in one cycle.
        self._dispatching = asyncio.Lock()
        self._syncing = asyncio.Lock()

    # -- saving ------------------------------------------------------------------------

    async def _save(self, old: QueueItem, new: QueueItem, event: HistoryEvent
                    ) -> QueueItem | None:
        """Write one change fenced on old.version; None when someone else changed the
        item meanwhile (the API, or a newer claim): theirs stands. Deferred progress
        saves are written first, so writes (and their events) keep their order."""
        if self._deferred:
            await self._flush()
        return await self._save_one(old, new, event)

    def _defer(self, old: QueueItem, new: QueueItem) -> None:
        """A progress save (no history row, same state) written with the others of the
        pass in one transaction: by the next other write, or by _flush."""
        self._deferred.append((old, new))

    async def _flush(self) -> int:
        """Write the deferred progress saves in one update; should another writer have
        changed one of them meanwhile, one at a time instead (theirs stands). The number
        written. What was written is what the next pass would read in full: it is kept
        as read (core.syncing), unless written again meanwhile (the version says)."""
        deferred, self._deferred = self._deferred, []
        if not deferred:
            return 0
        event = HistoryEvent("progress", recorded=False)
        try:
            saved = await self.items.update(deferred, event)
        except ConcurrentModification:
            saved = []
            for old, new in deferred:
                one = await self._save_one(old, new, event)
                if one is not None:
                    saved.append(one)
        for item in saved:
            if item.id in self._read:
                self._read[item.id] = item
        self._flushed += len(saved)
        return len(saved)

    async def _save_one(self, old: QueueItem, new: QueueItem, event: HistoryEvent
                        ) -> QueueItem | None:
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
        if saved is not None:
            _log_move(saved, event, message)
            if holds_slot(item) and not holds_slot(saved):
                self.slots_freed += 1
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

    def _full(self, name: str) -> bool:
        limit = self.config.per_client
        return limit is not None and self._active[name] >= limit

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
        if was_up:
            log.info("Download client %r is down: %s", name, error)
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
