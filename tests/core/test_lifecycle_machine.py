"""A model test of the item lifecycle (DESIGN.md, perf-reliability R12): Hypothesis drives
the real QueueService and Processor over the in-memory repositories, two fault-injecting
fake download clients and a clock that only moves when told, and checks the lifecycle's
invariants after every step: among them, that QUEUARR_MAX_CONCURRENT and
QUEUARR_MAX_PER_CLIENT hold whatever callers pause, resume, force-grab or reprioritise,
and that a pause holds until a resume whatever the client does.

The default run is small and derandomized (the same examples every run); for the R12
soak set QUEUARR_LIFECYCLE_EXAMPLES=500 QUEUARR_LIFECYCLE_STEPS=50.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import itertools
import os
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import torf
from hypothesis import HealthCheck, currently_in_test_context, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from core.clients import CLIENT_FAULT_STATES, STALL_STATES, ClientState
from core.domain import (
    FINISHED_STATES,
    BlocklistEntry,
    ItemState,
    NewItem,
    Priority,
    QueueItem,
)
from core.errors import (
    AlreadyCompleted,
    Blocklisted,
    ClientRejected,
    ClientUnavailable,
    Duplicate,
    IllegalTransition,
    NotFound,
    TransientClientError,
)
from core.grab import GrabRequest, validate_grab
from core.listing import PageRequest, QueueFilter
from core.policy import RetryPolicy, StallPolicy
from core.ports import BlocklistRepository, DownloadStatus, QueueRepository
from core.processor import Processor, ProcessorConfig
from core.service import QueueService, RemoveOptions
from core.slots import holds_slot
from core.states import PAUSABLE, RETRYABLE, can_transition, is_pending
from infrastructure.db.blocklist_repository import SqlBlocklistRepository
from infrastructure.db.engine import Database
from infrastructure.db.queue_repository import SqlQueueRepository
from infrastructure.memory import MemoryBlocklistRepository, MemoryQueueRepository
from infrastructure.migrate import upgrade
from infrastructure.torrents import TorfParser
from tests.fakes import EPOCH, FakeClients, FakeClock, FakeDownloadClient

S = ItemState
T = TypeVar("T")

RETRY = RetryPolicy(delays=(0, 120, 480))
ACTIONS = ["pause", "resume", "force grab", "priority"]
# Two clients of two slots each, three slots in all: either limit can be the one that binds.
CONFIG = ProcessorConfig(max_active=3, per_client=2, retry=RETRY, lease=timedelta(minutes=5),
                         stall=StallPolicy(), max_rescues=3, missing_cycles=2)
# Items a sync follows to whatever their download became (paused ones wait for the user).
FOLLOWED = frozenset({S.DOWNLOADING, S.WARNING, S.CLIENT_UNAVAILABLE})
# Steps of the clock: a second, past the first retry delay, past the lease (5 min), past
# the last retry delay (8 min), past the metadata and data stall limits, an hour.
CLOCK_STEPS = (1, 30, 121, 301, 481, 901, 1801, 3601)
MAX_EXAMPLES = int(os.environ.get("QUEUARR_LIFECYCLE_EXAMPLES", "100"))
STEPS = int(os.environ.get("QUEUARR_LIFECYCLE_STEPS", "30"))


@functools.cache
def torrent_file() -> bytes:
    """A real single-file .torrent (built once per session, in a temporary directory)."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "Torrent.File.Movie.2021.2160p.mkv"
        path.write_bytes(bytes(range(256)) * 80)
        torrent = torf.Torrent(path=path, trackers=["http://tracker.example/announce"],
                               created_by=None, creation_date=None)
        torrent.generate()
        return bytes(torrent.dump())


def _magnet(n: int, name: str, size: int | None = None) -> str:
    link = f"magnet:?xt=urn:btih:{n:040x}&dn={name}"
    return link + (f"&xl={size}" if size is not None else "")


