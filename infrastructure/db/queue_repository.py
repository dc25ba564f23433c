"""The queue repository on SQLAlchemy Core, one implementation for SQLite and Postgres.
Dialect-specific parts: the counter table (see tables.QueueCounterRow) and nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

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

    # -- writes ------------------------------------------------------------------------

    async def add(self, item: NewItem, event: HistoryEvent) -> QueueItem:
        try:
            async with self.db.writing() as conn:
                result = await conn.execute(
                    insert(queue_item).values(insert_values(item)).returning(C.id)
                )
                item_id = result.scalar_one()
                if item.torrent is not None:
                    await conn.execute(insert(queue_torrent).values(item_id=item_id,
                                                                    data=item.torrent))
                await conn.execute(insert(queue_history).values(
                    item_id=item_id, at=item.added_at, event=event.event, from_state=None,
                    to_state=ItemState.QUEUED.value, message=event.message,
                ))
        except IntegrityError:
            existing = await self.find_active(item.info_hash, item.url_hash)
            if existing is None:
                raise
            raise Duplicate(
                f"Release {item.title!r} is already in the queue as item {existing.id}",
                existing.id,
            ) from None
        return materialise(item, item_id)

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
            row = (await conn.execute(select(*_ITEM_SELECT).where(C.id == item_id))).first()
        return row_to_item(row) if row is not None else None

    async def get_many(self, ids: Sequence[int]) -> list[QueueItem]:
        if not ids:
            return []
        found: dict[int, QueueItem] = {}
        async with self.db.reading() as conn:
            for start in range(0, len(ids), CHUNK):
                chunk = list(ids[start : start + CHUNK])
                rows = await conn.execute(select(*_ITEM_SELECT).where(C.id.in_(chunk)))
                for row in rows:
                    found[row[0]] = row_to_item(row)
        return [found[i] for i in ids if i in found]

    async def get_torrent(self, item_id: int) -> bytes | None:
        async with self.db.reading() as conn:
            result = await conn.execute(
                select(queue_torrent.c.data).where(queue_torrent.c.item_id == item_id)
            )
            data = result.scalar_one_or_none()
        return bytes(data) if data is not None else None

    async def _find(self, info_hash: str | None, url_hash: str | None,
                    state: ColumnElement[bool]) -> QueueItem | None:
        keys = []
        if info_hash is not None:
            keys.append(C.info_hash == info_hash)
        if url_hash is not None:
            keys.append(C.url_hash == url_hash)
        if not keys:
            return None
        async with self.db.reading() as conn:
            row = (await conn.execute(
                select(*_ITEM_SELECT).where(or_(*keys), state).order_by(C.id).limit(1)
            )).first()
        return row_to_item(row) if row is not None else None

    async def find_active(self, info_hash: str | None, url_hash: str | None) -> QueueItem | None:
        return await self._find(info_hash, url_hash, C.state.not_in(_FINISHED))

    async def find_completed(
        self, info_hash: str | None, url_hash: str | None
    ) -> QueueItem | None:
        return await self._find(info_hash, url_hash, C.state == ItemState.COMPLETED.value)

    async def counts(self) -> StateCounts:
        async with self.db.reading() as conn:
            counts, rows = await self._counts(conn)
        if rows > COUNTER_FOLD_ROWS:
            await self.fold_counters()
        return counts

    async def _counts(self, conn: AsyncConnection) -> tuple[StateCounts, int]:
        result = await conn.execute(
            select(queue_counter.c.state, queue_counter.c.has_movie,
                   func.sum(queue_counter.c.n), func.count())
            .group_by(queue_counter.c.state, queue_counter.c.has_movie)
        )
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
        if flt.counter_only:
            counts, _ = await self._counts(conn)
            return counts.total(flt.include_unknown, flt.states)
        result = await conn.execute(
            select(func.count()).select_from(queue_item).where(*filter_clauses(flt))
        )
        return int(result.scalar_one())

    async def page(self, request: PageRequest) -> tuple[int, list[QueueItem]]:
        async with self.db.reading() as conn:
            total = await self._total(conn, request.filter)
            offset, limit, reverse = _window(request, total)
            if limit <= 0:
                return total, []
            ordering = order_by(request.sort_key, request.descending, reverse)
            ids = (
                select(C.id)
                .where(*filter_clauses(request.filter))
                .order_by(*ordering)
                .limit(limit)
                .offset(offset)
                .subquery()
            )
            rows = await conn.execute(
                select(*_ITEM_SELECT).join(ids, ids.c.id == C.id).order_by(*ordering)
            )
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
            rows = await conn.execute(
                select(C.id)
                .where(*filter_clauses(request.filter))
                .order_by(*order_by(request.sort_key, request.descending, reverse))
                .limit(limit)
                .offset(offset)
            )
            ids = [row[0] for row in rows]
        if reverse:
            ids.reverse()
        return total, ids

    async def count(self, flt: QueueFilter) -> int:
        async with self.db.reading() as conn:
            return await self._total(conn, flt)

