"""/api/v3/tag and /api/v3/tag/detail: Radarr's tags (lower-case labels that download
clients and queue items carry; an item goes to the clients that share a tag)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import Field
from starlette.responses import Response

from api.bodies import require_json
from api.deferred_route import DeferredRoute
from api.params import ContainerDep, ItemId, valid_id
from api.release_schemas import Loose
from api.responses import json_response
from api.routers.queue import ERRORS
from core.errors import NotFound
from core.tags import Tag, TagDetails, TagService
from infrastructure.bootstrap import Container

router = APIRouter(prefix="/api/v3/tag", tags=["Tag"], route_class=DeferredRoute)


class TagBody(Loose):
    """Radarr's TagResource: the label (a-z, 0-9 and -; stored in lower case)."""

    id: int | None = None
    label: Annotated[str | None, Field(max_length=1000)] = None


_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": TagBody.model_json_schema(by_alias=True)}}}}
_CONFLICT = {"model": ERRORS[400]["model"], "description": "In use, or the label is taken"}


def tags_of(c: Container) -> TagService:
    if c.tags is None:
        raise NotFound("Tags are not available in this process")
    return c.tags


def tag_resource(tag: Tag) -> dict[str, Any]:
    return {"id": tag.id, "label": tag.label}


def details_resource(details: TagDetails) -> dict[str, Any]:
    """Radarr's TagDetailsResource: Queuarr has download clients; the rest are empty."""
    return {"id": details.tag.id, "label": details.tag.label, "delayProfileIds": [],
            "importListIds": [], "notificationIds": [], "releaseProfileIds": [],
            "indexerIds": [], "downloadClientIds": list(details.download_client_ids),
            "autoTagIds": [], "movieIds": []}


@router.get("", response_model=None, summary="List the tags",
            responses={200: {"description": "Radarr's TagResource array, by label"}})
async def list_tags(c: ContainerDep) -> Response:
    return json_response([tag_resource(t) for t in await tags_of(c).all()])


@router.get("/detail", response_model=None, summary="List the tags with what uses them",
            responses={200: {"description": "Radarr's TagDetailsResource array"}})
async def list_details(c: ContainerDep) -> Response:
    return json_response([details_resource(d) for d in await tags_of(c).details()])


@router.get("/detail/{id}", response_model=None, summary="A tag with what uses it",
            responses={404: ERRORS[404], 400: ERRORS[400]})
async def get_details(c: ContainerDep, id: ItemId) -> Response:
    return json_response(details_resource(await tags_of(c).detail(id)))


@router.get("/{id}", response_model=None, summary="Get a tag",
            responses={404: ERRORS[404], 400: ERRORS[400]})
async def get_tag(c: ContainerDep, id: ItemId) -> Response:
    return json_response(tag_resource(await tags_of(c).get(id)))


@router.post("", response_model=None, status_code=201, summary="Add a tag",
             openapi_extra=_BODY, responses={400: ERRORS[400]})
async def create_tag(c: ContainerDep, request: Request) -> Response:
    """A label that exists already answers the existing tag (as Radarr does)."""
    body = await require_json(request, TagBody)
    return json_response(tag_resource(await tags_of(c).add(body.label)), status=201)


@router.put("/{id}", response_model=None, status_code=202, summary="Rename a tag",
            openapi_extra=_BODY,
            responses={404: ERRORS[404], 400: ERRORS[400], 409: _CONFLICT})
async def update_tag(c: ContainerDep, id: ItemId, request: Request) -> Response:
    """A label another tag has is a 409 (Radarr: a constraint failure, 409)."""
    body = await require_json(request, TagBody)
    stored = await tags_of(c).update(valid_id(id), body.label)
    return json_response(tag_resource(stored), status=202)


@router.delete("/{id}", response_class=Response, summary="Delete a tag",
               responses={200: {"description": "Deleted (empty body)"}, 404: ERRORS[404],
                          400: ERRORS[400], 409: _CONFLICT})
async def delete_tag(c: ContainerDep, id: ItemId) -> Response:
    """A tag a download client carries is a 409 (Radarr's "cannot be deleted since it's
    still in use")."""
    await tags_of(c).delete(valid_id(id))
    return json_response({})
