"""/openapi.json is a valid OpenAPI document: it passes openapi-spec-validator, every
`$ref` in it points at something the document defines (ReDoc stops at the first that
does not: "Invalid reference token"), and /api/v3/queue/stream's declared event schema
describes every kind of event the stream sends (schemathesis checks a stream's events
against it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate

from api.resources import status_resource
from api.routers.stream import _event_frame, _frame, _reset
from core.domain import StateCounts
from core.events import EventBus, EventType
from tests.api.conftest import Api


async def _document(api: Api) -> dict[str, Any]:
    response = await api.anon.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _refs(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    """(where, ref) for every `$ref` under `node`."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield where, value
            else:
                yield from _refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, f"{where}/{index}")


def _resolves(document: dict[str, Any], ref: str) -> bool:
    if not ref.startswith("#/"):
        return False  # the document is self-contained: no external references
    node: Any = document
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")  # JSON pointer escapes
        if not isinstance(node, dict) or token not in node:
            return False
        node = node[token]
    return True


async def test_the_document_passes_an_openapi_validator(api: Api) -> None:
    validate(await _document(api))


async def test_every_reference_in_the_document_resolves(api: Api) -> None:
    document = await _document(api)
    refs = list(_refs(document))
    assert refs  # the walk found the document's references at all
    broken = [(where, ref) for where, ref in refs if not _resolves(document, ref)]
    assert broken == []


def test_the_walk_finds_a_reference_that_does_not_resolve() -> None:
    document = {"components": {"schemas": {"A": {"type": "object"}}},
                "paths": {"/a": {"get": {"responses": {"200": {"content": {
                    "application/json": {"schema": {"items": [
                        {"$ref": "#/components/schemas/A"},
                        {"$ref": "#/components/schemas/B"}]}}}}}}}}}
    assert [ref for _, ref in _refs(document) if not _resolves(document, ref)] == [
        "#/components/schemas/B"]


def _events(frame: bytes) -> list[dict[str, Any]]:
    """The SSE events in `frame`, as schemathesis reads them: {event, data, id?, retry?}
    (data is the JSON text; a block with no data is no event)."""
    events = []
    for block in frame.decode().split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.splitlines():
            name, _, value = line.partition(": ")
            fields[name] = int(value) if name == "retry" else value
        if "data" in fields:
            events.append(fields)
    return events


def _decoded(schema: Any) -> Any:
    """`schema` with each JSON-text `data` (contentMediaType/contentSchema) replaced by its
    contentSchema, to validate events whose data is parsed (jsonschema does not assert
    content keywords)."""
    if isinstance(schema, dict):
        if schema.get("contentMediaType") == "application/json":
            return _decoded(schema["contentSchema"])
        return {key: _decoded(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_decoded(value) for value in schema]
    return schema


async def test_every_event_the_stream_sends_matches_its_declared_schema(api: Api) -> None:
    document = await _document(api)
    declared = document["paths"]["/api/v3/queue/stream"]["get"]["responses"]["200"]
    schema = declared["content"]["text/event-stream"]["schema"]
    validator = Draft202012Validator({**_decoded(schema), "components": document["components"]},
                                     format_checker=FormatChecker())
    item = await api.container.queue.get((await api.grab())["id"])
    bus = EventBus(api.clock)
    container = SimpleNamespace(events=bus, clock=api.clock)
    frames = [b"retry: 3000\n\n", _reset(bus, 0),
              _frame("status", status_resource(StateCounts({}, {})))]
    for kind in EventType:  # each kind about an item, and about a client alone
        frames.append(_event_frame(container, bus.publish(kind, item)))  # type: ignore[arg-type]
        frames.append(_event_frame(container, bus.publish(  # type: ignore[arg-type]
            kind, message="Connection refused", client="aria2")))
    events = [event for frame in frames for event in _events(frame)]
    assert {e["event"] for e in events} == {"reset", "status", *EventType}
    for event in events:
        parsed = {**event, "data": json.loads(event["data"])}
        errors = [error.message for error in validator.iter_errors(parsed)]
        assert errors == [], (event["event"], errors)
