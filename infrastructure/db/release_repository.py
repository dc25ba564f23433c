"""Custom formats, quality profiles and candidate releases on SQLAlchemy Core (cold
paths: plain statements)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from core.errors import BadRequest, NotFound
from core.formats import CustomFormat
from core.notifications import NotificationConfig
from core.ports import Named, StoredCandidate
from core.profiles import QualityProfile
from core.release import Release
from infrastructure.db.engine import Database
from infrastructure.db.release_mapping import (
    dump_format,
    dump_notification,
    dump_profile,
    dump_release,
    load_format,
    load_notification,
    load_profile,
    load_release,
)
from infrastructure.db.tables import (
    custom_format,
    notification,
    quality_profile,
    release_candidate,
)
from infrastructure.db.upsert import upsert

T = TypeVar("T", bound=Named)


class _SqlDocuments(Generic[T]):
    """A table of named documents (id, unique name, JSON body)."""

    what = "document"

    def __init__(self, db: Database, table: Table, dump: Callable[[T], str],
                 load: Callable[[int, str, str], T]) -> None:
        self.db, self.table, self._dump, self._load = db, table, dump, load

    async def list(self) -> list[T]:
        async with self.db.reading() as conn:
            rows = (await conn.execute(select(self.table).order_by(self.table.c.id))).all()
        return [self._load(r.id, r.name, r.body) for r in rows]

    def _taken(self, item: T) -> BadRequest:
        return BadRequest(f"A {self.what} named {item.name!r} exists already")

    async def add(self, item: T) -> T:
        try:
            async with self.db.writing() as conn:
                new_id = (await conn.execute(
                    insert(self.table).values(name=item.name, body=self._dump(item))
                    .returning(self.table.c.id))).scalar_one()
        except IntegrityError:
            raise self._taken(item) from None
        return replace(item, id=new_id)  # type: ignore[type-var]

    async def update(self, item: T) -> T:
        try:
            async with self.db.writing() as conn:
                result = await conn.execute(
                    update(self.table).where(self.table.c.id == item.id)
                    .values(name=item.name, body=self._dump(item)))
        except IntegrityError:
            raise self._taken(item) from None
        if result.rowcount == 0:
            raise NotFound(f"{self.what.capitalize()} {item.id} does not exist")
        return item

    async def delete(self, item_id: int) -> None:
        async with self.db.writing() as conn:
            result = await conn.execute(delete(self.table).where(self.table.c.id == item_id))
        if result.rowcount == 0:
            raise NotFound(f"{self.what.capitalize()} {item_id} does not exist")


class SqlCustomFormatRepository(_SqlDocuments[CustomFormat]):
    what = "custom format"

    def __init__(self, db: Database) -> None:
        super().__init__(db, custom_format, dump_format, load_format)


class SqlQualityProfileRepository(_SqlDocuments[QualityProfile]):
    what = "quality profile"

    def __init__(self, db: Database) -> None:
        super().__init__(db, quality_profile, dump_profile, load_profile)


class SqlNotificationRepository(_SqlDocuments[NotificationConfig]):
    what = "notification"

    def __init__(self, db: Database) -> None:
        super().__init__(db, notification, dump_notification, load_notification)


C = release_candidate.c


def _candidate(row: Any) -> StoredCandidate:
    return StoredCandidate(id=row.id, movie_key=row.movie_key,
                           release=load_release(row.release), added_at=row.added_at,
                           profile_id=row.profile_id, item_id=row.item_id)


class SqlCandidateRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, movie_key: str, releases: Sequence[Release], profile_id: int | None,
                  at: datetime) -> list[StoredCandidate]:
        keys = list(dict.fromkeys(r.key for r in releases))
        fresh: dict[str, Release] = {}
        for release in releases:
            fresh.setdefault(release.key, release)  # the first of twins wins
        if not fresh:
            return []
        # Concurrent adds of one release: the unique (movie_key, release_key) index
        # keeps one; the others' inserts do nothing and they read the one kept.
        statement = upsert(self.db.dialect, release_candidate).on_conflict_do_nothing(
            index_elements=[C.movie_key, C.release_key])
        async with self.db.writing() as conn:
            await conn.execute(statement, [
                {"movie_key": movie_key, "release_key": key, "release": dump_release(r),
                 "profile_id": profile_id, "item_id": None, "added_at": at}
                for key, r in fresh.items()])
            rows = (await conn.execute(select(release_candidate).where(
                C.movie_key == movie_key, C.release_key.in_(keys)))).all()
        by_key = {row.release_key: _candidate(row) for row in rows}
        return [by_key[r.key] for r in releases]

    async def for_movie(self, movie_key: str) -> list[StoredCandidate]:
        async with self.db.reading() as conn:
            rows = (await conn.execute(select(release_candidate).where(
                C.movie_key == movie_key).order_by(C.id))).all()
        return [_candidate(row) for row in rows]

    async def for_item(self, item_id: int) -> StoredCandidate | None:
        async with self.db.reading() as conn:
            row = (await conn.execute(select(release_candidate).where(
                C.item_id == item_id).order_by(C.id.desc()).limit(1))).first()
        return _candidate(row) if row is not None else None

    async def link(self, candidate_id: int, item_id: int) -> None:
        async with self.db.writing() as conn:
            await conn.execute(update(release_candidate).where(C.id == candidate_id)
                               .values(item_id=item_id))

    async def delete_before(self, before: datetime) -> int:
        async with self.db.writing() as conn:
            result = await conn.execute(delete(release_candidate).where(C.added_at < before))
        return int(result.rowcount or 0)
