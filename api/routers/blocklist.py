"""/api/v3/blocklist: Radarr's blocklist endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.bodies import require_json
from api.deferred_route import DeferredRoute
from api.params import (
    INT32,
    ContainerDep,
    Int32Item,
    ItemId,
    ProtocolItem,
    SortDirectionParam,
    valid_id,
)
from api.resources import blocklist_resource
from api.responses import empty_ok, json_response
from api.routers.queue import ERRORS
from api.schemas import BlocklistPage, IdsBody
from core.domain import DownloadProtocol

router = APIRouter(prefix="/api/v3/blocklist", tags=["Blocklist"], route_class=DeferredRoute)

@router.get("", response_model=BlocklistPage, summary="List the blocklist, a page at a time",
            responses={400: ERRORS[400]})
async def get_blocklist(
    c: ContainerDep,
    page: Annotated[int, Query(ge=-INT32 - 1, le=INT32)] = 1,
    page_size: Annotated[int, Query(alias="pageSize", ge=0, le=INT32)] = 10,
    sort_key: Annotated[str | None, Query(alias="sortKey")] = None,
    sort_direction: Annotated[SortDirectionParam, Query(alias="sortDirection")] = None,
    movie_ids: Annotated[list[Int32Item], Query(alias="movieIds")] = [],  # noqa: B006
    protocols: Annotated[list[ProtocolItem], Query()] = [],  # noqa: B006
) -> Response:
    """Blocklisted releases, newest first by default (sort keys: date, sourceTitle,
    indexer, protocol, movieId; anything else sorts by date)."""
    listed = await c.blocklist.page(
        page, page_size, sort_key, sort_direction,
        frozenset(movie_ids) if movie_ids else None,
        frozenset(DownloadProtocol[p.name] for p in protocols) if protocols else None,
    )
    return json_response({
        "page": listed.page, "pageSize": listed.page_size, "sortKey": listed.sort_key,
        "sortDirection": listed.sort_direction.value, "totalRecords": listed.total_records,
        "records": [blocklist_resource(e) for e in listed.records],
    })


@router.delete("/bulk", response_class=Response, summary="Remove many blocklist entries",
               openapi_extra={"requestBody": {"required": True, "content": {
                   "application/json": {"schema": {"$ref": "#/components/schemas/IdsBody"}}}}},
               responses={200: {"description": "Removed (empty body)"}, 404: ERRORS[404],
                          400: ERRORS[400]})
async def remove_bulk(c: ContainerDep, request: Request) -> Response:
    """All or nothing: 404 if any id is unknown."""
    body = await require_json(request, IdsBody)
    await c.blocklist.remove([valid_id(i) for i in body.ids])
    return empty_ok()


@router.delete("/{id}", response_class=Response, summary="Remove a blocklist entry",
               responses={200: {"description": "Removed (empty body)"}, 404: ERRORS[404],
                          400: ERRORS[400]})
async def remove(c: ContainerDep, id: ItemId) -> Response:
    await c.blocklist.remove([valid_id(id)])
    return empty_ok()