def releases() -> list[GrabRequest]:
    """What callers grab: every kind of source, and releases that collide with others by
    info hash (2 and 0), by URL (5 and 3, spelled differently) and by title (7 and 0)."""
    return [
        GrabRequest(download_url=_magnet(0xA, "Alpha.2020.1080p", 1000), movie_id=1),
        GrabRequest(download_url=_magnet(0xB, "Bravo.2019.720p")),  # no size, no movie
        GrabRequest(download_url=_magnet(0xA, "Alpha.2020.1080p.REPACK", 1000), movie_id=1,
                    title="Alpha.2020.1080p.REPACK"),
        GrabRequest(download_url="http://files.example/Charlie.2018.mkv", size=4000,
                    movie_id=3),
        GrabRequest(download_url="http://tracker.example/get/Delta.2017.torrent", size=3000,
                    movie_id=4, priority=Priority.HIGH),
        GrabRequest(download_url="HTTP://FILES.EXAMPLE:80/Charlie.2018.mkv#again", size=4000,
                    movie_id=3, title="Charlie.2018.again"),
        GrabRequest(torrent_file=torrent_file(), movie_id=6),
        GrabRequest(download_url=_magnet(0xC, "Echo.2016"), title="alpha.2020.1080p",
                    movie_id=7),
    ]


@dataclass
class FaultyClient(FakeDownloadClient):
    """The fake download client with one-shot add failures, and an account of which item
    made each download it holds: `created[item_id]` downloads made for an item,
    `dropped[item_id]` of them removed or lost since. Its downloads say where they save,
    as real clients' do."""

    next_add_error: Exception | None = None
    owner: dict[str, int] = field(default_factory=dict)
    created: Counter[int] = field(default_factory=Counter)
    dropped: Counter[int] = field(default_factory=Counter)

    async def add(self, item: QueueItem, torrent: bytes | None) -> str:
        if self.next_add_error is not None and not self.down:
            error, self.next_add_error = self.next_add_error, None
            self.calls.append(("add", (item.id,)))
            raise error
        download_id = self.download_id(item)
        new = download_id not in self.downloads
        try:
            return await super().add(item, torrent)
        finally:
            if new and download_id in self.downloads:
                self.owner[download_id] = item.id
                self.created[item.id] += 1
                # Where it saves; a magnet of unknown size fetches its metadata first.
                status = self.downloads[download_id]
                self.change(download_id, output_path=f"/downloads/{status.name}",
                            state=ClientState.DOWNLOADING if status.total_bytes
                            else ClientState.METADATA)

    async def resume(self, download_id: str) -> None:
        """As the fake's, but a download of unknown size (no metadata yet) is not done."""
        await self._record("resume", download_id)
        current = self.downloads.get(download_id)
        if current is not None and current.state is ClientState.PAUSED:
            done = current.total_bytes > 0 and not current.left_bytes
            self.change(download_id, state=ClientState.COMPLETED if done
                        else ClientState.DOWNLOADING if current.total_bytes
                        else ClientState.METADATA)

    def _drop(self, download_id: str) -> None:
        if download_id in self.downloads:
            self.dropped[self.owner.pop(download_id)] += 1

    async def remove(self, download_id: str, delete_data: bool) -> None:
        if not self.down and self.fail_with is None:
            self._drop(download_id)
        await super().remove(download_id, delete_data)

    def lose(self, download_id: str) -> None:
        self._drop(download_id)
        super().lose(download_id)

    def change(self, download_id: str, **changes: Any) -> None:
        self.downloads[download_id] = replace(self.downloads[download_id], **changes)


class Fleet:
    """The machine's download clients; a download found by its id in whichever holds
    it (the first, if an item was sent to both)."""

    def __init__(self, *members: FaultyClient) -> None:
        self.members = members

    @property
    def downloads(self) -> dict[str, DownloadStatus]:
        merged: dict[str, DownloadStatus] = {}
        for member in reversed(self.members):
            merged.update(member.downloads)
        return merged

    def named(self, name: str | None) -> FaultyClient | None:
        return next((m for m in self.members if m.name == name), None)

    def holding(self, download_id: str) -> FaultyClient:
        return next(m for m in self.members if download_id in m.downloads)

    def change(self, download_id: str, **changes: Any) -> None:
        self.holding(download_id).change(download_id, **changes)

    def lose(self, download_id: str) -> None:
        self.holding(download_id).lose(download_id)


def pick(values: Sequence[T], index: int) -> T:
    return values[index % len(values)]


