"""One active processor per Postgres database: a session-level advisory lock, held on a
connection of its own. The process holding it runs the passes; the others stand by and
try again every few seconds. When the leader dies its connection closes and Postgres
frees the lock, so a standby takes over at its next try. SQLite is one process: always
the leader."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

from core.errors import StorageUnavailable

if TYPE_CHECKING:  # Postgres only: asyncpg loads with the first check
    import asyncpg

    from infrastructure.db.engine import Database
    from infrastructure.tasks import Background

log = logging.getLogger(__name__)

LOCK_KEY = 0x51756575617272  # "Queuarr"
WAKE_CHANNEL = "queuarr_wake"  # NOTIFY: items became due (a grab on another process)


def plain_dsn(url: str) -> str:
    """asyncpg's DSN from a SQLAlchemy URL (the driver part dropped)."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


class TellLeader:
    """core.dispatching's tell_leader on Postgres: a NOTIFY on the wake channel, which
    the leading process listens to (PostgresLeader), sent in the background so that the
    grab that woke it does not wait. A database that is down is logged; the next
    dispatch pass finds the items anyway."""

    def __init__(self, database: Database, tasks: Background) -> None:
        self.database = database
        self.tasks = tasks

    def __call__(self) -> None:
        self.tasks.spawn(self._notify())

    async def _notify(self) -> None:
        try:
            await self.database.notify(WAKE_CHANNEL)
        except StorageUnavailable as exc:
            log.info("Dispatcher not woken: %s", exc.message)


class AlwaysLeader:
    on_wake: Callable[[], None] | None = None  # one process: grabs wake it directly
    on_lost: Callable[[], None] | None = None  # never called: nothing to lose

    async def check(self) -> bool:
        return True

    async def close(self) -> None:
        return None


class PostgresLeader:
    def __init__(self, url: str, key: int = LOCK_KEY) -> None:
        self.dsn = plain_dsn(url)
        self.key = key
        self._conn: asyncpg.Connection | None = None
        self.leading = False
        self.on_wake: Callable[[], None] | None = None  # called on NOTIFY queuarr_wake
        # Called when the lock's connection closes (Postgres restarted, the network
        # dropped it): the runner checks at once rather than at its next check.
        self.on_lost: Callable[[], None] | None = None

    async def check(self) -> bool:
        """Whether this process leads now: verify a held lock, or try to take it."""
        import asyncpg

        try:
            if self._conn is not None and not self._conn.is_closed():
                await self._conn.fetchval("SELECT 1", timeout=5)
                return self._set(True)
            self._conn = await asyncpg.connect(self.dsn, timeout=5)
            got = await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key,
                                            timeout=5)
            if not got:
                await self._drop()
                return self._set(False)
            # The leader hears grabs made by API-only replicas at once.
            await self._conn.add_listener(WAKE_CHANNEL, self._heard)
            self._conn.add_termination_listener(self._closed)
            return self._set(True)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            await self._drop()
            if self.leading:
                log.warning("Lost the processor lock: %s", exc)
            return self._set(False)

    def _closed(self, *_: Any) -> None:
        if self.on_lost is not None:
            self.on_lost()

    def _heard(self, *_: Any) -> None:
        if self.on_wake is not None:
            self.on_wake()

    def _set(self, leading: bool) -> bool:
        if leading and not self.leading:
            log.info("This process now runs the processor (advisory lock %d)", self.key)
        self.leading = leading
        return leading

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await conn.close(timeout=2)
            except Exception:
                conn.terminate()

    async def close(self) -> None:
        """Give the lock up (closing the session frees it)."""
        await self._drop()
        self.leading = False
