"""Tags and quality definitions on SQLAlchemy Core (cold paths: plain statements)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from core.errors import BadRequest, NotFound
from core.quality import QUALITY_BY_ID
from core.sizes import QualityDefinition
from core.tags import Tag
from infrastructure.db.engine import Database
from infrastructure.db.tables import quality_definition, tag
from infrastructure.db.upsert import upsert

T = tag.c
Q = quality_definition.c


class SqlTagRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(self) -> list[Tag]:
        async with self.db.reading() as conn:
            rows = (await conn.execute(select(T.id, T.label).order_by(T.id))).all()
        return [Tag(row.id, row.label) for row in rows]

    async def add(self, label: str) -> Tag:
        try:
            async with self.db.writing() as conn:
                new_id = (await conn.execute(
                    insert(tag).values(label=label).returning(T.id))).scalar_one()
        except IntegrityError:
            raise BadRequest(f"A tag labelled {label!r} exists already") from None
        return Tag(new_id, label)

    async def update(self, changed: Tag) -> Tag:
        try:
            async with self.db.writing() as conn:
                result = await conn.execute(
                    update(tag).where(T.id == changed.id).values(label=changed.label))
        except IntegrityError:
            raise BadRequest(f"A tag labelled {changed.label!r} exists already") from None
        if result.rowcount == 0:
            raise NotFound(f"Tag {changed.id} does not exist")
        return changed

    async def delete(self, tag_id: int) -> None:
        async with self.db.writing() as conn:
            result = await conn.execute(delete(tag).where(T.id == tag_id))
        if result.rowcount == 0:
            raise NotFound(f"Tag {tag_id} does not exist")


class SqlQualityDefinitionRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(self) -> list[QualityDefinition]:
        async with self.db.reading() as conn:
            rows = (await conn.execute(select(quality_definition).order_by(Q.id))).all()
        return [QualityDefinition(QUALITY_BY_ID[row.id], row.title, row.min_size,
                                  row.max_size, row.preferred_size)
                for row in rows if row.id in QUALITY_BY_ID]

    async def save(self, definitions: Sequence[QualityDefinition]) -> None:
        if not definitions:
            return
        statement = upsert(self.db.dialect, quality_definition)
        statement = statement.on_conflict_do_update(index_elements=[Q.id], set_={
            "title": statement.excluded.title, "min_size": statement.excluded.min_size,
            "max_size": statement.excluded.max_size,
            "preferred_size": statement.excluded.preferred_size})
        async with self.db.writing() as conn:
            await conn.execute(statement, [
                {"id": d.quality.id, "title": d.title, "min_size": d.min_size,
                 "max_size": d.max_size, "preferred_size": d.preferred_size}
                for d in definitions])
