"""The reference (in-memory) repositories for custom formats, quality profiles and
candidate releases: what the SQL ones must agree with (tests/contracts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Generic, TypeVar

from core.errors import BadRequest, NotFound
from core.formats import CustomFormat
from core.notifications import NotificationConfig
from core.ports import Named, StoredCandidate
from core.profiles import QualityProfile
from core.release import Release

T = TypeVar("T", bound=Named)


class _MemoryDocuments(Generic[T]):
    what = "document"

    def __init__(self) -> None:
        self._rows: dict[int, T] = {}
        self._next_id = 1

    async def list(self) -> list[T]:
        return [self._rows[i] for i in sorted(self._rows)]

    def _check_name(self, item: T, item_id: int | None) -> None:
        if any(r.name == item.name and r.id != item_id for r in self._rows.values()):
            raise BadRequest(f"A {self.what} named {item.name!r} exists already")

    async def add(self, item: T) -> T:
        self._check_name(item, None)
        stored: T = replace(item, id=self._next_id)  # type: ignore[type-var]
        self._next_id += 1
        self._rows[stored.id] = stored
        return stored

    async def update(self, item: T) -> T:
        if item.id not in self._rows:
            raise NotFound(f"{self.what.capitalize()} {item.id} does not exist")
        self._check_name(item, item.id)
        self._rows[item.id] = item
        return item

    async def delete(self, item_id: int) -> None:
        if self._rows.pop(item_id, None) is None:
            raise NotFound(f"{self.what.capitalize()} {item_id} does not exist")


class MemoryCustomFormatRepository(_MemoryDocuments[CustomFormat]):
    what = "custom format"


class MemoryQualityProfileRepository(_MemoryDocuments[QualityProfile]):
    what = "quality profile"


class MemoryNotificationRepository(_MemoryDocuments[NotificationConfig]):
    what = "notification"


class MemoryCandidateRepository:
    def __init__(self) -> None:
        self._rows: dict[int, StoredCandidate] = {}
        self._next_id = 1

    async def add(self, movie_key: str, releases: Sequence[Release], profile_id: int | None,
                  at: datetime) -> list[StoredCandidate]:
        mine = {c.release.key: c for c in self._rows.values() if c.movie_key == movie_key}
        out = []
        for release in releases:
            if release.key not in mine:
                mine[release.key] = StoredCandidate(self._next_id, movie_key, release, at,
                                                    profile_id)
                self._rows[self._next_id] = mine[release.key]
                self._next_id += 1
            out.append(mine[release.key])
        return out

    async def for_movie(self, movie_key: str) -> list[StoredCandidate]:
        return [c for _, c in sorted(self._rows.items()) if c.movie_key == movie_key]

    async def for_item(self, item_id: int) -> StoredCandidate | None:
        return next((c for _, c in sorted(self._rows.items(), reverse=True)
                     if c.item_id == item_id), None)

    async def link(self, candidate_id: int, item_id: int) -> None:
        if candidate_id in self._rows:
            self._rows[candidate_id] = replace(self._rows[candidate_id], item_id=item_id)

    async def delete_before(self, before: datetime) -> int:
        gone = [i for i, c in self._rows.items() if c.added_at < before]
        for i in gone:
            del self._rows[i]
        return len(gone)
