"""The queue repository's SQL, built once with SQLAlchemy Core and cached: every hot
statement takes bind parameters, so each is compiled once per dialect (see fast.py)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import Insert

from core.domain import FINISHED_STATES, ItemState
from core.leases import TRACKED, WAITING
from core.listing import (
    RADARR_STATUS_RANK,
    SORT_COLUMNS,
    PageRequest,
    QueueFilter,
    ascii_lower,
)
from infrastructure.db.mapping import ITEM_COLUMNS
from infrastructure.db.tables import queue_counter, queue_history, queue_item, queue_torrent

C = queue_item.c
ITEM_SELECT = [C[name] for name in ITEM_COLUMNS]
FINISHED = [s.value for s in FINISHED_STATES]
CHUNK = 500


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
    if flt.statuses is not None:
        # status_rank is the rank of the status shown (core.listing.shown_status), one
        # rank per status.
        where.append(C.status_rank.in_(sorted(RADARR_STATUS_RANK[s] for s in flt.statuses)))
    if flt.quality_ids is not None:
        where.append(C.quality_id.in_(sorted(flt.quality_ids)))
    if flt.search is not None:  # lower() folds ASCII on SQLite; the term is folded alike
        where.append(func.lower(C.title).contains(ascii_lower(flt.search), autoescape=True))
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


GET = select(*ITEM_SELECT).where(C.id == bindparam("id", 0))
# One lookup per key, each on its (hash, state) index: an OR of the two lets SQLite,
# which has no statistics until ANALYZE, plan the query on the state index instead.
FIND = {
    (key, active): select(*ITEM_SELECT).where(
        C[key] == bindparam("key", ""),
        C.state.not_in(FINISHED) if active else C.state == ItemState.COMPLETED.value,
    ).order_by(C.id).limit(1)
    for key in ("info_hash", "url_hash") for active in (True, False)
}
TRACKED_WHERE = and_(C.state.in_(sorted(s.value for s in TRACKED)), C.download_id.is_not(None))
TRACKED_VERSIONS = select(C.id, C.version).where(TRACKED_WHERE)
# core.leases.due_later: through ix_queue_item_state (few items wait to retry).
NEXT_ATTEMPT = select(func.min(C.next_attempt_at)).where(
    C.state.in_(sorted(s.value for s in WAITING)), C.download_id.is_(None),
    C.next_attempt_at > bindparam("now", None, type_=C.next_attempt_at.type))
COUNTS = (select(queue_counter.c.state, queue_counter.c.has_movie,
                  func.sum(queue_counter.c.n), func.count())
           .group_by(queue_counter.c.state, queue_counter.c.has_movie))


def is_unique_violation(exc: BaseException) -> bool:
    """A unique index refused a row (SQLAlchemy's, sqlite3's or asyncpg's error)."""
    return isinstance(exc, IntegrityError) or type(exc).__name__ in (
        "IntegrityError", "UniqueViolationError")


INSERT_COLUMNS = [column.name for column in queue_item.c if column.name != "id"]


def _not_completed(key: str) -> ColumnElement[bool]:
    """No completed item has this key (a NULL key matches nothing)."""
    done = queue_item.alias(f"done_by_{key}")
    return ~exists().where(done.c[key] == bindparam(f"guard_{key}", type_=C[key].type),
                           done.c.state == ItemState.COMPLETED.value)


# The item row, unless a completed item has the same key: the completed check is atomic
# with the insert. No row back means "already completed".
INSERT_ITEM = (
    insert(queue_item)
    .from_select(INSERT_COLUMNS, select(
        *(bindparam(name, type_=C[name].type) for name in INSERT_COLUMNS)
    ).where(_not_completed("info_hash"), _not_completed("url_hash")))
    .returning(C.id)
)
INSERT_TORRENT = insert(queue_torrent).values(
    item_id=bindparam("item_id", type_=queue_torrent.c.item_id.type),
    data=bindparam("t_data", type_=queue_torrent.c.data.type))
INSERT_HISTORY = insert(queue_history).values(
    item_id=bindparam("item_id", type_=queue_history.c.item_id.type),
    at=bindparam("h_at", type_=queue_history.c.at.type),
    event=bindparam("h_event", type_=queue_history.c.event.type),
    to_state=ItemState.QUEUED.value,
    message=bindparam("h_message", type_=queue_history.c.message.type),
    source_title=bindparam("title", type_=queue_history.c.source_title.type),
    movie_id=bindparam("movie_id", type_=queue_history.c.movie_id.type),
    download_id=bindparam("info_hash", type_=queue_history.c.download_id.type))


@lru_cache(maxsize=2)
def insert_statement(with_torrent: bool) -> Insert:
    """INSERT item -> (torrent) -> history as data-modifying CTEs (Postgres only)."""
    new = INSERT_ITEM.cte("new_item")
    h = queue_history.c
    statement = insert(queue_history).from_select(
        ["item_id", "at", "event", "from_state", "to_state", "message", "source_title",
         "movie_id", "download_id"],
        select(new.c.id, bindparam("h_at", type_=h.at.type),
               bindparam("h_event", type_=h.event.type), null(),
               literal(ItemState.QUEUED.value, type_=h.to_state.type),
               bindparam("h_message", type_=h.message.type),
               bindparam("title", type_=h.source_title.type),
               bindparam("movie_id", type_=h.movie_id.type),
               bindparam("info_hash", type_=h.download_id.type)),
    ).returning(h.item_id)
    if with_torrent:
        statement = statement.add_cte(insert(queue_torrent).from_select(
            ["item_id", "data"],
            select(new.c.id, bindparam("t_data", type_=queue_torrent.c.data.type)),
        ).cte("new_torrent"))
    return statement


@lru_cache(maxsize=CHUNK + 1)
def get_many_statement(n: int) -> Select[Any]:
    return select(*ITEM_SELECT).where(C.id.in_([bindparam(f"id{i}", 0) for i in range(n)]))


# Pages that start this close to the front are read forwards in one statement.
FORWARD_OFFSET = 1000


@lru_cache(maxsize=512)
def ids_select(sort_key: str, descending: bool, reverse: bool, flt: QueueFilter) -> Select[Any]:
    return (
        select(C.id)
        .where(*filter_clauses(flt))
        .order_by(*order_by(sort_key, descending, reverse))
        .limit(bindparam("limit", 0))
        .offset(bindparam("offset", 0))
    )


@lru_cache(maxsize=512)
def total_statement(flt: QueueFilter) -> Select[Any]:
    """The number of items matching a filter: from the counters when they can say."""
    if not flt.counter_only:
        return select(func.count()).select_from(queue_item).where(*filter_clauses(flt))
    K = queue_counter.c
    where: list[ColumnElement[bool]] = []
    if not flt.include_unknown:
        where.append(K.has_movie.is_(True))
    states = flt.counter_states
    if states is not None:
        where.append(K.state.in_(sorted(s.value for s in states)))
    return select(func.coalesce(func.sum(K.n), 0)).where(*where)


@lru_cache(maxsize=512)
def page_statement(sort_key: str, descending: bool, reverse: bool, flt: QueueFilter,
                    with_total: bool) -> Select[Any]:
    """A page of full rows through a deferred join (index-only scan for the ids, then
    50 row fetches), optionally with the filter's total as the first column."""
    ids = ids_select(sort_key, descending, reverse, flt).subquery()
    columns: list[Any] = list(ITEM_SELECT)
    if with_total:
        columns.insert(0, total_statement(flt).scalar_subquery().label("total"))
    return (select(*columns).join(ids, ids.c.id == C.id)
            .order_by(*order_by(sort_key, descending, reverse)))


def window(request: PageRequest, total: int) -> tuple[int, int, bool]:
    """(offset, limit, reversed): pages past the middle are read from the far end, so
    the last page costs what the first does."""
    offset, limit = request.offset, request.limit
    end = min(offset + limit, total)
    if offset >= total or limit <= 0:
        return offset, 0, False
    if offset > total // 2:
        return total - end, end - offset, True
    return offset, end - offset, False


