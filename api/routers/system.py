"""/ping, /api and /api/v3/system/status."""

from __future__ import annotations

import os
import platform
import sys

from fastapi import APIRouter
from starlette.responses import Response

from api.params import ContainerDep
from api.responses import json_response
from api.schemas import ApiInfo, Ping, SystemStatus
from api.version import QUEUARR_VERSION, RADARR_API_VERSION
from infrastructure.migrate import head_revision

router = APIRouter(tags=["System"])


PING_RESPONSES: dict[int | str, dict[str, object]] = {
    503: {"model": Ping, "description": "The database is down"}}


async def _ping(c: ContainerDep) -> Response:
    if await c.ping():
        return json_response({"status": "OK"})
    return Response(b'{"status":"Error"}', status_code=503, media_type="application/json",
                    headers={"Retry-After": "5"})


@router.get("/ping", response_model=Ping, responses=PING_RESPONSES,
            summary="Health check (no API key)")
async def ping(c: ContainerDep) -> Response:
    return await _ping(c)


@router.head("/ping", response_model=Ping, responses=PING_RESPONSES,
             summary="Health check (no API key)")
async def ping_head(c: ContainerDep) -> Response:
    return await _ping(c)


@router.get("/api", response_model=ApiInfo, summary="API versions")
async def api_info() -> Response:
    return json_response({"current": "v3", "deprecated": []})


@router.get("/api/v3/system/status", response_model=SystemStatus, summary="System status")
async def system_status(c: ContainerDep) -> Response:
    """Radarr's SystemResource; clients read version, urlBase, startTime and appName."""
    in_docker = _in_docker()
    return json_response({
        "appName": "Queuarr",
        "instanceName": "Queuarr",
        "version": RADARR_API_VERSION,
        "buildTime": c.started_at,
        "isDebug": False,
        "isProduction": True,
        "isAdmin": False,
        "isUserInteractive": False,
        "startupPath": sys.prefix,
        "appData": str(c.settings.data_dir.resolve()),
        "osName": platform.system().lower(),
        "osVersion": platform.release(),
        "isNetCore": False,
        "isLinux": sys.platform.startswith("linux"),
        "isOsx": sys.platform == "darwin",
        "isWindows": sys.platform == "win32",
        "isDocker": in_docker,
        "mode": "console",
        "branch": "main",
        "databaseType": c.database_type,
        "databaseVersion": c.database_version,
        "authentication": "none",
        "migrationVersion": int(head_revision()),
        "urlBase": "",
        "runtimeVersion": platform.python_version(),
        "runtimeName": "python",
        "startTime": c.started_at,
        "packageVersion": QUEUARR_VERSION,
        "packageAuthor": "Queuarr",
        "packageUpdateMechanism": "docker" if in_docker else "external",
    })


def _in_docker() -> bool:
    return os.path.exists("/.dockerenv")
