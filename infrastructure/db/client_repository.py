"""Download-client configurations on SQLAlchemy Core (a cold path: plain statements)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from core.clients import ClientConfig, ClientKind, ClientSource
from core.errors import BadRequest, NotFound
from core.ports import Clock
from infrastructure.db.engine import Database
from infrastructure.db.tables import download_client

C = download_client.c


def _values(config: ClientConfig, clock: Clock) -> dict[str, Any]:
    return {
        "name": config.name, "implementation": config.kind.value, "enable": config.enable,
        "priority": config.priority, "fields": orjson.dumps(config.fields).decode(),
        "source": config.source.value, "remove_completed": config.remove_completed,
        "remove_failed": config.remove_failed, "tags": orjson.dumps(list(config.tags)).decode(),
        "updated_at": clock.now(),
    }


def _config(row: Any) -> ClientConfig:
    return ClientConfig(
        id=row.id, name=row.name, kind=ClientKind(row.implementation), enable=row.enable,
        priority=row.priority, fields=orjson.loads(row.fields), source=ClientSource(row.source),
        remove_completed=row.remove_completed, remove_failed=row.remove_failed,
        tags=tuple(orjson.loads(row.tags)),
    )


class SqlClientConfigRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def list(self) -> list[ClientConfig]:
        async with self.db.reading() as conn:
            rows = (await conn.execute(select(download_client).order_by(C.id))).all()
        return [_config(row) for row in rows]

    async def add(self, config: ClientConfig) -> ClientConfig:
        try:
            async with self.db.writing() as conn:
                result = await conn.execute(
                    insert(download_client).values(_values(config, self.clock)).returning(C.id))
                new_id = result.scalar_one()
        except IntegrityError:
            raise BadRequest(f"A download client named {config.name!r} exists already") from None
        return replace(config, id=new_id)

    async def update(self, config: ClientConfig) -> ClientConfig:
        try:
            async with self.db.writing() as conn:
                result = await conn.execute(
                    update(download_client).where(C.id == config.id)
                    .values(_values(config, self.clock)))
                if result.rowcount == 0:
                    raise NotFound(f"Download client {config.id} not found")
        except IntegrityError:
            raise BadRequest(f"A download client named {config.name!r} exists already") from None
        return config

    async def delete(self, config_id: int) -> None:
        async with self.db.writing() as conn:
            result = await conn.execute(delete(download_client).where(C.id == config_id))
        if result.rowcount == 0:
            raise NotFound(f"Download client {config_id} not found")
