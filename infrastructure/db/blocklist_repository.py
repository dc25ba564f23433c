"""The blocklist repository on SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, delete, func, insert, or_, select

from core.blocklist import same_release
from core.domain import BlocklistEntry, DownloadProtocol, NewBlocklistEntry
from infrastructure.db.engine import Database
from infrastructure.db.fast import fetch_all
from infrastructure.db.mapping import BLOCKLIST_COLUMNS, blocklist_values, row_to_blocklist
from infrastructure.db.tables import blocklist

B = blocklist.c
_SELECT = [B[name] for name in BLOCKLIST_COLUMNS]

_FIND = (select(*_SELECT)
         .where(or_(B.info_hash == bindparam("info_hash", ""),
                    B.url_hash == bindparam("url_hash", ""),
                    B.title_key == bindparam("title_key", "")))
         .order_by(B.id).limit(1))

# Canonical (folded) sort key -> column, for GET /api/v3/blocklist.
SORT_COLUMNS = {
    "date": B.date,
    "sourcetitle": B.source_title,
    "indexer": B.indexer,
    "protocol": B.protocol,
    "movieid": B.movie_id,
}


_KEYS = select(B.info_hash, B.url_hash, B.title_key)


class SqlBlocklistRepository:
    """With `sole` (SQLite, where one process uses the database and every blocklist
    write comes through this object), the keys of every entry are kept in memory: a
    grab of a release that is not blocklisted, nearly every grab, asks the database
    nothing. The keys are read at the first lookup, added to on add and read again
    after a delete."""

    def __init__(self, db: Database, *, sole: bool = False) -> None:
        self.db = db
        self.sole = sole
        self._keys: frozenset[str] | None = None

    async def _known(self) -> frozenset[str]:
        if self._keys is None:
            async with self.db.reading() as conn:
                rows = await fetch_all(conn, _KEYS)
            self._keys = frozenset(k for row in rows for k in _row_keys(*row))
        return self._keys

    async def find(
        self, info_hash: str | None, url_hash: str | None, title: str | None
    ) -> BlocklistEntry | None:
        if info_hash is None and url_hash is None and not title:
            return None
        title_key = title.casefold() if title else None
        if self.sole and (await self._known()).isdisjoint(
                _row_keys(info_hash, url_hash, title_key)):
            return None
        async with self.db.reading() as conn:
            rows = await fetch_all(conn, _FIND, {
                "info_hash": info_hash, "url_hash": url_hash, "title_key": title_key,
            })
        return row_to_blocklist(rows[0]) if rows else None

    async def add(self, entry: NewBlocklistEntry) -> BlocklistEntry:
        existing = await self.find(*same_release(entry))
        if existing is not None:
            return existing
        values = blocklist_values(entry)
        async with self.db.writing() as conn:
            result = await conn.execute(insert(blocklist).values(values).returning(B.id))
            entry_id = result.scalar_one()
        if self._keys is not None:
            self._keys = self._keys | _row_keys(
                values["info_hash"], values["url_hash"], values["title_key"])
        values = {name: getattr(entry, name) for name in NewBlocklistEntry.__dataclass_fields__}
        return BlocklistEntry(id=entry_id, **values)

    async def page(
        self,
        offset: int,
        limit: int,
        sort_key: str,
        descending: bool,
        movie_ids: frozenset[int] | None,
        protocols: frozenset[DownloadProtocol] | None,
    ) -> tuple[int, list[BlocklistEntry]]:
        where = []
        if movie_ids is not None:
            where.append(B.movie_id.in_(sorted(movie_ids)))
        if protocols is not None:
            where.append(B.protocol.in_(sorted(int(p) for p in protocols)))
        column = SORT_COLUMNS[sort_key]
        ordering = [column.desc(), B.id.desc()] if descending else [column.asc(), B.id.asc()]
        async with self.db.reading() as conn:
            total = (await conn.execute(
                select(func.count()).select_from(blocklist).where(*where)
            )).scalar_one()
            if limit <= 0:
                return int(total), []
            rows = await conn.execute(
                select(*_SELECT).where(*where).order_by(*ordering).limit(limit).offset(offset)
            )
            return int(total), [row_to_blocklist(r) for r in rows]

    async def get_many(self, ids: Sequence[int]) -> list[BlocklistEntry]:
        if not ids:
            return []
        async with self.db.reading() as conn:
            rows = await conn.execute(select(*_SELECT).where(B.id.in_(list(ids))))
            found = {r[0]: row_to_blocklist(r) for r in rows}
        return [found[i] for i in ids if i in found]

    async def delete(self, ids: Sequence[int]) -> None:
        async with self.db.writing() as conn:
            await conn.execute(delete(blocklist).where(B.id.in_(list(ids))))
        self._keys = None  # read again: another entry may share a removed one's key


def _row_keys(info_hash: str | None, url_hash: str | None,
              title_key: str | None) -> frozenset[str]:
    """An entry's (or a lookup's) keys, each tagged with its column."""
    return frozenset(f"{tag}:{value}" for tag, value in
                     (("i", info_hash), ("u", url_hash), ("t", title_key)) if value)