class Lifecycle(RuleBasedStateMachine):
    """Callers, the processor (and processors that die mid-send), the download client
    and the clock take turns; the invariants hold after every turn."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock(EPOCH)
        self.items, self.blocklist = self.open_stores()
        self.client = FaultyClient("aria2")
        self.fleet = Fleet(self.client, FaultyClient("qbit"))
        self.clients = FakeClients(*self.fleet.members)
        self.queue = QueueService(self.items, self.blocklist, self.clock, TorfParser(),
                                  self.clients)
        self.processor = self.new_processor("processor")
        self.releases = releases()
        self.new_items = [validate_grab(r, TorfParser(), EPOCH, None) for r in self.releases]
        self.ids: list[int] = []  # every item ever grabbed, removed ones included
        self.blocklisted: set[int] = set()  # releases removed with blocklist=true
        self.stale: list[tuple[Processor, QueueItem]] = []  # claims of killed processors
        self.killed = 0
        self.paused_by_user: set[int] = set()  # paused here, not resumed since

    def open_stores(self) -> tuple[QueueRepository, BlocklistRepository]:
        return MemoryQueueRepository(self.clock), MemoryBlocklistRepository()

    def teardown(self) -> None:
        self.loop.close()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def new_processor(self, owner: str) -> Processor:
        return Processor(self.items, self.clients, self.clock, owner, CONFIG, self.blocklist)

    def all_items(self) -> list[QueueItem]:
        return self.run(self.items.get_many(sorted(set(self.ids))))

    def get(self, item_id: int) -> QueueItem | None:
        return self.run(self.items.get(item_id))

    def some_id(self, index: int) -> int:
        return pick(self.ids, index)

    def matches(self, item: QueueItem | NewItem, new: NewItem) -> bool:
        return bool((new.info_hash and item.info_hash == new.info_hash)
                    or (new.url_hash and item.url_hash == new.url_hash))

    # -- callers -------------------------------------------------------------------------

    @initialize(first=st.lists(st.integers(0, 7), min_size=1, max_size=4))
    def grab_a_few(self, first: list[int]) -> None:
        for release in first:
            self.grab(release, force=False)

    @rule(release=st.integers(0, 7), force=st.booleans())
    def grab(self, release: int, force: bool) -> None:
        """Grab one of a few releases: refused when blocklisted, when an active item has
        its info hash or URL, or (unless forced) when a completed one has."""
        request, new = replace(self.releases[release], force=force), self.new_items[release]
        blocked = self.run(self.blocklist.find(new.info_hash, new.url_hash, new.title))
        if any(self.matches(self.new_items[r], new) for r in self.blocklisted):
            assert blocked is not None, f"release {release} is no longer blocklisted"
        same = [i for i in self.all_items() if self.matches(i, new)]
        active = [i.id for i in same if i.is_active]
        completed = [i.id for i in same if i.state is S.COMPLETED]
        try:
            item = self.run(self.queue.grab(request))
        except Blocklisted:
            assert blocked is not None
            return
        except AlreadyCompleted as exc:
            assert blocked is None and not force and exc.existing_id in completed
            return
        except Duplicate as exc:
            assert blocked is None and active == [exc.existing_id]
            return
        assert blocked is None, f"blocklisted release {release} was grabbed again"
        assert not active and (force or not completed)
        assert item.state is S.QUEUED and item.id not in self.ids
        self.ids.append(item.id)

    @precondition(lambda self: self.ids)
    @rule(index=st.integers(0, 99), action=st.sampled_from(ACTIONS))
    def act_on_an_item(self, index: int, action: str) -> None:
        """Pause, resume, force-grab or reprioritise an item (perhaps a removed one)."""
        self.act_on(self.some_id(index), action, pick(list(Priority), index))

    @precondition(lambda self: self.ids)
    @rule(index=st.integers(0, 99), action=st.sampled_from(ACTIONS))
    def act_on_an_item_it_fits(self, index: int, action: str) -> None:
        """The same on an item the action applies to: pause one that waits or downloads,
        resume a paused one, force-grab a pending one, reprioritise an active one; a
        download its client has first (what the slots are about)."""
        fits = {"pause": lambda i: i.state in PAUSABLE, "resume": lambda i: i.state is S.PAUSED,
                "force grab": is_pending, "priority": lambda i: i.is_active}[action]
        candidates = [i for i in self.all_items() if fits(i)]
        candidates = [i for i in candidates if i.download_id] or candidates
        if candidates:
            self.act_on(pick(candidates, index).id, action, pick(list(Priority), index))

    @precondition(lambda self: self.ids)
    @rule(index=st.integers(0, 99), dispatch_between=st.booleans())
    def pause_a_download_and_resume_it(self, index: int, dispatch_between: bool) -> None:
        """Pause a download (its slot is free), perhaps let the dispatcher fill the slot,
        and resume it: with no slot free, it must wait."""
        downloads = [i for i in self.all_items() if i.state in (S.DOWNLOADING, S.WARNING)]
        if not downloads:
            return
        item_id = pick(downloads, index).id
        self.act_on(item_id, "pause", Priority.NORMAL)
        if dispatch_between:
            self.dispatch()
        self.act_on(item_id, "resume", Priority.NORMAL)

    def act_on(self, item_id: int, action: str, priority: Priority) -> None:
        before = self.get(item_id)
        try:
            if action == "pause":
                after = self.run(self.queue.pause(item_id))
            elif action == "resume":
                after = self.run(self.queue.resume(item_id))
            elif action == "force grab":
                self.run(self.queue.force_grab(item_id))
                after = self.get(item_id) or before  # type: ignore[assignment]
            else:
                after = self.run(self.queue.set_priority(item_id, priority))
        except NotFound:
            assert before is None or (action == "force grab" and not is_pending(before))
            return
        except IllegalTransition:
            assert before is not None and action in ("pause", "resume")
            assert before.state not in PAUSABLE | {S.PAUSED}
            return
        except ClientUnavailable:
            client = self.fleet.named(before.download_client if before else None)
            assert before is not None and before.download_id and client and client.down
            assert self.get(item_id) == before, "a refused change changed the item"
            return
        assert before is not None and after is not None
        if currently_in_test_context():  # --hypothesis-show-statistics: the coverage
            held = " (its download kept)" if before.download_id else ""
            event(f"{action} of a {before.state.value} item{held}")
        if action == "pause":
            assert after.state is S.PAUSED
            self.paused_by_user.add(item_id)
        elif action == "resume" and before.state is S.PAUSED:
            # Queued for a slot; a download its client has stays there, paused.
            assert after.state is S.QUEUED
            assert after.download_id == before.download_id
            self.paused_by_user.discard(item_id)
        elif action == "resume":
            assert after == before
        elif action == "force grab":
            assert is_pending(before) and after.state is S.QUEUED
            assert after.next_attempt_at is None
        else:
            assert after.priority is priority

    @precondition(lambda self: self.ids)
    @rule(index=st.integers(0, 99), blocklist=st.booleans(), from_client=st.booleans())
    def remove(self, index: int, blocklist: bool, from_client: bool) -> None:
        item_id = self.some_id(index)
        before = self.get(item_id)
        options = RemoveOptions(remove_from_client=from_client, blocklist=blocklist)
        try:
            self.run(self.queue.remove(item_id, options))
        except NotFound:
            assert before is None
            return
        except ClientUnavailable:
            assert before is not None and from_client and before.download_id
            client = self.fleet.named(before.download_client)
            assert client is not None and client.down and self.get(item_id) == before
            return
        assert before is not None and self.get(item_id) is None
        self.paused_by_user.discard(item_id)
        client = self.fleet.named(before.download_client)
        if from_client and before.download_id and client is not None:
            assert before.download_id not in client.downloads
        if blocklist:
            self.blocklisted |= {n for n, new in enumerate(self.new_items)
                                 if self.matches(before, new)}
            assert self.run(self.blocklist.find(before.info_hash, before.url_hash,
                                                before.title)) is not None

    @precondition(lambda self: self.ids)
    @rule(index=st.none() | st.integers(0, 99))
    def retry(self, index: int | None) -> None:
        """Retry one item, or (index None) every failed item; a refusal changes nothing."""
        before = self.all_items()
        ids = None if index is None else [self.some_id(index)]
        try:
            retried = self.run(self.queue.retry(ids))
        except NotFound:
            assert ids is not None and self.get(ids[0]) is None
            return
        except IllegalTransition:
            assert ids is not None
            item = self.get(ids[0])
            assert item is not None and item.state not in RETRYABLE
            return
        except Duplicate as exc:
            assert self.all_items() == before, "a refused retry changed items"
            other = self.get(exc.existing_id)
            assert other is not None and other.is_active
            return
        if ids is not None:
            assert retried == ids
        else:  # every failed item, but one per release: the others stay failed
            failed = [i for i in before if i.state is S.FAILED]
            assert set(retried) <= {i.id for i in failed}
            after = self.all_items()
            for item in failed:
                if item.id not in retried:
                    assert any(o.id != item.id and o.is_active and (
                        (item.info_hash and o.info_hash == item.info_hash)
                        or (item.url_hash and o.url_hash == item.url_hash)) for o in after), (
                        f"failed item {item.id} was not retried, and nothing active "
                        "shares its release")
        for item in self.run(self.items.get_many(retried)):
            assert (item.state, item.attempts, item.error_message) == (S.QUEUED, 0, None)

    @rule()
    def clean_up_finished_items(self) -> None:
        finished = {i.id for i in self.all_items()
                    if i.state in FINISHED_STATES and i.updated_at < self.clock.now()}
        assert self.run(self.queue.cleanup(0)) == len(finished)
        assert all(self.get(i) is None for i in finished)

    # -- the processor ---------------------------------------------------------------------

    def processor_pass(self, work: Coroutine[Any, Any, object], syncs: bool = False
                       ) -> None:
        """Run a processor pass. A client outage burns no attempt; only a stall, never a
        client-side fault, blocklists a release; and when the pass is a sync, every
        download a client that is up finished or failed is followed."""
        before = {i.id: i for i in self.all_items()}
        statuses = {c.name: dict(c.downloads) for c in self.fleet.members}
        up = {c.name for c in self.fleet.members
              if not c.down and self.processor.backoffs[c.name].ready(self.clock.now())}
        entries = self.blocklist_entries()
        self.run(work)
        after = {i.id: i for i in self.all_items()}
        for item in after.values():
            old = before.get(item.id)
            if old is not None and item.state is S.CLIENT_UNAVAILABLE and (
                    old.state is not S.CLIENT_UNAVAILABLE):
                assert item.attempts == old.attempts, "a client outage burned an attempt"
        for entry in self.blocklist_entries()[len(entries):]:
            (item,) = (i for i in after.values() if i.state is S.FAILED
                       and before[i.id].state is not S.FAILED
                       and (i.info_hash, i.url_hash) == (entry.info_hash, entry.url_hash))
            assert (item.error_message or "").startswith("Stalled for good"), item
            old = before[item.id]
            status = statuses[old.download_client or ""].get(old.download_id or "")
            assert status is not None, item
            assert status.state in STALL_STATES | {ClientState.DOWNLOADING}, (item, status)
        if not syncs:
            return
        for old in before.values():
            if old.download_client not in up:
                continue
            status = statuses[old.download_client or ""].get(old.download_id or "")
            new = after.get(old.id)
            if new is None or status is None or old.state not in FOLLOWED:
                continue
            if status.state is ClientState.COMPLETED:
                assert new.state is S.COMPLETED, (
                    f"the client finished item {old.id}, which is still {new.state.value}")
            if status.state is ClientState.FAILED:
                assert new.state in (S.RETRYING, S.FAILED), (
                    f"the client failed item {old.id}, which is still {new.state.value}")

    def blocklist_entries(self) -> list[BlocklistEntry]:
        _, entries = self.run(self.blocklist.page(0, 10**6, "date", False, None, None))
        return entries

    @rule()
    def dispatch(self) -> None:
        self.processor_pass(self.processor.dispatch())

    @rule()
    def sync(self) -> None:
        self.processor_pass(self.processor.sync(), syncs=True)

    @rule()
    def process(self) -> None:
        self.processor_pass(self.processor.process())

    @rule()
    def rescue(self) -> None:
        self.processor_pass(self.processor.rescue())
        assert self.run(self.items.expired_leases(self.clock.now())) == []

    @rule(add_went_through=st.booleans())
    def kill_the_processor_mid_send(self, add_went_through: bool) -> None:
        """A processor claims an item and dies before recording the send (after the
        client took it, or before): only its lease is left."""
        self.killed += 1
        doomed = self.new_processor(f"doomed-{self.killed}")
        slots = min(self.run(doomed.free_slots()), 1)  # it claimed as a processor does
        claimed = self.run(self.items.claim(doomed.owner, slots, self.clock.now(),
                                            CONFIG.lease))
        for item in claimed:
            assert item.state is S.SENDING and item.lease_owner == doomed.owner
            if add_went_through and not self.client.down:
                torrent = self.run(self.items.get_torrent(item.id))
                with contextlib.suppress(ClientRejected, TransientClientError,
                                         ClientUnavailable):
                    self.run(self.client.add(item, torrent))
            self.stale.append((doomed, item))

    @precondition(lambda self: self.stale)
    @rule(index=st.integers(0, 99))
    def a_killed_processor_answers_late(self, index: int) -> None:
        """The send of a processor given up for dead returns after all: its result stands
        only if nobody changed the item meanwhile (the write is fenced)."""
        doomed, claimed = self.stale.pop(index % len(self.stale))
        before = self.get(claimed.id)
        result = self.run(doomed.send(claimed))
        if before is None or before.version != claimed.version:
            assert result is None, "a stale send overwrote a newer change"
            assert self.get(claimed.id) == before

    @rule(paused=st.booleans())
    def pause_or_resume_dispatching(self, paused: bool) -> None:
        self.processor.paused = paused

    # -- the download client -------------------------------------------------------------

    def some_download(self, index: int) -> str:
        return pick(sorted(self.fleet.downloads), index)

    @precondition(lambda self: self.fleet.downloads)
    @rule(index=st.integers(0, 99), share=st.floats(0.05, 0.95))
    def client_makes_progress(self, index: int, share: float) -> None:
        download_id = self.some_download(index)
        status = self.fleet.downloads[download_id]
        if status.state in (ClientState.COMPLETED, ClientState.FAILED):
            return
        total = status.total_bytes or 1000  # a magnet's metadata arrives
        done = total - status.left_bytes if status.total_bytes else 0
        more = max(int((total - done) * share), 1)
        if done + more >= total:
            return
        done += more
        self.fleet.change(download_id, state=ClientState.DOWNLOADING, total_bytes=total,
                           left_bytes=total - done, progress=round(done * 100 / total, 4),
                           download_speed=more, eta_seconds=10, error=None)

    @precondition(lambda self: self.fleet.downloads)
    @rule(index=st.integers(0, 99))
    def client_completes(self, index: int) -> None:
        download_id = self.some_download(index)
        status = self.fleet.downloads[download_id]
        total = status.total_bytes or 1000
        self.fleet.change(download_id, state=ClientState.COMPLETED, total_bytes=total,
                           left_bytes=0, progress=100.0, download_speed=0, eta_seconds=None,
                           error=None)

    @precondition(lambda self: self.fleet.downloads)
    @rule(index=st.integers(0, 99), permanent=st.booleans())
    def client_fails_the_download(self, index: int, permanent: bool) -> None:
        self.fleet.change(self.some_download(index), state=ClientState.FAILED,
                           permanent=permanent, download_speed=0,
                           error="resource not found" if permanent else "connection reset")

    @precondition(lambda self: self.fleet.downloads)
    @rule(index=st.integers(0, 99), what=st.sampled_from([
        *sorted(CLIENT_FAULT_STATES), ClientState.STALLED, ClientState.METADATA,
        ClientState.PAUSED, ClientState.DOWNLOADING, "lose"]))
    def client_misbehaves(self, index: int, what: ClientState | str) -> None:
        """A fault of the client's own (never the release's), a stall, a pause or resume
        in the client's UI, or a download the client lost."""
        download_id = self.some_download(index)
        if what == "lose":
            self.fleet.lose(download_id)
        elif self.fleet.downloads[download_id].state is not ClientState.COMPLETED:
            faulty = what in CLIENT_FAULT_STATES
            self.fleet.change(download_id, state=ClientState(what), download_speed=0,
                               error=f"{what}: disk I/O error" if faulty else None)

    @rule(what=st.sampled_from(["down", "up", "rejects next add", "next add fails",
                                "next add times out"]), which=st.integers(0, 1))
    def client_goes_wrong(self, what: str, which: int = 0) -> None:
        """A client goes down or comes back, or its next add fails (permanently,
        transiently, or by a timeout after it took the download)."""
        client = self.fleet.members[which]
        if what in ("down", "up"):
            client.down = what == "down"
        elif what == "next add times out":
            client.lose_reply_on_add = True
        elif what == "rejects next add":
            client.next_add_error = ClientRejected(f"{client.name}: not a valid torrent")
        else:
            client.next_add_error = TransientClientError(f"{client.name}: tracker said 503")

    @rule(seconds=st.sampled_from(CLOCK_STEPS))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def states_are_valid_and_leases_belong_to_sending_items(self) -> None:
        for item in self.all_items():
            assert isinstance(item.state, ItemState) and item.state in ItemState
            if currently_in_test_context():  # --hypothesis-show-statistics: the coverage
                event(f"reached {item.state.value}")
            leased = item.lease_owner is not None, item.lease_expires_at is not None
            assert leased == ((item.state is S.SENDING),) * 2, item
            assert item.state is not S.SENDING or item.rescues < CONFIG.max_rescues, item

    @invariant()
    def history_is_an_unbroken_chain_of_legal_transitions(self) -> None:
        for item_id in set(self.ids):
            rows = self.run(self.items.history(item_id))
            assert rows and rows[0].event == "grabbed"
            assert (rows[0].from_state, rows[0].to_state) == (None, S.QUEUED)
            for previous, row in itertools.pairwise(rows):
                assert row.from_state == previous.to_state, (
                    f"a transition without its history row between {previous} and {row}")
                assert row.from_state is not None, f"history after the item was removed: {row}"
                if row.to_state is not None and row.to_state != row.from_state:
                    assert can_transition(row.from_state, row.to_state), row
            item = self.get(item_id)
            assert rows[-1].to_state == (item.state if item is not None else None), (
                f"item {item_id} changed state without a history row: {rows[-1]}, {item}")

    @invariant()
    def no_item_is_in_the_client_twice(self) -> None:
        for client in self.fleet.members:
            for item_id in set(client.created):
                held = client.created[item_id] - client.dropped[item_id]
                assert held <= 1, f"item {item_id} was sent again while the client held it"
            assert set(client.downloads) == set(client.owner)

    @invariant()
    def active_downloads_stay_within_the_limits(self) -> None:
        """QUEUARR_MAX_CONCURRENT in all (items being sent included) and
        QUEUARR_MAX_PER_CLIENT in each client (the downloads it holds), counted as
        core.slots counts them: a paused item holds no slot."""
        holding = [i for i in self.all_items() if holds_slot(i)]
        assert len(holding) <= CONFIG.max_active, holding
        per_client = Counter(i.download_client for i in holding
                             if i.download_client and i.state is not S.SENDING)
        assert all(n <= (CONFIG.per_client or n) for n in per_client.values()), per_client

    @invariant()
    def a_pause_holds_until_a_resume(self) -> None:
        """An item paused here stays paused whatever its client does with the download,
        until it is resumed or removed, or its client finished or failed it."""
        for item in self.run(self.items.get_many(sorted(self.paused_by_user))):
            if item.state in (S.COMPLETED, S.FAILED, S.RETRYING):
                self.paused_by_user.discard(item.id)
            else:
                assert item.state is S.PAUSED, item

    @invariant()
    def counts_agree_with_the_items(self) -> None:
        items = self.all_items()
        counts = self.run(self.items.counts())
        for known, bucket in ((True, counts.known), (False, counts.unknown)):
            expected = Counter(i.state for i in items if (i.movie_id is not None) == known)
            assert {s: n for s, n in bucket.items() if n} == dict(expected)
        everything = QueueFilter(include_unknown=True)
        total, listed = self.run(self.items.page(PageRequest("added", False, 0, 10**6,
                                                              everything)))
        assert total == counts.total() == len(items) == len(listed)

    @invariant()
    def items_are_consistent_with_their_state(self) -> None:
        active: dict[str, int] = {}
        for item in self.all_items():
            assert 0 <= item.attempts <= (item.retry_policy or RETRY).attempts, item
            if item.state is S.COMPLETED:
                assert item.progress == 100.0 and item.size_left == 0, item
                assert item.output_path and item.completed_at is not None, item
            if item.state is S.FAILED:
                assert item.error_message, item
            if item.state in (S.DOWNLOADING, S.WARNING):
                assert item.download_id and item.download_client, item
            if item.state is S.RETRYING:
                assert item.attempts >= 1 and item.next_attempt_at is not None, item
            if item.is_active:
                for key in (item.info_hash, item.url_hash):
                    if key is not None:
                        assert active.setdefault(key, item.id) == item.id, "duplicate active"


