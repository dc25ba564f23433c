"""/api/v3/system/backup: the backups in the data dir (Radarr's BackupResource), and
POST to make one now (Radarr makes them with its Backup command)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from starlette.responses import Response

from api.deferred_route import DeferredRoute
from api.params import ContainerDep
from api.responses import json_response
from api.schemas import Message, Out
from core.errors import NotFound
from infrastructure.backup import BackupFile, backup_file, list_backups, make_backup

router = APIRouter(prefix="/api/v3/system/backup", tags=["Backup"], route_class=DeferredRoute)


class BackupResource(Out):
    """Radarr's BackupResource; `path` is where the file is on the server."""

    id: int
    name: str
    path: str
    type: Literal["scheduled", "manual", "update"]
    size: int
    time: datetime


def _resource(backup: BackupFile, c: ContainerDep) -> dict[str, Any]:
    path = (c.settings.data_dir / "backups" / backup.name).resolve()
    return {"id": backup.id, "name": backup.name, "path": str(path), "type": "manual",
            "size": backup.size, "time": backup.time}


@router.get("", response_model=list[BackupResource], summary="List backups")
async def list_all(c: ContainerDep) -> Response:
    backups = await asyncio.to_thread(list_backups, c.settings)
    return json_response([_resource(b, c) for b in backups])


@router.post("", response_model=BackupResource, status_code=201,
             summary="Back up the database and the settings that are not secrets, now",
             responses={404: {"model": Message, "description": "No database here"}})
async def create(c: ContainerDep) -> Response:
    """A consistent copy while Queuarr runs (SQLite's online backup; pg_dump for Postgres
    when it is installed, else the settings and manifest only)."""
    if c.database is None:
        raise NotFound("This process has no database to back up")
    url = c.database.url.render_as_string(hide_password=False)
    made = await asyncio.to_thread(make_backup, c.settings, database_url=url)
    return json_response(_resource(backup_file(made.path), c), status=201)
