"""The queue repository on SQLAlchemy Core, one implementation for SQLite and Postgres.
Dialect-specific parts: the counter table (see tables.QueueCounterRow) and nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from core.domain import (
    FINISHED_STATES,
    HistoryEntry,
    HistoryEvent,
    ItemState,
    NewItem,
    QueueItem,
    StateCounts,
    materialise,
)
from core.errors import ConcurrentModification, Duplicate
from core.listing import SORT_COLUMNS, PageRequest, QueueFilter
from core.ports import Clock
from infrastructure.db.engine import Database
from infrastructure.db.fast import fetch_all
from infrastructure.db.mapping import ITEM_COLUMNS, insert_values, row_to_item, update_values
from infrastructure.db.tables import queue_counter, queue_history, queue_item, queue_torrent

C = queue_item.c
_ITEM_SELECT = [C[name] for name in ITEM_COLUMNS]
_FINISHED = [s.value for s in FINISHED_STATES]
_STATES = {s.value: s for s in ItemState}
CHUNK = 500
# Postgres appends counter deltas; fold them once there are this many rows.
COUNTER_FOLD_ROWS = 256


def filter_clauses(flt: QueueFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if not flt.include_unknown:
        where.append(C.movie_id.is_not(None))
    if flt.movie_ids is not None:
        where.append(C.movie_id.in_(sorted(flt.movie_ids)))
    if flt.protocol is not None:
        where.append(C.protocol == int(flt.protocol))
    if flt.states is not None:
        where.append(C.state.in_(sorted(s.value for s in flt.states)))
    if flt.quality_ids is not None:
        where.append(C.quality_id.in_(sorted(flt.quality_ids)))
    if flt.language_ids is not None:
        where.append(or_(*(C.language_ids.like(f"%,{int(i)},%") for i in sorted(flt.language_ids))))
    return where


def order_by(sort_key: str, descending: bool, reverse: bool = False) -> list[Any]:
    """Radarr's order: key, then progress descending, then id (in the key's direction).
    `reverse` gives the exact reverse, used to read deep pages from the far end."""
    key = C[SORT_COLUMNS[sort_key]]
    key_desc, progress_desc, id_desc = descending, True, descending
    if reverse:
        key_desc, progress_desc, id_desc = not key_desc, not progress_desc, not id_desc
    if key is C.progress:  # the key is its own tie-break
        cols = [(key, key_desc), (C.id, id_desc)]
    else:
        cols = [(key, key_desc), (C.progress, progress_desc), (C.id, id_desc)]
    return [c.desc() if d else c.asc() for c, d in cols]


_GET = select(*_ITEM_SELECT).where(C.id == bindparam("id", 0))
# One lookup per key, each on its (hash, state) index: an OR of the two lets SQLite,
# which has no statistics until ANALYZE, plan the query on the state index instead.
_FIND = {
    (key, active): select(*_ITEM_SELECT).where(
        C[key] == bindparam("key", ""),
        C.state.not_in(_FINISHED) if active else C.state == ItemState.COMPLETED.value,
    ).order_by(C.id).limit(1)
    for key in ("info_hash", "url_hash") for active in (True, False)
}
_COUNTS = (select(queue_counter.c.state, queue_counter.c.has_movie,
                  func.sum(queue_counter.c.n), func.count())
           .group_by(queue_counter.c.state, queue_counter.c.has_movie))


def is_unique_violation(exc: BaseException) -> bool:
    """A unique index refused a row (SQLAlchemy's, sqlite3's or asyncpg's error)."""
    return isinstance(exc, IntegrityError) or type(exc).__name__ in (
        "IntegrityError", "UniqueViolationError")


_INSERT_COLUMNS = [column.name for column in queue_item.c if column.name != "id"]
_INSERT_ITEM = (insert(queue_item)
                .values({name: bindparam(name, type_=C[name].type) for name in _INSERT_COLUMNS})
                .returning(C.id))
_INSERT_TORRENT = insert(queue_torrent).values(
    item_id=bindparam("item_id", type_=queue_torrent.c.item_id.type),
    data=bindparam("t_data", type_=queue_torrent.c.data.type))
_INSERT_HISTORY = insert(queue_history).values(
    item_id=bindparam("item_id", type_=queue_history.c.item_id.type),
    at=bindparam("h_at", type_=queue_history.c.at.type),
    event=bindparam("h_event", type_=queue_history.c.event.type),
    to_state=ItemState.QUEUED.value,
    message=bindparam("h_message", type_=queue_history.c.message.type))


@lru_cache(maxsize=2)
def _insert_statement(with_torrent: bool) -> Insert:
    """INSERT item -> (torrent) -> history as data-modifying CTEs (Postgres only)."""
    new = _INSERT_ITEM.cte("new_item")
    h = queue_history.c
    statement = insert(queue_history).from_select(
        ["item_id", "at", "event", "from_state", "to_state", "message"],
        select(new.c.id, bindparam("h_at", type_=h.at.type),
               bindparam("h_event", type_=h.event.type), null(),
               literal(ItemState.QUEUED.value, type_=h.to_state.type),
               bindparam("h_message", type_=h.message.type)),
    ).returning(h.item_id)
    if with_torrent:
        statement = statement.add_cte(insert(queue_torrent).from_select(
            ["item_id", "data"],
            select(new.c.id, bindparam("t_data", type_=queue_torrent.c.data.type)),
        ).cte("new_torrent"))
    return statement


@lru_cache(maxsize=CHUNK + 1)
def _get_many_statement(n: int) -> Select[Any]:
    return select(*_ITEM_SELECT).where(C.id.in_([bindparam(f"id{i}", 0) for i in range(n)]))


# Pages that start this close to the front are read forwards in one statement.
FORWARD_OFFSET = 1000


@lru_cache(maxsize=512)
def _ids_select(sort_key: str, descending: bool, reverse: bool, flt: QueueFilter) -> Select[Any]:
    return (
        select(C.id)
        .where(*filter_clauses(flt))
        .order_by(*order_by(sort_key, descending, reverse))
        .limit(bindparam("limit", 0))
        .offset(bindparam("offset", 0))
    )


@lru_cache(maxsize=512)
def _total_statement(flt: QueueFilter) -> Select[Any]:
    """The number of items matching a filter: from the counters when they can say."""
    if not flt.counter_only:
        return select(func.count()).select_from(queue_item).where(*filter_clauses(flt))
    K = queue_counter.c
    where: list[ColumnElement[bool]] = []
    if not flt.include_unknown:
        where.append(K.has_movie.is_(True))
    if flt.states is not None:
        where.append(K.state.in_(sorted(s.value for s in flt.states)))
    return select(func.coalesce(func.sum(K.n), 0)).where(*where)


@lru_cache(maxsize=512)
def _page_statement(sort_key: str, descending: bool, reverse: bool, flt: QueueFilter,
                    with_total: bool) -> Select[Any]:
    """A page of full rows through a deferred join (index-only scan for the ids, then
    50 row fetches), optionally with the filter's total as the first column."""
    ids = _ids_select(sort_key, descending, reverse, flt).subquery()
    columns: list[Any] = list(_ITEM_SELECT)
    if with_total:
        columns.insert(0, _total_statement(flt).scalar_subquery().label("total"))
    return (select(*columns).join(ids, ids.c.id == C.id)
            .order_by(*order_by(sort_key, descending, reverse)))


def _window(request: PageRequest, total: int) -> tuple[int, int, bool]:
    """(offset, limit, reversed): pages past the middle are read from the far end, so
    the last page costs what the first does."""
    offset, limit = request.offset, request.limit
    end = min(offset + limit, total)
    if offset >= total or limit <= 0:
        return offset, 0, False
    if offset > total // 2:
        return total - end, end - offset, True
    return offset, end - offset, False


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

    async def add(self, item: NewItem, event: HistoryEvent) -> QueueItem:
        if self.db.dialect == "postgresql":
            return await self._add_in_one_statement(item, event)
        params = insert_values(item)
        params.update(h_at=item.added_at, h_event=event.event, h_message=event.message,
                      t_data=item.torrent)
        try:
            async with self.db.writing() as conn:
                rows = await fetch_all(conn, _INSERT_ITEM, params)
                params["item_id"] = rows[0][0]
                if item.torrent is not None:
                    await fetch_all(conn, _INSERT_TORRENT, params)
                await fetch_all(conn, _INSERT_HISTORY, params)
        except Exception as exc:
            await self._raise_duplicate(exc, item)
            raise
        return materialise(item, int(params["item_id"]))

    async def _add_in_one_statement(self, item: NewItem, event: HistoryEvent) -> QueueItem:
        """Postgres: item, torrent and history rows in one atomic statement (one round
        trip, no explicit transaction)."""
        params = insert_values(item)
        params.update(h_at=item.added_at, h_event=event.event, h_message=event.message,
                      t_data=item.torrent)
        try:
            async with self.db.reading() as conn:
                rows = await fetch_all(conn, _insert_statement(item.torrent is not None), params)
        except Exception as exc:
            await self._raise_duplicate(exc, item)
            raise
        await self._wrote()
        return materialise(item, int(rows[0][0]))

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
        saved: list[QueueItem] = []
        history: list[dict[str, Any]] = []
        try:
            async with self.db.writing() as conn:
                for old, new in changes:
                    values = update_values(old, new)
                    values["version"] = old.version + 1
                    result = await conn.execute(
                        update(queue_item)
                        .where(C.id == old.id, C.version == old.version)
                        .values(values)
                    )
                    if result.rowcount != 1:
                        raise ConcurrentModification(
                            f"Item {old.id} changed while it was being updated; try again"
                        )
                    saved.append(new.evolve(version=old.version + 1))
                    history.append({"item_id": old.id, "at": new.updated_at,
                                    "event": event.event, "from_state": old.state.value,
                                    "to_state": new.state.value, "message": event.message})
                if history:
                    await conn.execute(insert(queue_history), history)
        except IntegrityError:
            for _, new in changes:
                other = await self.find_active(new.info_hash, new.url_hash)
                if other is not None and other.id != new.id:
                    raise Duplicate(
                        f"Item {new.id} would duplicate active item {other.id}", other.id
                    ) from None
            raise
        await self._wrote()
        return saved

    async def delete(self, items: Sequence[QueueItem], event: HistoryEvent) -> None:
        now = self.clock.now()
        async with self.db.writing() as conn:
            for start in range(0, len(items), CHUNK):
                chunk = items[start : start + CHUNK]
                ids = [item.id for item in chunk]
                await conn.execute(delete(queue_torrent).where(queue_torrent.c.item_id.in_(ids)))
                result = await conn.execute(
                    delete(queue_item).where(C.id.in_(ids)).returning(C.id, C.state)
                )
                rows = result.all()
                if rows:
                    await conn.execute(insert(queue_history), [
                        {"item_id": i, "at": now, "event": event.event, "from_state": state,
                         "to_state": None, "message": event.message} for i, state in rows
                    ])
        await self._wrote()

    async def delete_finished(self, before: datetime) -> int:
        now = self.clock.now()
        where = and_(C.state.in_(_FINISHED), C.updated_at < before)
        async with self.db.writing() as conn:
            await conn.execute(delete(queue_torrent).where(
                queue_torrent.c.item_id.in_(select(C.id).where(where))
            ))
            result = await conn.execute(delete(queue_item).where(where).returning(C.id, C.state))
            rows = result.all()
            if rows:
                await conn.execute(insert(queue_history), [
                    {"item_id": i, "at": now, "event": "cleanedUp", "from_state": state,
                     "to_state": None, "message": None} for i, state in rows
                ])
        await self._wrote()
        return len(rows)

    # -- reads -------------------------------------------------------------------------

    async def history(self, item_id: int) -> list[HistoryEntry]:
        h = queue_history.c
        async with self.db.reading() as conn:
            rows = await conn.execute(
                select(h.item_id, h.at, h.event, h.from_state, h.to_state, h.message)
                .where(h.item_id == item_id).order_by(h.id)
            )
            return [
                HistoryEntry(i, at, event, _STATES.get(old) if old else None,
                             _STATES.get(new) if new else None, message)
                for i, at, event, old, new, message in rows
            ]

    async def get(self, item_id: int) -> QueueItem | None:
        async with self.db.reading() as conn:
            rows = await fetch_all(conn, _GET, {"id": item_id})
        return row_to_item(rows[0]) if rows else None

    async def get_many(self, ids: Sequence[int]) -> list[QueueItem]:
        if not ids:
            return []
        found: dict[int, QueueItem] = {}
        async with self.db.reading() as conn:
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                params = {f"id{n}": i for n, i in enumerate(chunk)}
                for row in await fetch_all(conn, _get_many_statement(len(chunk)), params):
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
                    rows = await fetch_all(conn, _FIND[key, active], {"key": value})
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
        result = await fetch_all(conn, _COUNTS)
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
        return int((await fetch_all(conn, _total_statement(flt)))[0][0])

    async def page(self, request: PageRequest) -> tuple[int, list[QueueItem]]:
        params = {"offset": request.offset, "limit": request.limit}
        async with self.db.reading() as conn:
            if request.limit > 0 and request.offset <= FORWARD_OFFSET:
                # One round trip: the total rides along as a column of every row.
                rows = await fetch_all(conn, _page_statement(
                    request.sort_key, request.descending, False, request.filter,
                    with_total=True), params)
                if rows:
                    return int(rows[0][0]), [row_to_item(row[1:]) for row in rows]
            total = await self._total(conn, request.filter)
            offset, limit, reverse = _window(request, total)
            if limit <= 0:
                return total, []
            rows = await fetch_all(conn, _page_statement(
                request.sort_key, request.descending, reverse, request.filter,
                with_total=False), {"offset": offset, "limit": limit})
        items = [row_to_item(row) for row in rows]
        if reverse:
            items.reverse()
        return total, items

    async def page_ids(self, request: PageRequest) -> tuple[int, list[int]]:
        async with self.db.reading() as conn:
            total = await self._total(conn, request.filter)
            offset, limit, reverse = _window(request, total)
            if limit <= 0:
                return total, []
            rows = await fetch_all(
                conn, _ids_select(request.sort_key, request.descending, reverse, request.filter),
                {"offset": offset, "limit": limit},
            )
            ids = [row[0] for row in rows]
        if reverse:
            ids.reverse()
        return total, ids

    async def count(self, flt: QueueFilter) -> int:
        async with self.db.reading() as conn:
            return await self._total(conn, flt)