@functools.cache
def sqlite_template() -> Path:
    """A migrated SQLite file (once per session) that each run of the machine copies."""
    directory = Path(tempfile.mkdtemp(prefix="queuarr-lifecycle-"))
    atexit.register(shutil.rmtree, directory, True)
    path = directory / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


class SqliteLifecycle(Lifecycle):
    """The same machine over the SQLite repositories, whose counters triggers keep."""

    def open_stores(self) -> tuple[QueueRepository, BlocklistRepository]:
        template = sqlite_template()
        self.path = template.with_name(f"run-{uuid.uuid4().hex[:12]}.db")
        shutil.copy(template, self.path)
        self.db = Database(f"sqlite+aiosqlite:///{self.path}", sqlite_synchronous="NORMAL")
        return SqlQueueRepository(self.db, self.clock), SqlBlocklistRepository(self.db)

    def teardown(self) -> None:
        self.run(self.db.dispose())
        super().teardown()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


Lifecycle.TestCase.settings = settings(
    max_examples=MAX_EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=True,
    database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestLifecycle = Lifecycle.TestCase
SqliteLifecycle.TestCase.settings = settings(
    Lifecycle.TestCase.settings, max_examples=max(MAX_EXAMPLES // 5, 1))
TestSqliteLifecycle = SqliteLifecycle.TestCase


# -- sequences the machine found, replayed on every run ------------------------------------


MACHINES = [Lifecycle, SqliteLifecycle]


def replay(kind: type[Lifecycle], *steps: tuple[str, dict[str, Any]]) -> None:
    """Run rules of the machine in order, checking every invariant after each."""
    machine = kind()
    try:
        for name, arguments in steps:
            getattr(machine, name)(**arguments)
            for check in (machine.states_are_valid_and_leases_belong_to_sending_items,
                          machine.history_is_an_unbroken_chain_of_legal_transitions,
                          machine.no_item_is_in_the_client_twice,
                          machine.counts_agree_with_the_items,
                          machine.items_are_consistent_with_their_state,
                          machine.active_downloads_stay_within_the_limits,
                          machine.a_pause_holds_until_a_resume):
                check()
    finally:
        machine.teardown()


@pytest.mark.parametrize("kind", MACHINES)
def test_a_download_that_finished_while_its_client_was_down_completes_when_it_is_back(
        kind: type[Lifecycle]) -> None:
    replay(kind, ("grab_a_few", {"first": [0]}), ("dispatch", {}),
           ("client_completes", {"index": 0}),
           ("client_goes_wrong", {"what": "down"}), ("sync", {}),  # -> clientUnavailable
           ("client_goes_wrong", {"what": "up"}), ("sync", {}))  # -> completed


@pytest.mark.parametrize("kind", MACHINES)
def test_a_download_that_failed_while_its_client_was_down_is_retried_when_it_is_back(
        kind: type[Lifecycle]) -> None:
    replay(kind, ("grab_a_few", {"first": [0]}), ("dispatch", {}),
           ("client_fails_the_download", {"index": 0, "permanent": False}),
           ("client_goes_wrong", {"what": "down"}), ("sync", {}),  # -> clientUnavailable
           ("client_goes_wrong", {"what": "up"}), ("sync", {}))  # -> retrying


@pytest.mark.parametrize("kind", MACHINES)
def test_a_release_blocklisted_after_a_namesake_stays_blocklisted_under_another_title(
        kind: type[Lifecycle]) -> None:
    """Releases 0 and 7 have one title (in other cases) and different info hashes;
    release 2 is release 0's torrent under another title."""
    replay(kind, ("grab_a_few", {"first": [0, 7]}),
           ("remove", {"index": 1, "blocklist": True, "from_client": False}),
           ("remove", {"index": 0, "blocklist": True, "from_client": False}),
           ("grab", {"release": 2, "force": False}))  # refused: its hash is blocklisted


@pytest.mark.parametrize("kind", MACHINES)
def test_retrying_a_failed_item_whose_release_is_queued_again_is_refused_cleanly(
        kind: type[Lifecycle]) -> None:
    """Release 2 is release 0's torrent: once 0 failed, 2 may be grabbed; retrying 0 then
    is a duplicate (409), and changes nothing."""
    replay(kind, ("grab_a_few", {"first": [0]}), ("dispatch", {}),
           ("client_fails_the_download", {"index": 0, "permanent": True}), ("sync", {}),
           ("grab", {"release": 2, "force": False}),
           ("retry", {"index": 0}))


@pytest.mark.parametrize("kind", MACHINES)
def test_retrying_every_failed_item_when_two_share_a_release(kind: type[Lifecycle]) -> None:
    """Two failed items of one torrent (releases 0 and 2): retrying every failed item
    either queues one of them or refuses and changes nothing, never half of it."""
    replay(kind, ("grab_a_few", {"first": [0]}), ("dispatch", {}),
           ("client_fails_the_download", {"index": 0, "permanent": True}), ("sync", {}),
           ("grab", {"release": 2, "force": False}), ("dispatch", {}), ("sync", {}),
           ("retry", {"index": None}))
