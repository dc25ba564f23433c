"""The reference (in-memory) repositories for tags and quality definitions: what the SQL
ones must agree with (tests/contracts)."""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import BadRequest, NotFound
from core.sizes import QualityDefinition
from core.tags import Tag


class MemoryTagRepository:
    def __init__(self) -> None:
        self._rows: dict[int, Tag] = {}
        self._next_id = 1

    async def list(self) -> list[Tag]:
        return [self._rows[i] for i in sorted(self._rows)]

    def _check(self, label: str, tag_id: int | None) -> None:
        if any(t.label == label and t.id != tag_id for t in self._rows.values()):
            raise BadRequest(f"A tag labelled {label!r} exists already")

    async def add(self, label: str) -> Tag:
        self._check(label, None)
        tag = Tag(self._next_id, label)
        self._next_id += 1
        self._rows[tag.id] = tag
        return tag

    async def update(self, tag: Tag) -> Tag:
        if tag.id not in self._rows:
            raise NotFound(f"Tag {tag.id} does not exist")
        self._check(tag.label, tag.id)
        self._rows[tag.id] = tag
        return tag

    async def delete(self, tag_id: int) -> None:
        if self._rows.pop(tag_id, None) is None:
            raise NotFound(f"Tag {tag_id} does not exist")


class MemoryQualityDefinitionRepository:
    def __init__(self) -> None:
        self._rows: dict[int, QualityDefinition] = {}

    async def list(self) -> list[QualityDefinition]:
        return [self._rows[i] for i in sorted(self._rows)]

    async def save(self, definitions: Sequence[QualityDefinition]) -> None:
        for d in definitions:
            self._rows[d.quality.id] = d
