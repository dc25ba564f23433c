"""Events across processes on one Postgres database (LISTEN/NOTIFY).

With Postgres, Queuarr may run as several processes: API replicas (`serve
--no-processor`) and processors (`worker`). Each publishes the changes it makes; this
relay sends them to the others, so that a live stream on any process shows every
change, and the process running the processor hears every change for its leader-only
notifiers (Telegram). Webhooks stay with the process that made the change: each is
delivered once.

The relay is a notifier of its own process's events (behind the bus's bounded queue, so
sending never holds up the queue; the events waiting there go in one statement, so a
bulk change of thousands of items keeps up) and a listener, on a connection of its own, that hands
other processes' events to EventBus.relay(). A payload carries the item itself (Postgres
allows 8,000 bytes: the download URL, which no event shows, is left out; an item still
too big goes as its id, and the receiver reads it from the database). When the listening
connection drops it is opened again (1 s, doubling to 30 s); what other processes
published meanwhile is missed (the reconnects are counted and logged)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from core.domain import QueueItem
from core.events import EventBus, EventType, QueueEvent
from infrastructure.db.mapping import ITEM_COLUMNS, item_from_wire, item_to_wire
from infrastructure.leader import plain_dsn

if TYPE_CHECKING:  # Postgres only: asyncpg loads when the relay starts
    import asyncpg

log = logging.getLogger(__name__)

CHANNEL = "queuarr_events"
MAX_PAYLOAD = 7900  # Postgres: under 8,000 bytes
TYPES = {t.value: t for t in EventType}
URL_AT = ITEM_COLUMNS.index("download_url")
SEND_MANY = "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload"


@dataclass
class RelayStats:
    sent: int = 0
    by_reference: int = 0  # too big to carry the item: sent as its id
    received: int = 0
    unreadable: int = 0  # a payload this version cannot read (logged once)
    gone: int = 0  # sent by id, and the item was deleted before it could be read
    reconnects: int = 0


def encode(event: QueueEvent, origin: str) -> tuple[str, bool]:
    """The NOTIFY payload of an event: with the item (without its download URL), or,
    when that is still too big, with only the item's id (then True)."""
    head: dict[str, Any] = {"o": origin, "t": event.type.value, "at": event.at,
                            "m": event.message, "c": event.client}
    item = event.item
    if item is None:
        return orjson.dumps(head).decode(), False
    row = item_to_wire(item)
    row[URL_AT] = None
    payload = orjson.dumps(head | {"i": row})
    if len(payload) <= MAX_PAYLOAD:
        return payload.decode(), False
    head["m"] = (event.message or "")[:2000] or None
    return orjson.dumps(head | {"r": item.id}).decode(), True


@dataclass(frozen=True)
class Heard:
    origin: str
    type: EventType
    at: datetime
    message: str | None
    client: str | None
    item: QueueItem | None
    reference: int | None


def decode(payload: str) -> Heard:
    """ValueError (or KeyError) on a payload that is not one of ours."""
    data = orjson.loads(payload)
    return Heard(data["o"], TYPES[data["t"]], datetime.fromisoformat(data["at"]),
                 data.get("m"), data.get("c"),
                 item_from_wire(data["i"]) if data.get("i") is not None else None,
                 data.get("r"))


