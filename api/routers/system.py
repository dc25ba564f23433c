"""/ping, /api, /api/v3/system/status, Queuarr's /api/v3/system/resources and /metrics."""

from __future__ import annotations

import asyncio
import platform
import sys
from dataclasses import asdict

from fastapi import APIRouter, Request
from pydantic.alias_generators import to_camel
from starlette.responses import Response

from api.deferred_route import DeferredRoute
from api.params import ContainerDep
from api.responses import json_response
from api.schemas import ApiInfo, Message, Ping, SystemStatus
from api.system_schemas import SystemResources
from api.version import QUEUARR_VERSION, RADARR_API_VERSION
from core.errors import NotFound
from infrastructure.clients.paths import disk_usage
from infrastructure.metrics import CONTENT_TYPE
from infrastructure.migrate import head_revision
from infrastructure.resources import CpuMeter, host_usage, in_container, process_usage

router = APIRouter(tags=["System"], route_class=DeferredRoute)


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
    """Radarr's SystemResource; clients read version, urlBase, startTime and appName
    (always Radarr, as in Radarr: tools such as decluttarr refuse any other; the name of
    this instance is instanceName, QUEUARR_INSTANCE_NAME)."""
    in_docker = in_container()
    return json_response({
        "appName": "Radarr",
        "instanceName": c.settings.instance_name,
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
        "urlBase": c.settings.url_base,
        "runtimeVersion": platform.python_version(),
        "runtimeName": "python",
        "startTime": c.started_at,
        "packageVersion": QUEUARR_VERSION,
        "packageAuthor": "Queuarr",
        "packageUpdateMechanism": "docker" if in_docker else "external",
    })


@router.get("/api/v3/system/resources", response_model=SystemResources,
            summary="CPU, memory and load of Queuarr and its host; free disk (Queuarr's own)")
async def system_resources(request: Request, c: ContainerDep) -> Response:
    """Not in Radarr. cpuPercent is measured between two readings of this resource, so a
    poller sees its own interval; the first reading covers the process's lifetime."""
    meter = getattr(request.app.state, "cpu_meter", None)
    if meter is None:
        meter = request.app.state.cpu_meter = CpuMeter()
    process, host = await asyncio.to_thread(lambda: (process_usage(meter), host_usage()))
    disk = []
    for root in c.settings.roots:
        usage = await asyncio.to_thread(disk_usage, root)
        free, total = usage or (0, 0)
        disk.append({"path": str(root), "freeBytes": free, "totalBytes": total})
    return json_response({"process": _camel(asdict(process)), "host": _camel(asdict(host)),
                          "disk": disk})


def _camel(fields: dict[str, object]) -> dict[str, object]:
    return {to_camel(name): value for name, value in fields.items()}


@router.get("/metrics", response_class=Response, summary="Prometheus metrics (API key)",
            responses={200: {"description": "Prometheus text format: queuarr_items{state}, "
                             "queuarr_events_total{type}, queuarr_failures_total{class}, "
                             "queuarr_grab_to_send_seconds, queuarr_pass_seconds{job}, "
                             "queuarr_client_available{client}, "
                             "queuarr_client_request_seconds{client,call,outcome}, "
                             "queuarr_notifier_events_total{notifier,outcome}, "
                             "queuarr_events_published_total, "
                             "queuarr_build_info{version,python}, process_* (CPU, "
                             "memory, open files, start time), python_gc_*, python_info",
                             "content": {"text/plain": {"schema": {"type": "string"}}}},
                       404: {"model": Message, "description": "Metrics are off here"}})
async def metrics(c: ContainerDep) -> Response:
    """Scrape with the API key: `authorization: Bearer <key>` (Prometheus'
    `authorization.credentials`), X-Api-Key, or ?apikey=."""
    if c.metrics is None:
        raise NotFound("Metrics are not collected in this process")
    body = await c.metrics.render(c.queue, c.events, c.processor)
    return Response(body, media_type=CONTENT_TYPE)
