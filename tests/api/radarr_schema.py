"""Validate responses against Radarr's own OpenAPI document (copied into tests/api/data).

- `$ref`s resolve against the document's components (through `referencing`);
- OpenAPI 3.0's `"nullable": true` is read as "null is also allowed";
- `format: date-time` is checked as Radarr writes DateTime: `YYYY-MM-DDTHH:MM:SSZ`;
  int32/int64 formats are range-checked.

Radarr's QueueResource is `additionalProperties: false`. Queuarr adds documented extra
fields (api.resources.EXTRA_QUEUE_FIELDS); a record is validated strictly after removing
only those keys, and every key outside Radarr's schema must be one of them, none equal
case-insensitively to a Radarr field (Radarr clients read JSON case-insensitively).

The release-selection resources (CustomFormatResource, QualityProfileResource,
ReleaseResource) are validated against the same document; a ReleaseResource that
/release/push answers may carry one documented extra key, RELEASE_EXTRA_FIELDS (`queueId`,
the queue item grabbed), and is validated strictly after removing only that key.

Any other resource is validated strictly against the whole of Radarr's openapi.json
(`validate_radarr(schema_name, body)`; tests/api/data/radarr-openapi.json)."""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from api.resources import EXTRA_QUEUE_FIELDS

DATA = Path(__file__).parent / "data"
QUEUE_DOC = "urn:radarr:queue"
FULL_DOC = "urn:radarr:full"  # the whole of Radarr's openapi.json, for any other resource
OTHER_DOC = FULL_DOC
_DOCS = {QUEUE_DOC: "radarr-queue-openapi.json", FULL_DOC: "radarr-openapi.json"}
RADARR_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

_FORMATS = jsonschema.FormatChecker(formats=())


@_FORMATS.checks("date-time")
def _radarr_date(value: object) -> bool:
    return not isinstance(value, str) or bool(RADARR_DATE.fullmatch(value))


@_FORMATS.checks("int32")
def _int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@_FORMATS.checks("int64")
def _int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0 `nullable: true` as JSON Schema: add null to the type (or enum)."""
    if isinstance(node, list):
        return [_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable(v) for k, v in node.items()}
    if out.pop("nullable", False) is True:
        if "$ref" in out or "allOf" in out or "oneOf" in out or "anyOf" in out:
            return {"anyOf": [out, {"type": "null"}]}
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


@cache
def document(name: str) -> dict[str, Any]:
    with open(DATA / name, encoding="utf-8") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


@cache
def _registry() -> Registry:
    resources = []
    for uri, name in _DOCS.items():
        contents = _nullable(copy.deepcopy(document(name)))
        resources.append((uri, Resource.from_contents(contents, default_specification=DRAFT7)))
    return Registry().with_resources(resources)


def _validator(doc: str, schema_name: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(
        {"$ref": f"{doc}#/components/schemas/{schema_name}"},
        registry=_registry(), format_checker=_FORMATS,
    )


def _check(doc: str, schema_name: str, instance: Any) -> None:
    errors = sorted(_validator(doc, schema_name).iter_errors(instance), key=str)
    if errors:
        details = "\n".join(
            f"- at {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in errors[:10]
        )
        raise AssertionError(f"response does not match Radarr's {schema_name}:\n{details}")


def radarr_schema(schema_name: str, doc: str = QUEUE_DOC) -> dict[str, Any]:
    schema: dict[str, Any] = document(_DOCS[doc])["components"]["schemas"][schema_name]
    return schema


def queue_resource_fields() -> frozenset[str]:
    return frozenset(radarr_schema("QueueResource")["properties"])


def extra_field_collisions() -> set[str]:
    """Queuarr's extra fields that equal a Radarr QueueResource field ignoring case."""
    radarr = {name.lower() for name in queue_resource_fields()}
    return {name for name in EXTRA_QUEUE_FIELDS if name.lower() in radarr}


def _radarr_part(record: Any) -> Any:
    """A record without Queuarr's documented extra keys, after checking that every key
    outside Radarr's schema is one of them."""
    assert isinstance(record, dict), f"a queue record must be an object, got {record!r}"
    radarr = queue_resource_fields()
    outside = set(record) - radarr
    undocumented = outside - EXTRA_QUEUE_FIELDS
    assert not undocumented, f"keys neither Radarr's nor documented extras: {undocumented}"
    radarr_folded = {name.lower() for name in radarr}
    clashing = {k for k in outside if k.lower() in radarr_folded}
    assert not clashing, f"extra keys clash case-insensitively with Radarr's: {clashing}"
    return {k: v for k, v in record.items() if k not in EXTRA_QUEUE_FIELDS}


def validate_queue_resource(record: Any) -> None:
    _check(QUEUE_DOC, "QueueResource", _radarr_part(record))