class PostgresEventRelay:
    """A notifier (this process's events out) and a listener (the others' events in)."""

    name = "relay"
    queue_size = 20_000  # events waiting to be sent (the bus drops beyond, counted)

    def __init__(self, url: str, bus: EventBus,
                 read_item: Callable[[int], Awaitable[QueueItem | None]],
                 channel: str = CHANNEL, origin: str | None = None,
                 max_backoff: float = 30.0) -> None:
        if not channel.isidentifier():
            raise ValueError(f"Bad channel name {channel!r}")
        self.dsn = plain_dsn(url)
        self.bus = bus
        self.read_item = read_item
        self.channel = channel
        self.origin = origin or uuid.uuid4().hex
        self.max_backoff = max_backoff
        self.stats = RelayStats()
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._listening = asyncio.Event()
        self._lookups: set[asyncio.Task[None]] = set()
        self._busy = asyncio.Lock()
        self._own = orjson.dumps({"o": self.origin})[:-1].decode()  # a payload's start

    # -- out -----------------------------------------------------------------------

    async def notify(self, event: QueueEvent) -> None:
        await self.notify_many([event])

    async def notify_many(self, events: list[QueueEvent]) -> None:
        """The events in one statement (one round trip, one transaction: the other
        processes hear them in order, when it commits)."""
        payloads = []
        for event in events:
            if event.remote:  # never sent back out (the bus does not offer them anyway)
                continue
            payload, by_reference = encode(event, self.origin)
            payloads.append(payload)
            self.stats.by_reference += by_reference
        if not payloads:
            return
        conn = self._conn
        if (conn is None or conn.is_closed()) and self._task is not None:
            # Starting, or reconnecting: wait a little rather than lose them (the bus's
            # time limit bounds the wait; past it they are counted as timed out).
            await self._listening.wait()
            conn = self._conn
            if conn is None or conn.is_closed():
                raise ConnectionError("not connected to Postgres (reconnecting)")
        async with self._busy:  # one statement at a time on the connection
            await conn.execute(SEND_MANY, self.channel, payloads)
        self.stats.sent += len(payloads)

    # -- in ------------------------------------------------------------------------

    def _heard(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload.startswith(self._own):  # its own events, heard back: not decoded
            return
        try:
            heard = decode(payload)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            self.stats.unreadable += 1
            if self.stats.unreadable == 1:
                log.warning("Unreadable event from another process (a different "
                            "version?): %s", exc)
            return
        if heard.origin == self.origin:
            return
        self.stats.received += 1
        if heard.reference is None:
            self.bus.relay(heard.type, heard.at, heard.item, heard.message, heard.client)
            return
        task = asyncio.get_running_loop().create_task(self._relay_by_reference(heard))
        self._lookups.add(task)
        task.add_done_callback(self._lookups.discard)

    async def _relay_by_reference(self, heard: Heard) -> None:
        assert heard.reference is not None
        try:
            item = await self.read_item(heard.reference)
        except Exception as exc:  # the database is down: the event is lost here
            log.info("Relayed event for item %d not read: %s", heard.reference, exc)
            item = None
        if item is None:  # gone meanwhile, or unreadable: streams here start afresh
            self.stats.gone += 1
            self.bus.lost_track()
            return
        self.bus.relay(heard.type, heard.at, item, heard.message, heard.client)

    # -- the connection --------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def listening(self) -> None:
        """Wait until the listener is connected (tests)."""
        await self._listening.wait()

    async def _run(self) -> None:
        import asyncpg

        backoff = 1.0
        first = True
        while True:
            try:
                conn = await asyncpg.connect(self.dsn, timeout=5)
                conn.add_termination_listener(lambda _c: self._lost.set())
                await conn.add_listener(self.channel, self._heard)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                if first:
                    log.warning("Event relay not connected (%s); retrying", exc)
                first = False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            if not first:
                self.stats.reconnects += 1
                log.info("Event relay connected again: events other processes published "
                         "meanwhile were not relayed; live streams here are reset")
                self.bus.lost_track()
            first, backoff = False, 1.0
            self._conn = conn
            self._lost.clear()
            self._listening.set()
            try:
                while not conn.is_closed():
                    # The termination listener fires when the server ends the session;
                    # a check every 15 s also finds a connection that died silently.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._lost.wait(), 15)
                    if not self._lost.is_set():
                        try:
                            async with self._busy:
                                await conn.fetchval("SELECT 1", timeout=5)
                        except (OSError, asyncpg.PostgresError, TimeoutError,
                                asyncpg.InterfaceError):
                            break
            finally:
                self._listening.clear()
                self._conn = None
                await _close(conn)
            log.warning("Event relay lost its Postgres connection; reconnecting")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for lookup in list(self._lookups):
            lookup.cancel()
        conn, self._conn = self._conn, None
        if conn is not None:
            await _close(conn)


async def _close(conn: asyncpg.Connection) -> None:
    if conn.is_closed():
        return
    try:
        await conn.close(timeout=2)
    except Exception:
        conn.terminate()
