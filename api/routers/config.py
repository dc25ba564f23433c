"""/api/v3/config/ui: Radarr's UI settings, stored (every process reads the same) and
checked as Radarr checks them. Queuarr's own page does not use them; tools read them."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import Field
from pydantic.alias_generators import to_camel
from starlette.responses import Response

from api.bodies import require_json
from api.deferred_route import DeferredRoute
from api.params import INT32, ContainerDep, ItemId, valid_id
from api.release_schemas import Loose
from api.responses import json_response
from api.routers.queue import ERRORS
from core.uiconfig import UiConfig, UiSettings
from infrastructure.bootstrap import Container

router = APIRouter(prefix="/api/v3/config/ui", tags=["UiConfig"], route_class=DeferredRoute)

Text = Annotated[str | None, Field(max_length=100)]
Int = Annotated[int | None, Field(ge=-INT32 - 1, le=INT32)]


class UiConfigBody(Loose):
    """Radarr's UiConfigResource; what is left out keeps its value."""

    id: int | None = None
    first_day_of_week: Int = None
    calendar_week_column_header: Text = None
    movie_runtime_format: Literal["hoursMinutes", "minutes"] | None = None
    short_date_format: Text = None
    long_date_format: Text = None
    time_format: Text = None
    show_relative_dates: bool | None = None
    enable_color_impaired_mode: bool | None = None
    movie_info_language: Int = None
    ui_language: Int = None
    theme: Text = None


_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": UiConfigBody.model_json_schema(by_alias=True)}}}}


def ui_resource(config: UiConfig) -> dict[str, Any]:
    """Radarr's UiConfigResource; its id is always 1."""
    return {"id": 1, **{to_camel(k): v for k, v in asdict(config).items()}}


def _settings(c: Container) -> UiSettings:
    return UiSettings(c.switches, c.clock)


@router.get("", response_model=None, summary="The UI settings",
            responses={200: {"description": "Radarr's UiConfigResource"}})
async def get_ui(c: ContainerDep) -> Response:
    return json_response(ui_resource(await _settings(c).get()))


@router.get("/{id}", response_model=None, summary="The UI settings (any id: there is one)",
            responses={404: ERRORS[404], 400: ERRORS[400]})
async def get_ui_by_id(c: ContainerDep, id: ItemId) -> Response:
    return json_response(ui_resource(await _settings(c).get()))


async def _save(c: Container, request: Request) -> Response:
    body = await require_json(request, UiConfigBody)
    changes = {k: v for k, v in body.model_dump(exclude={"id"}).items() if v is not None}
    return json_response(ui_resource(await _settings(c).update(changes)), status=202)


@router.put("", response_model=None, status_code=202, summary="Change the UI settings",
            openapi_extra=_BODY, responses={400: ERRORS[400]})
async def put_ui(c: ContainerDep, request: Request) -> Response:
    """Languages are Radarr's ids (GET /api/v3/language), 1 or more."""
    return await _save(c, request)


@router.put("/{id}", response_model=None, status_code=202, summary="Change the UI settings",
            openapi_extra=_BODY, responses={404: ERRORS[404], 400: ERRORS[400]})
async def put_ui_by_id(c: ContainerDep, id: ItemId, request: Request) -> Response:
    """As PUT /api/v3/config/ui (Radarr's own page sends the id, 1)."""
    valid_id(id)
    return await _save(c, request)