def validate_queue_page(body: Any) -> None:
    """GET /api/v3/queue: the paging wrapper and each record."""
    assert isinstance(body, dict) and isinstance(body.get("records"), list), body
    stripped = dict(body, records=[_radarr_part(r) for r in body["records"]])
    _check(QUEUE_DOC, "QueueResourcePagingResource", stripped)


def validate_queue_details(body: Any) -> None:
    """GET /api/v3/queue/details: a bare array of QueueResource."""
    assert isinstance(body, list), f"/queue/details must be a JSON array, got {type(body)}"
    for record in body:
        validate_queue_resource(record)


def validate_queue_status(body: Any) -> None:
    _check(QUEUE_DOC, "QueueStatusResource", body)


def validate_blocklist_page(body: Any) -> None:
    _check(OTHER_DOC, "BlocklistResourcePagingResource", body)


def validate_system_status(body: Any) -> None:
    _check(OTHER_DOC, "SystemResource", body)


def validate_api_info(body: Any) -> None:
    _check(OTHER_DOC, "ApiInfoResource", body)


def validate_ping(body: Any) -> None:
    _check(OTHER_DOC, "PingResource", body)


def validate_radarr(schema_name: str, body: Any) -> None:
    """Any resource of Radarr's whole openapi.json (tests/api/data/radarr-openapi.json, a
    copy of ../shared/reference/radarr-openapi.json), strictly: no extra keys."""
    _check(FULL_DOC, schema_name, body)


def nulls_in(value: Any, path: str = "") -> list[str]:
    """Paths of every `null` in a JSON value (Radarr omits null members)."""
    if value is None:
        return [path or "<root>"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in nulls_in(v, f"{path}/{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in nulls_in(v, f"{path}/{i}")]
    return []


def keys_in(value: Any) -> set[str]:
    """Every object key in a JSON value, at any depth."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_in(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_in(v)}
    return set()


def validate_history_page(body: Any, own_events: frozenset[str]) -> None:
    """Radarr's HistoryResourcePagingResource; Queuarr's own event names (outside Radarr's
    MovieHistoryEventType) are checked against `own_events` and validated as `unknown`."""
    radarr_events = set(radarr_schema("MovieHistoryEventType", OTHER_DOC)["enum"])
    records = []
    for record in body["records"]:
        event = record["eventType"]
        assert event in radarr_events or event in own_events, event
        records.append({**record, "eventType": event if event in radarr_events else "unknown"})
    _check(OTHER_DOC, "HistoryResourcePagingResource", {**body, "records": records})


def validate_health(body: Any) -> None:
    for record in body:
        _check(OTHER_DOC, "HealthResource", record)


def validate_diskspace(body: Any) -> None:
    for record in body:
        _check(OTHER_DOC, "DiskSpaceResource", record)


# -- release selection -----------------------------------------------------------------

# Queuarr's documented extra key of a ReleaseResource: the queue item a pushed release
# was grabbed as.
RELEASE_EXTRA_FIELDS = frozenset({"queueId"})


def _array(body: Any, what: str) -> list[Any]:
    assert isinstance(body, list), f"{what} must be a JSON array, got {type(body)}"
    return body


def validate_custom_format(body: Any) -> None:
    _check(OTHER_DOC, "CustomFormatResource", body)


def validate_custom_formats(body: Any) -> None:
    """GET /api/v3/customformat: a bare array of CustomFormatResource."""
    for record in _array(body, "/customformat"):
        validate_custom_format(record)


def validate_custom_format_schema(body: Any) -> None:
    """GET /api/v3/customformat/schema: an array of CustomFormatSpecificationSchema."""
    for record in _array(body, "/customformat/schema"):
        _check(OTHER_DOC, "CustomFormatSpecificationSchema", record)


def validate_quality_profile(body: Any) -> None:
    _check(OTHER_DOC, "QualityProfileResource", body)


def validate_quality_profiles(body: Any) -> None:
    """GET /api/v3/qualityprofile: a bare array of QualityProfileResource."""
    for record in _array(body, "/qualityprofile"):
        validate_quality_profile(record)


def _release_part(record: Any) -> Any:
    """A ReleaseResource without Queuarr's documented extra keys (which must not equal a
    Radarr field ignoring case); any other unknown key fails the strict check after."""
    assert isinstance(record, dict), f"a release must be an object, got {record!r}"
    radarr = set(radarr_schema("ReleaseResource", OTHER_DOC)["properties"])
    radarr_folded = {name.lower() for name in radarr}
    clashing = {k for k in RELEASE_EXTRA_FIELDS if k.lower() in radarr_folded}
    assert not clashing, f"extra keys clash case-insensitively with Radarr's: {clashing}"
    return {k: v for k, v in record.items() if k not in RELEASE_EXTRA_FIELDS}


def validate_release(record: Any) -> None:
    _check(OTHER_DOC, "ReleaseResource", _release_part(record))


def validate_releases(body: Any) -> None:
    """POST /api/v3/release/push: an array of ReleaseResource."""
    for record in _array(body, "/release/push"):
        validate_release(record)
