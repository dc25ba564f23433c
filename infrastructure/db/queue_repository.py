"""The queue repository, one implementation for SQLite and Postgres. Dialect-specific
parts: the counter table (see tables.queue_counter) and how an item is inserted (one
statement on Postgres, a BEGIN IMMEDIATE transaction on SQLite)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from core.domain import (
    HistoryEntry,
    HistoryEvent,
    HistoryQuery,
    ItemGroup,
    ItemState,
    NewItem,
    QueueItem,
    StateCounts,
    materialise,
)
from core.errors import AlreadyCompleted, ConcurrentModification, Duplicate
from core.leases import CLAIMED, WAITING
from core.listing import STATUS_RANK, PageRequest, QueueFilter
from core.movies import KnownMovie
from core.ports import Clock
from infrastructure.db import batch_update, one_hop
from infrastructure.db.aio import AsyncConnection
from infrastructure.db.engine import Database
from infrastructure.db.fast import arguments, fetch_all, prepare
from infrastructure.db.mapping import insert_values, row_to_item, update_values
from infrastructure.db.queue_statements import (
    CHUNK,
    COUNTS,
    FIND,
    FINISHED,
    FORWARD_OFFSET,
    GET,
    INSERT_HISTORY,
    INSERT_ITEM,
    INSERT_TORRENT,
    ITEM_SELECT,
    NEXT_ATTEMPT,
    TRACKED_VERSIONS,
    TRACKED_WHERE,
    C,
    get_many_statement,
    ids_select,
    insert_statement,
    is_unique_violation,
    page_statement,
    total_statement,
    window,
)
from infrastructure.db.tables import item_group, queue_history, queue_item, queue_torrent

_STATES = {s.value: s for s in ItemState}
S = ItemState
H = queue_history.c
HISTORY_SELECT = (H.item_id, H.at, H.event, H.from_state, H.to_state, H.message, H.id,
                  H.source_title, H.movie_id, H.download_id)
GONE_COLUMNS = (C.id, C.state, C.title, C.movie_id,
                func.coalesce(C.info_hash, C.download_id))  # QueueItem.known_download_id


def history_row(item: QueueItem, at: datetime, event: str, from_state: str | None,
                to_state: str | None, message: str | None) -> dict[str, Any]:
    return {"item_id": item.id, "at": at, "event": event, "from_state": from_state,
            "to_state": to_state, "message": message, "source_title": item.title,
            "movie_id": item.movie_id, "download_id": item.known_download_id}


def gone_row(row: Any, at: datetime, event: str, message: str | None) -> dict[str, Any]:
    """The history row of a deleted item, from the columns its DELETE returned."""
    item_id, state, title, movie_id, download_id = row
    return {"item_id": item_id, "at": at, "event": event, "from_state": state,
            "to_state": None, "message": message, "source_title": title,
            "movie_id": movie_id, "download_id": download_id}


def row_to_history(row: Any) -> HistoryEntry:
    item_id, at, event, old, new, message, id_, title, movie_id, download_id = row
    return HistoryEntry(item_id, at, event, _STATES.get(old) if old else None,
                        _STATES.get(new) if new else None, message, id=id_,
                        source_title=title, movie_id=movie_id, download_id=download_id)


def history_where(q: HistoryQuery) -> list[Any]:
    where: list[Any] = []
    if q.events is not None:
        where.append(H.event.in_(sorted(q.events)))
    if q.download_id is not None:
        where.append(H.download_id.in_(q.download_id_forms))
    if q.movie_ids is not None:
        where.append(H.movie_id.in_(sorted(q.movie_ids)))
    if q.item_id is not None:
        where.append(H.item_id == q.item_id)
    if q.since is not None:
        where.append(H.at >= q.since)
    return where
# Postgres appends counter deltas; fold them once there are this many rows.
COUNTER_FOLD_ROWS = 256


class SqlQueueRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._writes = 0
        self._folding = asyncio.Lock()

    async def _wrote(self) -> None:
        """Every so many writes, fold Postgres counter deltas so they stay few."""
        if self.db.dialect != "postgresql":
            return
        self._writes += 1
        if self._writes >= COUNTER_FOLD_ROWS and not self._folding.locked():
            async with self._folding:
                self._writes = 0
                await self.fold_counters()

    # -- writes ------------------------------------------------------------------------

    async def add(
        self, item: NewItem, event: HistoryEvent, *, refuse_completed: bool = False
    ) -> QueueItem:
        params = insert_values(item)
        params.update(
            h_at=item.added_at, h_event=event.event, h_message=event.message,
            t_data=item.torrent,
            guard_info_hash=item.info_hash if refuse_completed else None,
            guard_url_hash=item.url_hash if refuse_completed else None,
        )
        try:
            if self.db.dialect == "postgresql":
                item_id = await self._insert_in_one_statement(item, params)
            else:
                item_id = await self._insert_in_a_transaction(item, params)
        except Exception as exc:
            await self._raise_duplicate(exc, item)
            raise
        if item_id is None:  # the guard found a completed item with the same key
            done = await self.find_completed(item.info_hash, item.url_hash)
            if done is None:  # removed meanwhile: the release may be grabbed after all
                return await self.add(item, event, refuse_completed=refuse_completed)
            raise AlreadyCompleted.of(item.title, done.id)
        await self._wrote()
        return materialise(item, item_id)

    async def _insert_in_a_transaction(self, item: NewItem, params: dict[str, Any]
                                       ) -> int | None:
        """SQLite: the rows in one BEGIN IMMEDIATE transaction, in one hop."""
        dialect = self.db.engine.dialect
        insert_item = prepare(INSERT_ITEM, dialect)
        rest = [prepare(s, dialect) for s in (
            (INSERT_TORRENT, INSERT_HISTORY) if item.torrent is not None else (INSERT_HISTORY,))]
        item_args = arguments(insert_item, params)

        def work(conn: sqlite3.Connection) -> int | None:
            rows = conn.execute(insert_item.sql, item_args).fetchall()
            if not rows:
                return None
            params["item_id"] = rows[0][0]
            for statement in rest:
                conn.execute(statement.sql, arguments(statement, params))
            return int(rows[0][0])

        return await one_hop.write(self.db, work)

    async def _insert_in_one_statement(self, item: NewItem, params: dict[str, Any]
                                       ) -> int | None:
        """Postgres: item, torrent and history rows in one atomic statement (one round
        trip, no explicit transaction)."""
        async with self.db.reading() as conn:
            rows = await fetch_all(conn, insert_statement(item.torrent is not None), params)
        return int(rows[0][0]) if rows else None

    async def _raise_duplicate(self, exc: Exception, item: NewItem) -> None:
        """Turn a unique-index violation into Duplicate(existing id)."""
        if not is_unique_violation(exc):
            return
        existing = await self.find_active(item.info_hash, item.url_hash)
        if existing is not None:
            raise Duplicate(
                f"Release {item.title!r} is already in the queue as item {existing.id}",
                existing.id,
            ) from None

    async def update(
        self, changes: Sequence[tuple[QueueItem, QueueItem]], event: HistoryEvent
    ) -> list[QueueItem]:
        rows: list[batch_update.Row] = []
        saved: list[QueueItem] = []
        history: list[dict[str, Any]] = []
        for old, new in changes:
            values = update_values(old, new)
            values.pop("version", None)  # the fence sets it: old.version + 1
            rows.append((old.id, old.version, values))
            saved.append(new.evolve(version=old.version + 1))
            if event.recorded:
                history.append(history_row(new, new.updated_at, event.event,
                                           old.state.value, new.state.value, event.message))
        try:
            # One statement per set of changed columns, fenced on each row's version.
            async with batch_update.transaction(self.db) as conn:
                written = await batch_update.write(conn, rows, history)
                if not written:
                    raise batch_update.Fenced
        except batch_update.Fenced:
            raise ConcurrentModification(f"Item {await self._moved(changes)} changed while "
                                         "it was being updated; try again") from None
        except Exception as exc:
            if not is_unique_violation(exc):
                raise
            for _, new in changes:
                other = await self.find_active(new.info_hash, new.url_hash)
                if other is not None and other.id != new.id:
                    raise Duplicate(
                        f"Item {new.id} would duplicate active item {other.id}", other.id
                    ) from None
            for n, (_, new) in enumerate(changes):  # two of this batch for one release
                twin = next((b for _, b in changes[n + 1:] if (
                    new.info_hash and b.info_hash == new.info_hash) or (
                    new.url_hash and b.url_hash == new.url_hash)), None)
                if twin is not None:
                    raise Duplicate(f"Items {new.id} and {twin.id} are the same release",
                                    new.id) from None
            raise
        await self._wrote()
        return saved

    async def _moved(self, changes: Sequence[tuple[QueueItem, QueueItem]]) -> int:
        """The first item of a refused batch that another writer changed (or deleted)."""
        now = {i.id: i.version for i in await self.get_many([old.id for old, _ in changes])}
        return next((old.id for old, _ in changes if now.get(old.id) != old.version),
                    changes[0][0].id)

    async def claim(self, owner: str, limit: int, now: datetime,
                    lease: timedelta) -> list[QueueItem]:
        if limit <= 0:
            return []
        due = or_(C.state == S.QUEUED.value, and_(
            C.state.in_([s.value for s in WAITING]), C.download_id.is_(None),
            or_(C.next_attempt_at.is_(None), C.next_attempt_at <= now)))
        pick = (select(C.id, C.state).where(due)
                .order_by(C.priority.desc(), C.added_at, C.id).limit(limit)
                # Postgres: rows another claimer holds are skipped, not waited for.
                # SQLite: the writer's BEGIN IMMEDIATE serialises claims instead.
                .with_for_update(skip_locked=True))
        # One short transaction, three statements whatever the batch: pick, lease them
        # all in one UPDATE (what core.leases.leased does to each), one history insert.
        async with self.db.writing() as conn:
            picked = (await conn.execute(pick)).all()
            if not picked:
                return []
            order = {item_id: n for n, (item_id, _) in enumerate(picked)}
            rows = (await conn.execute(
                update(queue_item).where(C.id.in_(list(order))).values(
                    state=S.SENDING.value, status_rank=STATUS_RANK[S.SENDING],
                    lease_owner=owner, lease_expires_at=now + lease, next_attempt_at=None,
                    updated_at=now, version=C.version + 1)
                .returning(*ITEM_SELECT))).all()
            claimed = sorted((row_to_item(r) for r in rows), key=lambda i: order[i.id])
            before = dict(picked)
            history = [history_row(item, now, CLAIMED.event, before[item.id],
                                   item.state.value, None) for item in claimed]
            await conn.execute(insert(queue_history), history)
        await self._wrote()
        return claimed

    async def _select(self, where: Any) -> list[QueueItem]:
        async with self.db.reading() as conn:
            rows = (await conn.execute(select(*ITEM_SELECT).where(where).order_by(C.id))).all()
        return [row_to_item(r) for r in rows]

    async def add_group(self, title: str, url: str | None, at: datetime) -> ItemGroup:
        async with self.db.writing() as conn:
            rows = await fetch_all(conn, insert(item_group).values(
                title=title, url=url, added_at=at).returning(item_group.c.id), {})
        return ItemGroup(int(rows[0][0]), title, url, at)

    async def group(self, group_id: int) -> ItemGroup | None:
        g = item_group.c
        async with self.db.reading() as conn:
            row = (await conn.execute(select(g.id, g.title, g.url, g.added_at)
                                      .where(g.id == group_id))).first()
        return None if row is None else ItemGroup(row[0], row[1], row[2], row[3])

    async def in_group(self, group_id: int) -> list[QueueItem]:
        return await self._select(C.group_id == group_id)

    async def tracked(self) -> list[QueueItem]:
        return await self._select(TRACKED_WHERE)

    async def tracked_versions(self) -> dict[int, int]:
        async with self.db.reading() as conn:
            return dict(await fetch_all(conn, TRACKED_VERSIONS))  # type: ignore[arg-type]

    async def next_attempt_after(self, now: datetime) -> datetime | None:
        async with self.db.reading() as conn:
            rows = await fetch_all(conn, NEXT_ATTEMPT, {"now": now})
        return rows[0][0] if rows else None

    async def expired_leases(self, now: datetime) -> list[QueueItem]:
        return await self._select(and_(C.state == S.SENDING.value, C.lease_expires_at < now))

    async def delete(self, items: Sequence[QueueItem], event: HistoryEvent) -> None:
        now = self.clock.now()
        async with self.db.writing() as conn:
            for start in range(0, len(items), CHUNK):
                chunk = items[start : start + CHUNK]
                ids = [item.id for item in chunk]
                await conn.execute(delete(queue_torrent).where(queue_torrent.c.item_id.in_(ids)))
                result = await conn.execute(
                    delete(queue_item).where(C.id.in_(ids)).returning(*GONE_COLUMNS)
                )
                rows = result.all()
                if rows:
                    await conn.execute(insert(queue_history), [
                        gone_row(row, now, event.event, event.message) for row in rows])
        await self._wrote()

    async def delete_finished(self, before: datetime) -> int:
        now = self.clock.now()
        where = and_(C.state.in_(FINISHED), C.updated_at < before)
        async with self.db.writing() as conn:
            await conn.execute(delete(queue_torrent).where(
                queue_torrent.c.item_id.in_(select(C.id).where(where))
            ))
            result = await conn.execute(
                delete(queue_item).where(where).returning(*GONE_COLUMNS))
            rows = result.all()
            if rows:
                await conn.execute(insert(queue_history), [
                    gone_row(row, now, "cleanedUp", None) for row in rows])
        await self._wrote()
        return len(rows)

    # -- reads -------------------------------------------------------------------------

    async def history(self, item_id: int) -> list[HistoryEntry]:
        async with self.db.reading() as conn:
            rows = await conn.execute(
                select(*HISTORY_SELECT).where(H.item_id == item_id).order_by(H.id))
            return [row_to_history(row) for row in rows]

    async def history_page(self, query: HistoryQuery) -> tuple[int, list[HistoryEntry]]:
        where = history_where(query)
        order = (H.at, H.id) if query.ascending else (H.at.desc(), H.id.desc())
        async with self.db.reading() as conn:
            total = (await conn.execute(
                select(func.count()).select_from(queue_history).where(*where))).scalar_one()
            rows = await conn.execute(
                select(*HISTORY_SELECT).where(*where).order_by(*order)
                .limit(query.page_size).offset((query.page - 1) * query.page_size))
            return int(total), [row_to_history(row) for row in rows]

    async def delete_history(self, before: datetime) -> int:
        async with self.db.writing() as conn:
            result = await conn.execute(delete(queue_history).where(H.at < before))
        return int(result.rowcount or 0)

    async def get(self, item_id: int) -> QueueItem | None:
        async with self.db.reading() as conn:
            rows = await fetch_all(conn, GET, {"id": item_id})
        return row_to_item(rows[0]) if rows else None

    async def get_many(self, ids: Sequence[int]) -> list[QueueItem]:
        if not ids:
            return []
        found: dict[int, QueueItem] = {}
        async with self.db.reading() as conn:
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                params = {f"id{n}": i for n, i in enumerate(chunk)}
                for row in await fetch_all(conn, get_many_statement(len(chunk)), params):
                    found[row[0]] = row_to_item(row)
        return [found[i] for i in ids if i in found]

    async def get_torrent(self, item_id: int) -> bytes | None:
        async with self.db.reading() as conn:
            result = await conn.execute(
                select(queue_torrent.c.data).where(queue_torrent.c.item_id == item_id)
            )
            data = result.scalar_one_or_none()
        return bytes(data) if data is not None else None

    async def _find(self, active: bool, info_hash: str | None,
                    url_hash: str | None) -> QueueItem | None:
        """The oldest matching item by either key."""
        found: list[QueueItem] = []
        async with self.db.reading() as conn:
            for key, value in (("info_hash", info_hash), ("url_hash", url_hash)):
                if value is not None:
                    rows = await fetch_all(conn, FIND[key, active], {"key": value})
                    found += [row_to_item(row) for row in rows]
        return min(found, key=lambda item: item.id, default=None)

    async def find_active(self, info_hash: str | None, url_hash: str | None) -> QueueItem | None:
        return await self._find(True, info_hash, url_hash)

    async def find_completed(
        self, info_hash: str | None, url_hash: str | None
    ) -> QueueItem | None:
        return await self._find(False, info_hash, url_hash)

    async def counts(self) -> StateCounts:
        async with self.db.reading() as conn:
            counts, rows = await self._counts(conn)
        if rows > COUNTER_FOLD_ROWS:
            await self.fold_counters()
        return counts

    async def _counts(self, conn: AsyncConnection) -> tuple[StateCounts, int]:
        result = await fetch_all(conn, COUNTS)
        known: dict[ItemState, int] = {}
        unknown: dict[ItemState, int] = {}
        rows = 0
        for state, has_movie, n, count in result:
            rows += count
            if n and state in _STATES:
                (known if has_movie else unknown)[_STATES[state]] = int(n)
        return StateCounts(known, unknown), rows

    async def fold_counters(self) -> None:
        """Fold Postgres counter deltas into one row per key (SQLite keeps one anyway)."""
        if self.db.dialect != "postgresql":
            return
        async with self.db.writing() as conn:
            await conn.exec_driver_sql(
                "WITH d AS (DELETE FROM queue_counter RETURNING state, has_movie, n) "
                "INSERT INTO queue_counter (state, has_movie, n) "
                "SELECT state, has_movie, sum(n) FROM d GROUP BY state, has_movie"
            )

    async def _total(self, conn: AsyncConnection, flt: QueueFilter) -> int:
        return int((await fetch_all(conn, total_statement(flt)))[0][0])

    async def page(self, request: PageRequest) -> tuple[int, list[QueueItem]]:
        params = {"offset": request.offset, "limit": request.limit}
        async with self.db.reading() as conn:
            if request.limit > 0 and request.offset <= FORWARD_OFFSET:
                # One round trip: the total rides along as a column of every row.
                rows = await fetch_all(conn, page_statement(
                    request.sort_key, request.descending, False, request.filter,
                    with_total=True), params)
                if rows:
                    return int(rows[0][0]), [row_to_item(row[1:]) for row in rows]
            total = await self._total(conn, request.filter)
            offset, limit, reverse = window(request, total)
            if limit <= 0:
                return total, []
            rows = await fetch_all(conn, page_statement(
                request.sort_key, request.descending, reverse, request.filter,
                with_total=False), {"offset": offset, "limit": limit})
        items = [row_to_item(row) for row in rows]
        if reverse:
            items.reverse()
        return total, items

    async def page_ids(self, request: PageRequest) -> tuple[int, list[int]]:
        async with self.db.reading() as conn:
            total = await self._total(conn, request.filter)
            offset, limit, reverse = window(request, total)
            if limit <= 0:
                return total, []
            rows = await fetch_all(
                conn, ids_select(request.sort_key, request.descending, reverse, request.filter),
                {"offset": offset, "limit": limit},
            )
            ids = [row[0] for row in rows]
        if reverse:
            ids.reverse()
        return total, ids

    async def count(self, flt: QueueFilter) -> int:
        async with self.db.reading() as conn:
            return await self._total(conn, flt)

    async def movies(self, movie_id: int | None = None, tmdb_id: int | None = None
                     ) -> list[KnownMovie]:
        async with self.db.reading() as conn:
            rows = (await conn.execute(movies_select(movie_id, tmdb_id))).all()
        return [KnownMovie(key, title, year or None, tmdb, imdb, sort_title, added,
                           has_file=done is not None, size=size or 0, path=path)
                for key, title, year, tmdb, imdb, sort_title, added, done, size, path in rows]


def movies_select(movie_id: int | None, tmdb_id: int | None) -> Select[Any]:
    """QueueRepository.movies in one statement: the items grouped by movie id (through
    ix_queue_item_movie_id), each group's newest item and newest completed one joined
    back by primary key."""
    groups = select(C.movie_id.label("movie_id"), func.max(C.id).label("newest"),
                    func.min(C.added_at).label("first_added"),
                    func.max(case((C.state == S.COMPLETED.value, C.id))).label("done"),
                    ).where(C.movie_id.is_not(None))
    if movie_id is not None:
        groups = groups.where(C.movie_id == movie_id)
    g = groups.group_by(C.movie_id).subquery("g")
    n, d = queue_item.alias("n"), queue_item.alias("d")
    stmt = (select(g.c.movie_id, n.c.movie_title, n.c.movie_year, n.c.movie_tmdb_id,
                   n.c.movie_imdb_id, n.c.movie_sort_title, g.c.first_added, d.c.id, d.c.size,
                   d.c.output_path)
            .select_from(g.join(n, n.c.id == g.c.newest).outerjoin(d, d.c.id == g.c.done))
            .order_by(g.c.movie_id))
    return stmt if tmdb_id is None else stmt.where(n.c.movie_tmdb_id == tmdb_id)
