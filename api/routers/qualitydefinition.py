"""/api/v3/qualitydefinition: Radarr's size limits per quality (MB per minute of
runtime), used by release decisions as Radarr's AcceptableSizeSpecification uses them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import Field, RootModel
from starlette.responses import Response

from api.bodies import require_json
from api.deferred_route import DeferredRoute
from api.params import ContainerDep, ItemId, valid_id
from api.release_schemas import Loose
from api.responses import json_response
from api.routers.queue import ERRORS
from core.errors import NotFound, ValidationFailed, ValidationFailure
from core.sizes import (
    LIMIT_MAX,
    LIMIT_MIN,
    QualityDefinition,
    QualityDefinitions,
    with_sizes,
)
from infrastructure.bootstrap import Container

router = APIRouter(prefix="/api/v3/qualitydefinition", tags=["QualityDefinition"],
                   route_class=DeferredRoute)

Size = Annotated[float | None, Field(allow_inf_nan=False)]


class QualityDefinitionBody(Loose):
    """Radarr's QualityDefinitionResource; `quality` and `weight` are read-only (the
    definition's id says which quality it is)."""

    id: int | None = None
    title: Annotated[str | None, Field(max_length=200)] = None
    min_size: Size = None
    max_size: Size = None
    preferred_size: Size = None


class QualityDefinitionList(RootModel[Annotated[list[QualityDefinitionBody],
                                                Field(max_length=1000)]]):
    pass


_ONE = QualityDefinitionBody.model_json_schema(by_alias=True)


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": schema}}}}


def definitions_of(c: Container) -> QualityDefinitions:
    if c.definitions is None:
        raise NotFound("Quality definitions are not available in this process")
    return c.definitions


def definition_resource(d: QualityDefinition) -> dict[str, Any]:
    """Radarr's QualityDefinitionResource; a size with no limit (null) is left out, as
    Radarr leaves nulls out."""
    q = d.quality
    out: dict[str, Any] = {
        "id": d.id, "quality": {"id": q.id, "name": q.name, "source": q.source,
                                "resolution": q.resolution, "modifier": q.modifier},
        "title": d.title, "weight": d.weight}
    sizes = {"minSize": d.min_size, "maxSize": d.max_size, "preferredSize": d.preferred_size}
    out.update((k, v) for k, v in sizes.items() if v is not None)
    return out


def _changed(current: dict[int, QualityDefinition], definition_id: int | None,
             body: QualityDefinitionBody) -> QualityDefinition:
    if definition_id is None or definition_id <= 0:
        raise ValidationFailed([ValidationFailure(
            "Id", "'Id' must be greater than '0'.", definition_id, "GreaterThanValidator")])
    if definition_id not in current:
        raise ValidationFailed([ValidationFailure(
            "Id", f"Quality definition {definition_id} does not exist", definition_id)])
    return with_sizes(current[definition_id], body.title, body.min_size, body.max_size,
                      body.preferred_size)


@router.get("", response_model=None, summary="List the quality definitions",
            responses={200: {"description": "Radarr's QualityDefinitionResource array, by "
                                            "weight"}})
async def list_definitions(c: ContainerDep) -> Response:
    return json_response([definition_resource(d) for d in await definitions_of(c).all()])


@router.get("/limits", response_model=None, summary="The smallest and largest size allowed",
            responses={200: {"description": "Radarr's QualityDefinitionLimitsResource (MB "
                                            "per minute)"}})
async def limits() -> Response:
    return json_response({"min": LIMIT_MIN, "max": LIMIT_MAX})


@router.put("/update", response_model=None, status_code=202,
            summary="Change several quality definitions at once",
            openapi_extra=_body({"type": "array", "items": _ONE}), responses={400: ERRORS[400]})
async def update_many(c: ContainerDep, request: Request) -> Response:
    """All or nothing: an unknown id or a size out of order refuses the whole list
    (Radarr skips unknown ids). Answers every definition."""
    bodies = (await require_json(request, QualityDefinitionList)).root
    service = definitions_of(c)
    current = {d.id: d for d in await service.all()}
    changes = [_changed(current, body.id, body) for body in bodies]
    stored = await service.update(changes)
    return json_response([definition_resource(d) for d in stored], status=202)


@router.get("/{id}", response_model=None, summary="Get a quality definition",
            responses={404: ERRORS[404], 400: ERRORS[400]})
async def get_definition(c: ContainerDep, id: ItemId) -> Response:
    return json_response(definition_resource(await definitions_of(c).get(id)))


@router.put("/{id}", response_model=None, status_code=202,
            summary="Change a quality definition", openapi_extra=_body(_ONE),
            responses={404: ERRORS[404], 400: ERRORS[400]})
async def update_definition(c: ContainerDep, id: ItemId, request: Request) -> Response:
    """Sizes are MB per minute: min <= preferred <= max, within /limits; null is no limit.
    A missing title keeps the current one."""
    body = await require_json(request, QualityDefinitionBody)
    service = definitions_of(c)
    current = await service.get(valid_id(id))
    await service.update([with_sizes(current, body.title, body.min_size, body.max_size,
                                     body.preferred_size)])
    return json_response(definition_resource(await service.get(id)), status=202)

