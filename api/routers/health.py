"""/api/v3/health and /api/v3/diskspace: Radarr's HealthResource and DiskSpaceResource."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from api.deferred_route import DeferredRoute
from api.params import ContainerDep
from api.responses import json_response
from api.schemas import DiskSpaceResource, HealthResource
from core.errors import DownloadClientError
from infrastructure.bootstrap import Container
from infrastructure.clients.paths import disk_usage

router = APIRouter(prefix="/api/v3", tags=["Health"], route_class=DeferredRoute)

WIKI = None  # Radarr links its wiki; Queuarr documents checks in the README
CACHE_SECONDS = 10.0  # dashboards poll health; clients are probed at most this often
_cache: dict[int, tuple[float, list[dict[str, Any]]]] = {}


async def _probe(c: Container, name: str) -> tuple[str, int | None, str | None]:
    """(name, free bytes or None, the error if the client did not answer)."""
    client = c.queue.clients.get(name)
    if client is None:
        return name, None, "it is not loaded"
    try:
        free = await asyncio.wait_for(client.free_space(), c.settings.client_timeout)
    except DownloadClientError as exc:
        return name, None, exc.message
    except TimeoutError:
        return name, None, f"no answer in {c.settings.client_timeout:g} s"
    return name, free, None


async def checks(c: Container) -> list[tuple[str, str, str]]:
    """(source, type, message) for every problem; none when all is well."""
    found: list[tuple[str, str, str]] = []
    if not await c.ping():
        found.append(("DatabaseCheck", "error", "The database is unreachable; the API "
                      "answers 503 until it is back"))
        return found
    enabled = [d.name for d in c.queue.clients.descriptors() if d.enabled]
    if not enabled:
        found.append(("DownloadClientCheck", "warning", "No download client is available: "
                      "grabs wait in the queue"))
    floor = c.settings.min_free_space
    for name, free, error in await asyncio.gather(*(_probe(c, n) for n in enabled)):
        if error is not None:
            found.append(("DownloadClientStatusCheck", "error",
                          f"Unable to communicate with {name}: {error}"))
        elif free is not None and floor and free < floor:
            found.append(("DownloadClientFreeSpaceCheck", "warning",
                          f"{name} has {free:,} bytes free, below the floor of {floor:,} "
                          "(QUEUARR_MIN_FREE_SPACE): dispatching waits"))
    if c.processor is not None and c.processor.disk_message and not any(
            source == "DownloadClientFreeSpaceCheck" for source, _, _ in found):
        found.append(("DownloadClientFreeSpaceCheck", "warning", c.processor.disk_message))
    if await c.dispatching.paused():
        found.append(("DispatchCheck", "notice", "Dispatching is paused "
                      "(PUT /api/v3/queue/resume to resume)"))
    return found


@router.get("/health", response_model=list[HealthResource],
            summary="Problems: database, download clients, free space, pause")
async def health(c: ContainerDep) -> Response:
    """Radarr's health list: one entry per problem (an empty list when all is well):
    the database, each enabled download client's availability, free space below
    QUEUARR_MIN_FREE_SPACE, dispatching paused."""
    now = time.monotonic()
    cached = _cache.get(id(c))
    if cached is None or now - cached[0] > CACHE_SECONDS:
        found = await checks(c)
        cached = (now, [{"id": i, "source": source, "type": kind, "message": message,
                         "wikiUrl": WIKI} for i, (source, kind, message) in
                        enumerate(found, start=1)])
        _cache.clear()
        _cache[id(c)] = cached
    return json_response(cached[1])


@router.get("/diskspace", response_model=list[DiskSpaceResource],
            summary="Free space of the download roots")
async def diskspace(c: ContainerDep) -> Response:
    """One entry per download root (QUEUARR_DOWNLOAD_DIR and QUEUARR_DOWNLOAD_ROOTS)."""
    out = []
    for i, root in enumerate(c.settings.roots, start=1):
        free, total = await asyncio.to_thread(disk_usage, root) or (0, 0)
        out.append({"id": i, "path": str(root), "label": root.name or str(root),
                     "freeSpace": free, "totalSpace": total})
    return json_response(out)
