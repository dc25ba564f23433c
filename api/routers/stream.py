"""GET /api/v3/queue/stream: the queue live, as Server-Sent Events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from starlette.responses import Response, StreamingResponse

from api.deferred_route import DeferredRoute
from api.params import ContainerDep
from api.resources import dumps, event_json, status_resource
from api.routers.queue import ERRORS
from core.errors import NotFound
from core.events import Coalescer, EventBus, EventType, QueueEvent, stream
from infrastructure.bootstrap import Container

router = APIRouter(prefix="/api/v3/queue", tags=["Queue"], route_class=DeferredRoute)

RETRY_MS = 3000


def _event_schema(names: list[str], data: dict[str, Any], description: str
                  ) -> dict[str, Any]:
    """One kind of SSE event, as OpenAPI 3.1 describes a text/event-stream's events (the
    media type's `schema` is each event's; `data` is JSON text)."""
    return {"type": "object", "description": description, "required": ["event", "data"],
            "properties": {
                "event": {"enum": names}, "id": {"type": "string"},
                "retry": {"type": "integer"},
                "data": {"type": "string", "contentMediaType": "application/json",
                         "contentSchema": data}}}


_KINDS = [kind.value for kind in EventType]
# Every event the stream sends: a change, the periodic status, and reset.
EVENT_SCHEMA = {"oneOf": [
    _event_schema(_KINDS, {
        "type": "object", "required": ["eventType", "eventId", "date"], "properties": {
            "eventType": {"enum": _KINDS}, "eventId": {"type": "integer"},
            "date": {"type": "string", "format": "date-time"},
            "message": {"type": "string"}, "downloadClient": {"type": "string"},
            "queueItem": {"$ref": "#/components/schemas/QueueResource"}}},
        "A change; an item's carries its queueItem, a client's (clientUnavailable, "
        "clientBack) only downloadClient and message"),
    _event_schema(["status"], {"$ref": "#/components/schemas/QueueStatus"},
                  "The queue's counts, first and every statusEvery seconds"),
    _event_schema(["reset"], {"type": "object", "required": ["lastEventId"],
                              "properties": {"lastEventId": {"type": "string"}}},
                  "Read the queue afresh; the stream goes on after lastEventId"),
]}


def _frame(event: str, data: Any, event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\n".encode() + b"data: " + dumps(data) + b"\n\n"


def _event_frame(c: Container, event: QueueEvent) -> bytes:
    assert c.events is not None
    return _frame(event.type.value, event_json(event, c.clock.now()),
                  c.events.stream_id(event.id))


def _reset(bus: EventBus, event_id: int) -> bytes:
    """Start afresh (read the queue again); the stream goes on after `event_id`, which
    is also the frame's id, so that a reconnecting EventSource resumes from there."""
    stream_id = bus.stream_id(event_id)
    return _frame("reset", {"lastEventId": stream_id}, stream_id)


def _bus(c: Container) -> EventBus:
    if c.events is None:
        raise NotFound("The event stream is not available in this process")
    return c.events


@router.get("/stream", response_class=StreamingResponse, summary="Follow the queue live",
            responses={200: {"description": (
                "text/event-stream. Each change is an event named after its type "
                "(grabbed, sent, progress, paused, resumed, completed, retryScheduled, "
                "failed, stalled, removed, clientUnavailable, clientBack) with an id and "
                "data {eventType, eventId, date, message, downloadClient, queueItem: "
                "QueueResource}; progress at most once per item per second. `status` "
                "events (QueueStatusResource) come first and every statusEvery seconds. "
                "Ids are `<run>-<n>` (per process and start); send Last-Event-ID to "
                "resume; `reset` {lastEventId} says the events since it (or, later on, "
                "events this connection fell too far behind to get, or that other "
                "processes published while this one could not hear them) are gone: "
                "read the queue afresh; the stream goes on after lastEventId, which is "
                "also the reset's id. The stream ends when the server stops (an "
                "EventSource reconnects after `retry`)."),
                "content": {"text/event-stream": {"schema": EVENT_SCHEMA}}},
                404: ERRORS[404], 400: ERRORS[400]})
async def follow(
    c: ContainerDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    status_every: Annotated[float, Query(alias="statusEvery", ge=0.5, le=3600)] = 15.0,
) -> Response:
    """curl -N -H "X-Api-Key: $KEY" http://127.0.0.1:7878/api/v3/queue/stream"""
    bus = _bus(c)
    subscription = bus.subscribe()  # before the replay, so that nothing falls between
    replay: list[QueueEvent] | None = []
    if last_event_id is not None and last_event_id.strip():
        replay = bus.since_stream_id(last_event_id)

    async def frames() -> AsyncIterator[bytes]:
        try:
            yield f"retry: {RETRY_MS}\n\n".encode()
            if replay is None:
                yield _reset(bus, bus.last_id)
            replayed = Coalescer()
            last = 0
            for event in replay or ():
                last = event.id
                if replayed.due(event):
                    yield _event_frame(c, event)
            yield _frame("status", status_resource(await c.queue.counts()))
            async for event in stream(subscription, status_every):
                if subscription.take_stale():
                    # This client fell a thousand events behind and they were dropped,
                    # or the relay missed other processes' events: what it shows may be
                    # wrong, it must read the queue afresh.
                    yield _reset(bus, event.id - 1 if event is not None else bus.last_id)
                if event is None:
                    yield _frame("status", status_resource(await c.queue.counts()))
                elif event.id > last:
                    yield _event_frame(c, event)
        finally:
            subscription.close()

    return StreamingResponse(frames(), media_type="text/event-stream", headers={
        "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

