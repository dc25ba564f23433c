"""/api/v3/notification: webhook targets (Radarr's NotificationResource shape), and a
test action."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import Field
from starlette.responses import Response

from api.bodies import require_json
from api.deferred_route import DeferredRoute
from api.params import ContainerDep, ItemId, valid_id
from api.release_schemas import Loose
from api.resources import dumps
from api.responses import json_response
from api.routers.queue import ERRORS
from api.schemas import FieldValue
from core.errors import BadRequest, NotFound
from core.events import EventType
from core.masking import MASK
from core.notifications import NotificationConfig, check_notification, parse_events
from core.ports import NotificationRepository
from infrastructure.bootstrap import Container
from infrastructure.notifiers.webhook import WebhookNotifier

router = APIRouter(prefix="/api/v3/notification", tags=["Notification"], route_class=DeferredRoute)
_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/NotificationBody"}}}}}


class NotificationBody(Loose):
    """Radarr's NotificationResource (fields url, secret, events), or the same three as
    top-level properties."""

    id: int | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)]
    implementation: str = "Webhook"
    enable: bool = True
    fields: Annotated[list[FieldValue], Field(max_length=20)] = []
    url: Annotated[str | None, Field(max_length=4096)] = None
    secret: Annotated[str | None, Field(max_length=1000, description=(
        "Signs each body: X-Queuarr-Signature: sha256=<hex HMAC-SHA256>"))] = None
    events: Annotated[list[str] | None, Field(max_length=20, description=(
        "Event types to send (empty: all)"))] = None


def _parts(c: Container) -> tuple[NotificationRepository, WebhookNotifier]:
    if c.notifications is None or c.webhook is None:
        raise NotFound("Notifications are not available in this process")
    return c.notifications, c.webhook


async def _config(c: Container, body: NotificationBody, config_id: int = 0,
                  previous: NotificationConfig | None = None) -> NotificationConfig:
    values = {f.name: f.value for f in body.fields}
    url = body.url if body.url is not None else values.get("url")
    secret = body.secret if body.secret is not None else values.get("secret")
    events = body.events if body.events is not None else values.get("events") or []
    if not isinstance(url, str) or not isinstance(events, list) or not (
            secret is None or isinstance(secret, str)):
        raise BadRequest("url and secret must be text and events a list of event types")
    config = check_notification(NotificationConfig(
        config_id, body.name, url, secret, parse_events([str(e) for e in events]),
        body.enable, body.implementation), previous)
    _, webhook = _parts(c)
    await webhook.guard.check(config.url)
    return config


def resource(config: NotificationConfig) -> dict[str, Any]:
    return {
        "id": config.id, "name": config.name, "implementation": config.implementation,
        "implementationName": config.implementation, "configContract": "WebhookSettings",
        "enable": config.enable, "tags": [],
        "fields": [
            {"order": 0, "name": "url", "label": "URL", "value": config.url, "type": "url"},
            {"order": 1, "name": "secret", "label": "Secret", "type": "password",
             "privacy": "password", "value": MASK if config.secret else ""},
            {"order": 2, "name": "events", "label": "Events", "type": "select",
             "value": sorted(e.value for e in config.events),
             "selectOptions": [{"value": e.value, "name": e.value} for e in EventType]},
        ],
    }


async def _get(c: Container, config_id: int) -> NotificationConfig:
    store, _ = _parts(c)
    found = next((n for n in await store.list() if n.id == config_id), None)
    if found is None:
        raise NotFound(f"Notification {config_id} does not exist")
    return found


@router.get("", response_model=None, summary="List the webhooks")
async def list_notifications(c: ContainerDep) -> Response:
    store, _ = _parts(c)
    return json_response([resource(n) for n in await store.list()])


@router.get("/{id}", response_model=None, summary="Get a webhook",
            responses={404: ERRORS[404], 400: ERRORS[400]})
async def get_notification(c: ContainerDep, id: ItemId) -> Response:
    return json_response(resource(await _get(c, valid_id(id))))


@router.post("", response_model=None, status_code=201, summary="Add a webhook",
             openapi_extra=_BODY, responses={400: ERRORS[400]})
async def create_notification(c: ContainerDep, request: Request) -> Response:
    """A URL in private address space is refused unless QUEUARR_ALLOW_PRIVATE_WEBHOOKS."""
    store, webhook = _parts(c)
    config = await _config(c, await require_json(request, NotificationBody))
    stored = await store.add(config)
    webhook.invalidate()
    return json_response(resource(stored), status=201)


@router.put("/{id}", response_model=None, status_code=202, summary="Change a webhook",
            openapi_extra=_BODY, responses={404: ERRORS[404], 400: ERRORS[400]})
async def update_notification(c: ContainerDep, id: ItemId, request: Request) -> Response:
    """A secret sent back as ******** keeps its stored value."""
    store, webhook = _parts(c)
    previous = await _get(c, valid_id(id))
    config = await _config(c, await require_json(request, NotificationBody), id, previous)
    stored = await store.update(config)
    webhook.invalidate()
    return json_response(resource(stored), status=202)


@router.delete("/{id}", response_class=Response, summary="Delete a webhook",
               responses={200: {"description": "Deleted (empty body)"}, 404: ERRORS[404],
                          400: ERRORS[400]})
async def delete_notification(c: ContainerDep, id: ItemId) -> Response:
    store, webhook = _parts(c)
    await store.delete(valid_id(id))
    webhook.invalidate()
    return json_response({})


@router.post("/test", response_class=Response, summary="Send a test event to a webhook",
             openapi_extra=_BODY,
             responses={200: {"description": "The receiver answered 2xx"}, 400: ERRORS[400]})
async def test_notification(c: ContainerDep, request: Request) -> Response:
    """Posts {"eventType": "test"} once (signed like the real ones); 400 with the reason
    when the receiver cannot be reached or does not answer 2xx. Nothing is stored."""
    body = await require_json(request, NotificationBody)
    previous = None
    if body.id:
        previous = next((n for n in await _parts(c)[0].list() if n.id == body.id), None)
    config = await _config(c, body, body.id or 0, previous)
    _, webhook = _parts(c)
    payload = dumps({"eventType": "test", "message": "A test from Queuarr",
                     "date": c.clock.now()})
    import httpx  # here, not at start: a server with no webhook never needs it

    try:
        status = await webhook.post(config, "test", 0, payload)
    except httpx.HTTPError as exc:
        raise BadRequest(f"The webhook could not be reached: {type(exc).__name__}") from None
    if status >= 300:
        raise BadRequest(f"The webhook answered {status}")
    return json_response({})
