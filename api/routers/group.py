"""/api/v3/queue/group/{id}: the items one playlist or channel link became, listed,
paused, resumed, retried and removed together (Queuarr's own; Radarr has no playlists)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.responses import Response

from api.deferred_route import DeferredRoute
from api.group_schemas import GroupOut
from api.params import ContainerDep, valid_id
from api.resources import queue_resource
from api.responses import json_response
from api.routers.queue import ERRORS, RemoveFlags
from api.schemas import IdsOut, Message
from core.groups import GroupService

router = APIRouter(prefix="/api/v3/queue/group", tags=["Queue"], route_class=DeferredRoute)

GroupId = Annotated[int, Path(description="The groupId a playlist grab answered with")]
FOUND: dict[int | str, dict[str, Any]] = {404: ERRORS[404], 400: ERRORS[400]}


@router.get("/{id}", response_model=GroupOut, summary="A playlist's items",
            responses=FOUND)
async def get_group(c: ContainerDep, id: GroupId) -> Response:
    found = await GroupService(c.queue).get(valid_id(id))
    now = c.clock.now()
    return json_response({"id": found.group.id, "title": found.group.title,
                          "url": found.group.url, "added": found.group.added_at,
                          "items": [queue_resource(i, now) for i in found.items]})


@router.put("/{id}/pause", response_model=IdsOut, summary="Pause a playlist's items",
            responses=FOUND)
async def pause_group(c: ContainerDep, id: GroupId) -> Response:
    """Pause every item of the group that can be paused; the ids paused."""
    return json_response({"ids": await GroupService(c.queue).pause(valid_id(id))})


@router.put("/{id}/resume", response_model=IdsOut, summary="Resume a playlist's items",
            responses=FOUND)
async def resume_group(c: ContainerDep, id: GroupId) -> Response:
    return json_response({"ids": await GroupService(c.queue).resume(valid_id(id))})


@router.post("/{id}/retry", response_model=IdsOut, summary="Retry a playlist's failed items",
             responses={**FOUND, 409: {"model": Message}})
async def retry_group(c: ContainerDep, id: GroupId) -> Response:
    return json_response({"ids": await GroupService(c.queue).retry(valid_id(id))})


@router.delete("/{id}", response_model=IdsOut, summary="Remove a playlist's items",
               responses=FOUND)
async def remove_group(c: ContainerDep, id: GroupId, options: RemoveFlags) -> Response:
    """Every item of the group, with Radarr's remove flags (removeFromClient,
    blocklist); the ids removed."""
    return json_response({"ids": await GroupService(c.queue).remove(valid_id(id), options)})
