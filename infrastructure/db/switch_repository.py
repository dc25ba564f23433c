"""Processor switches shared by every process (a cold path: plain statements)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from infrastructure.db.engine import Database
from infrastructure.db.tables import processor_switch
from infrastructure.db.upsert import upsert

C = processor_switch.c


class SqlSwitchRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, name: str) -> str | None:
        async with self.db.reading() as conn:
            return (await conn.execute(select(C.value).where(C.name == name))).scalar()

    async def set(self, name: str, value: str, at: datetime) -> None:
        statement = upsert(self.db.dialect, processor_switch).values(
            name=name, value=value, updated_at=at)
        statement = statement.on_conflict_do_update(
            index_elements=[C.name], set_={"value": value, "updated_at": at})
        async with self.db.writing() as conn:
            await conn.execute(statement)


